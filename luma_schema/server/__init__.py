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
``{"detail": ...}`` of the request rules, or ``201`` and a ``queued`` Generation that moves to
``processing`` and ``completed`` (or ``failed``, on request) while it is polled with
``GET /v1/generations/{id}``; its output URL serves a real PNG or JPEG.
"""

from __future__ import annotations

try:
    import starlette  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "luma_schema.server needs the 'server' extra: pip install 'luma-schema[server]'"
    ) from exc

from luma_schema.server.asgi import (
    MAX_BODY_BYTES,
    RequestIdMiddleware,
    check_request,
    error_response,
    handle_error,
    install,
    read_body,
    validated_request,
)
from luma_schema.server.mock import create_app, serve

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
