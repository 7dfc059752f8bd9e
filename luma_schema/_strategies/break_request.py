"""How to break each kind of request rule alone: a valid request, the rule's conditions and
the tests it needs made true, the change that breaks it, then every other rule settled in ways
that keep it broken."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from luma_schema._strategies import samples
from luma_schema._strategies.base import Draw, Infeasible, Request, StrategyError, Wants, short
from luma_schema._strategies.conditions import applying, satisfy
from luma_schema._strategies.settle import hold_all, valid
from luma_schema._strategies.values import all_values, bounds, draw_value
from luma_schema._strategies.view import ABSENT, View, put
from luma_schema.expr import MISSING
from luma_schema.rules import (
    AllowedWith,
    ForbiddenFor,
    ItemsRange,
    JsonType,
    Length,
    MaxItemsFor,
    NotTogether,
    OneOf,
    OneOfFor,
    OnlyFor,
    Range,
    Required,
    RequiredFor,
    Rule,
    SameLength,
    Test,
    Unique,
)

Plan = Callable[[Draw, Request], tuple[Wants, Callable[[Request, Draw], None] | None]]


def _breaking(view: View, rule: Rule, plan: Plan) -> st.SearchStrategy[Request]:
    """A valid request, then the rule's conditions and ``plan``'s tests made true and its change
    made, then every other rule made to hold in ways that keep this one broken."""

    @st.composite
    def build(draw: Draw) -> Request:
        body = draw(valid(view))
        wants, change = plan(draw, body)
        try:
            satisfy(view, draw, body, applying(rule, draw) + wants)
        except Infeasible as exc:
            raise StrategyError(f"{rule.id}: {exc}") from None
        if change is not None:
            change(body, draw)

        def broken(b: Request) -> bool:
            return view.reported(rule, view.read(b))

        if not broken(body):
            raise StrategyError(f"{rule.id} is not broken by {short(body)}")
        return hold_all(view, draw, body, but=rule, guard=broken)

    return build()


def _put_plan(path: str, values: st.SearchStrategy[Any]) -> Plan:
    return lambda draw, body: ([], lambda b, d: put(b, path, d(values)))


def break_one_of(r: OneOf, view: View) -> st.SearchStrategy[Any]:
    # Values another rule allows the field are wrong here too (a video aspect ratio on uni-1).
    others = sorted(set(all_values(view, r.field) or ()) - set(r.values))
    bad = samples.not_in(r.values)
    if others:
        bad = st.one_of(bad, st.sampled_from(others))
    return _breaking(view, r, _put_plan(r.field, bad))


def break_one_of_for(r: OneOfFor, view: View) -> st.SearchStrategy[Any]:
    def plan(draw: Draw, body: Request) -> tuple[Wants, Any]:
        key, allowed = draw(samples.one(r.by))
        outside = [v for v in r.values if v not in allowed]
        bad = st.one_of(samples.not_in(r.values), *([st.sampled_from(outside)] if outside else []))
        return [(Test(r.key, (key,)), True)], lambda b, d: put(b, r.field, d(bad))

    return _breaking(view, r, plan)


def break_required(r: Required, view: View) -> st.SearchStrategy[Any]:
    return _breaking(view, r, lambda draw, body: ([], lambda b, d: put(b, r.field, ABSENT)))


def break_length(r: Length, view: View) -> st.SearchStrategy[Any]:
    f = view.paths[r.field]

    def plan(draw: Draw, body: Request) -> tuple[Wants, Any]:
        sizes = [st.integers(r.max + 1, r.max + 2)] + ([st.integers(0, r.min - 1)] if r.min else [])
        size = draw(st.one_of(*sizes))

        def change(b: Request, d: Draw) -> None:
            if f.type is JsonType.STRING:
                put(b, r.field, d(samples.text(size, size)))
            else:
                put(b, r.field, draw_value(view, d, r.field, b, size))

        return [], change

    return _breaking(view, r, plan)


def break_range(r: Range, view: View) -> st.SearchStrategy[Any]:
    kind = view.paths[r.field].type
    outside = []
    if r.min is not None:
        outside.append(samples.number(kind, high=r.min, open_=True))
    if r.max is not None:
        outside.append(samples.number(kind, low=r.max, open_=True))
    return _breaking(view, r, _put_plan(r.field, st.one_of(*outside)))


def _items_beside(
    view: View, draw: Draw, r: Rule, body: Request, size: int, avoid: Any = MISSING
) -> list[Any]:
    """``size`` distinct items of the array ``r.field`` that the rules on it before ``r`` allow."""
    f = view.paths[r.field]  # type: ignore[attr-defined]
    assert f.items is not None
    prior = bounds(view, r.field, body, before=view.rank[r.id])  # type: ignore[attr-defined]
    items = st.lists(
        samples.number(f.items, prior.low, prior.high), min_size=size, max_size=size, unique=True
    )
    return draw(items.filter(lambda xs: avoid not in xs))


def break_items_range(r: ItemsRange, view: View) -> st.SearchStrategy[Any]:
    kind = view.paths[r.field].items

    def plan(draw: Draw, body: Request) -> tuple[Wants, Any]:
        def change(b: Request, d: Draw) -> None:
            prior = bounds(view, r.field, b, before=view.rank[r.id])
            sides = []
            if r.max is not None:
                sides.append(_beyond(kind, r.max, 1, prior.high))
            if r.min is not None:
                sides.append(_beyond(kind, r.min, -1, prior.low))
            outlier = d(st.one_of(*sides))
            items = _items_beside(view, d, r, b, d(samples.ints(0, 3)), avoid=outlier)
            items.insert(d(samples.ints(0, len(items))), outlier)
            put(b, r.field, items)

        return [], change

    return _breaking(view, r, plan)


def _beyond(
    kind: JsonType | None, bound: float, side: int, limit: float | None
) -> st.SearchStrategy[Any]:
    """A number past ``bound`` on ``side`` (1: above, -1: below), not past ``limit``."""
    if kind is JsonType.INTEGER:
        if side > 0:
            return st.integers(int(bound) + 1, None if limit is None else int(limit))
        return st.integers(None if limit is None else int(limit), int(bound) - 1)
    low, high = (bound, limit) if side > 0 else (limit, bound)
    return st.floats(
        low, high, allow_nan=False, allow_infinity=False, exclude_min=side > 0, exclude_max=side < 0
    )


def break_unique(r: Unique, view: View) -> st.SearchStrategy[Any]:
    def plan(draw: Draw, body: Request) -> tuple[Wants, Any]:
        def change(b: Request, d: Draw) -> None:
            items = _items_beside(view, d, r, b, d(samples.ints(1, 3)))
            items.insert(d(samples.ints(0, len(items))), d(samples.one(tuple(items))))
            put(b, r.field, items)

        return [], change

    return _breaking(view, r, plan)


def break_same_length(r: SameLength, view: View) -> st.SearchStrategy[Any]:
    def plan(draw: Draw, body: Request) -> tuple[Wants, Any]:
        def change(b: Request, d: Draw) -> None:
            low, high = bounds(view, r.other, b).size
            size = d(samples.ints(low, low + 2 if high is None else min(high, low + 2)))
            put(b, r.other, draw_value(view, d, r.other, b, size))
            other_size = d(st.integers(0, size + 2).filter(lambda n: n != size))
            put(b, r.field, draw_value(view, d, r.field, b, other_size))

        return [], change

    return _breaking(view, r, plan)


def break_not_together(r: NotTogether, view: View) -> st.SearchStrategy[Any]:
    return _breaking(view, r, lambda draw, body: ([(t, True) for t in r.tests], None))


def break_required_for(r: RequiredFor, view: View) -> st.SearchStrategy[Any]:
    wants = [(Test(r.key, r.values), True), (Test(r.field), False)]
    return _breaking(view, r, lambda draw, body: (list(wants), None))


def break_forbidden_for(r: ForbiddenFor, view: View) -> st.SearchStrategy[Any]:
    wants = [(Test(r.key, r.among), True), (Test(r.field), True)]
    return _breaking(view, r, lambda draw, body: (list(wants), None))


def break_only_for(r: OnlyFor, view: View) -> st.SearchStrategy[Any]:
    wants = [(Test(r.key, (r.equals,)), False), (Test(r.field), True)]
    return _breaking(view, r, lambda draw, body: (list(wants), None))


def break_max_items(r: MaxItemsFor, view: View) -> st.SearchStrategy[Any]:
    def plan(draw: Draw, body: Request) -> tuple[Wants, Any]:
        size = draw(samples.ints(r.max + 1, r.max + 2))
        return [(Test(r.key, (r.equals,)), True)], lambda b, d: put(
            b, r.field, draw_value(view, d, r.field, b, size)
        )

    return _breaking(view, r, plan)


def break_allowed_with(r: AllowedWith, view: View) -> st.SearchStrategy[Any]:
    wants = [
        (Test(r.key, (r.key_equals,)), True),
        (Test(r.field, (r.equals,)), True),
        (Test(r.other, r.allowed), False),
        (Test(r.other), True),
    ]
    return _breaking(view, r, lambda draw, body: (list(wants), None))
