"""The server side: validation for any ASGI service, and ``luma-schema serve``, a mock of the API.

For a Starlette or FastAPI service (extra ``server``)::

    from luma_schema import server

    server.install(app)          # X-Request-Id / X-API-Version on responses; error handlers
    report = await server.check_request(request)         # never raises: a Report
    request_model = await server.validated_request(request)  # or raises RequestError -> handler

A body is read with a cap (:data:`MAX_BODY_BYTES`): a ``Content-Length`` above it is refused before
a byte is read, and a streamed body is refused as soon as it passes it, with ``413`` and the
error-handling guide's ``Image exceeds 50 MB size limit``.

The mock (:func:`create_app`) answers ``POST /v1/generations`` with the exact status and
``{"detail": ...}`` of SPEC section 2, or ``201`` and a ``queued`` Generation that moves to
``processing`` and ``completed`` (or ``failed``, on request) while it is polled with
``GET /v1/generations/{id}``; its output URL serves a real PNG or JPEG.
"""

from __future__ import annotations

import functools
import json
import re
import secrets
import struct
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from random import Random
from typing import Any, Final

try:
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import Response
    from starlette.routing import Route
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "luma_schema.server needs the 'server' extra: pip install 'luma-schema[server]'"
    ) from exc

from pydantic import ValidationError

from luma_schema import catalog
from luma_schema.engine import Report, RequestError, Violation, check, request_field
from luma_schema.models import GenerationRequest, request_from_report
from luma_schema.rules import MaxBytes, MaxItemsFor, OnlyFor, RequiredFor

__all__ = [
    "MAX_BODY_BYTES",
    "RequestIdMiddleware",
    "check_request",
    "create_app",
    "error_response",
    "handle_error",
    "install",
    "read_body",
    "serve",
    "validated_request",
]


_SIZE_RULE: Final = next(r for r in catalog.RULES if isinstance(r, MaxBytes))


def _max_images() -> int:
    """The most images one valid request holds: a type's ``image_ref`` cap, plus ``source``
    where that type takes one (9 for both types today)."""
    with_source = {
        r.equals
        for r in catalog.RULES
        if isinstance(r, (RequiredFor, OnlyFor)) and r.field in catalog.IMAGE_FIELDS
    }
    return max(
        r.max + (1 if r.equals in with_source else 0)
        for r in catalog.RULES
        if isinstance(r, MaxItemsFor)
    )


def _base64_length(size: int) -> int:
    return 4 * -(-size // 3)


MAX_IMAGES: Final = _max_images()
MAX_BODY_BYTES: Final = MAX_IMAGES * _base64_length(_SIZE_RULE.max) + catalog.BODY_SLACK_BYTES
"""The largest body read: the JSON text of a request holding the most images a valid request can,
each at the size limit in base64, plus :data:`catalog.BODY_SLACK_BYTES` for everything else."""

BODY_TOO_LARGE: Final = catalog.BODY_TOO_LARGE.format(**_SIZE_RULE.params())
_BIG_BODY: Final = 1 << 20  # bodies at least this large are checked off the event loop


# Ids need to be unique, not secret: a generator seeded once from the OS, not a syscall each.
_RANDOM: Final = Random(secrets.randbits(128))


def _uuid4(bits: int) -> str:
    """A version 4 UUID in canonical form from 128 random bits (as ``uuid.UUID(version=4)``)."""
    h = f"{bits:032x}"
    # version nibble 4; variant bits 10 (the nibble's top two bits)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16)]}{h[17:20]}-{h[20:]}"


_VARIANT: Final = "89ab" * 4


def _header(scope: Scope, name: bytes) -> bytes | None:
    """A request header's first value (``name`` in lower case), read from the ASGI scope."""
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None


def _too_large() -> Report:
    violation = Violation(_SIZE_RULE.id, _SIZE_RULE.status, BODY_TOO_LARGE, "")
    return Report(violation.status, violation.detail, (violation,), (), None)


# ---------------------------------------------------------------- responses


_ENCODE: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_ENCODE_ASCII: Final = json.JSONEncoder(separators=(",", ":")).encode
_JSON_TYPE: Final = (b"content-type", b"application/json")


def _json_bytes(content: Any) -> bytes:
    """JSON that always encodes: a lone surrogate echoed from a request is sent escaped."""
    try:
        return _ENCODE(content).encode("utf-8")
    except UnicodeEncodeError:
        return _ENCODE_ASCII(content).encode("ascii")


class _JSON(Response):
    """A JSON response built with nothing but its two headers (this is the hot path)."""

    media_type = "application/json"

    def __init__(
        self, content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
    ) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body = content if type(content) is bytes else _json_bytes(content)
        self.raw_headers = [_JSON_TYPE, (b"content-length", str(len(body)).encode("ascii"))]
        if headers:
            self.raw_headers += [
                (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
            ]


def _detail(status: int, detail: str) -> Response:
    return _JSON({"detail": detail}, status_code=status)


def error_response(error: RequestError | Report) -> Response:
    """The server's answer to a refused request: its status and ``{"detail": ...}``."""
    status, body = error.to_response()
    return _JSON(body, status_code=status)


def _validation_answer(exc: ValidationError) -> tuple[int, str] | None:
    if exc.title != GenerationRequest.__name__:
        return None
    for error in exc.errors():
        ctx = error.get("ctx") or {}
        status, detail = ctx.get("status"), ctx.get("detail")
        if isinstance(status, int) and isinstance(detail, str):
            return status, detail
    return None


async def handle_error(request: Request, exc: Exception) -> Response:
    """Exception handler: a :class:`RequestError`, or the ``ValidationError`` of a
    :class:`GenerationRequest`, becomes the server's status and ``{"detail": ...}``.  Any other
    exception (another model's ValidationError included) is the service's fault: a plain 500."""
    if isinstance(exc, RequestError):
        return error_response(exc)
    if isinstance(exc, ValidationError):
        answer = _validation_answer(exc)
        if answer is not None:
            return _detail(*answer)
    return _detail(catalog.INTERNAL_ERROR_STATUS, catalog.INTERNAL_ERROR)


# ---------------------------------------------------------------- reading a request


async def read_body(request: Request, *, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused with :class:`RequestError` (413, :data:`BODY_TOO_LARGE`) when
    its ``Content-Length`` or the bytes streamed so far exceed ``max_bytes``.  Afterwards
    ``await request.body()`` gives the same bytes."""
    body = await _read(request.scope, request.receive, max_bytes)
    request._body = body  # Starlette's own cache: request.body() and stream() read it
    return body


async def _read(scope: Scope, receive: Receive, max_bytes: int) -> bytes:
    declared = _header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise RequestError(_too_large())
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > max_bytes:
                raise RequestError(_too_large())
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def check_request(
    request: Request, *, fetch: bool = False, max_bytes: int = MAX_BODY_BYTES
) -> Report:
    """What the API answers for this request's body (never raises on bad input): a
    :class:`Report` whose ``request`` is the normalised request when ``ok``, else whose
    ``to_response()`` is the exact status and body.  An oversized body is a 413 report.
    Raises Starlette's ``ClientDisconnect`` if the client leaves before the body is in."""
    try:
        body = await read_body(request, max_bytes=max_bytes)
    except RequestError as exc:
        return exc.report
    return await _check_body(body, fetch)


async def _check_body(body: bytes, fetch: bool) -> Report:
    if fetch or len(body) >= _BIG_BODY:
        # Fetching does network I/O and a large body takes a while: keep the loop free.
        return await run_in_threadpool(check, body, fetch)
    return check(body)


async def validated_request(request: Request) -> GenerationRequest:
    """A FastAPI dependency (``Depends(validated_request)``): the validated, normalised request,
    or :class:`RequestError`, which the handler of :func:`install` turns into the response."""
    report = await check_request(request)
    if not report.ok:
        raise RequestError(report)
    return request_from_report(report)


# ---------------------------------------------------------------- headers on every response

_REQUEST_ID_KEY: Final = catalog.REQUEST_ID_HEADER.lower().encode("latin-1")
_VERSION_HEADER: Final = (
    catalog.API_VERSION_HEADER.lower().encode("latin-1"),
    catalog.API_VERSION.encode("latin-1"),
)
_PRINTABLE: Final = re.compile(rb"[!-~]{1,%d}" % catalog.REQUEST_ID_MAX_LENGTH)


def _request_id(scope: Scope) -> bytes:
    """The ``X-Request-Id`` of the response: the client's, when it is 1-128 printable ASCII
    characters, else a new UUID; also kept in the scope's state (``request.state``)."""
    request_id = _header(scope, _REQUEST_ID_KEY)
    if request_id is None or not _PRINTABLE.fullmatch(request_id):
        request_id = _uuid4(_RANDOM.getrandbits(128)).encode("ascii")
    scope.setdefault("state", {})["request_id"] = request_id.decode("latin-1")
    return request_id


class RequestIdMiddleware:
    """ASGI middleware: every HTTP response carries ``X-Request-Id`` (the client's, when it sent
    a printable one of at most :data:`catalog.REQUEST_ID_MAX_LENGTH` characters, else a new
    UUID) and ``X-API-Version``.  The id is also in ``request.state.request_id``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [(_REQUEST_ID_KEY, _request_id(scope)), _VERSION_HEADER]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", ())
                    if k.lower() not in (_REQUEST_ID_KEY, _VERSION_HEADER[0])
                ]
                message["headers"] = headers + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: Starlette) -> None:
    """Add :class:`RequestIdMiddleware` and :func:`handle_error` (for :class:`RequestError` and
    pydantic's ``ValidationError``) to a Starlette or FastAPI app, before it starts."""
    app.add_middleware(RequestIdMiddleware)
    app.add_exception_handler(RequestError, handle_error)
    app.add_exception_handler(ValidationError, handle_error)


# ---------------------------------------------------------------- images for the mock's outputs


def _png(width: int, height: int, pixel: Callable[[int, int], tuple[int, int, int]]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + bytes(c for x in range(width) for c in pixel(x, y)) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class _Bits:
    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, value: int, length: int) -> None:
        self.acc = (self.acc << length) | (value & ((1 << length) - 1))
        self.n += length
        while self.n >= 8:
            self.n -= 8
            byte = (self.acc >> self.n) & 0xFF
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0)  # byte stuffing
        self.acc &= (1 << self.n) - 1

    def flush(self) -> bytes:
        if self.n:
            self.put((1 << (8 - self.n)) - 1, 8 - self.n)  # pad with one bits
        return bytes(self.out)


def _jpeg(width: int, height: int, pixel: Callable[[int, int], tuple[int, int, int]]) -> bytes:
    """A baseline JFIF image: YCbCr, no subsampling, each 8x8 block one colour (sampled at its
    centre), so only DC coefficients are coded.  ``width`` and ``height`` are multiples of 8."""

    def segment(marker: int, data: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(data) + 2) + data

    quant = 8  # DC of a flat block is 8 * (value - 128); quantised, value - 128
    dc_lengths = bytes([0, 0, 0, 12] + [0] * 12)  # categories 0..11, four-bit codes
    header = (
        b"\xff\xd8"
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + segment(0xDB, b"\x00" + bytes([quant] * 64))
        + segment(
            0xC0,
            struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00",
        )
        + segment(0xC4, b"\x00" + dc_lengths + bytes(range(12)))
        + segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")  # AC: only EOB, code 0
        + segment(0xDA, b"\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00")
    )
    bits = _Bits()
    predictors = [0, 0, 0]
    for by in range(height // 8):
        for bx in range(width // 8):
            r, g, b = pixel(bx * 8 + 4, by * 8 + 4)
            ycc = (
                0.299 * r + 0.587 * g + 0.114 * b,
                128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
                128 + 0.5 * r - 0.418688 * g - 0.081312 * b,
            )
            for component, value in enumerate(ycc):
                dc = max(0, min(255, round(value))) - 128
                diff = dc - predictors[component]
                predictors[component] = dc
                category = abs(diff).bit_length()
                bits.put(category, 4)
                if category:
                    bits.put(diff if diff > 0 else diff + (1 << category) - 1, category)
                bits.put(0, 1)  # EOB
    return header + bits.flush() + b"\xff\xd9"


_ENCODERS: Final = {"png": _png, "jpeg": _jpeg}
_MEDIA_TYPES: Final = {"png": "image/png", "jpeg": "image/jpeg"}
_SHORT_SIDE: Final = 64


def _size(aspect_ratio: str | None) -> tuple[int, int]:
    """Output pixels for an aspect ratio: the short side 64, both sides multiples of 8."""
    if aspect_ratio is None:
        return _SHORT_SIDE, _SHORT_SIDE
    w, h = (int(part) for part in aspect_ratio.split(":"))
    scale = _SHORT_SIDE / min(w, h)
    return max(8, round(w * scale / 8) * 8), max(8, round(h * scale / 8) * 8)


def _output_image(output_format: str, aspect_ratio: str | None, key: str) -> bytes:
    """A small, valid image in ``output_format``: a gradient whose colours derive from ``key``."""
    width, height = _size(aspect_ratio)
    tint = zlib.crc32(key.encode("utf-8"))
    r0, g0, b0 = tint & 0xFF, (tint >> 8) & 0xFF, (tint >> 16) & 0xFF

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        return (r0 + 255 * x // width) % 256, (g0 + 255 * y // height) % 256, b0

    return _ENCODERS[output_format](width, height, pixel)


# ---------------------------------------------------------------- the mock API

_DEFAULT_FORMAT: Final = catalog.OUTPUT_FORMATS[0]
_QUEUED, _PROCESSING, _COMPLETED, _FAILED = catalog.GENERATION_STATES
_UUID: Final = re.compile(catalog.UUID_PATTERN)
_MARKER: Final = re.compile(
    re.escape(catalog.MOCK_FAIL_MARKER).replace(
        re.escape("{code}"), "(" + "|".join(map(re.escape, catalog.FAILURE_CODES)) + ")"
    )
)
_MARKER_START: Final = catalog.MOCK_FAIL_MARKER.partition("{")[0]
_FAIL_INVALID: Final = catalog.MOCK_FAIL_INVALID.format(codes=", ".join(catalog.FAILURE_CODES))
_FAIL_INVALID_BODY: Final = _json_bytes({"detail": _FAIL_INVALID})
_EPOCH: Final = int(datetime(2026, 4, 1, tzinfo=UTC).timestamp())  # deterministic mode's first


def _timestamp(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


_OUTPUTS: Final = "/mock/outputs"
_MAX_DOCUMENTS: Final = 16  # one OpenAPI document per Host the mock is reached by


class _Job:
    __slots__ = (
        "aspect_ratio",
        "created_at",
        "failure",
        "format",
        "id",
        "model",
        "started",
        "type",
    )

    def __init__(
        self,
        id: str,
        type: str,
        model: str,
        created_at: str,
        started: float,
        format: str,
        aspect_ratio: str | None,
        failure: str | None,
    ) -> None:
        self.id = id
        self.type = type
        self.model = model
        self.created_at = created_at
        self.started = started
        self.format = format
        self.aspect_ratio = aspect_ratio
        self.failure = failure

    id: str
    type: str
    model: str
    created_at: str
    started: float
    format: str
    aspect_ratio: str | None
    failure: str | None


_API_KEY: Final = re.compile(
    f"(?i:{re.escape(catalog.AUTH_SCHEME)}) {re.escape(catalog.API_KEY_PREFIX)}[!-~]+".encode()
)
_FAIL_HEADER: Final = catalog.MOCK_FAIL_HEADER.lower().encode("latin-1")
_FAIL_CODES: Final = {code.encode("latin-1"): code for code in catalog.FAILURE_CODES}


_UNAUTHORIZED_BODY: Final = _json_bytes({"detail": catalog.UNAUTHORIZED})
_INTERNAL_ERROR_BODY: Final = _json_bytes({"detail": catalog.INTERNAL_ERROR})


async def _send_json(send: Send, status: int, body: bytes, request_id: bytes) -> None:
    headers = [
        _JSON_TYPE,
        (b"content-length", b"%d" % len(body)),
        (_REQUEST_ID_KEY, request_id),
        _VERSION_HEADER,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _authorised(scope: Scope) -> bool:
    """``Authorization: Bearer luma-api-<key>``: the scheme in any case, one space, a key of
    printable ASCII after the prefix."""
    value = _header(scope, b"authorization")
    return value is not None and _API_KEY.fullmatch(value) is not None


class _Mock:
    def __init__(
        self,
        *,
        fetch: bool,
        delay: float,
        seed: int | None,
        clock: Callable[[], float],
        max_body_bytes: int,
        max_generations: int,
    ) -> None:
        self.fetch = fetch
        self.delay = delay
        self.random = Random(seed) if seed is not None else None
        self.clock = clock
        self.max_body_bytes = max_body_bytes
        self.max_generations = max_generations
        # Ordered by age; an OrderedDict pops its oldest entry in O(1), a dict would not.
        self.jobs: OrderedDict[str, _Job] = OrderedDict()
        self.count = 0
        self.second, self.stamp = -1, ""

    def new_id(self) -> str:
        return _uuid4((_RANDOM if self.random is None else self.random).getrandbits(128))

    def created_at(self) -> str:
        now = _EPOCH + self.count if self.random is not None else int(time.time())
        if now != self.second:
            self.second, self.stamp = now, _timestamp(now)
        return self.stamp

    def state(self, job: _Job) -> str:
        elapsed = self.clock() - job.started
        if elapsed >= self.delay:
            return _FAILED if job.failure else _COMPLETED
        return _QUEUED if elapsed < self.delay / 2 else _PROCESSING

    def generation(self, job: _Job, state: str, base_url: str) -> dict[str, Any]:
        output = []
        if state == _COMPLETED:
            url = f"{base_url}{_OUTPUTS}/{job.id}.{job.format}"
            output = [{"type": catalog.MOCK_OUTPUT_TYPE, "url": url}]
        failed = state == _FAILED
        return {
            "id": job.id,
            "type": job.type,
            "state": state,
            "model": job.model,
            "created_at": job.created_at,
            "output": output,
            "failure_reason": (
                catalog.MOCK_FAILURE_REASON.format(code=job.failure) if failed else None
            ),
            "failure_code": job.failure if failed else None,
        }

    async def create(self, request: Request) -> Response:
        answer = await self.answer(request.scope, request.receive)
        if answer is None:
            return Response(status_code=400)  # the client has left: nobody reads this
        return _JSON(answer[1], status_code=answer[0])

    async def post(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /v1/generations`` as a plain ASGI app: what :meth:`create` answers behind
        :class:`RequestIdMiddleware`, without routing or request objects (the hot path)."""
        request_id = _request_id(scope)
        try:
            answer = await self.answer(scope, receive)
        except Exception:
            # As Starlette's ServerErrorMiddleware: a 500, then the error for the server's log.
            await _send_json(send, catalog.INTERNAL_ERROR_STATUS, _INTERNAL_ERROR_BODY, request_id)
            raise
        if answer is not None:  # else the client has left
            await _send_json(send, answer[0], answer[1], request_id)

    async def answer(self, scope: Scope, receive: Receive) -> tuple[int, bytes] | None:
        """The status and JSON body of the answer to a POST, or ``None`` when the client
        leaves before its body is in."""
        if not _authorised(scope):
            return catalog.UNAUTHORIZED_STATUS, _UNAUTHORIZED_BODY
        failure: str | None = None
        asked = _header(scope, _FAIL_HEADER)
        if asked is not None:
            failure = _FAIL_CODES.get(asked)
            if failure is None:
                return catalog.MOCK_FAIL_INVALID_STATUS, _FAIL_INVALID_BODY
        try:
            report = await _check_body(await _read(scope, receive, self.max_body_bytes), self.fetch)
        except RequestError as exc:
            report = exc.report
        except ClientDisconnect:
            return None
        if not report.ok:
            status, body = report.to_response()
            return status, _json_bytes(body)
        if failure is None:
            prompt = request_field(report, "prompt")
            marked = _MARKER.search(prompt) if _MARKER_START in prompt else None
            failure = marked.group(1) if marked else None
        job = _Job(
            id=self.new_id(),
            type=request_field(report, "type"),
            model=request_field(report, "model"),
            created_at=self.created_at(),
            started=self.clock(),
            format=request_field(report, "output_format") or _DEFAULT_FORMAT,
            aspect_ratio=request_field(report, "aspect_ratio"),
            failure=failure,
        )
        self.count += 1
        self.jobs[job.id] = job
        if len(self.jobs) > self.max_generations:
            self.jobs.popitem(last=False)
        return 201, _queued_json(job)

    def _base_url(self, request: Request) -> str:
        return str(request.base_url).rstrip("/")

    async def get(self, request: Request) -> Response:
        if not _authorised(request.scope):
            return _detail(catalog.UNAUTHORIZED_STATUS, catalog.UNAUTHORIZED)
        job = self.jobs.get(request.path_params["id"])
        if job is None:
            return _detail(catalog.NOT_FOUND_STATUS, catalog.GENERATION_NOT_FOUND)
        generation = self.generation(job, self.state(job), self._base_url(request))
        return _JSON(generation)

    async def output(self, request: Request) -> Response:
        name = request.path_params["name"]
        stem, _, suffix = name.rpartition(".")
        job = self.jobs.get(stem) if _UUID.fullmatch(stem) else None
        if job is None or suffix != job.format or self.state(job) != _COMPLETED:
            return _detail(catalog.NOT_FOUND_STATUS, catalog.GENERATION_NOT_FOUND)
        image = _output_image(job.format, job.aspect_ratio, job.id)
        return Response(image, media_type=_MEDIA_TYPES[job.format])


def _queued_json(job: _Job) -> bytes:
    """The JSON of a new generation, ``generation(job, queued, "")`` as :func:`_json_bytes`
    writes it, from a template (this is the mock's hot path)."""
    return _QUEUED_TEMPLATE % (
        b'"%s"' % job.id.encode("ascii"),  # a UUID: nothing to escape
        _string(job.type),
        _string(job.model),
        _string(job.created_at),
    )


@functools.lru_cache(maxsize=256)  # types, models and the current second: a handful of values
def _string(value: str) -> bytes:
    return _json_bytes(value)


_QUEUED_TEMPLATE: Final = _json_bytes(
    {
        "id": "%s",
        "type": "%s",
        "state": _QUEUED,
        "model": "%s",
        "created_at": "%s",
        "output": [],
        "failure_reason": None,
        "failure_code": None,
    }
).replace(b'"%s"', b"%s")


def _mock_document(base_url: str) -> dict[str, Any]:
    """``luma_schema.openapi()`` as the mock serves it: its own URL as the server, the
    ``X-Mock-Fail`` header, and the output images it serves."""
    from luma_schema import openapi

    document: dict[str, Any] = openapi()
    document["servers"] = [{"url": base_url, "description": "luma-schema serve (mock)"}]
    paths = document["paths"]
    paths[catalog.ENDPOINT]["post"]["parameters"].append(
        {
            "name": catalog.MOCK_FAIL_HEADER,
            "in": "header",
            "required": False,
            "description": "Mock only: the generation ends failed with this failure_code.",
            "schema": {"type": "string", "enum": list(catalog.FAILURE_CODES)},
        }
    )
    not_found = paths[catalog.ENDPOINT + "/{id}"]["get"]["responses"][str(catalog.NOT_FOUND_STATUS)]
    image = {"schema": {"type": "string", "contentMediaType": "image/*"}}
    paths[_OUTPUTS + "/{name}"] = {
        "get": {
            "operationId": "getMockOutput",
            "summary": "Mock only: a completed generation's output image (no key needed)",
            "security": [],
            "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {
                    "description": "The image.",
                    "headers": not_found["headers"],
                    "content": {_MEDIA_TYPES[f]: image for f in catalog.OUTPUT_FORMATS},
                },
                str(catalog.NOT_FOUND_STATUS): not_found,
            },
        }
    }
    return document


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 and 405, as JSON like every other answer of the mock."""
    assert isinstance(exc, HTTPException)
    return _JSON({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


class _MockApp(Starlette):
    """Starlette with :class:`RequestIdMiddleware` outermost: even a 500 carries the headers.
    ``POST /v1/generations`` (the app at the root) goes straight to the mock's ASGI handler,
    which sends the same answers and headers as the routed endpoint."""

    mock: _Mock

    def build_middleware_stack(self) -> ASGIApp:
        return RequestIdMiddleware(super().build_middleware_stack())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == catalog.ENDPOINT
            and scope["method"] == "POST"
            and not scope.get("root_path")
        ):
            await self.mock.post(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(
    *,
    fetch: bool = False,
    delay: float | None = None,
    seed: int | None = None,
    clock: Callable[[], float] = time.monotonic,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_generations: int = 10_000,
) -> Starlette:
    """The mock Luma Agents API (SPEC section 4) as a Starlette app.

    ``delay``: seconds from ``queued`` to ``completed`` (``processing`` from half-way); the
    default is 3, or 0 with a ``seed``.  ``seed``: deterministic mode, seeded generation ids and
    ``created_at`` counting seconds from 2026-04-01.  ``fetch``: also fetch URL images.
    ``max_generations``: the oldest generations are forgotten beyond this many.  Failure
    injection: header ``X-Mock-Fail: <failure_code>``, or ``[mock-fail:<failure_code>]`` in the
    prompt, makes the generation end ``failed`` with that code."""
    if delay is None:
        delay = 0.0 if seed is not None else 3.0
    if delay < 0 or max_body_bytes < 0 or max_generations < 1:
        raise ValueError("delay and max_body_bytes must be >= 0, max_generations >= 1")
    mock = _Mock(
        fetch=fetch,
        delay=delay,
        seed=seed,
        clock=clock,
        max_body_bytes=max_body_bytes,
        max_generations=max_generations,
    )
    documents: dict[str, bytes] = {}

    async def openapi_json(request: Request) -> Response:
        base_url = str(request.base_url).rstrip("/")
        document = documents.get(base_url)
        if document is None:
            if len(documents) >= _MAX_DOCUMENTS:
                documents.clear()
            document = documents[base_url] = _json_bytes(_mock_document(base_url))
        return Response(document, media_type="application/json")

    routes = [
        Route(catalog.ENDPOINT, mock.create, methods=["POST"]),
        Route(catalog.ENDPOINT + "/{id:path}", mock.get, methods=["GET"]),
        Route(_OUTPUTS + "/{name}", mock.output, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
    ]
    handlers = {Exception: handle_error, HTTPException: _http_error}
    app = _MockApp(routes=routes, exception_handlers=handlers)
    app.mock = app.state.mock = mock
    return app


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    fetch: bool = False,
    delay: float | None = None,
    seed: int | None = None,
) -> None:
    """Run the mock with uvicorn until interrupted (``luma-schema serve``)."""
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ImportError(
            "luma-schema serve needs the 'server' extra: pip install 'luma-schema[server]'"
        ) from exc

    app = create_app(fetch=fetch, delay=delay, seed=seed)
    uvicorn.run(app, host=host, port=port, log_level="warning")
