"""ASGI helpers for any Starlette or FastAPI service: the request body read with a cap, the
engine's verdict as the API's status and ``{"detail": ...}``, and the two headers every answer of
the API carries."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from random import Random
from typing import Any, Final

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from luma_schema import catalog
from luma_schema.engine import Report, RequestError, Violation, check
from luma_schema.models import GenerationRequest, request_from_report
from luma_schema.rules import MaxBytes, MaxItemsFor, OnlyFor, RequiredFor

__all__ = [
    "BODY_TOO_LARGE",
    "MAX_BODY_BYTES",
    "RequestIdMiddleware",
    "check_request",
    "error_response",
    "handle_error",
    "install",
    "read_body",
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
