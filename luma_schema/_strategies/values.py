"""The value of one field: what the rules that apply to the request being built allow it (its
values, size, bounds, distinct items), whether it is drawn at all, and a value drawn in bounds
(objects member by member, references through :mod:`.references`)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from luma_schema._strategies import samples
from luma_schema._strategies.base import Draw, Infeasible, Request
from luma_schema._strategies.references import draw_reference
from luma_schema._strategies.view import ABSENT, WRONG, View, get, put
from luma_schema.expr import MISSING
from luma_schema.rules import ItemsRange, JsonType, Length, OneOf, OneOfFor, Range, Required, Unique


@dataclass(slots=True)
class Bounds:
    """What the rules that apply say about one field's value: its values, its size (characters
    or items), its numbers' bounds (or each item's), and whether items are distinct."""

    enum: frozenset[Any] | None = None
    size: tuple[int, int | None] = (0, None)
    low: float | None = None
    high: float | None = None
    unique: bool = False


def bounds(view: View, path: str, body: Request, before: int | None = None) -> Bounds:
    """The bounds on ``path`` from the rules on it that apply to ``body`` (only those ranked
    before ``before``, when given)."""
    reading = view.read(body)
    b = Bounds()
    for r in view.on(path):
        if before is not None and view.rank[r.id] >= before:
            continue
        if not view.enabled(r, reading):
            continue
        if isinstance(r, OneOf | OneOfFor):
            values = set(r.values)
            if isinstance(r, OneOfFor):
                key = reading.values.get(r.key)
                for k, vs in r.by:
                    if type(key) is str and key == k:
                        values &= set(vs)
            b.enum = frozenset(values) if b.enum is None else b.enum & values
        elif isinstance(r, Length):
            high = b.size[1]
            b.size = (max(b.size[0], r.min), r.max if high is None else min(high, r.max))
        elif isinstance(r, Range | ItemsRange):
            if r.min is not None:
                b.low = r.min if b.low is None else max(b.low, r.min)
            if r.max is not None:
                b.high = r.max if b.high is None else min(b.high, r.max)
        elif isinstance(r, Unique):
            b.unique = True
    return b


def all_values(view: View, path: str) -> tuple[Any, ...] | None:
    """Every value some rule allows ``path``, whatever the conditions."""
    values = {v for r in view.on(path) if isinstance(r, OneOf | OneOfFor) for v in r.values}
    return tuple(sorted(values, key=str)) if values else None


def given(value: Any) -> bool:
    """Whether a value read at a path counts as given (neither missing, null nor wrong-typed)."""
    return value is not MISSING and value is not None and value is not WRONG


def presence(view: View, draw: Draw, path: str, body: Request) -> str:
    """Whether a field is drawn with a value, null or absent: a value where a rule requires it,
    seldom one where the field is ignored for the request."""
    reading = view.read(body)
    f = view.paths[path]
    if any(isinstance(r, Required) and view.enabled(r, reading) for r in view.on(path)):
        return "value"
    choices = ["value", "value", "absent"] + (["null"] if f.nullable else [])
    if not view.applies_at(path, reading):
        choices += ["absent"] * 6
    how: str = draw(samples.one(tuple(choices)))
    return how


def draw_value(view: View, draw: Draw, path: str, body: Request, size: int | None = None) -> Any:
    """A valid value of ``path`` in ``body``'s context (never null); ``size``: an array of
    that many items."""
    f = view.paths[path]
    b = bounds(view, path, body)
    if f.type is JsonType.OBJECT and f.reference:
        return draw_reference(view, draw, path, body)
    if f.type is JsonType.OBJECT:
        return _object_value(view, draw, path, body)
    if f.type is JsonType.ARRAY:
        low, high = b.size
        if size is None:
            top = low + 3 if high is None else min(high, low + 3)
            size = draw(samples.ints(low, top))
        if f.reference:
            # Past a few, items repeat the first ones: a long array costs no more to draw.
            drawn = [draw_reference(view, draw, path, body) for _ in range(min(size, 3))]
            return [copy.deepcopy(drawn[i % len(drawn)]) for i in range(size)]
        assert f.items is not None
        item = _scalar(view, f.items, b)
        return draw(samples.exactly(item, size, b.unique))
    if b.enum is not None:
        if not b.enum:
            raise Infeasible(path)
        return draw(samples.one(tuple(sorted(b.enum, key=str))))
    return draw(_scalar(view, f.type, b))


def _scalar(view: View, kind: JsonType, b: Bounds) -> st.SearchStrategy[Any]:
    if kind is JsonType.STRING:
        low, high = b.size
        return (
            samples.short_text()
            if (low, high) == (0, None)
            else samples.text(low, high or low + 20)
        )
    if kind is JsonType.BOOLEAN:
        return samples.BOOLEANS
    if kind in (JsonType.INTEGER, JsonType.NUMBER):
        return samples.number(kind, b.low, b.high)
    raise Infeasible(f"no scalar of {kind}")


def _object_value(view: View, draw: Draw, path: str, body: Request) -> dict[str, Any]:
    """An object of ``path``'s members, each drawn in the context of those before it."""
    f = view.paths[path]
    obj: dict[str, Any] = {}
    trial = copy.deepcopy(body)
    put(trial, path, obj)  # the members read one another through the request
    for m in f.members or ():
        member = f"{path}.{m.name}"
        how = presence(view, draw, member, trial)
        if how == "value":
            obj[m.name] = draw_value(view, draw, member, trial)
        elif how == "null":
            obj[m.name] = None
    return obj


def put_value(view: View, draw: Draw, body: Request, path: str, value: Any) -> None:
    """Set ``path`` to ``value``, or leave it absent when that reads the same (its default)."""
    parent = "." not in path or isinstance(get(body, path.rsplit(".", 1)[0]), dict)
    if parent and value is not ABSENT and value == view.paths[path].default:
        value = ABSENT if draw(samples.BOOLEANS) else value
    put(body, path, value)
