"""``install(app)``: what a Starlette or FastAPI app needs to answer as the API does.  Kept
apart from :mod:`luma_schema.server.asgi`, whose helpers the FastAPI part builds on, so that
neither imports the other back."""

from __future__ import annotations

import sys

from pydantic import ValidationError
from starlette.applications import Starlette

from luma_schema.engine import RequestError
from luma_schema.server.asgi import RequestIdMiddleware, handle_error
from luma_schema.server.body import MAX_INFLIGHT_BYTES, BodyRefused

__all__ = ["install"]


def install(app: Starlette, *, max_inflight_bytes: int | None = MAX_INFLIGHT_BYTES) -> None:
    """Add :class:`RequestIdMiddleware` (with ``max_inflight_bytes``) and :func:`handle_error`
    (for :class:`RequestError`, :class:`BodyRefused` and pydantic's ``ValidationError``) to a
    Starlette or FastAPI app, before it starts.

    On a FastAPI app, also: a route whose body parameter is a :class:`GenerationRequest` answers
    FastAPI's validation errors of that body as the API does (status and ``{"detail": ...}``,
    no input echoed), and routes taking a :class:`GenerationRequest` (as their body, or through
    ``Depends(validated_request)``) show the exported request schema and the API's error
    answers in ``/openapi.json``."""
    app.add_middleware(RequestIdMiddleware, max_inflight_bytes=max_inflight_bytes)
    app.add_exception_handler(RequestError, handle_error)
    app.add_exception_handler(BodyRefused, handle_error)
    app.add_exception_handler(ValidationError, handle_error)
    fastapi = sys.modules.get("fastapi")  # a FastAPI app means fastapi is imported already
    if fastapi is not None and isinstance(app, fastapi.FastAPI):
        from luma_schema.server import _fastapi

        _fastapi.install(app)
