"""The request as a *types* schema (Draft 2020-12) for code generators, from the catalogue.

:func:`luma_schema.export.jsonschema.json_schema` is the *validation* schema: every rule the
schema language can state, written so that validators (and ajv-errors' messages) give the API's
answers.  Its conditional rules (``if``/``then`` over the request, ``not``/``anyOf`` over images,
an image definition per path for messages that name it) are what code generators cannot read.
The types schema states only what a type can hold, the same for every request:

- each field's JSON type (``anyOf`` with null where null is allowed), enum, string lengths, and
  its default; only ``prompt`` is required, so fields with defaults stay optional;
- one named ``Image`` type (``source`` is an ``Image`` or null, ``image_ref`` an array of them);
- objects are closed (``additionalProperties: false``): the server ignores a field it does not
  know, so for a client typed by this contract such a field is a mistake (a typo, most often).

Every rule kind maps to a function below; a kind without one fails at import.  A rule these types
cannot state (a condition across fields, a pattern, the network) is named in the description of
the field or image it reads, with its status and message, so that generated code documents it.
A value of these types may still be refused: validate it with the validation schema (or
:func:`luma_schema.check`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from luma_schema import catalog
from luma_schema.export.jsonschema import DIALECT, rule_entry, rule_kinds, unmapped
from luma_schema.rules import (
    MISSING,
    AllowedWith,
    Base64,
    Catalogue,
    EitherOf,
    Fetched,
    Field,
    HttpStatus,
    ImageMediaType,
    JsonBody,
    JsonType,
    JsonTypes,
    Length,
    MaxBytes,
    MaxItemsFor,
    NotBoth,
    OneOf,
    OnlyFor,
    PublicHttpsUrl,
    Range,
    Required,
    RequiredFor,
    RequiredWith,
    Rule,
)

__all__ = ["IMAGE_TYPE", "TYPE_EXPORTERS", "request_types_schema"]

IMAGE_TYPE: Final = "Image"
_IMAGE_REF: Final = f"#/$defs/{IMAGE_TYPE}"
_JSON_TYPES: Final = {
    JsonType.STRING: "string",
    JsonType.BOOLEAN: "boolean",
    JsonType.INTEGER: "integer",
    JsonType.NUMBER: "number",
    JsonType.ARRAY: "array",
    JsonType.OBJECT: "object",
}


class _Types:
    """The types schema under construction: the root, a node per field and per image member,
    the image, and the notes (messages of rules left to the validation schema) per node."""

    def __init__(self, cat: Catalogue) -> None:
        self.cat = cat
        self.root: dict[str, Any] = {}
        self.fields: dict[str, dict[str, Any]] = {f.name: {} for f in cat.fields}
        self.members: dict[str, dict[str, Any]] = {m.name: {} for m in cat.reference_members}
        self.image: dict[str, Any] = {}
        self.notes: dict[int, list[str]] = {}
        self.field_table = {f.name: f for f in cat.fields}

    def note(self, node: dict[str, Any], rule: Rule) -> None:
        """Name ``rule`` in the description of ``node``: its message (placeholders such as
        ``{path}`` kept) and its status."""
        note = f'{rule.status} "{rule_entry(rule)["message"]}"'
        notes = self.notes.setdefault(id(node), [])
        if note not in notes:
            notes.append(note)


def _nullable(node: dict[str, Any], field: Field) -> dict[str, Any]:
    """``node`` or null, for a nullable field: ``anyOf`` of the two, which every generator reads
    as a union with null (an enum stays an enum of strings, an image the named type)."""
    return {"anyOf": [node, {"type": "null"}]} if field.nullable else node


# ---------------------------------------------------------------- one function per rule kind


def _json_body(rule: JsonBody, t: _Types) -> None:
    t.root["type"] = "object"


def _json_types(rule: JsonTypes, t: _Types) -> None:
    for field in t.cat.fields:
        node = t.fields[field.name]
        if field.reference and field.type is JsonType.OBJECT:
            node["$ref"] = _IMAGE_REF
        else:
            node["type"] = _JSON_TYPES[field.type]
        if field.items is not None:
            image = field.reference
            node["items"] = {"$ref": _IMAGE_REF} if image else {"type": _JSON_TYPES[field.items]}
    t.image["type"] = "object"
    for member in t.cat.reference_members:
        t.members[member.name]["type"] = _JSON_TYPES[member.type]


def _one_of(rule: OneOf, t: _Types) -> None:
    t.fields[rule.field]["enum"] = list(rule.values)


def _required(rule: Required, t: _Types) -> None:
    t.root.setdefault("required", []).append(rule.field)


def _length(rule: Length, t: _Types) -> None:
    node = t.fields[rule.field]
    if rule.min:
        node["minLength"] = rule.min
    node["maxLength"] = rule.max


def _range(rule: Range, t: _Types) -> None:
    node = t.fields[rule.field]
    if rule.min is not None:
        node["minimum"] = rule.min
    if rule.max is not None:
        node["maximum"] = rule.max


def _request_note(rule: MaxItemsFor | RequiredFor | OnlyFor | AllowedWith, t: _Types) -> None:
    t.note(t.fields[rule.field], rule)


def _image_note(rule: NotBoth | EitherOf | RequiredWith, t: _Types) -> None:
    t.note(t.image, rule)


def _member_note(rule: Base64 | MaxBytes | ImageMediaType | PublicHttpsUrl, t: _Types) -> None:
    t.note(t.members[rule.member], rule)


TypeExporter = Callable[[Any, _Types], None]
TYPE_EXPORTERS: Final[Mapping[type[Rule], TypeExporter]] = {
    JsonBody: _json_body,
    JsonTypes: _json_types,
    OneOf: _one_of,
    Required: _required,
    Length: _length,
    Range: _range,
    MaxItemsFor: _request_note,
    RequiredFor: _request_note,
    OnlyFor: _request_note,
    AllowedWith: _request_note,
    NotBoth: _image_note,
    EitherOf: _image_note,
    RequiredWith: _image_note,
    Base64: _member_note,
    MaxBytes: _member_note,
    ImageMediaType: _member_note,
    PublicHttpsUrl: _member_note,
    Fetched: _member_note,
    HttpStatus: _member_note,
}
_UNMAPPED: Final = unmapped(rule_kinds(), TYPE_EXPORTERS)
if _UNMAPPED:
    raise TypeError(f"the types schema exporter has no function for rule kinds {_UNMAPPED}")


# ---------------------------------------------------------------- assembling the document


def _described(t: _Types, node: dict[str, Any], lead: str = "") -> dict[str, Any]:
    """``node`` with a description: ``lead``, then the rules left to the validation schema."""
    notes = t.notes.get(id(node), [])
    text = lead
    if notes:
        text += (" " if text else "") + "Rules beyond this type: " + "; ".join(notes) + "."
    return {"description": text} if text else {}


def _default(field: Field) -> dict[str, Any]:
    if field.default is MISSING:
        return {}
    return {"default": list(field.default) if isinstance(field.default, tuple) else field.default}


def _build(cat: Catalogue = catalog.CATALOGUE) -> dict[str, Any]:
    t = _Types(cat)
    for rule in cat.rules:
        TYPE_EXPORTERS[type(rule)](rule, t)
    properties = {
        f.name: {
            **_described(t, t.fields[f.name]),
            **_nullable(t.fields[f.name], f),
            **_default(f),
        }
        for f in cat.fields
    }
    members = {
        m.name: {**_described(t, t.members[m.name]), **_nullable(t.members[m.name], m)}
        for m in cat.reference_members
    }
    lead = "An image given by URL or as base64 data (`{path}`: `source`, `image_ref[i]`)."
    image = {
        "title": IMAGE_TYPE,
        **_described(t, t.image, lead),
        **t.image,
        "properties": members,
        "additionalProperties": False,
    }
    return {
        "$schema": DIALECT,
        "title": "GenerationRequest",
        "description": f"The body of POST {catalog.ENDPOINT} (Luma Agents API version "
        f"{catalog.API_VERSION}) as types for code generators, generated from luma_schema's "
        "catalogue. A request of these types may still break a rule: validate it with "
        "generation-request.schema.json.",
        **t.root,
        "properties": properties,
        "additionalProperties": False,
        "$defs": {IMAGE_TYPE: image},
    }


@functools.cache
def _text() -> str:
    return json.dumps(_build())


def request_types_schema() -> dict[str, Any]:
    """The request body as a types schema (see the module doc): built once and cached; each
    call returns a fresh copy."""
    document: dict[str, Any] = json.loads(_text())
    return document
