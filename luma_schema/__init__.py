"""luma_schema: every rule of the Luma Agents generation request, and the server's exact answer.

``check(payload)`` returns a :class:`Report` with the status and exact ``{"detail": ...}`` message the
Luma Agents API gives for ``POST /v1/generations`` (API version :data:`API_VERSION`: the image
types of the published guide, layering, the ray-3.2 video types, references by id), without a
network round trip.
"""

# The public names load on first use: `import luma_schema` costs nothing until one is read, so the
# command line can set itself up (Ctrl-C, --version, --help) before the engine compiles its rules,
# and pydantic loads only for the models.  The namespace holds the public names and nothing else.
# Not even `typing` is imported: the command's start-up (and its Ctrl-C handling) waits for this.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any

    from luma_schema.catalog import API_VERSION
    from luma_schema.engine import Notice, Report, RequestError, Violation, check
    from luma_schema.models import Generation, GenerationOutput, GenerationRequest, ImageInput

__version__ = "0.1.0"

__all__ = [
    "API_VERSION",
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

# Where each public name that is not defined here lives.
_HOMES = {
    "API_VERSION": "luma_schema.catalog",
    "Notice": "luma_schema.engine",
    "Report": "luma_schema.engine",
    "RequestError": "luma_schema.engine",
    "Violation": "luma_schema.engine",
    "check": "luma_schema.engine",
    "Generation": "luma_schema.models",
    "GenerationOutput": "luma_schema.models",
    "GenerationRequest": "luma_schema.models",
    "ImageInput": "luma_schema.models",
}


def validate(payload: object) -> "GenerationRequest":
    """The request as a :class:`GenerationRequest`, defaults filled; raises :class:`RequestError`
    (``status``, ``detail``, ``errors``) when the server would refuse it."""
    from luma_schema.engine import RequestError, check
    from luma_schema.models import request_from_report

    report = check(payload)
    if not report.ok:
        raise RequestError(report)
    return request_from_report(report)


def json_schema() -> "dict[str, Any]":
    """The request body as a Draft 2020-12 JSON Schema, generated from the catalogue (cached;
    each call returns a fresh copy)."""
    from luma_schema.export.jsonschema import json_schema as build

    return build()


def image_schema() -> "dict[str, Any]":
    """One image (``source``, an ``image_ref`` item) as a Draft 2020-12 JSON Schema."""
    from luma_schema.export.jsonschema import image_schema as build

    return build()


def openapi() -> "dict[str, Any]":
    """The OpenAPI 3.1 document of ``POST /v1/generations`` and ``GET /v1/generations/{id}``
    (cached; each call returns a fresh copy)."""
    from luma_schema.export.openapi import openapi as build

    return build()


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'luma_schema' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # read once: later reads are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})


del TYPE_CHECKING
