"""Rule kinds that read the request's fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from luma_schema.expr import (
    All,
    Call,
    Compare,
    Equals,
    Expr,
    Given,
    In,
    Len,
    Not,
    Present,
    Same,
    Value,
    implies,
)
from luma_schema.rules.base import Rule, Test, _field

# ---------------------------------------------------------------- request rules


@dataclass(frozen=True, slots=True, repr=False)
class _OnField(Rule):
    """A rule on one request field: its violations concern ``field``."""

    field: str = ""

    def params(self) -> dict[str, Any]:
        return {"field": self.field}

    @property
    def path(self) -> str:
        return self.field

    def _args(self) -> str:
        return self.field


@dataclass(frozen=True, slots=True, repr=False)
class _Marking(_OnField):
    """A rule on one request field whose failure hides the field from the rules after it."""

    @property
    def marks(self) -> str:
        return self.field


@dataclass(frozen=True, slots=True, repr=False)
class OneOf(_Marking):
    """``field`` is one of ``values``; null or absent passes (defaults and nullability are the
    field table's business).  ``listing`` keeps a documented ``Valid:`` list verbatim; it must name
    exactly ``values``.  ``context`` names other fields the message quotes (with their defaults)."""

    values: tuple[str, ...] = ()
    listing: str | None = None
    context: tuple[str, ...] = ()

    def _validate(self) -> None:
        if not self.values or len(set(self.values)) != len(self.values):
            raise ValueError(f"{self.id}: values must be distinct and non-empty")
        if self.listing is not None and sorted(self.listing.split(", ")) != sorted(self.values):
            raise ValueError(f"{self.id}: the verbatim listing does not name exactly the values")

    def params(self) -> dict[str, Any]:
        valid = self.listing if self.listing is not None else ", ".join(sorted(self.values))
        return {"field": self.field, "valid": valid}

    def requirement(self) -> Expr:
        value = _field(self.field)
        return implies(Given(value), In(value, frozenset(self.values)))

    def echo(self) -> Mapping[str, Expr]:
        return {"value": _field(self.field), **{name: _field(name) for name in self.context}}

    def _args(self) -> str:
        return f"{self.field} in {'|'.join(self.values)}"


@dataclass(frozen=True, slots=True, repr=False)
class OneOfFor(_Marking):
    """``field`` is one of ``values``, and where ``key`` is one of the keys of ``by``, one of
    that key's values (the key read as it stands: an unknown or invalid key asks nothing more).
    ``context`` names other fields the message quotes, as for :class:`OneOf`."""

    values: tuple[str, ...] = ()
    key: str = ""
    by: tuple[tuple[str, tuple[str, ...]], ...] = ()
    context: tuple[str, ...] = ()

    def _validate(self) -> None:
        if not self.values or len(set(self.values)) != len(self.values):
            raise ValueError(f"{self.id}: values must be distinct and non-empty")
        if not self.by or any(not set(vs) <= set(self.values) for _, vs in self.by):
            raise ValueError(f"{self.id}: by names some of the values for each key")

    def params(self) -> dict[str, Any]:
        return {"field": self.field, "key": self.key}

    def requirement(self) -> Expr:
        value, key = _field(self.field), Value(self.key, checked=False)
        return implies(
            Given(value),
            All(
                In(value, frozenset(self.values)),
                *(implies(Equals(key, k), In(value, frozenset(vs))) for k, vs in self.by),
            ),
        )

    def echo(self) -> Mapping[str, Expr]:
        return {"value": _field(self.field), **{name: _field(name) for name in self.context}}

    def _args(self) -> str:
        return f"{self.field} in {'|'.join(self.values)}, by {self.key}"


@dataclass(frozen=True, slots=True, repr=False)
class Required(_Marking):
    """``field`` is present (null counts as present: the field table rejects it)."""


    def requirement(self) -> Expr:
        return Present(_field(self.field))


@dataclass(frozen=True, slots=True, repr=False)
class Length(_Marking):
    """``field`` holds ``min``..``max`` characters, counted in Unicode code points."""

    min: int = 0
    max: int = 0

    def _validate(self) -> None:
        if not 0 <= self.min <= self.max:
            raise ValueError(f"{self.id}: need 0 <= min <= max, got {self.min}..{self.max}")

    def params(self) -> dict[str, Any]:
        return {"field": self.field, "min": self.min, "max": self.max}

    def requirement(self) -> Expr:
        value = _field(self.field)
        bounds: list[Expr] = [Compare(Len(value), "<=", self.max)]
        if self.min:
            bounds.insert(0, Compare(Len(value), ">=", self.min))
        return implies(Given(value), All(*bounds))

    def _args(self) -> str:
        return f"{self.field}, {self.min}..{self.max}"


@dataclass(frozen=True, slots=True, repr=False)
class _Bounded(_Marking):
    """What :class:`Range` and :class:`ItemsRange` share: a field and its bounds."""

    min: int | float | None = None
    max: int | float | None = None

    def _validate(self) -> None:
        if self.min is None and self.max is None:
            raise ValueError(f"{self.id}: a range needs a bound")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"{self.id}: need min <= max, got {self.min}..{self.max}")

    def params(self) -> dict[str, Any]:
        return {"field": self.field, "min": self.min, "max": self.max}

    def _bounds(self) -> str:
        low = "" if self.min is None else self.min
        high = "" if self.max is None else self.max
        return f"{low}..{high}"


@dataclass(frozen=True, slots=True, repr=False)
class Range(_Bounded):
    """The number ``field`` lies in ``min``..``max`` (either bound may be ``None``: unbounded)."""

    def requirement(self) -> Expr:
        value = _field(self.field)
        bounds: list[Expr] = []
        if self.min is not None:
            bounds.append(Compare(value, ">=", self.min))
        if self.max is not None:
            bounds.append(Compare(value, "<=", self.max))
        return implies(Given(value), All(*bounds))

    def _args(self) -> str:
        return f"{self.field}, {self._bounds()}"


@dataclass(frozen=True, slots=True, repr=False)
class ItemsRange(_Bounded):
    """Every number of the array ``field`` lies in ``min``..``max`` (either may be ``None``)."""

    def requirement(self) -> Expr:
        items = _field(self.field)
        bounds: list[Expr] = []
        if self.min is not None:
            bounds.append(Compare(Call("smallest", items), ">=", self.min))
        if self.max is not None:
            bounds.append(Compare(Call("largest", items), "<=", self.max))
        return implies(All(Given(items), Compare(Len(items), ">", 0)), All(*bounds))

    def _args(self) -> str:
        return f"{self.field}[*], {self._bounds()}"


@dataclass(frozen=True, slots=True, repr=False)
class Unique(_Marking):
    """No item of the array ``field`` is repeated."""


    def requirement(self) -> Expr:
        items = _field(self.field)
        return implies(Given(items), Call("distinct", items))


@dataclass(frozen=True, slots=True, repr=False)
class SameLength(_OnField):
    """The arrays ``field`` and ``other`` have as many items, where both are given."""

    other: str = ""

    def params(self) -> dict[str, Any]:
        return {"field": self.field, "other": self.other}

    def requirement(self) -> Expr:
        a, b = _field(self.field), _field(self.other)
        return implies(All(Given(a), Given(b)), Same(Len(a), Len(b)))

    def _args(self) -> str:
        return f"len({self.field}) = len({self.other})"


@dataclass(frozen=True, slots=True, repr=False)
class NotTogether(_OnField):
    """A combination of values each valid alone: refused when every test of ``tests`` holds (on
    values read checked: an invalid one skips the rule).  ``field`` is the path it names."""

    tests: tuple[Test, ...] = ()

    def _validate(self) -> None:
        if len(self.tests) < 2:
            raise ValueError(f"{self.id}: a combination needs two tests or more")

    def requirement(self) -> Expr:
        return Not(All(*(t.expr(checked=True) for t in self.tests)))

    def _args(self) -> str:
        return " and ".join(map(repr, self.tests))


@dataclass(frozen=True, slots=True, repr=False)
class RequiredFor(_Marking):
    """``field`` is given (present and not null) when ``key`` equals ``equals``, or is one of
    ``among`` (the message then quotes the key's value as ``{equals}``)."""

    key: str = ""
    equals: str = ""
    among: tuple[str, ...] = ()

    def _validate(self) -> None:
        if bool(self.equals) == bool(self.among):
            raise ValueError(f"{self.id}: give equals or among, not both")

    @property
    def values(self) -> tuple[str, ...]:
        """The key's values for which the field is required."""
        return self.among or (self.equals,)

    def params(self) -> dict[str, Any]:
        params = {"field": self.field, "key": self.key}
        return {**params, "equals": self.equals} if self.equals else params

    def echo(self) -> Mapping[str, Expr]:
        return {"equals": _field(self.key)} if self.among else {}

    def requirement(self) -> Expr:
        return implies(In(_field(self.key), frozenset(self.values)), Given(_field(self.field)))

    def _args(self) -> str:
        return f"{self.field} if {self.key}={'|'.join(self.values)}"


@dataclass(frozen=True, slots=True, repr=False)
class ForbiddenFor(_OnField):
    """``field`` is not given (null counts as not given) when ``key`` is one of ``among``.  A
    forbidden image is still an image: the image rules check it too."""

    key: str = ""
    among: tuple[str, ...] = ()

    def _validate(self) -> None:
        if not self.among:
            raise ValueError(f"{self.id}: among must not be empty")

    def params(self) -> dict[str, Any]:
        return {"field": self.field, "key": self.key}

    def requirement(self) -> Expr:
        return implies(In(_field(self.key), frozenset(self.among)), Not(Given(_field(self.field))))

    def _args(self) -> str:
        return f"no {self.field} if {self.key}={'|'.join(self.among)}"


@dataclass(frozen=True, slots=True, repr=False)
class OnlyFor(_OnField):
    """``field`` may be given only when ``key`` equals ``equals`` (null counts as not given).
    A forbidden image is still an image: the image rules check it too."""

    key: str = ""
    equals: str = ""

    def params(self) -> dict[str, Any]:
        return {"field": self.field, "key": self.key, "equals": self.equals}

    def requirement(self) -> Expr:
        return implies(Not(Equals(_field(self.key), self.equals)), Not(Given(_field(self.field))))

    def _args(self) -> str:
        return f"{self.field} only if {self.key}={self.equals}"


@dataclass(frozen=True, slots=True, repr=False)
class MaxItemsFor(_OnField):
    """The array ``field`` holds at most ``max`` items when ``key`` equals ``equals``."""

    max: int = 0
    key: str = ""
    equals: str = ""

    def _validate(self) -> None:
        if self.max < 0:
            raise ValueError(f"{self.id}: max must be >= 0")

    def params(self) -> dict[str, Any]:
        return {"field": self.field, "max": self.max, "key": self.key, "equals": self.equals}

    def requirement(self) -> Expr:
        items = _field(self.field)
        return implies(
            All(Equals(_field(self.key), self.equals), Given(items)),
            Compare(Len(items), "<=", self.max),
        )

    def _args(self) -> str:
        return f"{self.field} <= {self.max} if {self.key}={self.equals}"


@dataclass(frozen=True, slots=True, repr=False)
class AllowedWith(_OnField):
    """When ``key`` equals ``key_equals`` and ``field`` equals ``equals``, a given ``other``
    must be one of ``allowed`` (null leaves the choice to the model, which picks an allowed one)."""

    equals: str = ""
    other: str = ""
    allowed: tuple[str, ...] = ()
    key: str = ""
    key_equals: str = ""

    def _validate(self) -> None:
        if not self.allowed:
            raise ValueError(f"{self.id}: allowed must not be empty")

    def params(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "equals": self.equals,
            "other": self.other,
            "allowed": ", ".join(self.allowed),
            "key": self.key,
            "key_equals": self.key_equals,
        }

    def requirement(self) -> Expr:
        other = _field(self.other)
        return implies(
            All(
                Equals(_field(self.key), self.key_equals),
                Equals(_field(self.field), self.equals),
                Given(other),
            ),
            In(other, frozenset(self.allowed)),
        )

    def _args(self) -> str:
        return f"{self.field}={self.equals} needs {self.other} in {'|'.join(self.allowed)}"


