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
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from luma_schema import catalog
from luma_schema.engine import FetchViolations, Report, RequestError, acheck, check
from luma_schema.models import GenerationRequest, request_from_report
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

__all__ = [
    "RequestIdMiddleware",
    "check_request",
    "error_response",
    "handle_error",
    "read_body",
    "validated_request",
]

_BIG_BODY: Final = 1 << 20  # bodies at least this large are checked off the event loop


# Ids need to be unique, not secret: a generator seeded once from the OS, not a syscall each.
_RANDOM: Final = Random(secrets.randbits(128))
_VARIANT: Final = "89ab" * 4


def _uuid4(bits: int) -> str:
    """A version 4 UUID in canonical form from 128 random bits (as ``uuid.UUID(version=4)``)."""
    h = f"{bits:032x}"
    # version nibble 4; variant bits 10 (the nibble's top two bits)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16)]}{h[17:20]}-{h[20:]}"


# ---------------------------------------------------------------- responses


_ENCODE: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_ENCODE_ASCII: Final = json.JSONEncoder(separators=(",", ":")).encode
_JSON_TYPE: Final = (b"content-type", b"application/json")
CLOSE: Final = (b"connection", b"close")


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


def _read_cut_short(report: Report) -> bool:
    """Whether a 413 is the body cap (no image path: the body was not read whole), not an image
    of a body read whole."""
    return report.status == 413 and report.errors[0].path == ""


def error_response(error: RequestError | Report | BodyRefused) -> Response:
    """The server's answer to a refused request: its status and ``{"detail": ...}``.  When the
    body was not read whole (the size cap, a :class:`BodyRefused`), also ``Connection: close``:
    the rest of the body is not worth draining."""
    status, body = error.to_response()
    if isinstance(error, BodyRefused):
        return _JSON(body, status_code=status, headers={**error.headers, "Connection": "close"})
    response = _JSON(body, status_code=status)
    if _read_cut_short(error.report if isinstance(error, RequestError) else error):
        response.raw_headers.append(CLOSE)
    return response


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
    :class:`GenerationRequest`, becomes the server's status and ``{"detail": ...}``; a
    :class:`BodyRefused` its own answer.  Any other exception (another model's
    ValidationError included) is the service's fault: a plain 500."""
    if isinstance(exc, (RequestError, BodyRefused)):
        return error_response(exc)
    if isinstance(exc, ValidationError):
        answer = _validation_answer(exc)
        if answer is not None:
            return _detail(*answer)
    return _detail(catalog.INTERNAL_ERROR_STATUS, catalog.INTERNAL_ERROR)


# ---------------------------------------------------------------- reading a request


async def read_body(request: Request, *, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """The request body, held in memory once.  Refused with :class:`RequestError` (413,
    ``Image exceeds 50 MB size limit``) as soon as its ``Content-Length`` or the bytes
    received exceed ``max_bytes``; with :class:`BodyRefused` (503) when the app's budget of
    bodies in flight (see :func:`install`) cannot hold it.  Afterwards ``await request.body()``
    gives the same bytes."""
    body = await read(request.scope, request.receive, max_bytes)
    request._body = body  # Starlette's own cache: request.body() and stream() read it
    return body


async def check_request(
    request: Request,
    *,
    fetch: bool | FetchViolations = False,
    max_bytes: int = MAX_BODY_BYTES,
) -> Report:
    """What the API answers for this request's body (never raises on bad input): a
    :class:`Report` whose ``request`` is the normalised request when ``ok``, else whose
    ``to_response()`` is the exact status and body.  An oversized body is a 413 report.
    ``fetch``: also fetch URL images (``True``: the default fetcher, extra ``fetch``; or a
    :class:`luma_schema.fetch.Fetcher`), awaited without blocking the event loop.
    Raises :class:`BodyRefused` when the server will not read the body now, and Starlette's
    ``ClientDisconnect`` if the client leaves before the body is in."""
    try:
        body = await read_body(request, max_bytes=max_bytes)
    except RequestError as exc:
        return exc.report
    return await _check_body(body, fetch)


async def _check_body(body: bytes, fetch: bool | FetchViolations) -> Report:
    """The answer for ``body``, the event loop kept free: a large body's static checks run in
    Starlette's thread pool (a 50 MiB image takes about a tenth of a second); the fetch step is
    awaited on the loop (the fetcher's own threads do the I/O), never in that shared pool, where
    slow images would hold the threads every other large body waits for."""
    if len(body) < _BIG_BODY:
        return check(body) if fetch is False else await acheck(body, fetch)
    report = await run_in_threadpool(check, body)
    if fetch is False or not report.ok:
        return report
    # TODO(lead): engine: an acheck that takes this finished static report.  Until then the
    # fetch step checks a valid large body again, on the loop (about 2 ms per MiB).
    return await acheck(body, fetch)


async def validated_request(request: Request) -> GenerationRequest:
    """A FastAPI dependency (``Depends(validated_request)``): the validated, normalised request,
    or :class:`RequestError`, which the handler of :func:`install` turns into the response.
    Reads the raw body, so duplicate member names and the body size cap get the API's answers;
    with :func:`install`, FastAPI's OpenAPI document shows the request body and the answers."""
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


def _new_request_id() -> bytes:
    return _uuid4(_RANDOM.getrandbits(128)).encode("ascii")


class RequestIdMiddleware:
    """ASGI middleware: every HTTP response carries ``X-Request-Id`` (the client's, when it sent
    a printable one of at most :data:`catalog.REQUEST_ID_MAX_LENGTH` characters, else a new
    UUID) and ``X-API-Version``.  The id is also in ``request.state.request_id``.

    ``max_inflight_bytes``: the bodies read by :func:`read_body` (and the helpers built on it)
    while their requests run hold at most this many bytes together; a body that does not fit
    is refused with :class:`BodyRefused` (503, ``Retry-After``).  ``None``: no bound."""

    def __init__(
        self, app: ASGIApp, *, max_inflight_bytes: int | None = MAX_INFLIGHT_BYTES
    ) -> None:
        self.app = app
        self.budget = None if max_inflight_bytes is None else Budget(max_inflight_bytes)

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

        if self.budget is None:
            await self.app(scope, receive, send_with_headers)
            return
        share = scope[SHARE_KEY] = Share(self.budget)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            share.release()
