"""How to break each kind of rule of references alone: one reference, at a position where the
rule applies, that breaks it and no other rule of references, put into a valid request that is
then settled around it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from hypothesis import strategies as st

from luma_schema._strategies import samples
from luma_schema._strategies.base import Draw, Infeasible, Request, StrategyError, Wants
from luma_schema._strategies.conditions import satisfy
from luma_schema._strategies.references import breaks_alone, draw_carrier, draw_reference, ref_at
from luma_schema._strategies.settle import hold_all, valid
from luma_schema._strategies.view import View, get, put
from luma_schema.rules import (
    Alone,
    Base64,
    EitherOf,
    ImageMediaType,
    JsonType,
    MaxBytes,
    MediaFamily,
    NotBoth,
    PublicHttpsUrl,
    RequiredWith,
    Rule,
    Uuid,
)

# Tries at a reference that breaks one rule alone before the strategies call it a bug of their own.
_TRIES: Final = 40


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


def break_not_both(r: NotBoth, view: View) -> st.SearchStrategy[Any]:
    def make(draw: Draw, base: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        first, second = draw(samples.order((r.a, r.b)))
        members = base(first)
        members[second] = draw_carrier(view, draw, second, members.get(view.media_type))
        return members

    return _image_breaking(view, r, make)


def break_either_of(r: EitherOf, view: View) -> st.SearchStrategy[Any]:
    carriers = (r.a, r.b, *r.others)
    neither = st.fixed_dictionaries(
        {},
        optional={
            **{c: st.none() for c in carriers},
            view.media_type: st.sampled_from(samples.MEDIA_TYPES),
        },
    )
    return _image_breaking(view, r, lambda draw, base: draw(neither))


def break_required_with(r: RequiredWith, view: View) -> st.SearchStrategy[Any]:
    def make(draw: Draw, base: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        members = base(r.with_)
        members.pop(r.member, None)
        if draw(samples.BOOLEANS):
            members[r.member] = None
        return members

    return _image_breaking(view, r, make)


def break_alone(r: Alone, view: View) -> st.SearchStrategy[Any]:
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


def break_uuid(r: Uuid, view: View) -> st.SearchStrategy[Any]:
    return _image_breaking(view, r, _changed(r.member, samples.not_uuid()))


def break_base64(r: Base64, view: View) -> st.SearchStrategy[Any]:
    return _image_breaking(view, r, _changed(r.member, samples.BAD_BASE64))


def break_max_bytes(r: MaxBytes, view: View) -> st.SearchStrategy[Any]:
    def make(draw: Draw, base: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        members = base(r.member)
        media_type = members.get(view.media_type)
        media_type = media_type if isinstance(media_type, str) else "image/png"
        members[r.member] = samples.oversized(r.max, draw(samples.ints(1, 3)), media_type)
        return members

    return _image_breaking(view, r, make)


def break_media_type(r: ImageMediaType | MediaFamily, view: View) -> st.SearchStrategy[Any]:
    def make(draw: Draw, base: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        carriers = [c for c in (view.url, view.data) if c]
        members = base(draw(samples.one(tuple(carriers))))
        members[r.member] = draw(samples.one(samples.BAD_MEDIA_TYPES))
        return members

    return _image_breaking(view, r, make)


def break_url(r: PublicHttpsUrl, view: View) -> st.SearchStrategy[Any]:
    return _image_breaking(view, r, _changed(r.member, samples.PRIVATE_URLS))
