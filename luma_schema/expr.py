"""The small language in which every rule kind states its predicate, once.

A predicate is a tree of immutable nodes over the request's type-checked values: ``Value("type")``
is a request field (its default when absent, ``MISSING`` when absent without one), ``Member("url")``
a member of the media reference being checked, ``Position()`` that reference's place (``source``,
``image_ref``).  The engine never interprets a rule kind: it reads these trees, folds what it knows
in advance (``fold``: a field the payload lacks is its default) and renders them as Python source
(``render``) for both of its paths, the full diagnosis and the compiled one.  What a predicate
reads (``reads``) decides which rules a value that failed its JSON type hides.

Functions of media content (base64, media types, URLs) are named, not inlined: ``Call("base64",
Member("data"))`` names :data:`FUNCTIONS` entry ``base64``, so one decoding serves every rule and
warning that asks for it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from luma_schema import media

__all__ = [
    "FUNCTIONS",
    "MISSING",
    "All",
    "Any_",
    "Attr",
    "Call",
    "Compare",
    "Const",
    "Equals",
    "Expr",
    "Given",
    "In",
    "Len",
    "Member",
    "Names",
    "Not",
    "NotNull",
    "Position",
    "Present",
    "Same",
    "Value",
    "evaluate_constant",
    "fold",
    "implies",
    "reads",
    "render",
]


class _Missing:
    """The value of a field that is absent from the request (distinct from JSON null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


# Functions a predicate may call, by name: pure functions of one type-checked string value.
FUNCTIONS: Final[Mapping[str, Callable[[Any], Any]]] = {
    "base64": media.base64_info,  # -> Base64Info(valid, size, head)
    "image_media_type": media.is_image_media_type,  # -> bool
    "url_problem": media.url_problem,  # -> None when the static URL checks pass
    "data_uri": media.has_data_uri_prefix,  # -> bool
    "sniff": media.sniff_data,  # -> "png" | "jpeg" | "gif" | "webp" | None
    "media_format": media.media_format,  # -> the format a media type names, or None
    "format_name": media.format_name,  # -> "PNG", ... ("another format" for None)
}

_COMPARISONS: Final[Mapping[str, Callable[[Any, Any], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "!=": operator.ne,
}


@dataclass(frozen=True, slots=True)
class Expr:
    """A node of a predicate (or of a value a message quotes)."""

    def children(self) -> tuple[Expr, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class Value(Expr):
    """A request field by its dotted path: its type-checked value, its default when absent, else
    ``MISSING``."""

    path: str


@dataclass(frozen=True, slots=True)
class Member(Expr):
    """A member of the media reference being checked (``MISSING`` when absent)."""

    name: str


@dataclass(frozen=True, slots=True)
class Position(Expr):
    """The place of the media reference being checked: ``source``, ``image_ref``..."""


@dataclass(frozen=True, slots=True)
class Const(Expr):
    value: Any


@dataclass(frozen=True, slots=True)
class Given(Expr):
    """``x`` is present and not null."""

    x: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.x,)


@dataclass(frozen=True, slots=True)
class Present(Expr):
    """``x`` is present (null counts as present)."""

    x: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.x,)


@dataclass(frozen=True, slots=True)
class Not(Expr):
    x: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.x,)


@dataclass(frozen=True, slots=True, init=False)
class All(Expr):
    """Every operand holds (evaluated left to right, stopping at the first that does not)."""

    xs: tuple[Expr, ...]

    def __init__(self, *xs: Expr) -> None:
        object.__setattr__(self, "xs", xs)

    def children(self) -> tuple[Expr, ...]:
        return self.xs


@dataclass(frozen=True, slots=True, init=False)
class Any_(Expr):
    """Some operand holds (evaluated left to right, stopping at the first that does)."""

    xs: tuple[Expr, ...]

    def __init__(self, *xs: Expr) -> None:
        object.__setattr__(self, "xs", xs)

    def children(self) -> tuple[Expr, ...]:
        return self.xs


@dataclass(frozen=True, slots=True)
class Equals(Expr):
    """``x`` equals the constant ``value`` (``MISSING`` equals nothing but itself)."""

    x: Expr
    value: Any

    def children(self) -> tuple[Expr, ...]:
        return (self.x,)


@dataclass(frozen=True, slots=True)
class Same(Expr):
    """``x`` equals ``y`` (two computed values)."""

    x: Expr
    y: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.x, self.y)


@dataclass(frozen=True, slots=True)
class NotNull(Expr):
    """``x``, known to be present, is not null."""

    x: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.x,)


@dataclass(frozen=True, slots=True)
class In(Expr):
    """``x`` is one of ``values`` (constants)."""

    x: Expr
    values: frozenset[Any]

    def children(self) -> tuple[Expr, ...]:
        return (self.x,)


@dataclass(frozen=True, slots=True)
class Len(Expr):
    """The length of a string (code points) or array; only where ``x`` is given."""

    x: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.x,)


@dataclass(frozen=True, slots=True)
class Compare(Expr):
    """``x <op> value`` for a constant ``value``; ``op`` one of ``< <= > >= !=``."""

    x: Expr
    op: str
    value: Any

    def __post_init__(self) -> None:
        if self.op not in _COMPARISONS:
            raise ValueError(f"unknown comparison {self.op!r}")

    def children(self) -> tuple[Expr, ...]:
        return (self.x,)


@dataclass(frozen=True, slots=True)
class Call(Expr):
    """``FUNCTIONS[function](x)``: computed once per value, whoever asks."""

    function: str
    x: Expr

    def __post_init__(self) -> None:
        if self.function not in FUNCTIONS:
            raise ValueError(f"unknown function {self.function!r}")

    def children(self) -> tuple[Expr, ...]:
        return (self.x,)


@dataclass(frozen=True, slots=True)
class Attr(Expr):
    """An attribute of a function's result (``Attr(Call("base64", d), "size")``)."""

    x: Call
    name: str

    def children(self) -> tuple[Expr, ...]:
        return (self.x,)


def implies(condition: Expr, then: Expr) -> Expr:
    """``then`` holds wherever ``condition`` does."""
    return Any_(Not(condition), then)


def walk(expr: Expr) -> Iterator[Expr]:
    """``expr`` and every node below it, depth first."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children()))


def reads(*exprs: Expr) -> tuple[frozenset[str], frozenset[str]]:
    """The request paths and the reference members that ``exprs`` read."""
    values: set[str] = set()
    members: set[str] = set()
    for expr in exprs:
        for node in walk(expr):
            if isinstance(node, Value):
                values.add(node.path)
            elif isinstance(node, Member):
                members.add(node.name)
    return frozenset(values), frozenset(members)


# ---------------------------------------------------------------- folding


def _equals(a: Any, b: Any) -> bool:
    # As rendered: identity for null and booleans (1 is no boolean), equality otherwise.
    return a is b if b is None or isinstance(b, bool) else bool(a == b)


_UNKNOWN: Final = object()


def evaluate_constant(expr: Expr) -> Any:
    """The value of ``expr`` when it reads nothing (a folded tree), else ``_UNKNOWN``."""
    folded = fold(expr, {})
    return folded.value if isinstance(folded, Const) else _UNKNOWN


def fold(
    expr: Expr,
    known: Mapping[Expr, Any],
    given: frozenset[Expr] = frozenset(),
    present: frozenset[Expr] = frozenset(),
) -> Expr:
    """``expr`` with what is known in advance put in: ``known`` maps leaves (a ``Value`` of a field
    the payload lacks, a ``Member``) to their values; ``given`` holds leaves known to be present
    and not null, ``present`` leaves known to be present, maybe null (their types are checked,
    their values are not known).  Nodes whose operands are all known become constants;
    ``All``/``Any_`` drop operands that cannot decide them."""

    def go(node: Expr) -> Expr:
        if node in known:
            return Const(known[node])
        match node:
            case Value() | Member() | Position() | Const():
                return node
            case Given(x) | Present(x):
                if x in given or (x in present and isinstance(node, Present)):
                    return Const(True)
                if x in present:
                    return NotNull(x)
                inner = go(x)
                if isinstance(inner, Const):
                    value = inner.value
                    if isinstance(node, Given):
                        return Const(value is not MISSING and value is not None)
                    return Const(value is not MISSING)
                return type(node)(inner)
            case Not(x):
                inner = go(x)
                if isinstance(inner, Const):
                    return Const(not inner.value)
                if isinstance(inner, Not):
                    return inner.x
                return Not(inner)
            case All(xs) | Any_(xs):
                decisive = isinstance(node, Any_)  # True decides an Any_, False an All
                kept: list[Expr] = []
                for x in xs:
                    inner = go(x)
                    if isinstance(inner, Const):
                        if bool(inner.value) is decisive:
                            return Const(decisive)
                        continue
                    kept.append(inner)
                if not kept:
                    return Const(not decisive)
                if len(kept) == 1:
                    return kept[0]
                return type(node)(*kept)
            case NotNull(x):
                if x in given:
                    return Const(True)
                inner = go(x)
                return Const(inner.value is not None) if isinstance(inner, Const) else NotNull(inner)
            case Equals(x, value):
                inner = go(x)
                if isinstance(inner, Const):
                    return Const(_equals(inner.value, value))
                return Equals(inner, value)
            case Same(x, y):
                left, right = go(x), go(y)
                if isinstance(left, Const) and isinstance(right, Const):
                    return Const(left.value == right.value)
                return Same(left, right)
            case In(x, values):
                inner = go(x)
                if isinstance(inner, Const):
                    return Const(inner.value in values)
                return In(inner, values)
            case Len(x):
                inner = go(x)
                if isinstance(inner, Const):
                    return Const(len(inner.value))
                return Len(inner)
            case Compare(x, op, value):
                inner = go(x)
                if isinstance(inner, Const):
                    return Const(_COMPARISONS[op](inner.value, value))
                return Compare(inner, op, value)
            case Call(function, x):
                inner = go(x)
                if isinstance(inner, Const):
                    return Const(FUNCTIONS[function](inner.value))
                return Call(function, inner)
            case Attr(x, name):
                inner = go(x)
                if isinstance(inner, Const):
                    return Const(getattr(inner.value, name))
                assert isinstance(inner, Call)
                return Attr(inner, name)
        raise TypeError(f"no folding for {type(node).__name__}")

    return go(expr)


# ---------------------------------------------------------------- rendering as Python source


class Names(Protocol):
    """How a rendering names what a predicate reads: each returns a Python expression."""

    def value(self, path: str) -> str: ...

    def member(self, name: str) -> str: ...

    def position(self) -> str: ...

    def constant(self, value: Any) -> str: ...

    def call(self, function: str, argument: Expr, rendered: str) -> str: ...


def render(expr: Expr, names: Names) -> str:
    """``expr`` as one Python expression (fully parenthesised) under ``names``."""

    def go(node: Expr) -> str:
        match node:
            case Value(path):
                return names.value(path)
            case Member(name):
                return names.member(name)
            case Position():
                return names.position()
            case Const(value):
                return names.constant(value)
            case Given(x):
                inner = go(x)
                return f"({inner} is not MISSING and {inner} is not None)"
            case Present(x):
                return f"({go(x)} is not MISSING)"
            case NotNull(x):
                return f"({go(x)} is not None)"
            case Not(NotNull(x)):
                return f"({go(x)} is None)"
            case Not(Equals(x, value)):
                if value is None or isinstance(value, bool):
                    return f"({go(x)} is not {value!r})"
                return f"({go(x)} != {names.constant(value)})"
            case Not(In(x, values)):
                return f"({go(x)} not in {names.constant(values)})"
            case Not(x):
                return f"(not {go(x)})"
            case All(xs):
                if len(xs) == 2 and all(isinstance(x, Compare) for x in xs):
                    low, high = xs
                    assert isinstance(low, Compare) and isinstance(high, Compare)
                    if low.x == high.x and low.op == ">=" and high.op == "<=":
                        # One chained comparison: the operand is computed once.
                        lo, hi = names.constant(low.value), names.constant(high.value)
                        return f"({lo} <= {go(low.x)} <= {hi})"
                return "(" + " and ".join(go(x) for x in xs) + ")" if xs else "True"
            case Any_(xs):
                return "(" + " or ".join(go(x) for x in xs) + ")" if xs else "False"
            case Equals(x, value):
                if value is None or isinstance(value, bool):
                    return f"({go(x)} is {value!r})"
                return f"({go(x)} == {names.constant(value)})"
            case Same(x, y):
                return f"({go(x)} == {go(y)})"
            case In(x, values):
                return f"({go(x)} in {names.constant(values)})"
            case Len(x):
                return f"len({go(x)})"
            case Compare(x, op, value):
                return f"({go(x)} {op} {names.constant(value)})"
            case Call(function, x):
                return names.call(function, x, go(x))
            case Attr(x, name):
                return f"{go(x)}.{name}"
        raise TypeError(f"no rendering for {type(node).__name__}")

    return go(expr)
