"""How to break the structure: a value of the wrong JSON type anywhere, a body that is no JSON
object; and the rules no strategy breaks alone (they need the network)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from luma_schema._strategies import samples
from luma_schema._strategies.base import Draw, Request
from luma_schema._strategies.references import typed_reference
from luma_schema._strategies.settle import hold_all, valid
from luma_schema._strategies.view import View, get, put
from luma_schema.rules import JsonBody, JsonType, JsonTypes, Rule


def break_types(r: JsonTypes, view: View) -> st.SearchStrategy[Any]:
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


def break_body(r: JsonBody, view: View) -> st.SearchStrategy[Any]:
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


def needs_network(r: Rule, view: View) -> st.SearchStrategy[Any]:
    raise ValueError(f"{r.id} needs the network: no strategy breaks it alone")
