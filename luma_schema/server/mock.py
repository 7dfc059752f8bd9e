"""``luma-schema serve``: a mock of the Luma Agents API as a Starlette app."""

from __future__ import annotations

import functools
import hmac
import re
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from random import Random
from typing import Any, Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from luma_schema import catalog
from luma_schema.engine import FetchViolations, RequestError, request_field
from luma_schema.server.asgi import (
    _JSON,
    _JSON_TYPE,
    _RANDOM,
    _REQUEST_ID_KEY,
    _VERSION_HEADER,
    CLOSE,
    RequestIdMiddleware,
    _check_body,
    _detail,
    _json_bytes,
    _request_id,
    _uuid4,
    handle_error,
)
from luma_schema.server.body import (
    MAX_BODY_BYTES,
    MAX_INFLIGHT_BYTES,
    SHARE_KEY,
    BodyRefused,
    Budget,
    Share,
    _header,
    read,
)
from luma_schema.server.images import LAYERS, MEDIA_TYPES, layer_image, output_image
from luma_schema.server.video import MEDIA_TYPE as VIDEO_MEDIA_TYPE
from luma_schema.server.video import output_video

__all__ = ["MockClock", "create_app"]


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
# What each type's generation puts out: one image, one video, or one image per layer.
_VIDEO_OUTPUT: Final = catalog.MOCK_VIDEO_OUTPUT_TYPE
_VIDEO_FORMAT, _LAYER_FORMAT = "mp4", "png"
_SECONDS: Final = 5  # a video without video.duration (a video_edit's matches its source: 5 s)
_OUTPUT_NAME: Final = re.compile(r"(?P<id>[0-9a-f-]{36})(?:-(?P<layer>[0-9]))?\.(?P<ext>[a-z0-9]+)")
# One OpenAPI document per address the mock is reached at (its listening sockets: a few).
_MAX_DOCUMENTS: Final = 16


class _Job:
    __slots__ = (
        "aspect_ratio",
        "created_at",
        "failure",
        "format",
        "id",
        "model",
        "seconds",
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
        seconds: int = 0,
    ) -> None:
        self.id = id
        self.type = type
        self.model = model
        self.created_at = created_at
        self.started = started
        self.format = format
        self.aspect_ratio = aspect_ratio
        self.failure = failure
        self.seconds = seconds

    id: str
    type: str
    model: str
    created_at: str
    started: float
    format: str  # of the outputs: png or jpeg (images, layers), mp4 (videos)
    aspect_ratio: str | None
    failure: str | None
    seconds: int  # a video's length


# A token of printable ASCII; inner spaces allowed (the official SDK's generated tests send
# "My Auth Token").
_TOKEN: Final = rb"[!-~](?:[ -~]*[!-~])?"
_BEARER: Final = re.compile(
    # The scheme in any case, spaces, then the token.
    rb"(?i:%s) +(%s)" % (re.escape(catalog.AUTH_SCHEME).encode(), _TOKEN)
)
_FAIL_HEADER: Final = catalog.MOCK_FAIL_HEADER.lower().encode("latin-1")
_FAIL_CODES: Final = {code.encode("latin-1"): code for code in catalog.FAILURE_CODES}


_UNAUTHORIZED_BODY: Final = _json_bytes({"detail": catalog.UNAUTHORIZED})
_INTERNAL_ERROR_BODY: Final = _json_bytes({"detail": catalog.INTERNAL_ERROR})
_RETRY_AFTER: Final = b"retry-after"

Headers = tuple[tuple[bytes, bytes], ...]
Answer = tuple[int, bytes, Headers]


async def _send_json(
    send: Send, status: int, body: bytes, request_id: bytes, extra: Headers = ()
) -> None:
    headers = [
        _JSON_TYPE,
        (b"content-length", b"%d" % len(body)),
        (_REQUEST_ID_KEY, request_id),
        _VERSION_HEADER,
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _token(scope: Scope) -> bytes | None:
    """The bearer token of ``Authorization: Bearer <token>``, or ``None`` when the header is
    missing, empty or malformed."""
    value = _header(scope, b"authorization")
    if value is None:
        return None
    match = _BEARER.fullmatch(value)
    return match.group(1) if match else None


def _origin(scope: Scope) -> str:
    """The mock's own URL as the connection reached it: scheme, the local address of the
    listening socket (never the client's ``Host`` header), and the mount path."""
    scheme = scope.get("scheme", "http")
    server = scope.get("server")
    if not server or server[1] is None:  # a Unix socket: no address to give
        netloc = "localhost"
    else:
        host, port = server
        host = f"[{host}]" if ":" in host else host
        netloc = host if port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return f"{scheme}://{netloc}{scope.get('root_path', '')}"


_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class MockClock:
    """The mock's clock, in seconds: real (monotonic) time plus an offset.  :meth:`advance`
    moves it on, so generations change state without waiting; :meth:`freeze` stops it, so that
    states hold still; :meth:`resume` lets it run again from where it stands."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._frozen: float | None = None

    def __call__(self) -> float:
        frozen = self._frozen
        return time.monotonic() + self._offset if frozen is None else frozen

    def advance(self, seconds: float) -> None:
        if not seconds >= 0:
            raise ValueError("the clock only moves forward: seconds must be >= 0")
        if self._frozen is None:
            self._offset += seconds
        else:
            self._frozen += seconds

    def freeze(self) -> None:
        if self._frozen is None:
            self._frozen = self()

    def resume(self) -> None:
        if self._frozen is not None:
            self._offset = self._frozen - time.monotonic()
            self._frozen = None


class _Mock:
    def __init__(
        self,
        *,
        fetch: bool | FetchViolations,
        delay: float,
        seed: int | None,
        clock: Callable[[], float],
        max_body_bytes: int,
        max_generations: int,
        api_key: str | None,
        base_url: str | None,
        max_inflight_bytes: int | None,
    ) -> None:
        self.fetch = fetch
        self.delay = delay
        self.random = Random(seed) if seed is not None else None
        self.clock = clock
        self.max_body_bytes = max_body_bytes
        self.max_generations = max_generations
        self.api_key = None if api_key is None else api_key.encode("utf-8")
        self.base_url = None if base_url is None else base_url.rstrip("/")
        self.budget = None if max_inflight_bytes is None else Budget(max_inflight_bytes)
        # Ordered by age; an OrderedDict pops its oldest entry in O(1), a dict would not.
        self.jobs: OrderedDict[str, _Job] = OrderedDict()
        self.count = 0
        self.second, self.stamp = -1, ""

    def authorised(self, scope: Scope) -> bool:
        """Any non-empty bearer token, or exactly the configured key."""
        token = _token(scope)
        if token is None:
            return False
        return self.api_key is None or hmac.compare_digest(token, self.api_key)

    def origin(self, scope: Scope) -> str:
        return self.base_url if self.base_url is not None else _origin(scope)

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
        output: list[dict[str, Any]] = []
        if state == _COMPLETED:
            output = _outputs(job, f"{base_url}{_OUTPUTS}/{job.id}")
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
        status, body, extra = answer
        response = _JSON(body, status_code=status)
        response.raw_headers += extra
        return response

    async def post(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /v1/generations`` as a plain ASGI app: what :meth:`create` answers behind
        :class:`RequestIdMiddleware`, without routing or request objects (the hot path)."""
        request_id = _request_id(scope)
        share = None
        if self.budget is not None:
            share = scope[SHARE_KEY] = Share(self.budget)
        try:
            answer = await self.answer(scope, receive)
        except Exception:
            # As Starlette's ServerErrorMiddleware: a 500, then the error for the server's log.
            await _send_json(send, catalog.INTERNAL_ERROR_STATUS, _INTERNAL_ERROR_BODY, request_id)
            raise
        finally:
            if share is not None:
                share.release()  # the body is no longer referenced
        if answer is not None:  # else the client has left
            await _send_json(send, *answer[:2], request_id, answer[2])

    async def answer(self, scope: Scope, receive: Receive) -> Answer | None:
        """The status, JSON body and extra headers of the answer to a POST, or ``None`` when
        the client leaves before its body is in."""
        if not self.authorised(scope):
            return catalog.UNAUTHORIZED_STATUS, _UNAUTHORIZED_BODY, ()
        failure: str | None = None
        asked = _header(scope, _FAIL_HEADER)
        if asked is not None:
            failure = _FAIL_CODES.get(asked)
            if failure is None:
                return catalog.MOCK_FAIL_INVALID_STATUS, _FAIL_INVALID_BODY, ()
        try:
            body = await read(scope, receive, self.max_body_bytes)
        except RequestError as exc:  # the body cap: the rest of the body is not worth draining
            status, detail = exc.report.to_response()
            return status, _json_bytes(detail), (CLOSE,)
        except BodyRefused as exc:
            status, detail = exc.to_response()
            extra = tuple((k.lower().encode(), v.encode()) for k, v in exc.headers.items())
            return status, _json_bytes(detail), (*extra, CLOSE)
        except ClientDisconnect:
            return None
        report = await _check_body(body, self.fetch)
        del body
        if not report.ok:
            status, detail = report.to_response()
            return status, _json_bytes(detail), ()
        if failure is None:
            prompt = request_field(report, "prompt") or ""  # a layering prompt is optional
            marked = _MARKER.search(prompt) if _MARKER_START in prompt else None
            failure = marked.group(1) if marked else None
        kind = request_field(report, "type")
        job = _Job(
            id=self.new_id(),
            type=kind,
            model=request_field(report, "model"),
            created_at=self.created_at(),
            started=self.clock(),
            format=request_field(report, "output_format") or _DEFAULT_FORMAT,
            aspect_ratio=request_field(report, "aspect_ratio"),
            failure=failure,
        )
        if kind in catalog.VIDEO_TYPES:
            job.format, job.seconds = _VIDEO_FORMAT, _seconds(report, kind)
            if kind == "video_edit":  # its aspect ratio is its source's
                job.aspect_ratio = None
        elif kind == "layering":
            job.format, job.aspect_ratio = _LAYER_FORMAT, None
        self.count += 1
        self.jobs[job.id] = job
        if len(self.jobs) > self.max_generations:
            self.jobs.popitem(last=False)
        return 201, _queued_json(job), ()

    async def get(self, request: Request) -> Response:
        if not self.authorised(request.scope):
            return _detail(catalog.UNAUTHORIZED_STATUS, catalog.UNAUTHORIZED)
        job = self.jobs.get(request.path_params["id"])
        if job is None:
            return _detail(catalog.NOT_FOUND_STATUS, catalog.GENERATION_NOT_FOUND)
        generation = self.generation(job, self.state(job), self.origin(request.scope))
        return _JSON(generation)

    async def output(self, request: Request) -> Response:
        """A completed generation's output: ``<id>.<format>`` (an image or a video), or
        ``<id>-<index>.png`` (a layer)."""
        found = _OUTPUT_NAME.fullmatch(request.path_params["name"])
        job = self.jobs.get(found["id"]) if found and _UUID.fullmatch(found["id"]) else None
        if (
            found is None
            or job is None
            or found["ext"] != job.format
            or (found["layer"] is not None) != (job.type == "layering")
            or (found["layer"] is not None and int(found["layer"]) >= len(LAYERS))
            or self.state(job) != _COMPLETED
        ):
            return _detail(catalog.NOT_FOUND_STATUS, catalog.GENERATION_NOT_FOUND)
        if found["layer"] is not None:
            return Response(layer_image(int(found["layer"]), job.id), media_type=MEDIA_TYPES["png"])
        if job.format == _VIDEO_FORMAT:
            video = output_video(job.aspect_ratio, job.seconds, job.id)
            return Response(video, media_type=VIDEO_MEDIA_TYPE)
        image = output_image(job.format, job.aspect_ratio, job.id)
        return Response(image, media_type=MEDIA_TYPES[job.format])


def _outputs(job: _Job, stem: str) -> list[dict[str, Any]]:
    """A completed job's outputs, under ``stem`` (the output URL without its suffix)."""
    if job.type == "layering":
        return [
            {
                "type": catalog.MOCK_OUTPUT_TYPE,
                "url": f"{stem}-{index}.{job.format}",
                "layer": {
                    "index": index,
                    "label": label,
                    "description": description,
                    "alpha_hint": alpha_hint,
                },
            }
            for index, (label, description, alpha_hint) in enumerate(LAYERS)
        ]
    kind = _VIDEO_OUTPUT if job.format == _VIDEO_FORMAT else catalog.MOCK_OUTPUT_TYPE
    return [{"type": kind, "url": f"{stem}.{job.format}"}]


def _seconds(report: Any, kind: str) -> int:
    """A video's length: its ``video.duration`` (a ``video_edit``'s is its source's)."""
    video = request_field(report, "video")  # None when not given
    duration = video.get("duration") if isinstance(video, dict) and kind != "video_edit" else None
    return int(duration.rstrip("s")) if isinstance(duration, str) else _SECONDS


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


def _mock_document(base_url: str, api_key: bool) -> dict[str, Any]:
    """``luma_schema.openapi()`` as the mock serves it: its own URL as the server, the keys it
    accepts, the ``X-Mock-Fail`` header, and the output images it serves."""
    from luma_schema import openapi

    document: dict[str, Any] = openapi()
    document["servers"] = [{"url": base_url, "description": "luma-schema serve (mock)"}]
    document["components"]["securitySchemes"]["bearer"]["description"] = (
        "Authorization: Bearer <the key the mock was started with>"
        if api_key
        else "Authorization: Bearer <any non-empty token>"
    )
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
    video = {"schema": {"type": "string", "contentMediaType": VIDEO_MEDIA_TYPE}}
    paths[_OUTPUTS + "/{name}"] = {
        "get": {
            "operationId": "getMockOutput",
            "summary": "Mock only: a completed generation's output image, layer or video "
            "(no key needed)",
            "security": [],
            "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {
                    "description": "The image (PNG or JPEG), the layer (PNG) or the video (MP4).",
                    "headers": not_found["headers"],
                    "content": {
                        **{MEDIA_TYPES[f]: image for f in catalog.OUTPUT_FORMATS},
                        VIDEO_MEDIA_TYPE: video,
                    },
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
        outer = RequestIdMiddleware(super().build_middleware_stack(), max_inflight_bytes=None)
        outer.budget = self.mock.budget  # one budget for the routed and the direct POST
        return outer

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


def _absolute_http_url(url: str) -> bool:
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not parts.query
        and not parts.fragment
        and url.isprintable()
        and " " not in url
    )


def create_app(
    *,
    fetch: bool | FetchViolations = False,
    delay: float | None = None,
    seed: int | None = None,
    clock: Callable[[], float] = time.monotonic,
    api_key: str | None = None,
    base_url: str | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_inflight_bytes: int | None = MAX_INFLIGHT_BYTES,
    max_generations: int = 10_000,
) -> Starlette:
    """The mock Luma Agents API as a Starlette app.

    ``delay``: seconds from ``queued`` to ``completed`` (``processing`` from half-way); the
    default is 3, or 0 with a ``seed``.  ``seed``: deterministic mode, seeded generation ids and
    ``created_at`` counting seconds from 2026-04-01.  ``clock``: what the states are timed by
    (a :class:`MockClock` lets a test move it).  ``fetch``: also fetch URL images (``True``: the
    default fetcher, extra ``fetch``; or a :class:`luma_schema.fetch.Fetcher`), awaited without
    blocking the event loop, so a slow image holds up only its own request.

    ``api_key``: ``None`` accepts any non-empty bearer token, as mock servers of generated
    client test suites do; a string accepts that exact key only.  Either way a missing, empty
    or malformed ``Authorization`` is ``401``.

    ``base_url``: the URL output images and the OpenAPI ``servers`` list are given under (an
    absolute ``http://`` or ``https://`` URL, without a query or fragment; a trailing ``/`` is
    dropped); ``None``: the address of the socket the request came in on (never the ``Host``
    header, which the client controls).

    ``max_body_bytes``: larger bodies are ``413``.  ``max_inflight_bytes``: the bodies being
    read and checked hold at most this many bytes together; one that does not fit is ``503``
    with ``Retry-After`` (``None``: no bound).  ``max_generations``: the oldest generations
    are forgotten beyond this many.  Failure injection: header ``X-Mock-Fail:
    <failure_code>``, or ``[mock-fail:<failure_code>]`` in the prompt, makes the generation end
    ``failed`` with that code.

    A completed generation's outputs: one image (``output_format``, at its aspect ratio) for
    ``image`` and ``image_edit``; one ``{"type": "video"}`` MP4 for the video types (24 fps,
    ``video.duration`` long, 5 s without one and for a ``video_edit``, whose length and frame
    are its source's; 16:9 without an aspect ratio); three PNG layers for ``layering``, front
    to back, each output with its ``layer``."""
    if delay is None:
        delay = 0.0 if seed is not None else 3.0
    if delay < 0 or max_body_bytes < 0 or max_generations < 1:
        raise ValueError("delay and max_body_bytes must be >= 0, max_generations >= 1")
    if api_key is not None and re.fullmatch(_TOKEN, api_key.encode("utf-8")) is None:
        raise ValueError("api_key must be printable ASCII, not empty, no surrounding spaces")
    if base_url is not None and not _absolute_http_url(base_url):
        raise ValueError(
            "base_url must be an absolute http:// or https:// URL without a query or fragment"
        )
    mock = _Mock(
        fetch=fetch,
        delay=delay,
        seed=seed,
        clock=clock,
        max_body_bytes=max_body_bytes,
        max_generations=max_generations,
        api_key=api_key,
        base_url=base_url,
        max_inflight_bytes=max_inflight_bytes,
    )
    documents: dict[str, bytes] = {}

    async def openapi_json(request: Request) -> Response:
        base_url = mock.origin(request.scope)
        document = documents.get(base_url)
        if document is None:
            if len(documents) >= _MAX_DOCUMENTS:
                documents.clear()
            document = _json_bytes(_mock_document(base_url, mock.api_key is not None))
            documents[base_url] = document
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
