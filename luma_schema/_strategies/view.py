"""A catalogue as the strategies read it: each path's field, each rule's predicate and conditions
compiled once, a request read as the rules read it (defaults filled, JSON types checked, media
references in order), and edits of a request by path.

This reads the catalogue's own predicates (:mod:`luma_schema.expr`), never the engine: the
strategies decide by themselves whether a request they build obeys a rule, so a property test
that holds the engine to them tests something.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from luma_schema.expr import FUNCTIONS, MISSING, Expr, reads, render
from luma_schema.rules import (
    Base64,
    Catalogue,
    EitherOf,
    Field,
    ImageMediaType,
    ItemsRange,
    JsonType,
    Length,
    OneOf,
    OneOfFor,
    PublicHttpsUrl,
    Range,
    Rule,
    Scope,
    Test,
    Unique,
    Uuid,
)

__all__ = ["ABSENT", "VALUE_KINDS", "WRONG", "Reading", "Ref", "View", "get", "overlaps", "put"]

Request = dict[str, Any]

# The kinds that constrain the value of one field by itself (with their conditions).
VALUE_KINDS: Final = (OneOf, OneOfFor, Length, Range, ItemsRange, Unique)


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


# The value of a path that failed its JSON type (equals nothing, as the engine reads it).
WRONG: Final = _Sentinel("WRONG")
# Put at a path: the member is removed.
ABSENT: Final = _Sentinel("ABSENT")


# ---------------------------------------------------------------- paths and edits

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def steps(path: str) -> list[str | int]:
    """``"video.keyframes[2].url"`` as ``["video", "keyframes", 2, "url"]``."""
    return [name if name else int(index) for name, index in _STEP.findall(path)]


def get(body: Any, path: str) -> Any:
    """The raw value at ``path`` (``MISSING`` when some step is not there)."""
    node = body
    for step in steps(path):
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return MISSING
        elif not isinstance(node, dict) or step not in node:
            return MISSING
        node = node[step]
    return node


def put(body: Request, path: str, value: Any) -> None:
    """Set ``path`` to ``value`` (``ABSENT``: remove it), making the objects on the way."""
    walk = steps(path)
    node: Any = body
    for step, after in itertools.pairwise(walk):
        if isinstance(step, int):
            node = node[step]
            continue
        # An array holds the item an index names; an object is made where none is.
        if not isinstance(node.get(step), list if isinstance(after, int) else dict):
            if value is ABSENT:
                return
            node[step] = {}
        node = node[step]
    last = walk[-1]
    if value is ABSENT:
        if isinstance(last, int):
            del node[last]
        else:
            node.pop(last, None)
    else:
        node[last] = value


def overlaps(a: str, b: str) -> bool:
    """Whether editing one of the paths can change the other (one holds the other)."""
    short, long = sorted((a, b), key=len)
    return long == short or long.startswith((short + ".", short + "["))


# ---------------------------------------------------------------- reading


@dataclass(slots=True)
class Ref:
    """A media reference: its field's path (``position``), its own path (with the index of an
    array item), its members (``MISSING`` when absent) and whether a member failed its type."""

    position: str
    path: str
    members: dict[str, Any]
    bad: bool = False


@dataclass(slots=True)
class Reading:
    """What the rules read of a request: ``values`` by path, the paths that failed their JSON
    type (``bad``), and the media references in order."""

    values: dict[str, Any] = field(default_factory=dict)
    bad: set[str] = field(default_factory=set)
    refs: list[Ref] = field(default_factory=list)


def typed(kind: JsonType, value: Any) -> Any:
    """``value`` as a field of JSON type ``kind`` holds it, else ``WRONG`` (``1.0`` is an
    integer; a boolean is no number)."""
    t = type(value)
    if kind is JsonType.STRING:
        return value if t is str else WRONG
    if kind is JsonType.BOOLEAN:
        return value if t is bool else WRONG
    if kind is JsonType.INTEGER:
        if t is int:
            return value
        return int(value) if t is float and math.isfinite(value) and value.is_integer() else WRONG
    if kind is JsonType.NUMBER:
        return value if t is int or t is float else WRONG
    if kind is JsonType.ARRAY:
        return value if t is list else WRONG
    return value if t is dict else WRONG


# ---------------------------------------------------------------- compiled predicates

_Compiled = Callable[[dict[str, Any], Any, Any], Any]


class _Names:
    """How the strategies' compiled predicates name what they read: ``v`` the request's values,
    ``m`` a reference's members, ``pos`` its position."""

    def __init__(self) -> None:
        self.globals: dict[str, Any] = {"MISSING": MISSING, "F": FUNCTIONS}

    def value(self, path: str) -> str:
        return f"v[{path!r}]"

    def member(self, name: str) -> str:
        return f"m[{name!r}]"

    def position(self) -> str:
        return "pos"

    def constant(self, value: Any) -> str:
        if value is MISSING:
            return "MISSING"
        plain = type(value) in (str, int, bool, type(None))
        if plain or (type(value) is float and math.isfinite(value)):
            return repr(value)
        name = f"K{len(self.globals)}"
        self.globals[name] = value
        return name

    def call(self, function: str, argument: Expr, rendered: str) -> str:
        return f"F[{function!r}]({rendered})"

    def compile(self, expr: Expr) -> _Compiled:
        function: _Compiled = eval(f"lambda v, m, pos: {render(expr, self)}", self.globals)
        return function


# ---------------------------------------------------------------- the view


class View:
    """One catalogue, read once for building requests."""

    def __init__(self, cat: Catalogue) -> None:
        self.cat = cat
        self.paths: dict[str, Field] = cat.paths
        self.rules: tuple[Rule, ...] = tuple(
            r for r in cat.rules if r.scope in (Scope.REQUEST, Scope.IMAGE)
        )
        self.rank = {r.id: i for i, r in enumerate(cat.rules)}
        self.references = tuple(p for p, f in self.paths.items() if f.reference)
        self.members = cat.reference_members
        self._descendants = {
            p: tuple(q for q in self.paths if q.startswith(p + ".")) for p in self.paths
        }
        names = _Names()
        self._holds: dict[str, _Compiled] = {}
        self._enabled: dict[str, _Compiled] = {}
        self._checked: dict[str, frozenset[str]] = {}
        self._echoed: dict[str, frozenset[str]] = {}
        for r in self.rules:
            self._holds[r.id] = names.compile(r.requirement())
            self._enabled[r.id] = names.compile(_conditions(r))
            self._checked[r.id] = reads(r.predicate())[0]
            self._echoed[r.id] = reads(*r.echo().values())[0]
        self._tests: dict[Test, _Compiled] = {}
        self._names = names
        self.applies = {p: f.applies for p, f in self.paths.items() if f.applies is not None}
        # The members that carry media, and the roles the rules give them.
        either = next((r for r in cat.rules if isinstance(r, EitherOf)), None)
        self.carriers: tuple[str, ...] = (either.a, either.b, *either.others) if either else ()
        self.url = _member_of(cat, PublicHttpsUrl)
        self.data = _member_of(cat, Base64)
        self.media_type = _member_of(cat, ImageMediaType)
        self.ids = tuple(r.member for r in cat.rules if isinstance(r, Uuid))
        self._on: dict[str, tuple[Rule, ...]] = {}
        for r in self.request_rules():
            own = getattr(r, "field", None)
            if isinstance(own, str) and own:
                self._on[own] = (*self._on.get(own, ()), r)
        self.order = self._order()
        # Paths other rules' conditions read (the model, the type): changed last, so a request
        # keeps its type where changing an option will do.
        self.context: frozenset[str] = frozenset(
            {t.path for r in self.rules for t in (*r.when, *r.unless)}
            | {r.key for r in self.rules if isinstance(r, OneOfFor)}
            | {t.path for t in self.applies.values()}
        ) - {"@"}

    # ------------------------------------------------------------ reading a request

    def read(self, body: Request) -> Reading:
        reading = Reading()
        self._object(body, self.cat.fields, "", reading)
        return reading

    def _object(
        self, raw: dict[str, Any], table: tuple[Field, ...], prefix: str, r: Reading
    ) -> None:
        for f in table:
            path = prefix + f.name
            value = raw.get(f.name, MISSING)
            if value is MISSING or (value is None and f.nullable):
                r.values[path] = f.default if value is MISSING else None
                for child in self._descendants[path]:
                    r.values[child] = MISSING
            elif value is None or typed(f.type, value) is WRONG:
                self._wrong(path, r)
            else:
                r.values[path] = self._field(f, path, typed(f.type, value), r)

    def _field(self, f: Field, path: str, value: Any, r: Reading) -> Any:
        if f.type is JsonType.OBJECT and f.reference:
            return self._reference(value, path, path, r)
        if f.type is JsonType.OBJECT and f.members is not None:
            self._object(value, f.members, path + ".", r)
            return {m.name: _plain(r.values[f"{path}.{m.name}"]) for m in f.members}
        if f.type is JsonType.ARRAY:
            assert f.items is not None
            out: list[Any] = []
            for i, item in enumerate(value):
                checked = typed(f.items, item) if item is not None else WRONG
                if checked is WRONG:
                    out.append(None)
                elif f.reference and isinstance(checked, dict):
                    out.append(self._reference(checked, path, f"{path}[{i}]", r))
                else:
                    out.append(checked)
            return out
        return value

    def _reference(self, raw: dict[str, Any], position: str, path: str, r: Reading) -> Any:
        ref = Ref(position, path, {})
        for m in self.members:
            value = raw.get(m.name, MISSING)
            if value is not MISSING and value is not None and typed(m.type, value) is WRONG:
                ref.bad = True
                value = MISSING
            ref.members[m.name] = value
        r.refs.append(ref)
        return {name: _plain(v) for name, v in ref.members.items()}

    def _wrong(self, path: str, r: Reading) -> None:
        for p in (path, *self._descendants.get(path, ())):
            r.values[p] = WRONG
            r.bad.add(p)

    # ------------------------------------------------------------ rules

    def skipped(self, rule: Rule, reading: Reading, marked: frozenset[str] = frozenset()) -> bool:
        """Whether the engine does not apply ``rule``: it reads a value that failed its JSON
        type or that ``marked`` names (a failed earlier rule's mark)."""
        checked = self._checked[rule.id]
        return bool(checked & reading.bad) or bool(checked & marked)

    def enabled(self, rule: Rule, reading: Reading, ref: Ref | None = None) -> bool:
        """Whether the rule's ``when``/``unless`` conditions make it apply."""
        m, pos = (ref.members, ref.position) if ref else (None, None)
        return bool(self._enabled[rule.id](reading.values, m, pos))

    def holds(
        self,
        rule: Rule,
        reading: Reading,
        ref: Ref | None = None,
        marked: frozenset[str] = frozenset(),
    ) -> bool:
        """Whether the request (and ``ref``, for a rule of references) obeys ``rule``, or the
        engine skips it."""
        if self.skipped(rule, reading, marked):
            return True
        m, pos = (ref.members, ref.position) if ref else (None, None)
        if not self._enabled[rule.id](reading.values, m, pos):
            return True
        return bool(self._holds[rule.id](reading.values, m, pos))

    def reported(self, rule: Rule, reading: Reading, ref: Ref | None = None) -> bool:
        """Whether the engine reports ``rule`` broken (broken, and its message quotes no value
        that failed its type)."""
        return not self.holds(rule, reading, ref) and not self._echoed[rule.id] & reading.bad

    def test(self, t: Test, values: dict[str, Any], ref: Ref | None = None) -> bool:
        compiled = self._tests.get(t)
        if compiled is None:
            compiled = self._tests[t] = self._names.compile(t.expr())
        m, pos = (ref.members, ref.position) if ref else (None, None)
        return bool(compiled(values, m, pos))

    def applies_at(self, position: str, reading: Reading) -> bool:
        """Whether references at ``position`` are checked (every field they are inside is
        meaningful for the request)."""
        return all(self.test(t, reading.values) for t in self.applies_tests(position))

    def applies_tests(self, position: str) -> tuple[Test, ...]:
        """The tests that make ``position`` (and the fields it is inside) meaningful."""
        return tuple(
            t for p, t in self.applies.items() if position == p or position.startswith(p + ".")
        )

    def image_rules(self) -> Iterator[Rule]:
        return (r for r in self.rules if r.scope is Scope.IMAGE)

    def request_rules(self) -> Iterator[Rule]:
        return (r for r in self.rules if r.scope is Scope.REQUEST)

    def on(self, path: str) -> tuple[Rule, ...]:
        """The request rules about the one field ``path``."""
        return self._on.get(path, ())

    # ------------------------------------------------------------ the order values are drawn in

    def _order(self) -> tuple[str, ...]:
        """The top-level fields, each after the fields the rules on its value read (the model
        before the type, the type before the prompt): table order otherwise."""
        names = [f.name for f in self.cat.fields]
        needs: dict[str, set[str]] = {n: set() for n in names}
        for r in self.request_rules():
            if not isinstance(r, VALUE_KINDS):
                continue
            top = r.field.split(".")[0]
            read = {t.path.split(".")[0] for t in (*r.when, *r.unless)}
            if isinstance(r, OneOfFor):
                read.add(r.key.split(".")[0])
            needs[top] |= {p for p in read if p in needs and p != top}
        out: list[str] = []
        while len(out) < len(names):
            ready = [n for n in names if n not in out and needs[n] <= set(out)]
            out.append(ready[0] if ready else next(n for n in names if n not in out))
        return tuple(out)


def _conditions(rule: Rule) -> Expr:
    from luma_schema.expr import All, Const, Not

    conditions: list[Expr] = [t.expr() for t in rule.when]
    if rule.unless:
        conditions.append(Not(All(*(t.expr() for t in rule.unless))))
    return All(*conditions) if conditions else Const(True)


def _member_of(cat: Catalogue, kind: type[Rule]) -> str:
    found: str = next((getattr(r, "member", "") for r in cat.rules if isinstance(r, kind)), "")
    return found


def _plain(value: Any) -> Any:
    return None if value is MISSING else value
