"""The request as a *types* schema (Draft 2020-12) for code generators, from a catalogue.

:func:`luma_schema.export.jsonschema.json_schema` is the *validation* schema: every rule the
schema language can state, written so that validators (and ajv-errors' messages) give the API's
answers.  Its conditional rules (``if``/``then`` over the request, ``not``/``anyOf`` over media
references, a definition per reference position) are what code generators cannot read.  The
types schema states only what a type can hold, the same for every request:

- each field's JSON type (``anyOf`` with null where null is allowed), enum, string lengths,
  array sizes, number ranges and its default;
- a value limit of a rule with conditions is stated as the union over the cases (``prompt``
  holds at most 6000 characters: 500 for ``layering``, 6000 otherwise; ``aspect_ratio`` is one
  of the image and the video ratios); where some case has no limit, none is stated;
- a field is required only by a rule without conditions (none is, today: ``layering`` takes no
  ``prompt``), and a member of an object when the object's being given is the rule's only
  condition (the four ``video.source_position`` members);
- one named ``Image`` type for every media reference; each other object a named type after its
  path (``video.edit`` is ``VideoEdit``);
- objects are closed (``additionalProperties: false``): the server ignores a field it does not
  know, so for a client typed by this contract such a field is a mistake (a typo, most often).

Every rule kind maps to a function below; a kind without one fails at import.  A rule these types
cannot state wholly (a condition, a combination, a pattern, the network) is named in the
description of the field or image it reads, with its status and message, so that generated code
documents it.  A value of these types may still be refused: validate it with the validation
schema (or :func:`luma_schema.check`).
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from luma_schema import catalog
from luma_schema.export.conditions import JSON_TYPES, request_atoms
from luma_schema.export.jsonschema import DIALECT, rule_entry, rule_kinds, unmapped
from luma_schema.rules import (
    MISSING,
    AllowedWith,
    Alone,
    Base64,
    Catalogue,
    EitherOf,
    Fetched,
    Field,
    ForbiddenFor,
    HttpStatus,
    ImageMediaType,
    ItemsRange,
    JsonBody,
    JsonType,
    JsonTypes,
    Length,
    MaxBytes,
    MaxItemsFor,
    MediaFamily,
    NotBoth,
    NotTogether,
    OneOf,
    OneOfFor,
    OnlyFor,
    PublicHttpsUrl,
    Range,
    Required,
    RequiredFor,
    RequiredWith,
    Rule,
    SameLength,
    Test,
    Unique,
    Uuid,
)

__all__ = ["IMAGE_TYPE", "TYPE_EXPORTERS", "request_types_schema", "type_name"]

IMAGE_TYPE: Final = "Image"


def type_name(path: str) -> str:
    """The name of the type of the object at ``path``: ``video.edit`` is ``VideoEdit``."""
    return "".join(part.title().replace("_", "") for part in path.split("."))


class _Types:
    """The types schema under construction: the root, a node per field path and per reference
    member, the image, the notes (messages of rules left to the validation schema) per node, and
    the limits of rules with conditions, gathered per field and kind."""

    def __init__(self, cat: Catalogue) -> None:
        self.cat = cat
        self.root: dict[str, Any] = {}
        self.fields: dict[str, dict[str, Any]] = {p: {} for p in cat.paths}
        self.members: dict[str, dict[str, Any]] = {m.name: {} for m in cat.reference_members}
        self.image: dict[str, Any] = {}
        self.required: dict[str, list[str]] = {}  # object path ("" the request) -> members
        self.notes: dict[int, list[str]] = {}
        self.limited: dict[tuple[str, str], list[Rule]] = {}

    def note(self, node: dict[str, Any], rule: Rule) -> None:
        """Name ``rule`` in the description of ``node``: its message (placeholders such as
        ``{path}`` kept) and its status."""
        note = f'{rule.status} "{rule_entry(rule, self.cat)["message"]}"'
        notes = self.notes.setdefault(id(node), [])
        if note not in notes:
            notes.append(note)

    def limit(self, rule: Rule, field: str, kind: str) -> None:
        """A value limit of ``field``: stated by the union over cases (see :func:`_limits`);
        with conditions, the rule is also named."""
        self.limited.setdefault((field, kind), []).append(rule)
        if rule.when or rule.unless:
            self.note(self.fields[field], rule)


def _nullable(node: dict[str, Any], field: Field) -> dict[str, Any]:
    """``node`` or null, for a nullable field: ``anyOf`` of the two, which every generator reads
    as a union with null (an enum stays an enum of strings, an object the named type)."""
    return {"anyOf": [node, {"type": "null"}]} if field.nullable else node


# ---------------------------------------------------------------- one function per rule kind


def _json_body(rule: JsonBody, t: _Types) -> None:
    t.root["type"] = "object"


def _json_types(rule: JsonTypes, t: _Types) -> None:
    for path, field in t.cat.paths.items():
        node = t.fields[path]
        if field.reference and field.type is JsonType.OBJECT:
            node["$ref"] = f"#/$defs/{IMAGE_TYPE}"
        elif field.members is not None and field.type is JsonType.OBJECT:
            node["$ref"] = f"#/$defs/{type_name(path)}"
        else:
            node["type"] = JSON_TYPES[field.type]
        if field.items is not None:
            image = field.reference
            node["items"] = (
                {"$ref": f"#/$defs/{IMAGE_TYPE}"} if image else {"type": JSON_TYPES[field.items]}
            )
    t.image["type"] = "object"
    for member in t.cat.reference_members:
        t.members[member.name]["type"] = JSON_TYPES[member.type]


def _one_of(rule: OneOf | OneOfFor, t: _Types) -> None:
    t.limit(rule, rule.field, "enum")
    if isinstance(rule, OneOfFor):
        t.note(t.fields[rule.field], rule)


def _required(rule: Required, t: _Types) -> None:
    parent, _, name = rule.field.rpartition(".")
    only_parent_given = (not parent and not rule.when) or rule.when == (Test(parent),)
    if only_parent_given and not rule.unless:
        t.required.setdefault(parent, []).append(name)
    else:
        t.note(t.fields[rule.field], rule)


def _length(rule: Length, t: _Types) -> None:
    t.limit(rule, rule.field, "length")


def _range(rule: Range, t: _Types) -> None:
    t.limit(rule, rule.field, "range")


def _items_range(rule: ItemsRange, t: _Types) -> None:
    t.limit(rule, rule.field, "items")


def _field_note(
    rule: Unique
    | SameLength
    | MaxItemsFor
    | RequiredFor
    | ForbiddenFor
    | OnlyFor
    | AllowedWith
    | NotTogether,
    t: _Types,
) -> None:
    t.note(t.fields[rule.field], rule)


def _image_note(rule: NotBoth | EitherOf | Alone | RequiredWith, t: _Types) -> None:
    t.note(t.image, rule)


def _member_note(
    rule: Uuid | Base64 | MaxBytes | ImageMediaType | MediaFamily | PublicHttpsUrl,
    t: _Types,
) -> None:
    t.note(t.members[rule.member], rule)


def _network_note(rule: Fetched | HttpStatus, t: _Types) -> None:
    t.note(t.members[rule.member], rule)


TypeExporter = Callable[[Any, _Types], None]
TYPE_EXPORTERS: Final[Mapping[type[Rule], TypeExporter]] = {
    JsonBody: _json_body,
    JsonTypes: _json_types,
    OneOf: _one_of,
    OneOfFor: _one_of,
    Required: _required,
    Length: _length,
    Range: _range,
    ItemsRange: _items_range,
    Unique: _field_note,
    SameLength: _field_note,
    MaxItemsFor: _field_note,
    RequiredFor: _field_note,
    ForbiddenFor: _field_note,
    OnlyFor: _field_note,
    AllowedWith: _field_note,
    NotTogether: _field_note,
    NotBoth: _image_note,
    EitherOf: _image_note,
    Alone: _image_note,
    RequiredWith: _image_note,
    Uuid: _member_note,
    Base64: _member_note,
    MaxBytes: _member_note,
    ImageMediaType: _member_note,
    MediaFamily: _member_note,
    PublicHttpsUrl: _member_note,
    Fetched: _network_note,
    HttpStatus: _network_note,
}
_UNMAPPED: Final = unmapped(rule_kinds(), TYPE_EXPORTERS)
if _UNMAPPED:
    raise TypeError(f"the types schema exporter has no function for rule kinds {_UNMAPPED}")


# ---------------------------------------------------------------- limits over the cases


def _applies(rule: Rule, case: Mapping[Test, bool]) -> bool:
    if not all(case[t] for t in rule.when):
        return False
    return not (rule.unless and all(case[t] for t in rule.unless))


def _cases(rules: Sequence[Any]) -> list[list[Any]]:
    """For each combination of the rules' request tests, the rules that apply."""
    atoms = request_atoms(rules)
    return [
        [r for r in rules if _applies(r, dict(zip(atoms, full, strict=True)))]
        for full in itertools.product((False, True), repeat=len(atoms))
    ]


def _enum(rules: Sequence[Any]) -> list[Any] | None:
    """The values allowed in some case (each case: the values of every rule that applies), in
    the rules' order; ``None`` when some case allows any value."""
    allowed: list[Any] = []
    for applying in _cases(rules):
        if not applying:
            return None
        common = set.intersection(*(set(r.values) for r in applying))
        allowed += [v for r in applying for v in r.values if v in common and v not in allowed]
    return allowed


def _bounds(rules: Sequence[Any]) -> tuple[Any, Any]:
    """The least lower and the greatest upper bound over the cases (``None``: unbounded)."""
    lows: list[Any] = []
    highs: list[Any] = []
    for applying in _cases(rules):
        low = [r.min for r in applying if r.min is not None]
        high = [r.max for r in applying if r.max is not None]
        lows.append(max(low) if low else None)
        highs.append(min(high) if high else None)
    return (None if None in lows else min(lows)), (None if None in highs else max(highs))


_KEYWORDS: Final = {
    "string": ("minLength", "maxLength"),
    "array": ("minItems", "maxItems"),
    "range": ("minimum", "maximum"),
    "items": ("minimum", "maximum"),
}


def _limits(t: _Types) -> None:
    for (path, kind), rules in t.limited.items():
        node = t.fields[path]
        if kind == "enum":
            values = _enum(rules)
            if values is not None:
                node["enum"] = values
            continue
        low, high = _bounds(rules)
        if kind == "length":
            kind = "array" if t.cat.paths[path].type is JsonType.ARRAY else "string"
            low = low or None  # at least 0 items or characters: no bound
        target = node["items"] if kind == "items" else node
        for keyword, bound in zip(_KEYWORDS[kind], (low, high), strict=True):
            if bound is not None:
                target[keyword] = bound


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


def _object(
    t: _Types, prefix: str, table: tuple[Field, ...], title: str, lead: str = ""
) -> dict[str, Any]:
    """The type of an object whose members are ``table`` (``prefix``: their parent's path)."""
    # An option's null default is left unsaid: null means absent there, and generators that
    # read a default as "always present" (openapi-typescript's defaultNonNullable) would
    # otherwise make every option a member the request must write.
    properties = {
        f.name: {
            **_described(t, t.fields[prefix + f.name]),
            **_nullable(t.fields[prefix + f.name], f),
            **(_default(f) if not prefix or f.default is not None else {}),
        }
        for f in table
    }
    node: dict[str, Any] = {"title": title, **({"description": lead} if lead else {})}
    node.update({"type": "object", "properties": properties})
    required = t.required.get(prefix.removesuffix("."), [])
    if required:
        node["required"] = required
    node["additionalProperties"] = False
    return node


def _build(cat: Catalogue) -> dict[str, Any]:
    t = _Types(cat)
    for rule in cat.rules:
        TYPE_EXPORTERS[type(rule)](rule, t)
    _limits(t)
    defs: dict[str, Any] = {}
    positions = ", ".join(
        f"`{path}[i]`" if f.type is JsonType.ARRAY else f"`{path}`"
        for path, f in cat.paths.items()
        if f.reference
    )
    lead = f"A media reference ({positions})."
    members = {
        m.name: {**_described(t, t.members[m.name]), **_nullable(t.members[m.name], m)}
        for m in cat.reference_members
    }
    defs[IMAGE_TYPE] = {
        "title": IMAGE_TYPE,
        **_described(t, t.image, lead),
        **t.image,
        "properties": members,
        "additionalProperties": False,
    }
    for path, field in cat.paths.items():
        if field.members is not None and not field.reference and field.type is JsonType.OBJECT:
            lead = f"The members of `{path}`."
            defs[type_name(path)] = _object(t, path + ".", field.members, type_name(path), lead)
    request = _object(t, "", cat.fields, "GenerationRequest")
    return {
        "$schema": DIALECT,
        "title": "GenerationRequest",
        "description": f"The body of POST {catalog.ENDPOINT} (Luma Agents API version "
        f"{catalog.API_VERSION}) as types for code generators, generated from luma_schema's "
        "catalogue. A request of these types may still break a rule: validate it with "
        "generation-request.schema.json.",
        **t.root,
        **{k: v for k, v in request.items() if k not in ("title", "type")},
        "$defs": defs,
    }


@functools.cache
def _text() -> str:
    return json.dumps(_build(catalog.CATALOGUE))


def request_types_schema(cat: Catalogue | None = None) -> dict[str, Any]:
    """The request body as a types schema (see the module doc): of the API's catalogue (built
    once and cached; each call returns a fresh copy), or of the catalogue ``cat``."""
    if cat is not None and cat is not catalog.CATALOGUE:
        return _build(cat)
    document: dict[str, Any] = json.loads(_text())
    return document
