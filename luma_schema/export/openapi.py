"""The API as an OpenAPI 3.1 document: ``POST /v1/generations`` and ``GET /v1/generations/{id}``.

An OpenAPI document is read by code generators first, so its schemas are the *types* schemas
(:mod:`luma_schema.export.typeschema`, and the Generation response): the request body is
``components/requestBodies/GenerationRequest`` (a request body, so that generators such as
openapi-typescript keep fields with defaults optional), and ``Image``, the types of the request's
objects (``Video``, ``VideoEdit``, ...), ``Generation``, ``GenerationOutput``, ``Layer`` and
``Error`` are ``components/schemas``.  The rules a type cannot state are
in the descriptions and in the error responses, which list the statuses the catalogue's rules
answer, each with the ``{"detail": string}`` body and the messages that produce it; the
validation schema is :func:`luma_schema.export.jsonschema.json_schema`.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Final

from luma_schema import catalog
from luma_schema.export import jsonschema, typeschema
from luma_schema.rules import Catalogue, OneOfFor

__all__ = ["openapi"]

_COMPONENT_REF: Final = "#/components/schemas/"
_REQUEST_BODY_REF: Final = "#/components/requestBodies/GenerationRequest"
_STATUS_TEXT: Final = {
    400: "Bad request: the body breaks a rule (the message names it).",
    401: "Missing or invalid API key.",
    404: "No generation has this id.",
    413: "An image is larger than the size limit.",
    422: "Well-formed, but refused: a parameter combination, image content or URL.",
}
# Not rules of the request body, so not in the catalogue's rule table: the server's own answers.
_UNAUTHORIZED: Final = "Missing or invalid API key"
_NOT_FOUND: Final = "Generation not found"


def _move_refs(node: Any, names: dict[str, str]) -> Any:
    """``node`` with each ``#/$defs/<name>`` reference pointed at its component instead."""
    if isinstance(node, list):
        return [_move_refs(item, names) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
            out[key] = _COMPONENT_REF + names[value.removeprefix("#/$defs/")]
        else:
            out[key] = _move_refs(value, names)
    return out


def _error(status: int, messages: list[tuple[str, str]]) -> dict[str, Any]:
    examples = {
        name: {"summary": message, "value": {"detail": message}} for name, message in messages
    }
    return {
        "description": _STATUS_TEXT[status],
        "headers": _HEADERS,
        "content": {
            "application/json": {
                "schema": {"$ref": _COMPONENT_REF + "Error"},
                "examples": examples,
            }
        },
    }


_HEADERS: Final = {
    "X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"},
    "X-API-Version": {"$ref": "#/components/headers/X-API-Version"},
}


def _rule_messages(cat: Catalogue, status: int) -> list[tuple[str, str]]:
    """``(rule id, message)`` for each rule answering ``status``; echoed values stay
    placeholders such as ``{value}``, a reference's path is shown as ``source``."""
    return [
        (rule.id, jsonschema.rule_entry(rule, cat, path="source")["message"])
        for rule in cat.rules
        if rule.status == status
    ]


def _types(cat: Catalogue) -> str:
    """The request types the catalogue knows, as the summary names them."""
    for rule in cat.rules:
        if isinstance(rule, OneOfFor) and rule.field == "type":
            return ", ".join(rule.values)
    return "any type"


def _components(schema: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``schema`` without ``$schema`` and ``$defs``, and its definitions, references pointed at
    ``components/schemas`` (definitions keep their names: they are the types' names)."""
    schema = {k: v for k, v in schema.items() if k != "$schema"}
    defs = schema.pop("$defs", {})
    names = {name: name for name in defs}
    moved = {name: _move_refs(node, names) for name, node in defs.items()}
    return _move_refs(schema, names), moved


def _document(cat: Catalogue) -> dict[str, Any]:
    request, images = _components(typeschema.request_types_schema(cat))
    generation, outputs = _components(jsonschema.generation_schema())
    statuses = sorted({r.status for r in cat.rules})
    post_errors = {str(s): _error(s, _rule_messages(cat, s)) for s in statuses}
    post_errors["401"] = _error(401, [("unauthorized", _UNAUTHORIZED)])
    created = {
        "description": "Accepted: the generation is queued.",
        "headers": _HEADERS,
        "content": {"application/json": {"schema": {"$ref": _COMPONENT_REF + "Generation"}}},
    }
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": jsonschema.DIALECT,
        "info": {
            "title": "Luma Agents generations (as luma_schema models it)",
            "version": catalog.API_VERSION,
            "description": "Generated from luma_schema's catalogue: every documented status "
            "and message of the request rules.",
        },
        "servers": [{"url": "https://agents.lumalabs.ai"}],
        "security": [{"bearer": []}],
        "paths": {
            catalog.ENDPOINT: {
                "post": {
                    "operationId": "createGeneration",
                    "summary": f"Create a generation ({_types(cat)})",
                    "parameters": [
                        {"$ref": "#/components/parameters/X-Request-Id"},
                        {"$ref": "#/components/parameters/X-API-Version"},
                    ],
                    "requestBody": {"$ref": _REQUEST_BODY_REF},
                    "responses": {"201": created, **post_errors},
                }
            },
            catalog.ENDPOINT + "/{id}": {
                "get": {
                    "operationId": "getGeneration",
                    "summary": "Poll a generation",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {"$ref": "#/components/parameters/X-Request-Id"},
                        {"$ref": "#/components/parameters/X-API-Version"},
                    ],
                    "responses": {
                        "200": {
                            "description": "The generation.",
                            "headers": _HEADERS,
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": _COMPONENT_REF + "Generation"}
                                }
                            },
                        },
                        "401": _error(401, [("unauthorized", _UNAUTHORIZED)]),
                        "404": _error(404, [("not_found", _NOT_FOUND)]),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Authorization: Bearer luma-api-...",
                }
            },
            "parameters": {
                "X-Request-Id": {
                    "name": "X-Request-Id",
                    "in": "header",
                    "required": False,
                    "description": "Echoed in the response; a new UUID when absent.",
                    "schema": {"type": "string"},
                },
                "X-API-Version": {
                    "name": "X-API-Version",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "const": catalog.API_VERSION},
                },
            },
            "headers": {
                "X-Request-Id": {
                    "description": "The request's X-Request-Id, or a new UUID.",
                    "required": True,
                    "schema": {"type": "string"},
                },
                "X-API-Version": {
                    "description": "The API version that answered.",
                    "required": True,
                    "schema": {"type": "string", "const": catalog.API_VERSION},
                },
            },
            "requestBodies": {
                "GenerationRequest": {
                    "description": "The generation to create. A body of these types may still "
                    "break a rule (see each field's description and the error responses).",
                    "required": True,
                    "content": {"application/json": {"schema": request}},
                }
            },
            "schemas": {
                **images,
                "Generation": generation,
                **outputs,
                "Error": {
                    "type": "object",
                    "required": ["detail"],
                    "properties": {"detail": {"type": "string"}},
                },
            },
        },
    }


@functools.cache
def _text() -> str:
    return json.dumps(_document(catalog.CATALOGUE))


def openapi(cat: Catalogue | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document: of the API's catalogue (built once and cached; each call
    returns a fresh copy), or of the catalogue ``cat``."""
    if cat is not None and cat is not catalog.CATALOGUE:
        return _document(cat)
    document: dict[str, Any] = json.loads(_text())
    return document
