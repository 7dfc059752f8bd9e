"""Media references: a valid one at a position (by url, data or an id, as the rules of references
there allow), one of well-typed members only, and whether one breaks a given rule of references
alone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

from luma_schema._strategies import samples
from luma_schema._strategies.base import Draw, Request, StrategyError, Wants, short
from luma_schema._strategies.view import ABSENT, Ref, View
from luma_schema.expr import FUNCTIONS, MISSING
from luma_schema.rules import Rule


def draw_carrier(view: View, draw: Draw, member: str, media_type: Any) -> str:
    """A valid value for the carrier ``member`` of a reference naming ``media_type``."""
    if member == view.url:
        return draw(samples.public_url())
    if member == view.data:
        family = FUNCTIONS["media_family"](media_type) if isinstance(media_type, str) else None
        if family == "video":
            return draw(samples.video_data())
        mt = media_type if isinstance(media_type, str) else None
        return draw(samples.image_data(mt))[0]
    if member in view.ids:
        return draw(samples.uuid_text())
    return draw(samples.short_text())


def ref_at(view: View, position: str, members: Mapping[str, Any]) -> Ref:
    """A reference at ``position`` (the position its own path) with ``members``, the others missing."""
    return Ref(position, position, {m.name: members.get(m.name, MISSING) for m in view.members})


def _fits(
    view: View, members: Mapping[str, Any], position: str, body: Request, tests: Wants
) -> bool:
    """Whether a reference at ``position`` obeys every rule of references (and ``tests``)."""
    reading = view.read(body)
    ref = ref_at(view, position, members)
    if any(view.test(t, reading.values, ref) != truth for t, truth in tests):
        return False
    return all(view.holds(r, reading, ref) for r in view.image_rules())


def draw_reference(
    view: View,
    draw: Draw,
    position: str,
    body: Request,
    tests: Wants | None = None,
    carriers: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """A reference valid at ``position`` in ``body`` (by url, data or an id, as the rules there
    allow), meeting ``tests`` on its members; where the position is ignored for the request,
    sometimes one with well-typed members only."""
    ignored = not tests and carriers is None and not view.applies_at(position, view.read(body))
    if ignored and draw(samples.ints(0, 3)) == 0:
        return draw(typed_reference(view))
    for carrier in draw(samples.order(carriers or view.carriers)):
        for media_type in draw(samples.order((ABSENT, None, *samples.MEDIA_TYPES))):
            members: dict[str, Any] = {carrier: draw_carrier(view, draw, carrier, media_type)}
            if media_type is not ABSENT and view.media_type:
                members[view.media_type] = media_type
            if _fits(view, members, position, body, tests or []):
                others = [m.name for m in view.members if m.name not in members and m.nullable]
                for name in draw(samples.few(tuple(others))) if others else []:
                    members[name] = None
                return members
    raise StrategyError(f"no valid reference at {position} in {short(body)}")


def typed_reference(view: View) -> st.SearchStrategy[dict[str, Any]]:
    """Members of the right JSON types and any content: what an ignored position is checked for."""
    return st.fixed_dictionaries(
        {}, optional={m.name: st.one_of(st.none(), st.text(max_size=8)) for m in view.members}
    )


def breaks_alone(
    view: View, rule: Rule, members: Mapping[str, Any], position: str, body: Request
) -> bool:
    """Whether a reference at ``position`` breaks ``rule`` (reported) and obeys every other rule
    of references the engine applies to it."""
    reading = view.read(body)
    ref = ref_at(view, position, members)
    for r in view.image_rules():
        if r is rule:
            if not view.reported(r, reading, ref):
                return False
            if r.marks == "image":
                return True
        elif not view.holds(r, reading, ref):
            return False
    return not view.holds(rule, reading, ref)
