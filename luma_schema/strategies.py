"""Hypothesis strategies for generation requests (extra ``testing``), read from a catalogue.

``valid_requests()`` builds requests the server accepts; ``violating(rule_id)`` builds requests that
break exactly that rule and no other.  Both take the catalogue (``luma_schema.catalog.CATALOGUE``
by default) and construct rather than filter.  Each value is drawn from its field's JSON type and
the rules on that field that apply (their ``when``/``unless`` conditions read on the request being
built); then, while some rule fails, the entry of its kind in ``HOLD`` offers ways to make it hold
(the value drawn again, a member removed, a condition made false) and one is taken.  A violation
makes the rule's conditions true and its requirement false (the kind's entry in ``BREAK``), and the
other rules are made to hold again only in ways that keep it broken.  A kind without an entry in
both tables fails at import, so a catalogue that only adds rules of known kinds gets its
strategies for free.  Whether a request obeys a rule is read from the catalogue's own predicates
(:mod:`luma_schema._strategies.view`), never asked of the engine.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "luma_schema.strategies needs hypothesis: pip install 'luma-schema[testing]'"
    ) from exc

from luma_schema import catalog
from luma_schema._strategies import samples
from luma_schema._strategies.base import Draw, Infeasible, Request, StrategyError, Wants, short
from luma_schema._strategies.conditions import applying, satisfy
from luma_schema._strategies.hold import HOLD
from luma_schema._strategies.references import (
    breaks_alone,
    draw_carrier,
    draw_reference,
    ref_at,
    typed_reference,
)
from luma_schema._strategies.settle import hold_all, valid
from luma_schema._strategies.values import (
    all_values,
    bounds,
    draw_value,
)
from luma_schema._strategies.view import ABSENT, View, get, put
from luma_schema.expr import MISSING
from luma_schema.rules import (
    AllowedWith,
    Alone,
    Base64,
    Catalogue,
    EitherOf,
    Fetched,
    ForbiddenFor,
    HttpStatus,
    ImageMediaType,
    ItemsRange,
    JsonBody,
    JsonType,
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
    Scope,
    Test,
    Unique,
    Uuid,
)

__all__ = ["valid_requests", "violating"]

# Tries at a reference that breaks one rule alone before the strategies call it a bug of their own.
_TRIES: Final = 40


# ---------------------------------------------------------------- breaking one rule

Plan = Callable[[Draw, Request], tuple[Wants, Callable[[Request, Draw], None] | None]]
Break = Callable[[Any, View], st.SearchStrategy[Any]]


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


def _break_one_of(r: OneOf, view: View) -> st.SearchStrategy[Any]:
    # Values another rule allows the field are wrong here too (a video aspect ratio on uni-1).
    others = sorted(set(all_values(view, r.field) or ()) - set(r.values))
    bad = samples.not_in(r.values)
    if others:
        bad = st.one_of(bad, st.sampled_from(others))
    return _breaking(view, r, _put_plan(r.field, bad))


def _break_one_of_for(r: OneOfFor, view: View) -> st.SearchStrategy[Any]:
    def plan(draw: Draw, body: Request) -> tuple[Wants, Any]:
        key, allowed = draw(samples.one(r.by))
        outside = [v for v in r.values if v not in allowed]
        bad = st.one_of(samples.not_in(r.values), *([st.sampled_from(outside)] if outside else []))
        return [(Test(r.key, (key,)), True)], lambda b, d: put(b, r.field, d(bad))

    return _breaking(view, r, plan)


def _break_required(r: Required, view: View) -> st.SearchStrategy[Any]:
    return _breaking(view, r, lambda draw, body: ([], lambda b, d: put(b, r.field, ABSENT)))


def _break_length(r: Length, view: View) -> st.SearchStrategy[Any]:
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


def _break_range(r: Range, view: View) -> st.SearchStrategy[Any]:
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


def _break_items_range(r: ItemsRange, view: View) -> st.SearchStrategy[Any]:
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


def _break_unique(r: Unique, view: View) -> st.SearchStrategy[Any]:
    def plan(draw: Draw, body: Request) -> tuple[Wants, Any]:
        def change(b: Request, d: Draw) -> None:
            items = _items_beside(view, d, r, b, d(samples.ints(1, 3)))
            items.insert(d(samples.ints(0, len(items))), d(samples.one(tuple(items))))
            put(b, r.field, items)

        return [], change

    return _breaking(view, r, plan)


def _break_same_length(r: SameLength, view: View) -> st.SearchStrategy[Any]:
    def plan(draw: Draw, body: Request) -> tuple[Wants, Any]:
        def change(b: Request, d: Draw) -> None:
            low, high = bounds(view, r.other, b).size
            size = d(samples.ints(low, low + 2 if high is None else min(high, low + 2)))
            put(b, r.other, draw_value(view, d, r.other, b, size))
            other_size = d(st.integers(0, size + 2).filter(lambda n: n != size))
            put(b, r.field, draw_value(view, d, r.field, b, other_size))

        return [], change

    return _breaking(view, r, plan)


def _break_not_together(r: NotTogether, view: View) -> st.SearchStrategy[Any]:
    return _breaking(view, r, lambda draw, body: ([(t, True) for t in r.tests], None))


def _break_required_for(r: RequiredFor, view: View) -> st.SearchStrategy[Any]:
    wants = [(Test(r.key, r.values), True), (Test(r.field), False)]
    return _breaking(view, r, lambda draw, body: (list(wants), None))


def _break_forbidden_for(r: ForbiddenFor, view: View) -> st.SearchStrategy[Any]:
    wants = [(Test(r.key, r.among), True), (Test(r.field), True)]
    return _breaking(view, r, lambda draw, body: (list(wants), None))


def _break_only_for(r: OnlyFor, view: View) -> st.SearchStrategy[Any]:
    wants = [(Test(r.key, (r.equals,)), False), (Test(r.field), True)]
    return _breaking(view, r, lambda draw, body: (list(wants), None))


def _break_max_items(r: MaxItemsFor, view: View) -> st.SearchStrategy[Any]:
    def plan(draw: Draw, body: Request) -> tuple[Wants, Any]:
        size = draw(samples.ints(r.max + 1, r.max + 2))
        return [(Test(r.key, (r.equals,)), True)], lambda b, d: put(
            b, r.field, draw_value(view, d, r.field, b, size)
        )

    return _breaking(view, r, plan)


def _break_allowed_with(r: AllowedWith, view: View) -> st.SearchStrategy[Any]:
    wants = [
        (Test(r.key, (r.key_equals,)), True),
        (Test(r.field, (r.equals,)), True),
        (Test(r.other, r.allowed), False),
        (Test(r.other), True),
    ]
    return _breaking(view, r, lambda draw, body: (list(wants), None))


# ---------------------------------------------------------------- breaking a rule of references

Make = Callable[[Draw, Callable[[str], dict[str, Any]]], dict[str, Any]]


def _image_breaking(view: View, rule: Rule, make: Make) -> st.SearchStrategy[Request]:
    """A valid request with one reference, at a position where ``rule`` applies, that breaks
    ``rule`` and no other rule of references (``make`` changes a valid reference, given a way to
    draw one by a carrier); the other rules then made to hold around it."""
    at = [t for t in rule.when if t.path == "@"]

    @st.composite
    def build(draw: Draw) -> Request:
        body = draw(valid(view))
        positions = [
            p for p in view.references if all(view.test(t, {}, ref_at(view, p, {})) for t in at)
        ]
        position = draw(samples.one(tuple(positions)))
        here = ref_at(view, position, {})
        wants: Wants = [
            (t, True) for t in rule.when if t.path != "@" and not t.path.startswith(".")
        ]
        tests: Wants = [(t, True) for t in rule.when if t.path.startswith(".")]
        wants += [(t, True) for t in view.applies_tests(position)]
        if rule.unless and all(view.test(t, {}, here) for t in rule.unless if t.path == "@"):
            t = draw(samples.one(tuple(t for t in rule.unless if t.path != "@")))
            (tests if t.path.startswith(".") else wants).append((t, False))
        try:
            satisfy(view, draw, body, wants)
        except Infeasible as exc:
            raise StrategyError(f"{rule.id}: {exc}") from None

        def base(carrier: str) -> dict[str, Any]:
            return draw_reference(view, draw, position, body, tests, (carrier,))

        for _ in range(_TRIES):
            members = make(draw, base)
            if breaks_alone(view, rule, members, position, body):
                break
        else:
            raise StrategyError(f"{rule.id}: no reference at {position} breaks it alone")
        if view.paths[position].type is JsonType.OBJECT:
            put(body, position, members)
            where = position
        else:
            current = get(body, position)
            items = list(current)[:2] if isinstance(current, list) else []
            index = draw(samples.ints(0, len(items)))
            items.insert(index, members)
            put(body, position, items)
            where = f"{position}[{index}]"

        def broken(b: Request) -> bool:
            reading = view.read(b)
            ref = next((x for x in reading.refs if x.path == where), None)
            return (
                ref is not None
                and not ref.bad
                and view.applies_at(position, reading)
                and breaks_alone(view, rule, ref.members, position, b)
            )

        return hold_all(view, draw, body, but=rule, guard=broken, hard=(where,), skip=where)

    return build()


def _break_not_both(r: NotBoth, view: View) -> st.SearchStrategy[Any]:
    def make(draw: Draw, base: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        first, second = draw(samples.order((r.a, r.b)))
        members = base(first)
        members[second] = draw_carrier(view, draw, second, members.get(view.media_type))
        return members

    return _image_breaking(view, r, make)


def _break_either_of(r: EitherOf, view: View) -> st.SearchStrategy[Any]:
    carriers = (r.a, r.b, *r.others)
    neither = st.fixed_dictionaries(
        {},
        optional={
            **{c: st.none() for c in carriers},
            view.media_type: st.sampled_from(samples.MEDIA_TYPES),
        },
    )
    return _image_breaking(view, r, lambda draw, base: draw(neither))


def _break_required_with(r: RequiredWith, view: View) -> st.SearchStrategy[Any]:
    def make(draw: Draw, base: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        members = base(r.with_)
        members.pop(r.member, None)
        if draw(samples.BOOLEANS):
            members[r.member] = None
        return members

    return _image_breaking(view, r, make)


def _break_alone(r: Alone, view: View) -> st.SearchStrategy[Any]:
    def make(draw: Draw, base: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        key = draw(samples.one(r.keys))
        members = base(key)
        for other in draw(samples.few(tuple(o for o in r.among if o != key), 1, len(r.among))):
            members[other] = draw_carrier(view, draw, other, members.get(view.media_type))
        return members

    return _image_breaking(view, r, make)


def _changed(member: str, values: st.SearchStrategy[Any], carrier: str | None = None) -> Make:
    """A valid reference by ``carrier`` (by ``member`` itself when not named) with ``member``
    set to one of ``values``."""

    def make(draw: Draw, base: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        members = base(carrier or member)
        members[member] = draw(values)
        return members

    return make


def _break_uuid(r: Uuid, view: View) -> st.SearchStrategy[Any]:
    return _image_breaking(view, r, _changed(r.member, samples.not_uuid()))


def _break_base64(r: Base64, view: View) -> st.SearchStrategy[Any]:
    return _image_breaking(view, r, _changed(r.member, samples.BAD_BASE64))


def _break_max_bytes(r: MaxBytes, view: View) -> st.SearchStrategy[Any]:
    def make(draw: Draw, base: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        members = base(r.member)
        media_type = members.get(view.media_type)
        media_type = media_type if isinstance(media_type, str) else "image/png"
        members[r.member] = samples.oversized(r.max, draw(samples.ints(1, 3)), media_type)
        return members

    return _image_breaking(view, r, make)


def _break_media_type(r: ImageMediaType | MediaFamily, view: View) -> st.SearchStrategy[Any]:
    def make(draw: Draw, base: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        carriers = [c for c in (view.url, view.data) if c]
        members = base(draw(samples.one(tuple(carriers))))
        members[r.member] = draw(samples.one(samples.BAD_MEDIA_TYPES))
        return members

    return _image_breaking(view, r, make)


def _break_url(r: PublicHttpsUrl, view: View) -> st.SearchStrategy[Any]:
    return _image_breaking(view, r, _changed(r.member, samples.PRIVATE_URLS))


# ---------------------------------------------------------------- breaking the structure


def _break_types(r: JsonTypes, view: View) -> st.SearchStrategy[Any]:
    """One value of the wrong JSON type: a field or member at any depth (null where it is not
    nullable), a member of a reference at any position, or an item of an array of references."""
    fields = list(view.paths)
    arrays = [p for p in view.references if view.paths[p].type is JsonType.ARRAY]
    # TODO(lead): engine: a wrong-typed item of an array of numbers (video.keyframe_indexes:
    # ["1"]) raises inside the diagnosis; such items join these slots once it is a wrong_type.

    @st.composite
    def build(draw: Draw) -> Request:
        body = draw(valid(view))
        kind = draw(st.sampled_from(("field", "member", "item")))
        if kind == "field":
            path = draw(st.sampled_from(fields))
            f = view.paths[path]
            wrong = samples.NOT[f.type] if f.nullable else st.one_of(samples.NOT[f.type], st.none())
            put(body, path, draw(wrong))
            where = path
        else:
            position = draw(st.sampled_from(view.references if kind == "member" else arrays))
            if kind == "member":
                m = draw(st.sampled_from(view.members))
                members = dict(draw(typed_reference(view)))
                members[m.name] = draw(samples.NOT[m.type])
            else:
                members = draw(st.sampled_from((None, "x", 5, [], True)))
            if view.paths[position].type is JsonType.OBJECT:
                put(body, position, members)
                where = position
            else:
                current = get(body, position)
                items = list(current)[:2] if isinstance(current, list) else []
                items.insert(draw(samples.ints(0, len(items))), members)
                put(body, position, items)
                where = position
        return hold_all(view, draw, body, but=r, hard=(where,))

    return build()


def _break_body(r: JsonBody, view: View) -> st.SearchStrategy[Any]:
    scalars = (
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    )
    values = st.recursive(
        scalars | st.text(max_size=8),
        lambda children: st.lists(children, max_size=3),
        max_leaves=5,
    )
    not_objects = st.one_of(
        scalars, st.lists(values, max_size=3), st.lists(valid(view), min_size=1, max_size=2)
    )
    # Python values, and the same as JSON text (a str payload is JSON text, never a string value).
    return st.one_of(
        not_objects, not_objects.map(json.dumps), not_objects.map(lambda v: json.dumps(v).encode())
    )


def _needs_network(r: Rule, view: View) -> st.SearchStrategy[Any]:
    raise ValueError(f"{r.id} needs the network: no strategy breaks it alone")


BREAK: Final[Mapping[type[Rule], Break]] = {
    JsonBody: _break_body,
    JsonTypes: _break_types,
    OneOf: _break_one_of,
    OneOfFor: _break_one_of_for,
    Required: _break_required,
    Length: _break_length,
    Range: _break_range,
    ItemsRange: _break_items_range,
    Unique: _break_unique,
    SameLength: _break_same_length,
    NotTogether: _break_not_together,
    RequiredFor: _break_required_for,
    ForbiddenFor: _break_forbidden_for,
    OnlyFor: _break_only_for,
    MaxItemsFor: _break_max_items,
    AllowedWith: _break_allowed_with,
    Alone: _break_alone,
    NotBoth: _break_not_both,
    EitherOf: _break_either_of,
    RequiredWith: _break_required_with,
    Uuid: _break_uuid,
    Base64: _break_base64,
    MaxBytes: _break_max_bytes,
    ImageMediaType: _break_media_type,
    MediaFamily: _break_media_type,
    PublicHttpsUrl: _break_url,
    Fetched: _needs_network,
    HttpStatus: _needs_network,
}


def _kinds() -> set[type[Rule]]:
    from luma_schema import rules

    return {
        k
        for name in rules.__all__
        if isinstance(k := getattr(rules, name), type) and issubclass(k, Rule) and k is not Rule
    }


_UNMAPPED: Final = sorted(k.__name__ for k in _kinds() if k not in BREAK or k not in HOLD)
if _UNMAPPED:
    raise TypeError(f"the strategies have no entry for rule kinds {_UNMAPPED}")


# ---------------------------------------------------------------- the public strategies


@functools.lru_cache(maxsize=8)
def _view(cat: Catalogue) -> View:
    return View(cat)


def valid_requests(cat: Catalogue = catalog.CATALOGUE) -> st.SearchStrategy[Request]:
    """Requests the server accepts: every type and model, with the options of each (nested, with
    their constraints); references by URL, base64 (real PNG, JPEG, GIF and WebP signatures, video
    bytes where a video may be), generation id and file id at every position; optional fields
    present, null or absent; fields a type ignores, now and then; any Unicode text up to its limit
    (astral-plane characters included)."""
    return valid(_view(cat))


def violating(rule_id: str, cat: Catalogue = catalog.CATALOGUE) -> st.SearchStrategy[Any]:
    """Requests that break exactly the rule ``rule_id`` and no other (every rule that needs no
    network): ``check()`` reports that rule alone."""
    try:
        rule = cat.rule(rule_id)
    except KeyError:
        known = ", ".join(r.id for r in cat.rules if r.scope is not Scope.FETCH)
        raise ValueError(f"no rule {rule_id!r}; known: {known}") from None
    return BREAK[type(rule)](rule, _view(cat))
