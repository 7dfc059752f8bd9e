"""The request as a JSON Schema (Draft 2020-12), generated from a catalogue: the *validation*
schema.

Every rule kind of :mod:`luma_schema.rules` maps to one exporter function below; a kind without
one fails at import.  A rule with conditions (``when``/``unless``) is an ``if``/``then`` of the
request; a dotted path (``video.edit.keyframes``) nests ``properties``.  How faithfully the
schema states a rule is :func:`expressibility` (the kind's mark, or this exporter's own reading
where it can do no better), recorded beside the keywords that state it in the vendor keyword
``x-luma-rules`` (``id``, ``status``, ``message``, ``expressible``); a rule not stated exactly
has its reason in :data:`LIMITS`.

Media references get definitions (``$defs``): the rules of one reference depend on where it
stands (the ``@`` tests), on the request (a rule's tests on request paths, and the ``applies``
test of the fields it is in: elsewhere it gets its JSON types only) and on its own members.  Each
reference position gets one definition per combination of the request tests, and the request
chooses among them with ``if``/``then``; a reference in an array shares one definition with the
other arrays' items of the same rules (``image``: the standalone :func:`image_schema`).

ajv-errors ``errorMessage`` entries carry the rule's exact message wherever ajv can give it: not
for messages that echo a submitted value (ajv-errors inserts values JSON-encoded, the API echoes
them verbatim; where the echoed value is a constant of the branch, the message is given), and
for the rules of a reference only where it is not an array item (a definition whose messages
name its path: the shared item definition cannot know an item's index).
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final

from luma_schema import catalog, rules
from luma_schema.export import conditions as cond
from luma_schema.export.generation import GENERATION_OUTPUT_DEF, generation_schema
from luma_schema.export.patterns import (
    BASE64_PATTERN,
    MEDIA_TYPE_PATTERN,
    URL_PATTERN,
    UUID_PATTERN,
    base64_max_length,
    media_type_pattern,
    no_final_newline,
)
from luma_schema.rules import (
    MISSING,
    AllowedWith,
    Alone,
    Base64,
    Catalogue,
    EitherOf,
    Expressible,
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
    Scope,
    Test,
    Unique,
    Uuid,
)

__all__ = [
    "BASE64_PATTERN",
    "DIALECT",
    "EXPORTERS",
    "GENERATION_OUTPUT_DEF",
    "IMAGE_DEF",
    "LIMITS",
    "MEDIA_TYPE_PATTERN",
    "URL_PATTERN",
    "UUID_PATTERN",
    "VENDOR_KEYWORD",
    "base64_max_length",
    "expressibility",
    "generation_schema",
    "image_schema",
    "json_schema",
    "rule_entry",
    "rule_kinds",
    "same_length_bound",
    "unmapped",
]

DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
VENDOR_KEYWORD: Final = "x-luma-rules"
IMAGE_DEF: Final = "image"
_IGNORED: Final = "ignored"


class _Keep(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _message(rule: Rule, **known: Any) -> str:
    """The rule's message with its parameters (and any ``known`` echo) filled, other
    placeholders (``{path}``, ``{value}``) left for the reader."""
    return rule.message.format_map(_Keep({**rule.params(), **known}))


# ---------------------------------------------------------------- how exactly a rule is stated


def same_length_bound(rule: SameLength, cat: Catalogue) -> int | None:
    """The most items either array of ``rule`` may hold in any valid request (an unconditional
    ``Length`` rule's ``max``), or ``None``: the schema states equal lengths by naming each."""
    bounds = [
        r.max
        for r in cat.rules
        if isinstance(r, Length)
        and r.field in (rule.field, rule.other)
        and not r.when
        and not r.unless
    ]
    return min(bounds) if bounds else None


def expressibility(rule: Rule, cat: Catalogue | None = None) -> Expressible:
    """How faithfully the schema of ``cat`` (default: the API's) states ``rule``: its kind's
    mark, unless this exporter can do no better."""
    if isinstance(rule, Uuid):
        # TODO(lead): catalogue: Uuid is marked exact, but uuid.UUID() reads more than a pattern
        # can state (LIMITS); exact once the catalogue reads UUIDs as pydantic does.
        return Expressible.APPROXIMATE
    if isinstance(rule, SameLength) and same_length_bound(rule, cat or catalog.CATALOGUE) is None:
        return Expressible.NO
    return rule.expressible


def rule_entry(rule: Rule, cat: Catalogue | None = None, **known: Any) -> dict[str, Any]:
    """The ``x-luma-rules`` entry of one rule."""
    return {
        "id": rule.id,
        "status": rule.status,
        "message": _message(rule, **known),
        "expressible": expressibility(rule, cat).value,
    }


# ---------------------------------------------------------------- what rules write into


class _Target:
    """An object schema rules write into: the request, a part of it under a condition, or one
    media reference (``image``).  ``image_path`` names a reference's path where its messages can
    give it; ``node(path)`` is the schema of a field (dotted: nested ``properties``) or member."""

    def __init__(self, cat: Catalogue, image: bool = False, image_path: str | None = None) -> None:
        self.cat = cat
        self.image = image
        self.image_path = image_path
        self.schema: dict[str, Any] = {}

    def node(self, path: str) -> dict[str, Any]:
        node = self.schema
        for name in path.split("."):
            node = node.setdefault("properties", {}).setdefault(name, {})
        return node

    @property
    def all(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.schema.setdefault("allOf", [])
        return items

    def test(self, test: Test) -> dict[str, Any]:
        return cond.request_test(test, self.cat)

    def note(self, node: dict[str, Any], rule: Rule, **known: Any) -> None:
        if self.image_path is not None and rule.scope in (Scope.IMAGE, Scope.FETCH):
            known.setdefault("path", self.image_path)
        node.setdefault(VENDOR_KEYWORD, []).append(rule_entry(rule, self.cat, **known))

    @staticmethod
    def say(node: dict[str, Any], keyword: str, message: Any) -> None:
        """An ajv-errors message for ``keyword`` failing in ``node``."""
        messages = node.setdefault("errorMessage", {})
        if isinstance(message, dict):
            messages.setdefault(keyword, {}).update(message)
        else:
            messages[keyword] = message

    def say_image(self, node: dict[str, Any], keyword: str, rule: Rule, **echo: Any) -> None:
        """A reference rule's message, when this definition knows the reference's path."""
        if self.image_path is not None:
            self.say(node, keyword, rule.render(self.image_path, **echo))


def _given(name: str) -> dict[str, Any]:
    """True when the member ``name`` is given: present and not null."""
    return {"required": [name], "properties": {name: {"not": {"type": "null"}}}}


def _types(field: Field) -> str | list[str]:
    name = cond.JSON_TYPES[field.type]
    return [name, "null"] if field.nullable else name


def _given_default(field: Field) -> bool:
    return field.default is not MISSING and field.default is not None


def _kind(t: _Target, path: str) -> JsonType:
    return t.cat.paths[path].type


# ---------------------------------------------------------------- request rules


def _json_body(rule: JsonBody, t: _Target) -> None:
    t.schema["type"] = "object"
    t.say(t.schema, "type", rule.render(""))
    t.note(t.schema, rule)


def _json_types(rule: JsonTypes, t: _Target) -> None:
    if t.image:
        t.schema["type"] = "object"
        t.note(t.schema, rule, expected=JsonType.OBJECT.value)
        for member in t.cat.reference_members:
            node = t.node(member.name)
            node["type"] = _types(member)
            if t.image_path is None:
                t.note(node, rule, expected=member.type.value)
                continue
            path = f"{t.image_path}.{member.name}"
            t.say(node, "type", rule.render(path, expected=member.type.value))
            t.note(node, rule, path=path, expected=member.type.value)
        return
    for path, field in t.cat.paths.items():
        node = t.node(path)
        node["type"] = _types(field)
        t.say(node, "type", rule.render(path, expected=field.type.value))
        t.note(node, rule, path=path, expected=field.type.value)
        if field.items is not None:
            # An item's message would need its index, which ajv-errors cannot give.
            node["items"] = {"type": cond.JSON_TYPES[field.items]}


def _in(t: _Target, path: str, values: Iterable[Any]) -> dict[str, Any]:
    """``path`` holds one of ``values`` (or is absent and its default does): the field's own
    ``null`` passes when the field is nullable (null means absent)."""
    field = t.cat.paths[path]
    allowed = list(values)
    enum = [*allowed, *([None] if field.nullable else [])]
    return cond.nest(path, {"enum": enum}, _given_default(field) and field.default not in allowed)


def _enum(rule: OneOf | OneOfFor, t: _Target) -> None:
    field = t.cat.paths[rule.field]
    node = t.node(rule.field)
    node["enum"] = [*rule.values, *([None] if field.nullable else [])]
    if _given_default(field) and field.default not in rule.values:
        t.all.append(cond.nest(rule.field, {}, required=True))
    t.note(node, rule)
    # No errorMessage: the message echoes the submitted value verbatim, and ajv-errors
    # templates insert values JSON-encoded (quoted).


def _one_of(rule: OneOf, t: _Target) -> None:
    _enum(rule, t)


def _one_of_for(rule: OneOfFor, t: _Target) -> None:
    _enum(rule, t)
    field = t.cat.paths[rule.field]
    for key, values in rule.by:
        then = _in(t, rule.field, values)
        if "required" in then:
            # Absent, the field is its default: a constant this branch's message can quote.
            known = {"value": field.default, rule.key: key}
            if set(rule.echo()) <= set(known):
                t.say(then, "required", {rule.field: rule.render(**known)})
        item = {"if": t.test(Test(rule.key, (key,))), "then": then}
        t.note(item, rule)
        t.all.append(item)


def _required(rule: Required, t: _Target) -> None:
    *parents, name = rule.field.split(".")
    if not parents:
        t.node(name)  # ajv's strict mode asks a required name to be a property too
        t.schema.setdefault("required", []).append(name)
        t.say(t.schema, "required", {name: rule.render()})
        t.note(t.schema, rule)
        return
    # Inside objects: they must be given too (nothing is present in an absent object).
    item = cond.nest(rule.field, {}, required=True)
    inner = item
    for parent in parents:
        inner = inner["properties"][parent]
    t.say(inner, "required", {name: rule.render()})
    t.note(item, rule)
    t.all.append(item)


def _length(rule: Length, t: _Target) -> None:
    node = t.node(rule.field)
    low, high = (
        ("minItems", "maxItems")
        if _kind(t, rule.field) is JsonType.ARRAY
        else ("minLength", "maxLength")
    )
    if rule.min:
        node[low] = rule.min
        t.say(node, low, rule.render())
    node[high] = rule.max
    t.say(node, high, rule.render())
    t.note(node, rule)


def _range(rule: Range, t: _Target) -> None:
    node = t.node(rule.field)
    for keyword, bound in (("minimum", rule.min), ("maximum", rule.max)):
        if bound is not None:
            node[keyword] = bound
            t.say(node, keyword, rule.render())
    t.note(node, rule)


def _items_range(rule: ItemsRange, t: _Target) -> None:
    items = t.node(rule.field).setdefault("items", {})
    for keyword, bound in (("minimum", rule.min), ("maximum", rule.max)):
        if bound is not None:
            items[keyword] = bound
            t.say(items, keyword, rule.render())
    t.note(items, rule)


def _unique(rule: Unique, t: _Target) -> None:
    node = t.node(rule.field)
    node["uniqueItems"] = True
    t.say(node, "uniqueItems", rule.render())
    t.note(node, rule)


def _same_length(rule: SameLength, t: _Target) -> None:
    """Equal lengths, where ``other`` is given with L items (L at most the arrays' bound K):
    ``field`` has at least n items where ``other`` has, at most n - 1 where it has not, for n
    from 1 to K + 1 (the schema language cannot compare two values)."""
    bound = same_length_bound(rule, t.cat)
    parent, _, _ = rule.field.rpartition(".")
    holder = t.node(parent) if parent else t.schema
    if bound is None:
        t.note(holder, rule)
        return
    prefix = f"{parent}." if parent else ""
    field, other = rule.field.removeprefix(prefix), rule.other.removeprefix(prefix)
    cases = [
        {
            "if": cond.at(other, {"minItems": n}),
            "then": cond.at(field, {"minItems": n}),
            "else": cond.at(field, {"maxItems": n - 1}),
        }
        for n in range(1, bound + 2)
    ]
    item = {
        "if": cond.nest(other, {"type": "array"}, True),
        "then": {"allOf": cases, "errorMessage": rule.render()},
    }
    t.note(item, rule)
    holder.setdefault("allOf", []).append(item)


def _required_for(rule: RequiredFor, t: _Target) -> None:
    for value in rule.values:
        message = rule.render() if rule.equals else rule.render(equals=value)
        then = cond.nest(rule.field, {"not": {"type": "null"}}, required=True)
        leaf_parent = then
        for name in rule.field.split(".")[:-1]:
            leaf_parent = leaf_parent["properties"][name]
        leaf = rule.field.rpartition(".")[2]
        t.say(leaf_parent, "required", {leaf: message})
        t.say(leaf_parent["properties"][leaf], "not", message)
        item = {"if": t.test(Test(rule.key, (value,))), "then": then}
        t.note(item, rule)
        t.all.append(item)


def _not_given(t: _Target, rule: Rule, field: str) -> dict[str, Any]:
    return cond.at(field, {"type": "null", "errorMessage": {"type": rule.render()}})


def _forbidden_for(rule: ForbiddenFor, t: _Target) -> None:
    item = {"if": t.test(Test(rule.key, rule.among)), "then": _not_given(t, rule, rule.field)}
    t.note(item, rule)
    t.all.append(item)


def _only_for(rule: OnlyFor, t: _Target) -> None:
    item = {
        "if": t.test(Test(rule.key, (rule.equals,))),
        "else": _not_given(t, rule, rule.field),
    }
    t.note(item, rule)
    t.all.append(item)


def _max_items_for(rule: MaxItemsFor, t: _Target) -> None:
    capped = {"maxItems": rule.max, "errorMessage": {"maxItems": rule.render()}}
    item = {"if": t.test(Test(rule.key, (rule.equals,))), "then": cond.at(rule.field, capped)}
    t.note(item, rule)
    t.all.append(item)


def _allowed_with(rule: AllowedWith, t: _Target) -> None:
    condition = cond.all_of(
        [t.test(Test(rule.key, (rule.key_equals,))), t.test(Test(rule.field, (rule.equals,)))]
    )
    allowed = {"enum": [*rule.allowed, None], "errorMessage": {"enum": rule.render()}}
    item = {"if": condition, "then": cond.at(rule.other, allowed)}
    t.note(item, rule)
    t.all.append(item)


def _not_together(rule: NotTogether, t: _Target) -> None:
    # A body that is no object holds no values: no combination (`required` alone holds there).
    item = {
        "not": cond.all_of([{"type": "object"}, *(t.test(test) for test in rule.tests)]),
        "errorMessage": {"not": rule.render()},
    }
    t.note(item, rule)
    t.all.append(item)


# ---------------------------------------------------------------- rules of one reference


def _not_both(rule: NotBoth, t: _Target) -> None:
    both = {
        "required": [rule.a, rule.b],
        "properties": {
            rule.a: _given(rule.a)["properties"][rule.a],
            rule.b: _given(rule.b)["properties"][rule.b],
        },
    }
    item: dict[str, Any] = {"not": both}
    t.say_image(item, "not", rule)
    t.note(item, rule)
    t.all.append(item)


def _either_of(rule: EitherOf, t: _Target) -> None:
    item: dict[str, Any] = {"anyOf": [_given(m) for m in (rule.a, rule.b, *rule.others)]}
    t.say_image(item, "anyOf", rule)
    t.note(item, rule)
    t.all.append(item)


def _alone(rule: Alone, t: _Target) -> None:
    for key in rule.keys:
        others = [_given(o) for o in rule.among if o != key]
        then: dict[str, Any] = {"not": {"anyOf": others}}
        t.say_image(then, "not", rule)
        item = {"if": _given(key), "then": then}
        t.note(item, rule)
        t.all.append(item)


def _required_with(rule: RequiredWith, t: _Target) -> None:
    then = _given(rule.member)
    t.say_image(then, "required", rule)
    t.say_image(then["properties"][rule.member], "not", rule)
    item = {"if": _given(rule.with_), "then": then}
    t.note(item, rule)
    t.all.append(item)


def _patterned(rule: Rule, t: _Target, member: str, pattern: str) -> None:
    node = t.node(member)
    no_final_newline(node, pattern)
    t.say_image(node, "pattern", rule)
    t.say_image(node, "not", rule)
    t.note(node, rule)


def _uuid(rule: Uuid, t: _Target) -> None:
    node = t.node(rule.member)
    # A newline is one of the characters uuid.UUID() may read: no final-newline guard.
    node["pattern"] = UUID_PATTERN
    t.say_image(node, "pattern", rule)
    t.note(node, rule)


def _base64(rule: Base64, t: _Target) -> None:
    t.node(rule.member)["contentEncoding"] = "base64"
    _patterned(rule, t, rule.member, BASE64_PATTERN)


def _max_bytes(rule: MaxBytes, t: _Target) -> None:
    node = t.node(rule.member)
    longest = base64_max_length(rule.max)
    node["maxLength"] = longest
    t.say_image(node, "maxLength", rule)
    # The longest texts decode to up to 3·⌈n/3⌉ bytes; only enough padding keeps them within n.
    pad = 3 * -(-rule.max // 3) - rule.max
    if pad:
        padded: dict[str, Any] = {"pattern": "=" * pad + "$"}
        t.say_image(padded, "pattern", rule)
        node.setdefault("allOf", []).append({"if": {"minLength": longest}, "then": padded})
    t.note(node, rule)


def _image_media_type(rule: ImageMediaType, t: _Target) -> None:
    _patterned(rule, t, rule.member, MEDIA_TYPE_PATTERN)


def _media_family(rule: MediaFamily, t: _Target) -> None:
    _patterned(rule, t, rule.member, media_type_pattern(rule.families))


def _public_https_url(rule: PublicHttpsUrl, t: _Target) -> None:
    _patterned(rule, t, rule.member, URL_PATTERN)


def _network(rule: Fetched | HttpStatus, t: _Target) -> None:
    t.note(t.node(rule.member), rule)


Exporter = Callable[[Any, _Target], None]
EXPORTERS: Final[Mapping[type[Rule], Exporter]] = {
    JsonBody: _json_body,
    JsonTypes: _json_types,
    OneOf: _one_of,
    OneOfFor: _one_of_for,
    Required: _required,
    Length: _length,
    Range: _range,
    ItemsRange: _items_range,
    Unique: _unique,
    SameLength: _same_length,
    RequiredFor: _required_for,
    ForbiddenFor: _forbidden_for,
    OnlyFor: _only_for,
    MaxItemsFor: _max_items_for,
    AllowedWith: _allowed_with,
    NotTogether: _not_together,
    NotBoth: _not_both,
    EitherOf: _either_of,
    Alone: _alone,
    RequiredWith: _required_with,
    Uuid: _uuid,
    Base64: _base64,
    MaxBytes: _max_bytes,
    ImageMediaType: _image_media_type,
    MediaFamily: _media_family,
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


# Why a kind the schema may not state exactly falls short (the generated docs list these for
# each rule that :func:`expressibility` does not call exact).
LIMITS: Final[Mapping[type[Rule], str]] = {
    PublicHttpsUrl: "the pattern holds https, no whitespace or control characters and no user "
    "info; whether the host is public (private and special-purpose addresses in any IPv4 "
    "spelling, IPv6 literals, local names) and the port range are beyond a pattern, so the "
    "schema accepts some URLs the API refuses",
    Fetched: "needs the network: DNS, connection, TLS, timeout, redirects",
    HttpStatus: "needs the network: the status the URL answers",
    Uuid: "Python's uuid.UUID() drops every `urn:` and `uuid:`, outer braces and every hyphen, "
    "then reads 32 characters as a base-16 integer (which takes a sign, `0x`, underscores, "
    "whitespace and non-ASCII digits): more than a pattern states, so the pattern holds "
    "characters it may read and a length of at least 32, and the schema accepts some ids the "
    "API refuses",
    SameLength: "the schema language cannot compare two arrays' lengths; the schema names each "
    "length up to the arrays' bound, and without one states nothing",
}

_UNMAPPED: Final = unmapped(rule_kinds(), EXPORTERS)
if _UNMAPPED:
    raise TypeError(f"the JSON Schema exporter has no function for rule kinds {_UNMAPPED}")
_UNEXPLAINED: Final = sorted(
    r.id
    for r in catalog.RULES
    if expressibility(r) is not Expressible.EXACT and type(r) not in LIMITS
)
if _UNEXPLAINED:
    raise TypeError(f"rules not exactly expressible need a reason in LIMITS: {_UNEXPLAINED}")


# ---------------------------------------------------------------- applying rules


def _apply(rule: Rule, t: _Target, where: dict[str, Any] | None) -> None:
    """Apply ``rule`` to ``t``: everywhere, or where the subschema ``where`` holds."""
    if where is None:
        EXPORTERS[type(rule)](rule, t)
        return
    inner = _Target(t.cat, t.image, t.image_path)
    EXPORTERS[type(rule)](rule, inner)
    t.all.append({"if": where, "then": inner.schema})


def _reference(
    cat: Catalogue, position: str, path: str | None, kept: list[Rule], tests: Mapping[Test, bool]
) -> dict[str, Any]:
    """The definition of a reference at ``position`` (messages naming ``path`` when given)
    where the request tests decide as ``tests`` says (``kept`` empty: JSON types only)."""
    t = _Target(cat, image=True, image_path=path)
    types_rule = next(r for r in cat.rules if r.scope is Scope.TYPES)
    EXPORTERS[type(types_rule)](types_rule, t)
    for rule in kept:
        where = cond.split(rule, position, tests)
        if where is not False:
            _apply(rule, t, where)
    return t.schema


def _position_rules(cat: Catalogue, position: str) -> list[Rule]:
    """The rules of a reference whose position tests hold at ``position``."""
    return [
        r
        for r in cat.rules
        if r.scope in (Scope.IMAGE, Scope.FETCH)
        and all(cond.position_holds(t, position) for t in r.when if t.path == "@")
    ]


def _slug(test: Test) -> str:
    said = "-".join(map(str, test.values)) if test.values else test.path.replace(".", "_")
    return ("not-" if test.negated else "") + said


def _described(schema: dict[str, Any], cat: Catalogue, path: str | None, ignored: bool) -> None:
    members = ", ".join(f"'{m.name}'" for m in cat.reference_members)
    where = f" at `{path}`" if path else ""
    what = "JSON types only: the request ignores it" if ignored else "the rules its notes list"
    schema["title"] = f"Media reference{where}" + (" (ignored)" if ignored else "")
    schema["description"] = f"A media reference{where} (members {members}): {what}."


class _References:
    """Every reference position's definitions and the request's choice among them."""

    def __init__(self, cat: Catalogue) -> None:
        self.cat = cat
        self.defs: dict[str, dict[str, Any]] = {}
        self.shared: dict[str, str] = {}  # array items' definitions by content
        self.choices: list[dict[str, Any]] = []  # if/then of the request, in table order
        self.fixed: dict[str, str] = {}  # positions with one definition: its name

    def build(self) -> None:
        for position, field in self.cat.paths.items():
            if field.reference:
                self._position(position, field.type is JsonType.ARRAY)

    def _name(self, position: str, array: bool, schema: dict[str, Any], label: str) -> str:
        if not array:
            name = position + label
            self.defs.setdefault(name, schema)
            return name
        key = json.dumps(schema, sort_keys=True)
        if key not in self.shared:
            name = IMAGE_DEF + label
            if name in self.defs:
                name = f"{IMAGE_DEF}-{position}{label}"
            self.defs[name] = schema
            self.shared[key] = name
        return self.shared[key]

    def _position(self, position: str, array: bool) -> None:
        cat = self.cat
        prefixes = [".".join(position.split(".")[: i + 1]) for i in range(position.count(".") + 1)]
        applies = [t for p in prefixes if (t := cat.paths[p].applies) is not None]
        kept = _position_rules(cat, position)
        atoms = [*applies, *(a for a in cond.request_atoms(kept, position) if a not in applies)]
        path = None if array else position
        groups: dict[str, set[tuple[bool, ...]]] = {}
        for full in itertools.product((False, True), repeat=len(atoms)):
            tests = dict(zip(atoms, full, strict=True))
            ignored = not all(tests[a] for a in applies)
            schema = _reference(cat, position, path, [] if ignored else kept, tests)
            _described(schema, cat, path, ignored)
            label = f"-{_IGNORED}" if ignored else ""
            if not ignored:
                label += "".join(f"-{_slug(a)}" for a in atoms if tests[a] and a not in applies)
            name = self._name(position, array, schema, label)
            groups.setdefault(name, set()).add(full)
        if len(groups) == 1:
            self.fixed[position] = next(iter(groups))
            return
        for name, chosen in groups.items():
            for cube in cond.cubes(atoms, chosen):
                item = {
                    "if": cond.cube_condition(cube, cat),
                    "then": _placed(position, array, name),
                }
                self.choices.append(item)


def _placed(position: str, array: bool, name: str) -> dict[str, Any]:
    ref = {"$ref": f"#/$defs/{name}"}
    # An object position may be null (not given): the definition is for objects only.
    leaf = {"items": ref} if array else {"if": {"type": "object"}, "then": ref}
    return cond.at(position, leaf)


# ---------------------------------------------------------------- assembling the documents


def _default(field: Field) -> Any:
    return list(field.default) if isinstance(field.default, tuple) else field.default


def _build(cat: Catalogue) -> tuple[dict[str, Any], dict[str, Any]]:
    t = _Target(cat)
    for rule in cat.rules:
        if rule.scope not in (Scope.IMAGE, Scope.FETCH):
            _apply(rule, t, cond.request_condition(rule, cat))
    refs = _References(cat)
    refs.build()
    for position, name in refs.fixed.items():
        placed = _placed(position, cat.paths[position].type is JsonType.ARRAY, name)
        node, leaf = t.node(position), placed
        for part in position.split("."):
            leaf = leaf["properties"][part]
        if "items" in leaf:
            node["items"].update(leaf["items"])
        else:
            node.update(leaf)
    t.all.extend(refs.choices)
    for path, field in cat.paths.items():
        if field.default is not MISSING:
            t.node(path)["default"] = _default(field)
    body = t.schema
    root: dict[str, Any] = {
        "$schema": DIALECT,
        "title": "Generation request",
        "description": f"The body of POST {catalog.ENDPOINT} (Luma Agents API version "
        f"{catalog.API_VERSION}), generated from luma_schema's catalogue: the validation schema, "
        "every rule a schema can state, with ajv-errors messages. Code generators read "
        "generation-request.types.schema.json instead.",
        **{k: v for k, v in body.items() if k not in (VENDOR_KEYWORD, "errorMessage", "allOf")},
    }
    if body.get("allOf"):
        root["allOf"] = body["allOf"]
    if "errorMessage" in body:
        root["errorMessage"] = body["errorMessage"]
    root["$defs"] = refs.defs
    root[VENDOR_KEYWORD] = body.get(VENDOR_KEYWORD, [])
    image = refs.defs.get(IMAGE_DEF) or next(iter(refs.defs.values()), {})
    return _tidy(root), _tidy(image)


# Cheap checks before patterns: a validator that stops at the first failure (python-jsonschema's
# is_valid) then refuses an oversized base64 string without running a regex over 70 MB of it.
_FIRST: Final = ("title", "description", "type", "enum", "minLength", "maxLength")
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
def _texts() -> tuple[str, str]:
    request, image = _build(catalog.CATALOGUE)
    return json.dumps(request), json.dumps({"$schema": DIALECT, **image})


# Each call returns a fresh document: parsing the cached JSON text is several times faster than
# copy.deepcopy of the cached dict (see benchmarks/bench_export.py).


def json_schema(cat: Catalogue | None = None) -> dict[str, Any]:
    """The request body as a Draft 2020-12 schema (media references ``$defs`` entries): of the
    API's catalogue (built once and cached; each call returns a fresh copy the caller may
    change), or of the catalogue ``cat``."""
    if cat is not None and cat is not catalog.CATALOGUE:
        return _build(cat)[0]
    document: dict[str, Any] = json.loads(_texts()[0])
    return document


def image_schema(cat: Catalogue | None = None) -> dict[str, Any]:
    """One media reference at an image position (an ``image_ref`` item, a keyframe) as a
    standalone Draft 2020-12 schema: of the API's catalogue (cached), or of ``cat``."""
    if cat is not None and cat is not catalog.CATALOGUE:
        return {"$schema": DIALECT, **_build(cat)[1]}
    document: dict[str, Any] = json.loads(_texts()[1])
    return document
