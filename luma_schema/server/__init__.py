"""The server side: validation for any ASGI service, and ``luma-schema serve``, a mock of the API.

For a Starlette or FastAPI service (extra ``server``)::

    from luma_schema import server

    server.install(app)          # X-Request-Id / X-API-Version on responses; error handlers
    report = await server.check_request(request)         # never raises on bad input: a Report
    request_model = await server.validated_request(request)  # or raises RequestError -> handler

A body is read with a cap (:data:`MAX_BODY_BYTES`): a ``Content-Length`` above it is refused before
a byte is read, and a streamed body is refused as soon as it passes it, with ``413`` and the
error-handling guide's ``Image exceeds 50 MB size limit``.  A body is held in memory once, and
the bodies held at once by an app are bounded (``install(app, max_inflight_bytes=...)``).

The mock (:func:`create_app`, :class:`MockServer`, ``luma-schema serve``) answers
``POST /v1/generations`` with the exact status and ``{"detail": ...}`` of the request rules, or
``201`` and a ``queued`` Generation that moves to ``processing`` and ``completed`` (or
``failed``, on request) while it is polled with ``GET /v1/generations/{id}``; its output URLs
serve real files: a PNG or JPEG for the image types, an MP4 for the video types, a PNG per
layer (each output carrying its ``layer``) for ``layering``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

try:
    import starlette  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "luma_schema.server needs the 'server' extra: pip install 'luma-schema[server]'"
    ) from exc

from luma_schema.server.asgi import (
    RequestIdMiddleware,
    check_request,
    error_response,
    handle_error,
    read_body,
    validated_request,
)
from luma_schema.server.body import MAX_BODY_BYTES, MAX_INFLIGHT_BYTES, BodyRefused
from luma_schema.server.mock import MockClock, create_app
from luma_schema.server.protocol import uvicorn_protocol
from luma_schema.server.run import MockServer, serve
from luma_schema.server.wiring import install

if TYPE_CHECKING:
    from luma_schema.server._fastapi import RawBodyRoute

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_INFLIGHT_BYTES",
    "BodyRefused",
    "MockClock",
    "MockServer",
    "RawBodyRoute",
    "RequestIdMiddleware",
    "check_request",
    "create_app",
    "error_response",
    "handle_error",
    "install",
    "read_body",
    "serve",
    "uvicorn_protocol",
    "validated_request",
]


def __getattr__(name: str) -> Any:
    # FastAPI is optional: its route class is made when first asked for.
    if name == "RawBodyRoute":
        from luma_schema.server._fastapi import RawBodyRoute

        return RawBodyRoute
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
