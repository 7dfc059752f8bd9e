"""How to make a rule of each kind hold (``HOLD``): the ways a request that breaks it can change,
each naming the paths it touches, the ways of a first tier tried before the second."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from luma_schema._strategies import samples
from luma_schema._strategies.base import Draw, Infeasible, Request
from luma_schema._strategies.conditions import satisfy
from luma_schema._strategies.references import draw_reference
from luma_schema._strategies.values import bounds, draw_value, put_value
from luma_schema._strategies.view import ABSENT, Ref, View, get, put
from luma_schema.expr import MISSING
from luma_schema.rules import (
    AllowedWith,
    Alone,
    Base64,
    EitherOf,
    Fetched,
    ForbiddenFor,
    HttpStatus,
    ImageMediaType,
    ItemsRange,
    JsonBody,
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


@dataclass(frozen=True, slots=True)
class Way:
    """One way to make a rule hold: the paths it changes, and the change.  Ways of ``tier`` 1
    are tried first (in a drawn order), then 2, ..."""

    tier: int
    touches: tuple[str, ...]
    apply: Callable[[Request, Draw], None]


def _redraw(view: View, path: str, tier: int = 1, keep_size: bool = False) -> Way:
    def apply(body: Request, draw: Draw) -> None:
        current = get(body, path)
        size = len(current) if keep_size and isinstance(current, list) else None
        put(body, path, draw_value(view, draw, path, body, size))

    return Way(tier, (path,), apply)


def _remove(view: View, path: str, tier: int = 1) -> Way:
    nullable = view.paths[path].nullable

    def apply(body: Request, draw: Draw) -> None:
        put(body, path, None if nullable and draw(samples.BOOLEANS) else ABSENT)

    return Way(tier, (path,), apply)


def _force(view: View, test: Test, truth: bool, tier: int = 2) -> Way:
    return Way(tier, (test.path,), lambda b, d: satisfy(view, d, b, [(test, truth)]))


def condition_ways(view: View, rule: Rule) -> list[Way]:
    """Ways to make a rule not apply: a ``when`` test false, or every ``unless`` test true."""
    ways = [_force(view, t, False) for t in rule.when]
    if rule.unless:
        wants = [(t, True) for t in rule.unless]
        paths = tuple(t.path for t in rule.unless)
        ways.append(Way(2, paths, lambda b, d: satisfy(view, d, b, wants)))
    return ways


Hold = Callable[[Any, View, Request, Draw, Ref | None], list[Way]]


def _hold_value(r: Any, view: View, body: Request, draw: Draw, ref: Ref | None) -> list[Way]:
    return [_redraw(view, r.field), _remove(view, r.field)]


def _hold_items(r: Any, view: View, body: Request, draw: Draw, ref: Ref | None) -> list[Way]:
    # The number of items stays: another rule may tie it to another array's.
    return [_redraw(view, r.field, keep_size=True), _remove(view, r.field, tier=2)]


def _hold_required(
    r: Required, view: View, body: Request, draw: Draw, ref: Ref | None
) -> list[Way]:
    return [_redraw(view, r.field)]


def _hold_one_of_for(
    r: OneOfFor, view: View, body: Request, draw: Draw, ref: Ref | None
) -> list[Way]:
    value = view.read(body).values.get(r.field)
    keys = [k for k, vs in r.by if value in vs]

    def key(b: Request, d: Draw) -> None:
        put_value(view, d, b, r.key, d(samples.one(tuple(keys))))

    return [_redraw(view, r.field)] + ([Way(1, (r.key,), key)] if keys else [])


def _hold_same_length(
    r: SameLength, view: View, body: Request, draw: Draw, ref: Ref | None
) -> list[Way]:
    values = view.read(body).values

    def match(path: str, other: str) -> Way:
        size = len(values[other])
        return Way(1, (path,), lambda b, d: put(b, path, draw_value(view, d, path, b, size)))

    return [
        match(r.field, r.other),
        match(r.other, r.field),
        _remove(view, r.field, tier=2),
        _remove(view, r.other, tier=2),
    ]


def _hold_not_together(
    r: NotTogether, view: View, body: Request, draw: Draw, ref: Ref | None
) -> list[Way]:
    return [_force(view, t, False, tier=2 if t.path in view.context else 1) for t in r.tests]


def _hold_required_for(
    r: RequiredFor, view: View, body: Request, draw: Draw, ref: Ref | None
) -> list[Way]:
    return [_redraw(view, r.field), _force(view, Test(r.key, r.values), False)]


def _hold_forbidden_for(
    r: ForbiddenFor, view: View, body: Request, draw: Draw, ref: Ref | None
) -> list[Way]:
    return [_remove(view, r.field), _force(view, Test(r.key, r.among), False)]


def _hold_only_for(r: OnlyFor, view: View, body: Request, draw: Draw, ref: Ref | None) -> list[Way]:
    return [_remove(view, r.field), _force(view, Test(r.key, (r.equals,)), True)]


def _hold_max_items(
    r: MaxItemsFor, view: View, body: Request, draw: Draw, ref: Ref | None
) -> list[Way]:
    def truncate(b: Request, d: Draw) -> None:
        put(b, r.field, list(get(b, r.field))[: r.max])

    return [Way(1, (r.field,), truncate), _force(view, Test(r.key, (r.equals,)), False)]


def _hold_allowed_with(
    r: AllowedWith, view: View, body: Request, draw: Draw, ref: Ref | None
) -> list[Way]:
    enum = bounds(view, r.other, body).enum
    allowed = tuple(v for v in r.allowed if enum is None or v in enum)

    def allow(b: Request, d: Draw) -> None:
        if not allowed:
            raise Infeasible(r.other)
        put(b, r.other, d(samples.one(allowed)))

    ways = [Way(1, (r.other,), allow), _force(view, Test(r.field, (r.equals,)), False)]
    if view.paths[r.other].nullable or view.paths[r.other].default is not MISSING:
        ways.append(_remove(view, r.other))
    return [*ways, _force(view, Test(r.key, (r.key_equals,)), False)]


def _hold_reference(r: Rule, view: View, body: Request, draw: Draw, ref: Ref | None) -> list[Way]:
    """A reference that breaks a rule of references is drawn again (or, second, removed)."""
    assert ref is not None
    position, path = ref.position, ref.path

    def again(b: Request, d: Draw) -> None:
        put(b, path, draw_reference(view, d, position, b))

    def drop(b: Request, d: Draw) -> None:
        if path == position:
            put(b, path, None if view.paths[path].nullable and d(samples.BOOLEANS) else ABSENT)
        else:
            put(b, path, ABSENT)

    # Removing an item moves the ones after it: it changes the whole array.
    return [Way(1, (path,), again), Way(2, (position,), drop)]


def _never(r: Rule, view: View, body: Request, draw: Draw, ref: Ref | None) -> list[Way]:
    """Requests are drawn with their JSON types; the network is not asked."""
    return []


HOLD: Final[Mapping[type[Rule], Hold]] = {
    JsonBody: _never,
    JsonTypes: _never,
    OneOf: _hold_value,
    OneOfFor: _hold_one_of_for,
    Required: _hold_required,
    Length: _hold_value,
    Range: _hold_value,
    ItemsRange: _hold_items,
    Unique: _hold_items,
    SameLength: _hold_same_length,
    NotTogether: _hold_not_together,
    RequiredFor: _hold_required_for,
    ForbiddenFor: _hold_forbidden_for,
    OnlyFor: _hold_only_for,
    MaxItemsFor: _hold_max_items,
    AllowedWith: _hold_allowed_with,
    Alone: _hold_reference,
    NotBoth: _hold_reference,
    EitherOf: _hold_reference,
    RequiredWith: _hold_reference,
    Uuid: _hold_reference,
    Base64: _hold_reference,
    MaxBytes: _hold_reference,
    ImageMediaType: _hold_reference,
    MediaFamily: _hold_reference,
    PublicHttpsUrl: _hold_reference,
    Fetched: _never,
    HttpStatus: _never,
}
