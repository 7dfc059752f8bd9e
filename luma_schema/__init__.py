"""luma_schema: every rule of the Luma Agents generation request, and the server's exact answer.

``check(payload)`` returns a :class:`Report` with the status and exact ``{"detail": ...}`` message the
Luma Agents API gives for ``POST /v1/generations`` (types ``image`` and ``image_edit``, models
``uni-1`` and ``uni-1-max``), without a network round trip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from luma_schema.engine import Notice, Report, RequestError, Violation, check

if TYPE_CHECKING:
    from luma_schema.models import Generation, GenerationOutput, GenerationRequest, ImageInput

__all__ = [
    "Generation",
    "GenerationOutput",
    "GenerationRequest",
    "ImageInput",
    "Notice",
    "Report",
    "RequestError",
    "Violation",
    "check",
    "image_schema",
    "json_schema",
    "openapi",
    "validate",
]

__version__ = "0.1.0"

_MODELS = frozenset({"Generation", "GenerationOutput", "GenerationRequest", "ImageInput"})


def validate(payload: object) -> GenerationRequest:
    """The request as a :class:`GenerationRequest`, defaults filled; raises :class:`RequestError`
    (``status``, ``detail``, ``errors``) when the server would refuse it."""
    from luma_schema.models import request_from_report

    report = check(payload)
    if not report.ok:
        raise RequestError(report)
    return request_from_report(report)


def json_schema() -> dict[str, Any]:
    """The request body as a Draft 2020-12 JSON Schema, generated from the catalogue (cached;
    each call returns a fresh copy)."""
    from luma_schema.export.jsonschema import json_schema as build

    return build()


def image_schema() -> dict[str, Any]:
    """One image (``source``, an ``image_ref`` item) as a Draft 2020-12 JSON Schema."""
    from luma_schema.export.jsonschema import image_schema as build

    return build()


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``POST /v1/generations`` and ``GET /v1/generations/{id}``
    (cached; each call returns a fresh copy)."""
    from luma_schema.export.openapi import openapi as build

    return build()


def __getattr__(name: str) -> Any:
    # pydantic models load on first use, so that `check` alone stays a light import.
    if name in _MODELS:
        from luma_schema import models

        return getattr(models, name)
    raise AttributeError(f"module 'luma_schema' has no attribute {name!r}")
