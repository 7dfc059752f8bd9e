"""Reading a request against the field table: the JSON type of every field and member (each
failure a ``wrong_type`` violation, depth first in table order), the values the rules read, the
media references in order, and the warnings for names the table does not know.

Every JSON type test of the engine is :func:`typed` (values the diagnosis reads are plain copies:
exact built-in types) or :func:`type_test` (the compiled paths' source for the same question);
both dispatch with ``match`` over every :class:`JsonType`, so a new type fails in ``mypy``.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any, Final, assert_never

from luma_schema import media
from luma_schema._input.python import ALIEN, has_alien
from luma_schema.expr import MISSING
from luma_schema.report import Notice, Violation
from luma_schema.rules import Catalogue, Field, JsonType, Rule, Scope

__all__ = ["WRONG", "Reader", "Reading", "Ref", "type_test", "typed"]


class _Wrong:
    __slots__ = ()

    def __repr__(self) -> str:
        return "WRONG"


WRONG: Final = _Wrong()


def typed(expected: JsonType, value: Any) -> Any:
    """``value`` as the field holds it when it has the ``expected`` JSON type, else ``WRONG``.
    A whole-valued float is an integer (``1.0`` reads as ``1``); a boolean is no number."""
    kind = type(value)
    match expected:
        case JsonType.STRING:
            return value if kind is str or kind is media.Blob else WRONG
        case JsonType.BOOLEAN:
            return value if kind is bool else WRONG
        case JsonType.INTEGER:
            if kind is int:
                return value
            return int(value) if kind is float and value.is_integer() else WRONG
        case JsonType.NUMBER:
            return value if kind is int or kind is float else WRONG
        case JsonType.ARRAY:
            return value if kind is list else WRONG
        case JsonType.OBJECT:
            return value if kind is dict else WRONG
        case _:
            assert_never(expected)


def type_test(expected: JsonType, var: str) -> str:
    """Python source true when ``var`` (a value read from a payload) has the ``expected`` JSON
    type as exactly as the compiled paths accept it (stricter than :func:`typed`: a whole-valued
    float in an integer field is left to the diagnosis)."""
    match expected:
        case JsonType.STRING:
            return f"type({var}) is str"
        case JsonType.BOOLEAN:
            return f"({var} is True or {var} is False)"
        case JsonType.INTEGER:
            return f"type({var}) is int"
        case JsonType.NUMBER:
            # A float that is no JSON number (NaN, an infinity: x - x is NaN) is the diagnosis'.
            return f"(type({var}) is int or (type({var}) is float and {var} - {var} == 0))"
        case JsonType.ARRAY:
            return f"type({var}) is list"
        case JsonType.OBJECT:
            return f"type({var}) is dict"
        case _:
            assert_never(expected)


@dataclass(slots=True)
class Ref:
    """One media reference: where it stands (``position``: its field's path; ``path``: with the
    index of an array item), its members (``MISSING`` when absent), whether it failed its JSON
    types or a rule that hides it (``bad``), and the results of functions of its members."""

    position: str
    path: str
    members: dict[str, Any]
    bad: bool = False
    memo: dict[Any, Any] = field(default_factory=dict)

    def normalised(self) -> dict[str, Any]:
        return {name: (None if v is MISSING else v) for name, v in self.members.items()}


@dataclass(slots=True)
class Reading:
    """What reading a request gives the rules: ``values`` by dotted path (defaults filled,
    ``MISSING`` when absent without one), the paths that failed their JSON type (``bad``: the
    rules that read them are skipped), the references in order, and what was found so far."""

    body: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    bad: set[str] = field(default_factory=set)
    refs: list[Ref] = field(default_factory=list)
    errors: list[Violation] = field(default_factory=list)
    warnings: list[Notice] = field(default_factory=list)


def key_path(key: str) -> str:
    """How a path names a key the table does not know: short and printable whatever was sent."""
    shown = key if key.isidentifier() else json.dumps(key, ensure_ascii=True)
    return shown if len(shown) <= 64 else shown[:61] + "..."


def near(name: str, known: tuple[str, ...]) -> str | None:
    """The known name closest to ``name``, if one is close."""
    if len(name) > 64:
        return None
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    return close[0] if close else None


class Reader:
    """Reads plain request values (see :func:`luma_schema._input.python.plain`) against one
    catalogue; :meth:`read` is the entry point."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.types_rule = next(r for r in catalogue.rules if r.scope is Scope.TYPES)
        self.advice = {a.id: a for a in catalogue.advice}
        self.descendants: dict[str, tuple[str, ...]] = {}
        paths = catalogue.paths
        for path in paths:
            self.descendants[path] = tuple(p for p in paths if p.startswith(path + "."))
        # Members whose long values stay slices of a big JSON text (read in chunks: base64).
        self.blob_members = _blob_members(catalogue.rules)
        self.member_names = tuple(m.name for m in catalogue.reference_members)
        self._member_set = frozenset(self.member_names)
        # The values of a request with no field given, the start of every reading.
        self._absent_values: dict[str, Any] = {}
        for f in catalogue.fields:
            self._absent(f, f.name, self._absent_values)
        self._names: dict[int, tuple[tuple[str, ...], frozenset[str]]] = {}
        for table in (catalogue.fields, *(f.members for f in paths.values())):
            if table is not None:
                names = tuple(m.name for m in table)
                self._names[id(table)] = (names, frozenset(names))

    def read(self, body: dict[str, Any]) -> Reading:
        reading = Reading(body, self._absent_values.copy())
        self._object(body, self.catalogue.fields, "", reading)
        return reading

    # ------------------------------------------------------------ walking the table

    def _object(
        self, raw: dict[str, Any], table: tuple[Field, ...], prefix: str, reading: Reading
    ) -> None:
        names, known = self._names[id(table)]
        for f in table:
            path = prefix + f.name
            value = raw.get(f.name, MISSING)
            if value is not MISSING:
                self._field(f, path, value, reading)
            elif prefix:  # (the top level's absent values are where the reading starts)
                self._absent(f, path, reading.values)
        for key in raw:
            if key not in known:
                close = near(key, names)
                code = "unknown_field_near" if close else "unknown_field"
                self._warn(reading, code, prefix + key_path(key), near=close)

    def _absent(self, f: Field, path: str, values: dict[str, Any]) -> None:
        values[path] = f.default
        for child in self.descendants[path]:
            values[child] = MISSING

    def _field(self, f: Field, path: str, raw: Any, reading: Reading) -> None:
        if raw is None:
            if f.nullable:
                reading.values[path] = None
                for child in self.descendants[path]:
                    reading.values[child] = MISSING
                return
            self._wrong(reading, path, f.type)
            return
        value = typed(f.type, raw)
        if value is WRONG:
            self._wrong(reading, path, f.type)
            return
        match f.type:
            case JsonType.OBJECT if f.reference:
                # A reference with a wrong member is still given: the request rules see it,
                # the rules of its own scope do not.
                reading.values[path] = self._reference(value, f, path, path, reading).normalised()
            case JsonType.OBJECT if f.members is not None:
                self._object(value, f.members, path + ".", reading)
                reading.values[path] = {
                    m.name: _plain_value(reading.values[f"{path}.{m.name}"]) for m in f.members
                }
            case JsonType.ARRAY:
                reading.values[path] = self._items(f, path, value, reading)
            case JsonType.STRING:
                reading.values[path] = value.text() if type(value) is media.Blob else value
            case _:
                reading.values[path] = value

    def _items(self, f: Field, path: str, items: list[Any], reading: Reading) -> Any:
        assert f.items is not None
        out: list[Any] = []
        for i, raw in enumerate(items):
            item_path = f"{path}[{i}]"
            value = typed(f.items, raw) if raw is not None else WRONG
            if value is WRONG:
                self._wrong(reading, item_path, f.items, mark=False)
                out.append(None)
            elif f.reference:
                assert type(value) is dict
                ref = self._reference(value, f, path, item_path, reading)
                out.append(ref.normalised())
            elif type(value) is media.Blob:
                out.append(value.text())
            else:
                out.append(value)
        if not f.reference and None in out:
            # An item that failed its JSON type hides the array from the rules that read its
            # items (a list of references keeps its length: each reference stands alone).
            reading.bad.add(path)
            return WRONG
        return out

    def _reference(
        self, raw: dict[str, Any], f: Field, position: str, path: str, reading: Reading
    ) -> Ref:
        ref = Ref(position, path, {})
        members = f.members or ()
        for m in members:
            value = raw.get(m.name, MISSING)
            if value is MISSING or value is None:
                ref.members[m.name] = MISSING if value is MISSING else None
                continue
            checked = typed(m.type, value)
            if checked is WRONG:
                self._wrong(reading, f"{path}.{m.name}", m.type, mark=False)
                ref.bad = True
                ref.members[m.name] = MISSING
            elif type(checked) is media.Blob and m.name not in self.blob_members:
                ref.members[m.name] = checked.text()
            else:
                ref.members[m.name] = checked
        for key in raw:
            if key in self._member_set:
                continue
            if has_alien(raw[key]):
                self._wrong(reading, path, JsonType.OBJECT, mark=False)
                ref.bad = True
                continue
            close = near(key, self.member_names)
            code = "unknown_member_near" if close else "unknown_member"
            self._warn(reading, code, f"{path}.{key_path(key)}", near=close)
        reading.refs.append(ref)
        return ref

    # ------------------------------------------------------------ findings

    def _wrong(self, reading: Reading, path: str, expected: JsonType, mark: bool = True) -> None:
        rule: Rule = self.types_rule
        detail = rule.render(path, expected=expected.value)
        reading.errors.append(Violation(rule.id, rule.status, detail, path))
        if mark:
            reading.bad.add(path)
            reading.values[path] = WRONG
            for child in self.descendants.get(path, ()):
                reading.bad.add(child)
                reading.values[child] = WRONG

    def _warn(self, reading: Reading, code: str, path: str, **params: Any) -> None:
        message = self.advice[code].render(path, **params)
        reading.warnings.append(Notice(code, path, message))


def _plain_value(value: Any) -> Any:
    return None if value is MISSING else value


def _blob_members(rules: tuple[Rule, ...]) -> frozenset[str]:
    from luma_schema.expr import Call, Member, walk

    out: set[str] = set()
    for r in rules:
        if r.scope is not Scope.IMAGE:
            continue
        for node in walk(r.predicate()):
            if isinstance(node, Call) and node.function == "base64" and isinstance(node.x, Member):
                out.add(node.x.name)
    return frozenset(out)


def alien_in(value: Any) -> bool:
    """Whether a plain value holds something that is no JSON value."""
    return value is ALIEN or has_alien(value)
