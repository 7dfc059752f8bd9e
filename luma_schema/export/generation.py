"""The Generation response (``POST`` 201, ``GET`` 200) as a Draft 2020-12 schema: validation and
types alike (it has no rule beyond its types)."""

from __future__ import annotations

import functools
import json
from typing import Any, Final

from luma_schema import catalog

__all__ = ["GENERATION_OUTPUT_DEF", "LAYER_DEF", "generation_schema"]

DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
GENERATION_OUTPUT_DEF: Final = "GenerationOutput"
LAYER_DEF: Final = "Layer"


def _or_null(node: dict[str, Any]) -> dict[str, Any]:
    # anyOf rather than a type list: code generators read it as a union with null, and an enum
    # stays an enum of strings.
    return {"anyOf": [node, {"type": "null"}]}


@functools.cache
def _text() -> str:
    document = {
        "$schema": DIALECT,
        "title": "Generation",
        "description": f"A generation job, as POST {catalog.ENDPOINT} (201) and GET "
        f"{catalog.ENDPOINT}/{{id}} (200) return it.",
        "type": "object",
        "required": [
            "id",
            "type",
            "state",
            "model",
            "created_at",
            "output",
            "failure_reason",
            "failure_code",
        ],
        "properties": {
            "id": {"type": "string", "format": "uuid", "pattern": catalog.UUID_PATTERN},
            "type": {"type": "string", "enum": list(catalog.TYPES)},
            "state": {"type": "string", "enum": list(catalog.GENERATION_STATES)},
            "model": {"type": "string", "enum": list(catalog.MODELS)},
            "created_at": {
                "type": "string",
                "format": "date-time",
                "pattern": catalog.RFC3339_UTC_PATTERN,
            },
            "output": {"type": "array", "items": {"$ref": f"#/$defs/{GENERATION_OUTPUT_DEF}"}},
            "failure_reason": _or_null({"type": "string"}),
            "failure_code": _or_null({"type": "string", "enum": list(catalog.FAILURE_CODES)}),
        },
        "$defs": {
            GENERATION_OUTPUT_DEF: {
                "title": GENERATION_OUTPUT_DEF,
                "description": "One output of a generation: its type (`image`, `video`) and "
                "where to download it; an output of a layering generation also says which "
                "layer it is.",
                "type": "object",
                "required": ["type", "url"],
                "properties": {
                    "type": {"type": "string"},
                    "url": {"type": "string"},
                    "layer": _or_null({"$ref": f"#/$defs/{LAYER_DEF}"}),
                },
            },
            # The official SDK's Layer (luma-agents 0.5.0, GenerationOutput.layer).
            LAYER_DEF: {
                "title": LAYER_DEF,
                "description": "What one layer of a layering generation holds.",
                "type": "object",
                "required": ["alpha_hint", "description", "index", "label"],
                "properties": {
                    "alpha_hint": {
                        "type": "string",
                        "description": "Edge treatment of the layer's transparency: soft, "
                        "hard, or none (the opaque background).",
                    },
                    "description": {"type": "string", "description": "A caption of the layer."},
                    "index": {
                        "type": "integer",
                        "description": "Front to back; the last layer is the background.",
                    },
                    "label": {"type": "string", "description": "A short name of the layer."},
                },
            },
        },
    }
    return json.dumps(document)


def generation_schema() -> dict[str, Any]:
    """The Generation response as a Draft 2020-12 schema (built once; each call returns a fresh
    copy)."""
    document: dict[str, Any] = json.loads(_text())
    return document
