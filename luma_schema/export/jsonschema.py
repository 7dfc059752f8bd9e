"""The request as a JSON Schema (Draft 2020-12), generated from the catalogue.

Every rule kind of :mod:`luma_schema.rules` maps to one exporter function below; a kind without
one fails at import.  How faithfully the schema states a rule is the rule's own ``expressible``
mark, recorded beside the keywords that state it in the vendor keyword ``x-luma-rules``
(``id``, ``status``, ``message``, ``expressible``).  ajv-errors ``errorMessage`` entries carry the
rule's exact message wherever ajv can give it: not for messages that echo a submitted value
(ajv-errors inserts values JSON-encoded, the API echoes them verbatim), and for image rules only
in the definition of ``source`` (``$defs/source``, the image's rules with messages naming it): the
shared definition of the ``image_ref`` items cannot know an item's index.

Patterns are written for every validator at once: ECMA-262 (ajv), Rust (jsonschema-rs) and
Python ``re`` (python-jsonschema).  They disagree on ``$``: Python's also matches before a final
newline.  A lookahead would settle it but sends jsonschema-rs (fancy-regex) to its backtracking
engine, which gives up on a 50 MiB base64 string; so patterns end in a plain ``$`` and each
patterned member also refuses a final newline (``_NO_FINAL_NEWLINE``), which all three read alike.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final

from luma_schema import catalog, rules
from luma_schema.rules import (
    MISSING,
    AllowedWith,
    Base64,
    Catalogue,
    EitherOf,
    Expressible,
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
    Scope,
)

__all__ = [
    "DIALECT",
    "EXPORTERS",
    "GENERATION_OUTPUT_DEF",
    "IMAGE_DEF",
    "LIMITS",
    "VENDOR_KEYWORD",
    "base64_max_length",
    "generation_schema",
    "image_schema",
    "json_schema",
    "rule_entry",
    "rule_kinds",
    "unmapped",
]

DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
VENDOR_KEYWORD: Final = "x-luma-rules"
IMAGE_DEF: Final = "image"
_IMAGE_REF: Final = f"#/$defs/{IMAGE_DEF}"

_END: Final = "$"
_NO_FINAL_NEWLINE: Final = {"type": "string", "pattern": r"\n$"}
_JSON_TYPES: Final = {
    JsonType.STRING: "string",
    JsonType.BOOLEAN: "boolean",
    JsonType.INTEGER: "integer",
    JsonType.NUMBER: "number",
    JsonType.ARRAY: "array",
    JsonType.OBJECT: "object",
}


def _escape(chars: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in chars)


# Characters Python's str.isspace() calls whitespace (all in the BMP, below U+3001) that are not
# C0/DEL controls: the media-type and URL checks reject them where the controls are rejected too.
_SPACES: Final = _escape(
    "".join(c for c in map(chr, range(0x3001)) if c.isspace() and c > "\x1f" and c != "\x7f")
)
_CONTROLS: Final = r"\u0000-\u001f\u007f"
_B64: Final = "A-Za-z0-9+/"
# Canonical standard base64 of at least one byte (docs/contract.md, Images): whole quanta, then
# padding.
# Each quantum is spelled out: V8 (ajv) runs `(?:[...]{4})*` on the stack and overflows it on a
# 50 MiB string, while four classes in a row make a loop it runs in constant space.
_QUANTUM: Final = f"[{_B64}]"
BASE64_PATTERN: Final = (
    f"^(?:{_QUANTUM * 4})*(?:{_QUANTUM * 2}==|{_QUANTUM * 3}=|{_QUANTUM * 4}){_END}"
)
# image/<subtype>[;params]: "image" in any case; parameters free of controls; no trailing space.
# ("\$" in the class: fastjsonschema rewrites every unescaped "$" into "\Z", classes included.)
MEDIA_TYPE_PATTERN: Final = (
    r"^[Ii][Mm][Aa][Gg][Ee]/[A-Za-z0-9][A-Za-z0-9!#\$&^_.+\-]*"
    f"(?:;(?:[^{_CONTROLS}]*[^{_CONTROLS}{_SPACES}])?)?{_END}"
)
# The static URL checks, as far as a pattern can go: https, no whitespace or control characters,
# a non-empty authority without user info.  Host publicity (private ranges, local names, IPv4 in
# any WHATWG spelling) and port ranges are beyond it: the rule is approximate.
_URL_BAD: Final = f"{_CONTROLS}\\u0080-\\u009f{_SPACES}"
URL_PATTERN: Final = (
    f"^[Hh][Tt][Tt][Pp][Ss]://[^{_URL_BAD}@/?#\\\\]+(?:[/?#\\\\][^{_URL_BAD}]*)?{_END}"
)


def base64_max_length(max_bytes: int) -> int:
    """The longest base64 text of at most ``max_bytes`` decoded bytes: 4·⌈n/3⌉."""
    return 4 * -(-max_bytes // 3)


class _Keep(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _message(rule: Rule, **known: Any) -> str:
    """The rule's message with its parameters (and any ``known`` echo) filled, other
    placeholders (``{path}``, ``{value}``) left for the reader."""
    return rule.message.format_map(_Keep({**rule.params(), **known}))


def rule_entry(rule: Rule, **known: Any) -> dict[str, Any]:
    """The ``x-luma-rules`` entry of one rule."""
    return {
        "id": rule.id,
        "status": rule.status,
        "message": _message(rule, **known),
        "expressible": rule.expressible.value,
    }


class _Builder:
    """The schema under construction: the root, one node per field and image member, the
    image definition, and the type-conditional rules (``allOf`` of ``if``/``then``).
    ``image_path`` names the field a definition of the image is for (``source``): its messages
    then carry that path, which ajv-errors can give; the shared definition has none."""

    def __init__(self, cat: Catalogue, image_path: str | None = None) -> None:
        self.image_path = image_path
        self.cat = cat
        self.fields: dict[str, dict[str, Any]] = {f.name: {} for f in cat.fields}
        self.members: dict[str, dict[str, Any]] = {m.name: {} for m in cat.reference_members}
        self.image: dict[str, Any] = {}
        self.image_all: list[dict[str, Any]] = []
        self.root: dict[str, Any] = {}
        self.conditions: list[dict[str, Any]] = []
        self.field_table = {f.name: f for f in cat.fields}

    def note(self, node: dict[str, Any], rule: Rule, **known: Any) -> None:
        if self.image_path is not None and rule.scope in (Scope.IMAGE, Scope.FETCH):
            known.setdefault("path", self.image_path)
        node.setdefault(VENDOR_KEYWORD, []).append(rule_entry(rule, **known))

    @staticmethod
    def say(node: dict[str, Any], keyword: str, message: Any) -> None:
        """An ajv-errors message for ``keyword`` failing in ``node``."""
        messages = node.setdefault("errorMessage", {})
        if isinstance(message, dict):
            messages.setdefault(keyword, {}).update(message)
        else:
            messages[keyword] = message

    def say_image(self, node: dict[str, Any], keyword: str, rule: Rule, **echo: Any) -> None:
        """An image rule's message, when this definition knows the image's path."""
        if self.image_path is not None:
            self.say(node, keyword, rule.render(self.image_path, **echo))

    def when(self, key: str, equals: Any) -> dict[str, Any]:
        """A subschema true when ``key`` equals ``equals``, its default counting when absent."""
        cond: dict[str, Any] = {"properties": {key: {"const": equals}}}
        if self.field_table[key].default != equals:
            cond["required"] = [key]
        return cond


def _given(name: str) -> dict[str, Any]:
    """True when ``name`` is given: present and not null."""
    return {"required": [name], "properties": {name: {"not": {"type": "null"}}}}


def _pattern(node: dict[str, Any], pattern: str) -> None:
    node["pattern"] = pattern
    node["not"] = dict(_NO_FINAL_NEWLINE)


def _types(field: Field) -> str | list[str]:
    name = _JSON_TYPES[field.type]
    return [name, "null"] if field.nullable else name


# ---------------------------------------------------------------- one exporter per rule kind


def _json_body(rule: JsonBody, b: _Builder) -> None:
    b.root["type"] = "object"
    b.say(b.root, "type", rule.render(""))
    b.note(b.root, rule)


def _json_types(rule: JsonTypes, b: _Builder) -> None:
    for field in b.cat.fields:
        node = b.fields[field.name]
        node["type"] = _types(field)
        message = rule.render(field.name, expected=field.type.value)
        b.say(node, "type", message)
        b.note(node, rule, path=field.name, expected=field.type.value)
        if not field.reference:
            continue
        if field.type is JsonType.ARRAY:
            node["items"] = {"$ref": _IMAGE_REF}
        else:
            # An image field of its own gets a definition whose messages name it.
            node["if"] = {"type": "object"}
            node["then"] = {"$ref": f"#/$defs/{field.name}"}
    b.image["type"] = "object"
    b.note(b.image, rule, expected=JsonType.OBJECT.value)
    for member in b.cat.reference_members:
        node = b.members[member.name]
        node["type"] = _types(member)
        if b.image_path is None:
            b.note(node, rule, expected=member.type.value)
            continue
        path = f"{b.image_path}.{member.name}"
        b.say(node, "type", rule.render(path, expected=member.type.value))
        b.note(node, rule, path=path, expected=member.type.value)


def _one_of(rule: OneOf, b: _Builder) -> None:
    field = b.field_table[rule.field]
    node = b.fields[rule.field]
    node["enum"] = [*rule.values, *([None] if field.nullable else [])]
    b.note(node, rule)
    # No errorMessage: the message echoes the submitted value verbatim, and ajv-errors
    # templates insert values JSON-encoded (quoted).


def _required(rule: Required, b: _Builder) -> None:
    b.root.setdefault("required", []).append(rule.field)
    b.say(b.root, "required", {rule.field: rule.render()})
    b.note(b.root, rule)


def _length(rule: Length, b: _Builder) -> None:
    node = b.fields[rule.field]
    if rule.min:
        node["minLength"] = rule.min
        b.say(node, "minLength", rule.render())
    node["maxLength"] = rule.max
    b.say(node, "maxLength", rule.render())
    b.note(node, rule)


def _range(rule: Range, b: _Builder) -> None:
    node = b.fields[rule.field]
    for keyword, bound in (("minimum", rule.min), ("maximum", rule.max)):
        if bound is not None:
            node[keyword] = bound
            b.say(node, keyword, rule.render())
    b.note(node, rule)


def _required_for(rule: RequiredFor, b: _Builder) -> None:
    message = rule.render()
    then: dict[str, Any] = {
        "required": [rule.field],
        "properties": {
            rule.field: {"not": {"type": "null"}, "errorMessage": {"not": message}},
        },
        "errorMessage": {"required": {rule.field: message}},
    }
    item = {"if": b.when(rule.key, rule.equals), "then": then}
    b.note(item, rule)
    b.conditions.append(item)


def _only_for(rule: OnlyFor, b: _Builder) -> None:
    forbidden = {"type": "null", "errorMessage": {"type": rule.render()}}
    item = {"if": b.when(rule.key, rule.equals), "else": {"properties": {rule.field: forbidden}}}
    b.note(item, rule)
    b.conditions.append(item)


def _max_items_for(rule: MaxItemsFor, b: _Builder) -> None:
    capped = {"maxItems": rule.max, "errorMessage": {"maxItems": rule.render()}}
    item = {"if": b.when(rule.key, rule.equals), "then": {"properties": {rule.field: capped}}}
    b.note(item, rule)
    b.conditions.append(item)


def _allowed_with(rule: AllowedWith, b: _Builder) -> None:
    key, field = b.when(rule.key, rule.key_equals), b.when(rule.field, rule.equals)
    cond = {
        "properties": {**key["properties"], **field["properties"]},
        "required": [*key.get("required", []), *field.get("required", [])],
    }
    if not cond["required"]:
        del cond["required"]
    allowed = {"enum": [*rule.allowed, None], "errorMessage": {"enum": rule.render()}}
    item = {"if": cond, "then": {"properties": {rule.other: allowed}}}
    b.note(item, rule)
    b.conditions.append(item)


def _not_both(rule: NotBoth, b: _Builder) -> None:
    both = {
        "required": [rule.a, rule.b],
        "properties": {
            rule.a: _given(rule.a)["properties"][rule.a],
            rule.b: _given(rule.b)["properties"][rule.b],
        },
    }
    item: dict[str, Any] = {"not": both}
    b.say_image(item, "not", rule)
    b.note(item, rule)
    b.image_all.append(item)


def _either_of(rule: EitherOf, b: _Builder) -> None:
    item: dict[str, Any] = {"anyOf": [_given(rule.a), _given(rule.b)]}
    b.say_image(item, "anyOf", rule)
    b.note(item, rule)
    b.image_all.append(item)


def _required_with(rule: RequiredWith, b: _Builder) -> None:
    then = _given(rule.member)
    b.say_image(then, "required", rule)
    b.say_image(then["properties"][rule.member], "not", rule)
    item = {"if": _given(rule.with_), "then": then}
    b.note(item, rule)
    b.image_all.append(item)


def _base64(rule: Base64, b: _Builder) -> None:
    node = b.members[rule.member]
    node["contentEncoding"] = "base64"
    _pattern(node, BASE64_PATTERN)
    b.say_image(node, "pattern", rule)
    b.say_image(node, "not", rule)
    b.note(node, rule)


def _max_bytes(rule: MaxBytes, b: _Builder) -> None:
    node = b.members[rule.member]
    longest = base64_max_length(rule.max)
    node["maxLength"] = longest
    b.say_image(node, "maxLength", rule)
    # The longest texts decode to up to 3·⌈n/3⌉ bytes; only enough padding keeps them within n.
    pad = 3 * -(-rule.max // 3) - rule.max
    if pad:
        padded: dict[str, Any] = {"pattern": "=" * pad + _END}
        b.say_image(padded, "pattern", rule)
        node.setdefault("allOf", []).append({"if": {"minLength": longest}, "then": padded})
    b.note(node, rule)


def _image_media_type(rule: ImageMediaType, b: _Builder) -> None:
    node = b.members[rule.member]
    _pattern(node, MEDIA_TYPE_PATTERN)
    b.say_image(node, "pattern", rule)
    b.say_image(node, "not", rule)
    b.note(node, rule)


def _public_https_url(rule: PublicHttpsUrl, b: _Builder) -> None:
    node = b.members[rule.member]
    _pattern(node, URL_PATTERN)
    b.say_image(node, "pattern", rule)
    b.say_image(node, "not", rule)
    b.note(node, rule)


def _network(rule: Fetched | HttpStatus, b: _Builder) -> None:
    b.note(b.members[rule.member], rule)


Exporter = Callable[[Any, _Builder], None]
EXPORTERS: Final[Mapping[type[Rule], Exporter]] = {
    JsonBody: _json_body,
    JsonTypes: _json_types,
    OneOf: _one_of,
    Required: _required,
    Length: _length,
    Range: _range,
    RequiredFor: _required_for,
    OnlyFor: _only_for,
    MaxItemsFor: _max_items_for,
    AllowedWith: _allowed_with,
    NotBoth: _not_both,
    EitherOf: _either_of,
    RequiredWith: _required_with,
    Base64: _base64,
    MaxBytes: _max_bytes,
    ImageMediaType: _image_media_type,
    PublicHttpsUrl: _public_https_url,
    Fetched: _network,
    HttpStatus: _network,
}


def rule_kinds() -> Iterator[type[Rule]]:
    """Every rule kind :mod:`luma_schema.rules` defines."""
    for name in rules.__all__:
        kind = getattr(rules, name)
        if isinstance(kind, type) and issubclass(kind, Rule) and kind is not Rule:
            yield kind


def unmapped(kinds: Iterable[type[Rule]], table: Mapping[type[Rule], object]) -> list[str]:
    """The names of the kinds ``table`` has no entry for (an exporter that must be exhaustive
    raises at import when this is not empty)."""
    return sorted(kind.__name__ for kind in kinds if kind not in table)


# Why a kind the schema cannot state exactly falls short (the generated docs list these).
LIMITS: Final[Mapping[type[Rule], str]] = {
    PublicHttpsUrl: "the pattern holds https, no whitespace or control characters and no user "
    "info; whether the host is public (private and special-purpose addresses in any IPv4 "
    "spelling, IPv6 literals, local names) and the port range are beyond a pattern, so the "
    "schema accepts some URLs the API refuses",
    Fetched: "needs the network: DNS, connection, TLS, timeout, redirects",
    HttpStatus: "needs the network: the status the URL answers",
}

_UNMAPPED: Final = unmapped(rule_kinds(), EXPORTERS)
if _UNMAPPED:
    raise TypeError(f"the JSON Schema exporter has no function for rule kinds {_UNMAPPED}")
_UNEXPLAINED: Final = sorted(
    r.id for r in catalog.RULES if r.expressible is not Expressible.EXACT and type(r) not in LIMITS
)
if _UNEXPLAINED:
    raise TypeError(f"rules not exactly expressible need a reason in LIMITS: {_UNEXPLAINED}")


# ---------------------------------------------------------------- assembling the documents


def _default(field: Field) -> Any:
    return list(field.default) if isinstance(field.default, tuple) else field.default


def _image_node(b: _Builder) -> dict[str, Any]:
    where = "" if b.image_path is None else f" (as `{b.image_path}`: messages name it)"
    image: dict[str, Any] = {
        "title": "Image" if b.image_path is None else f"Image: {b.image_path}",
        "description": "An image given by URL or as base64 data: exactly one of 'url' and "
        f"'data'; 'media_type' is required with 'data'{where}.",
        **{k: v for k, v in b.image.items() if k != VENDOR_KEYWORD},
        "properties": b.members,
    }
    if b.image_all:
        image["allOf"] = b.image_all
    image[VENDOR_KEYWORD] = b.image.get(VENDOR_KEYWORD, [])
    return image


def _build(cat: Catalogue) -> tuple[dict[str, Any], dict[str, Any]]:
    b = _Builder(cat)
    for rule in cat.rules:
        EXPORTERS[type(rule)](rule, b)
    for field in cat.fields:
        if field.default is not MISSING:
            b.fields[field.name]["default"] = _default(field)
    image = _image_node(b)
    defs = {IMAGE_DEF: image}
    for field in cat.fields:
        if field.reference and field.type is JsonType.OBJECT:
            own = _Builder(cat, image_path=field.name)
            for rule in cat.rules:
                if rule.scope in (Scope.TYPES, Scope.IMAGE, Scope.FETCH):
                    EXPORTERS[type(rule)](rule, own)
            defs[field.name] = _image_node(own)
    root: dict[str, Any] = {
        "$schema": DIALECT,
        "title": "Generation request",
        "description": f"The body of POST {catalog.ENDPOINT} (Luma Agents API version "
        f"{catalog.API_VERSION}), generated from luma_schema's catalogue: the validation schema, "
        "every rule a schema can state, with ajv-errors messages. Code generators read "
        "generation-request.types.schema.json instead.",
        **{k: v for k, v in b.root.items() if k not in (VENDOR_KEYWORD, "errorMessage")},
        "properties": b.fields,
    }
    if b.conditions:
        root["allOf"] = b.conditions
    if "errorMessage" in b.root:
        root["errorMessage"] = b.root["errorMessage"]
    root["$defs"] = defs
    root[VENDOR_KEYWORD] = b.root.get(VENDOR_KEYWORD, [])
    return _tidy(root), _tidy(image)


# Cheap checks before patterns: a validator that stops at the first failure (python-jsonschema's
# is_valid) then refuses an oversized base64 string without running a regex over 70 MB of it.
_FIRST: Final = ("type", "enum", "minLength", "maxLength")
_LAST: Final = ("default", "errorMessage", VENDOR_KEYWORD)


def _tidy(node: Any, names: bool = False) -> Any:
    """Cheap keywords first; defaults, messages and rule notes last, in every schema node
    (``names``: ``node`` maps names to schemas, as ``properties`` does, and keeps its order)."""
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {k: _tidy(v) for k, v in node.items()}
    keys = [k for k in _FIRST if k in node]
    keys += [k for k in node if k not in _FIRST and k not in _LAST]
    keys += [k for k in _LAST if k in node]
    return {k: _tidy(node[k], names=k in ("properties", "$defs")) for k in keys}


@functools.cache
def _request() -> dict[str, Any]:
    return _build(catalog.CATALOGUE)[0]


@functools.cache
def _image() -> dict[str, Any]:
    image = copy.deepcopy(_build(catalog.CATALOGUE)[1])
    return {"$schema": DIALECT, **image}


GENERATION_OUTPUT_DEF: Final = "GenerationOutput"


def _or_null(node: dict[str, Any]) -> dict[str, Any]:
    # anyOf rather than a type list: code generators read it as a union with null, and an enum
    # stays an enum of strings.
    return {"anyOf": [node, {"type": "null"}]}


@functools.cache
def _generation() -> dict[str, Any]:
    return {
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
                "description": "One output of a generation: its type and where to download it.",
                "type": "object",
                "required": ["type", "url"],
                "properties": {"type": {"type": "string"}, "url": {"type": "string"}},
            }
        },
    }


@functools.cache
def _text(which: str) -> str:
    build = {"request": _request, "image": _image, "generation": _generation}[which]
    return json.dumps(build())


# Each call returns a fresh document: parsing the cached JSON text is several times faster than
# copy.deepcopy of the cached dict (see benchmarks/bench_export.py).


def json_schema(cat: Catalogue | None = None) -> dict[str, Any]:
    """The request body as a Draft 2020-12 schema (the image a ``$defs`` entry): of the API's
    catalogue (built once and cached; each call returns a fresh copy the caller may change), or
    of the catalogue ``cat``."""
    if cat is not None and cat is not catalog.CATALOGUE:
        return _build(cat)[0]
    document: dict[str, Any] = json.loads(_text("request"))
    return document


def image_schema() -> dict[str, Any]:
    """One image (``source``, each ``image_ref`` item) as a standalone Draft 2020-12 schema."""
    document: dict[str, Any] = json.loads(_text("image"))
    return document


def generation_schema() -> dict[str, Any]:
    """The Generation response as a Draft 2020-12 schema."""
    document: dict[str, Any] = json.loads(_text("generation"))
    return document
