"""Where a rule applies, as JSON Schema: the conditions of rules (:class:`~luma_schema.rules.Test`)
and dotted field paths as nested ``properties``, shared by the validation schema and the types
schema.

A test on a request path reads the value as the engine does: the field's default when it is
absent under objects that are given, nothing (``MISSING``) when an object above it is absent or
null.  A test on a member (``".media_type"``) reads one media reference, where a member has no
default; a test on the position (``"@"``) is decided by the definition the reference gets.  The
functions a test may name are the ones :data:`TEST_FUNCTIONS` can state; another fails loudly
when the schema is built, never silently.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, Literal

from luma_schema.export.patterns import media_type_pattern, no_final_newline
from luma_schema.expr import Const, Value, fold
from luma_schema.rules import Catalogue, Field, JsonType, Rule, Test

__all__ = [
    "JSON_TYPES",
    "TEST_FUNCTIONS",
    "Cube",
    "all_of",
    "at",
    "cube_condition",
    "cubes",
    "member_test",
    "nest",
    "position_holds",
    "request_atoms",
    "request_condition",
    "request_test",
    "split",
]

JSON_TYPES: Final = {
    JsonType.STRING: "string",
    JsonType.BOOLEAN: "boolean",
    JsonType.INTEGER: "integer",
    JsonType.NUMBER: "number",
    JsonType.ARRAY: "array",
    JsonType.OBJECT: "object",
}


def _media_family(values: tuple[Any, ...]) -> dict[str, Any]:
    if not values or not set(values) <= {"image", "video"}:
        raise TypeError(f"media_family tests name image or video, not {values!r}")
    node: dict[str, Any] = {"type": "string"}
    no_final_newline(node, media_type_pattern(sorted(values)))
    return node


# The functions a test may name, as the schema of a string whose result is one of the values.
TEST_FUNCTIONS: Final[Mapping[str, Callable[[tuple[Any, ...]], dict[str, Any]]]] = {
    "media_family": _media_family,
}


def all_of(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Every one of ``parts`` (``{}``, always true, for none)."""
    if not parts:
        return {}
    return dict(parts[0]) if len(parts) == 1 else {"allOf": list(parts)}


def at(path: str, leaf: dict[str, Any]) -> dict[str, Any]:
    """A subschema of an object that puts ``leaf`` at ``path`` (dotted) when it is there."""
    node = leaf
    for name in reversed(path.split(".")):
        node = {"properties": {name: node}}
    return node


def nest(path: str, leaf: dict[str, Any], required: bool) -> dict[str, Any]:
    """A subschema of an object true when every object above ``path`` is given (present, an
    object) and the value at ``path`` satisfies ``leaf`` (or is absent, unless ``required``)."""
    *parents, name = path.split(".")
    node: dict[str, Any] = {"properties": {name: leaf}}
    if required:
        node["required"] = [name]
    for parent in reversed(parents):
        node = {"required": [parent], "properties": {parent: {"type": "object", **node}}}
    return node


def _value(test: Test) -> dict[str, Any]:
    """The schema of a value that satisfies ``test`` (not negated), once it is there."""
    if test.function is not None:
        try:
            state = TEST_FUNCTIONS[test.function]
        except KeyError:
            raise TypeError(f"no JSON Schema for tests of {test.function}(): {test!r}") from None
        return state(test.values)
    if test.values:
        values = list(test.values)
        return {"const": values[0]} if len(values) == 1 else {"enum": values}
    return {"not": {"type": "null"}}


def _default_holds(test: Test, field: Field) -> bool:
    """Whether ``test`` (not negated) holds for the field's default (the field absent)."""
    plain = Test(test.path, test.values, False, test.function)
    folded = fold(plain.expr(), {Value(test.path): field.default})
    return isinstance(folded, Const) and bool(folded.value)


def request_test(test: Test, cat: Catalogue) -> dict[str, Any]:
    """A subschema of the request true exactly where ``test`` holds."""
    if test.path == "@" or test.path.startswith("."):
        raise TypeError(f"{test!r} reads a media reference, not the request")
    field = cat.paths[test.path]
    positive = nest(test.path, _value(test), required=not _default_holds(test, field))
    return {"not": positive} if test.negated else positive


def member_test(test: Test) -> dict[str, Any]:
    """A subschema of a media reference true exactly where the member ``test`` holds."""
    name = test.path.removeprefix(".")
    positive = {"required": [name], "properties": {name: _value(test)}}
    return {"not": positive} if test.negated else positive


def request_condition(rule: Rule, cat: Catalogue) -> dict[str, Any] | None:
    """Where a request rule applies (every ``when`` test holds, not every ``unless`` test), or
    ``None`` when it applies everywhere."""
    parts = [request_test(t, cat) for t in rule.when]
    if rule.unless:
        parts.append({"not": all_of([request_test(t, cat) for t in rule.unless])})
    return all_of(parts) if parts else None


def _is_request(test: Test) -> bool:
    return test.path != "@" and not test.path.startswith(".")


def request_atoms(rules: Iterable[Rule], position: str | None = None) -> list[Test]:
    """The distinct tests on request paths in the conditions of ``rules``, in order; with a
    ``position``, only those of conditions whose tests on the position hold there."""
    seen: dict[Test, None] = {}
    for rule in rules:
        for tests in (rule.when, rule.unless):
            at_position = (t for t in tests if t.path == "@")
            if position is not None and not all(position_holds(t, position) for t in at_position):
                continue
            for test in tests:
                if _is_request(test):
                    seen.setdefault(test, None)
    return list(seen)


def position_holds(test: Test, position: str) -> bool:
    """Whether a test on the position (``"@"``) holds for a reference at ``position``."""
    if test.function is not None:
        raise TypeError(f"no JSON Schema for {test!r}: a function of the position")
    holds = position in test.values if test.values else True
    return holds is not test.negated


def _part(
    tests: tuple[Test, ...], position: str, assignment: Mapping[Test, bool]
) -> tuple[bool, list[Test]]:
    """Whether the position and request tests among ``tests`` all hold, and the member tests."""
    members: list[Test] = []
    for test in tests:
        if test.path == "@":
            holds = position_holds(test, position)
        elif test.path.startswith("."):
            members.append(test)
            continue
        else:
            holds = assignment[test]
        if not holds:
            return False, []
    return True, members


def split(
    rule: Rule, position: str, assignment: Mapping[Test, bool]
) -> dict[str, Any] | Literal[False] | None:
    """Where a rule of one media reference applies, at ``position`` with the request tests
    decided by ``assignment``: ``False`` nowhere, ``None`` everywhere, else a subschema of the
    reference (its member tests)."""
    holds, members = _part(rule.when, position, assignment)
    if not holds:
        return False
    parts = [member_test(t) for t in members]
    if rule.unless:
        unless, unless_members = _part(rule.unless, position, assignment)
        if unless and not unless_members:
            return False
        if unless:
            parts.append({"not": all_of([member_test(t) for t in unless_members])})
    return all_of(parts) if parts else None


Cube = tuple[tuple[Test, bool], ...]


def cubes(atoms: Sequence[Test], chosen: set[tuple[bool, ...]]) -> list[Cube]:
    """Few conjunctions of atoms (each held or negated) whose union is exactly the ``chosen``
    assignments (tuples of truth values in the order of ``atoms``): the largest first."""
    partials = sorted(
        itertools.product((None, False, True), repeat=len(atoms)),
        key=lambda p: sum(v is not None for v in p),
    )
    covered: set[tuple[bool, ...]] = set()
    out: list[Cube] = []
    for partial in partials:
        inside = {
            full
            for full in itertools.product((False, True), repeat=len(atoms))
            if all(v is None or v == f for v, f in zip(partial, full, strict=True))
        }
        if inside <= chosen and not inside <= covered:
            out.append(tuple((a, v) for a, v in zip(atoms, partial, strict=True) if v is not None))
            covered |= inside
        if covered == chosen:
            break
    return out


def cube_condition(cube: Cube, cat: Catalogue) -> dict[str, Any]:
    """The request subschema of one conjunction."""
    parts = []
    for test, holds in cube:
        schema = request_test(test, cat)
        parts.append(schema if holds else _negated(schema))
    return all_of(parts)


def _negated(schema: dict[str, Any]) -> dict[str, Any]:
    return schema["not"] if set(schema) == {"not"} else {"not": schema}
