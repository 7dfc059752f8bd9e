"""Tests on request paths made true or false as wanted (a rule's ``when``/``unless`` conditions,
the tests a violation needs), the tests on one path chosen together."""

from __future__ import annotations

from typing import Any

from luma_schema._strategies import samples
from luma_schema._strategies.base import Draw, Infeasible, Request, StrategyError, Wants
from luma_schema._strategies.values import all_values, bounds, draw_value, given
from luma_schema._strategies.view import ABSENT, View, get, put
from luma_schema.expr import MISSING
from luma_schema.rules import JsonType, Rule


def _rank(view: View, path: str) -> tuple[int, int]:
    top = path.split(".")[0]
    order = list(view.paths)
    return (view.order.index(top) if top in view.order else len(view.order), order.index(path))


def _as_read(view: View, body: Request, path: str, value: Any) -> Any:
    if value is not ABSENT:
        return value
    if "." in path and not isinstance(get(body, path.rsplit(".", 1)[0]), dict):
        return MISSING
    return view.paths[path].default


def satisfy(view: View, draw: Draw, body: Request, wants: Wants) -> None:
    """Make each test of ``wants`` (on request paths) true or false as asked, the tests on one
    path together (``type`` a video type and not ``video``)."""
    by_path: dict[str, Wants] = {}
    for t, truth in wants:
        by_path.setdefault(t.path, []).append((t, truth))
    for path in sorted(by_path, key=lambda p: _rank(view, p)):
        tests = by_path[path]
        f = view.paths[path]
        enabled = bounds(view, path, body).enum
        finite: list[tuple[Any, ...]] = []
        if f.type is JsonType.BOOLEAN:
            finite.append((True, False))
        else:
            if enabled:
                finite.append(tuple(sorted(enabled, key=str)))
            every = all_values(view, path)
            if every is not None:
                finite.append(every)
        if finite:
            extra = (ABSENT, None) if f.nullable else (ABSENT,)
            ok: list[Any] = []
            for candidates in finite:
                ok = [
                    c
                    for c in (*candidates, *extra)
                    if all(
                        view.test(t, {path: _as_read(view, body, path, c)}) == truth
                        for t, truth in tests
                    )
                ]
                if ok:
                    break
            if not ok:
                raise Infeasible(f"no value of {path} meets {tests}")
            put(body, path, draw(samples.one(tuple(ok))))
            continue
        if any(t.values or t.function for t, _ in tests):
            raise StrategyError(f"{path}: only given/not given tests are supported off enums")
        wanted = {truth != t.negated for t, truth in tests}
        if len(wanted) > 1:
            raise Infeasible(f"{path} both given and not")
        now = given(view.read(body).values.get(path))
        if wanted.pop():
            if not now:
                put(body, path, draw_value(view, draw, path, body))
        elif now:
            put(body, path, None if f.nullable and draw(samples.BOOLEANS) else ABSENT)


def applying(rule: Rule, draw: Draw) -> Wants:
    """Tests that make ``rule`` apply: every ``when`` test true, one ``unless`` test false."""
    wants: Wants = [(t, True) for t in rule.when]
    if rule.unless:
        wants.append((draw(samples.one(rule.unless)), False))
    return wants
