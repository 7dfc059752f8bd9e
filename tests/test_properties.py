"""Properties: requests built by construction against the engine (valid requests of every type
and model are accepted; a request built to break one rule gets exactly that rule, with its
message), the JSON text of a request against the request, and the pydantic model against the
engine."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from luma_schema import GenerationRequest, catalog, check
from luma_schema.engine import Engine
from luma_schema.strategies import valid_requests, violating

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STATIC = [r.id for r in catalog.RULES if r.scope.value != "fetch"]
DIAGNOSIS = Engine(catalog.CATALOGUE, compiled=False)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=12), c, max_size=5),
    max_leaves=20,
)
field_names = st.sampled_from([f.name for f in catalog.FIELDS] + ["url", "data", "image_refs"])
objects = st.dictionaries(field_names, json_values, max_size=8)


def summary(report: Any) -> tuple[Any, ...]:
    return (report.status, report.detail, report.errors, report.warnings, report.request)


def _shown(request: dict[str, Any]) -> list[str]:
    """The fields a normalised request holds: every field shown always, and a field shown when
    given only where it is given (not null) and meaningful for the request's type."""
    names = []
    for f in catalog.FIELDS:
        applies = f.applies
        meaningful = applies is None or (request[applies.path] in applies.values) != applies.negated
        if f.shown or (meaningful and request.get(f.name) is not None):
            names.append(f.name)
    return names


@SETTINGS
@given(valid_requests())
def test_valid_requests_are_ok(request: dict[str, Any]) -> None:
    report = check(request)
    assert report.ok, report.errors
    assert report.status == 201
    given = {**report.request, **{k: v for k, v in request.items() if k in report.request}}  # type: ignore[dict-item]
    assert list(report.request) == _shown(given)  # type: ignore[arg-type]
    assert DIAGNOSIS.check(request).ok


@pytest.mark.parametrize(
    ("kind", "model"), [(t, m) for m, types in catalog.MODEL_TYPES for t in types]
)
def test_valid_requests_draw_every_type_of_every_model(kind: str, model: str) -> None:
    # Each pair the catalogue allows is drawn, and accepted (find() fails when none is).
    def normalised(request: dict[str, Any]) -> tuple[Any, Any]:
        report = check(request)
        assert report.request is not None
        return report.request["type"], report.request["model"]

    found = find(
        valid_requests(),
        lambda request: normalised(request) == (kind, model),
        # The first found is enough: no shrinking (each step would compile shapes anew).
        settings=settings(SETTINGS, max_examples=500, database=None, phases=[Phase.generate]),
    )
    assert check(found).ok


@pytest.mark.parametrize("rule_id", STATIC)
def test_violating_breaks_exactly_that_rule(rule_id: str) -> None:
    rule = catalog.rule(rule_id)
    examples = 3 if rule_id == "image_too_large" else 15

    @settings(SETTINGS, max_examples=examples)
    @given(violating(rule_id))
    def run(payload: Any) -> None:
        report = check(payload)
        assert [e.rule for e in report.errors] == [rule_id]
        assert report.status == rule.status
        assert report.detail == report.errors[0].detail
        if rule.scope.value != "types":
            echo = {k: _value(payload, e.path) for k, e in rule.echo().items()}
            assert report.detail == rule.render(report.errors[0].path, **echo)
        if rule.scope.value == "request":
            assert report.errors[0].path == rule.path

    run()


def _value(payload: Any, path: str) -> Any:
    """A request field an echo quotes (a dotted path), as given or its default."""
    node = payload
    for name in path.split("."):
        node = node.get(name, None) if isinstance(node, dict) else None
    return catalog.CATALOGUE.paths[path].default if node is None else node


def test_violating_refuses_network_rules() -> None:
    with pytest.raises(ValueError, match="url_fetch_failed"):
        violating("url_fetch_failed")
    with pytest.raises(ValueError, match="known"):
        violating("no_such_rule")


@SETTINGS
@given(st.one_of(json_values, objects, st.text(), st.binary()))
def test_check_never_raises(payload: Any) -> None:
    report = check(payload)
    assert report.status in (201, 400, 413, 422)
    assert report.ok == (not report.errors)


@SETTINGS
@given(
    st.one_of(
        valid_requests(),
        objects,
        *[violating(r) for r in STATIC if r not in ("image_too_large", "body_not_object")],
    )
)
def test_json_text_answers_as_the_dict(payload: Any) -> None:
    direct = check(payload)
    for text in (
        json.dumps(payload),
        json.dumps(payload).encode(),
        json.dumps(payload, ensure_ascii=False).encode(),
        b"\xef\xbb\xbf" + json.dumps(payload).encode(),
    ):
        assert summary(check(text)) == summary(direct)


@SETTINGS
@given(
    st.one_of(
        valid_requests(), objects, *[violating(r) for r in STATIC if r not in ("image_too_large",)]
    )
)
def test_model_agrees_with_the_engine(payload: Any) -> None:
    report = check(payload)
    try:
        model = GenerationRequest.model_validate(payload)
    except ValidationError as exc:
        assert not report.ok
        error = exc.errors()[0]
        assert error["msg"] == report.detail
        assert error["type"] == report.errors[0].rule
        assert (
            error["ctx"]["status"] == report.status
            and error["ctx"]["rule"] == report.errors[0].rule
        )
    else:
        assert report.ok
        assert model.to_payload() == report.request
