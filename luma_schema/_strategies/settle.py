"""Settling a request: every rule but one made to hold, one failure at a time, by the ways its
kind offers (``HOLD``), never touching what must stay; and a valid request, drawn then settled."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Final

from hypothesis import strategies as st

from luma_schema._strategies import samples
from luma_schema._strategies.base import Draw, Infeasible, Request, StrategyError, short
from luma_schema._strategies.hold import HOLD, Way, condition_ways
from luma_schema._strategies.values import draw_value, presence, put_value
from luma_schema._strategies.view import Ref, View, overlaps
from luma_schema.rules import OneOfFor, Rule, Scope

# Steps a request may take to obey every rule before the strategies call it a bug of their own.
_MAX_STEPS: Final = 80


def _first_failure(
    view: View, body: Request, but: Rule | None, skip: str | None
) -> tuple[Rule, Ref | None] | None:
    """The first rule (but ``but``) that ``body`` breaks, with the reference that breaks it;
    ``skip`` names a reference left as it is.  Rules after ``but`` do not read what its
    failure marks."""
    reading = view.read(body)
    mark = but.marks if but is not None and but.scope is Scope.REQUEST else None
    marked = frozenset({mark}) if mark else frozenset()
    after = view.rank[but.id] if but is not None else len(view.rank)
    for r in view.rules:
        if r is but:
            continue
        hidden = marked if view.rank[r.id] > after else frozenset()
        if r.scope is Scope.REQUEST:
            if not view.holds(r, reading, marked=hidden):
                return r, None
            continue
        for ref in reading.refs:
            if ref.bad or ref.path == skip or not view.applies_at(ref.position, reading):
                continue
            if not view.holds(r, reading, ref, hidden):
                return r, ref
    return None


def _take(
    draw: Draw,
    body: Request,
    ways: list[Way],
    guard: Callable[[Request], bool] | None,
    hard: tuple[str, ...],
) -> bool:
    """Apply the first way (by tier, in a drawn order) that changes no path of ``hard`` and
    keeps ``guard`` true."""
    for tier in sorted({w.tier for w in ways}):
        group = [
            w
            for w in ways
            if w.tier == tier and not any(overlaps(p, h) for p in w.touches for h in hard)
        ]
        for i in draw(samples.order(tuple(range(len(group))))):
            trial = copy.deepcopy(body)
            try:
                group[i].apply(trial, draw)
            except Infeasible:
                continue
            if guard is None or guard(trial):
                body.clear()
                body.update(trial)
                return True
    return False


def hold_all(
    view: View,
    draw: Draw,
    body: Request,
    but: Rule | None = None,
    guard: Callable[[Request], bool] | None = None,
    hard: tuple[str, ...] = (),
    skip: str | None = None,
) -> Request:
    """Make every rule but ``but`` hold, changing no path of ``hard`` and keeping ``guard``."""
    for _ in range(_MAX_STEPS):
        found = _first_failure(view, body, but, skip)
        if found is None:
            return body
        rule, ref = found
        ways = HOLD[type(rule)](rule, view, body, draw, ref)
        if rule.scope is Scope.REQUEST:
            ways += condition_ways(view, rule)
        if not _take(draw, body, ways, guard, hard):
            raise StrategyError(f"no way to make {rule.id} hold in {short(body)}")
    raise StrategyError(f"the rules do not settle for {short(body)}")


@st.composite
def valid(draw: Draw, view: View) -> Request:
    """A valid request: fields drawn in the order the rules on them need, then settled."""
    body: Request = {}
    decided: set[str] = set()
    for r in view.request_rules():
        # A field whose values depend on another's (the type on the model): the pair is drawn
        # as one choice, so that every pair is as likely as any other.
        if isinstance(r, OneOfFor) and {r.key, r.field} <= set(view.order) - decided:
            key, value = draw(samples.one(tuple((k, v) for k, vs in r.by for v in vs)))
            put_value(view, draw, body, r.key, key)
            put_value(view, draw, body, r.field, value)
            decided |= {r.key, r.field}
    for name in view.order:
        if name in decided:
            continue
        how = presence(view, draw, name, body)
        if how == "value":
            body[name] = draw_value(view, draw, name, body)
        elif how == "null":
            body[name] = None
    return hold_all(view, draw, body)
