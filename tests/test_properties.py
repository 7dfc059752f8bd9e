"""Properties: generated requests against the engine, the compiled path, JSON text and the model."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from luma_schema import GenerationRequest, RequestError, catalog, check, engine
from luma_schema.strategies import valid_requests, violating

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STATIC = [r.id for r in catalog.RULES if r.scope.value != "fetch"]

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


@SETTINGS
@given(valid_requests())
def test_valid_requests_are_ok(request: dict[str, Any]) -> None:
    report = check(request)
    assert report.ok, report.errors
    assert list(report.request) == [f.name for f in catalog.FIELDS]  # type: ignore[arg-type]


@pytest.mark.parametrize("rule_id", STATIC)
def test_violating_breaks_exactly_that_rule(rule_id: str) -> None:
    rule = catalog.rule(rule_id)
    examples = 3 if rule_id == "image_too_large" else 25

    @settings(SETTINGS, max_examples=examples)
    @given(violating(rule_id))
    def run(payload: Any) -> None:
        report = check(payload)
        assert [e.rule for e in report.errors] == [rule_id]
        assert report.status == rule.status
        assert report.detail == report.errors[0].detail
        path = report.errors[0].path
        echo = {"value": _echo(payload, rule_id), "model": _model(payload)}
        if rule.scope.value != "types":
            assert report.detail == rule.render(path, **echo)

    run()


def _echo(payload: Any, rule_id: str) -> Any:
    field = getattr(catalog.rule(rule_id), "field", "")
    return payload.get(field) if isinstance(payload, dict) else None


def _model(payload: Any) -> Any:
    return payload.get("model", "uni-1") if isinstance(payload, dict) else None


def test_violating_refuses_network_rules() -> None:
    with pytest.raises(ValueError, match="url_fetch_failed"):
        violating("url_fetch_failed")


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
    ):
        assert summary(check(text)) == summary(direct)


@SETTINGS
@given(
    st.one_of(
        valid_requests(),
        objects,
        *[violating(r) for r in STATIC if r not in ("image_too_large", "body_not_object")],
    )
)
def test_compiled_path_agrees_with_the_diagnosis(payload: dict[str, Any]) -> None:
    full = engine._diagnose(payload, False)
    # The function specialised to the payload's shape, and the generic one.
    for fast in (engine._fast(payload), engine._generic_fast(payload)):
        if fast is not None:
            assert (fast.status, fast.detail, fast.errors, fast.warnings) == (
                full.status,
                full.detail,
                full.errors,
                full.warnings,
            )
            assert fast.request == full.request


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
        assert model.model_dump() == report.request


def test_compiled_path_takes_the_common_cases() -> None:
    valid = {"type": "image_edit", "prompt": "x", "source": {"url": "https://example.com/a.png"}}
    invalid = {"type": "image_edit", "prompt": "x"}
    # The property tests above fill the bounded cache of shapes (past it, new shapes take the
    # generic function): start from an empty one.
    with engine._SHAPES_LOCK:
        engine._SHAPES.clear()
    assert engine._fast(valid) is not None and engine._fast(valid).ok  # type: ignore[union-attr]
    assert engine._fast(invalid) is not None
    assert engine._fast(invalid).detail == check(invalid).detail  # type: ignore[union-attr]
    # Both shapes got their own compiled function.
    assert engine._SHAPES[tuple(valid)] is not engine._generic_fast
    assert engine._SHAPES[tuple(invalid)] is not engine._generic_fast
    assert engine._SHAPES[tuple(valid)] is not engine._SHAPES[tuple(invalid)]


def test_compiled_path_on_the_row_table_raises_nothing() -> None:
    # check() falls back to the diagnosis if the compiled path raises; here it must not.
    from test_rows import ROWS

    for _, payload, _, _, _ in ROWS:
        if type(payload) is not dict:
            continue
        full = engine._diagnose(payload, False)
        for fast in (engine._fast(payload), engine._generic_fast(payload)):
            if fast is not None:
                assert (fast.status, fast.detail, fast.errors) == (
                    full.status,
                    full.detail,
                    full.errors,
                )


def test_early_refusal_lists_every_error_on_demand() -> None:
    # prompt_length (a request rule before the image rules) is first; the full list still holds
    # the later request rule and the image rule, in SPEC order, as the diagnosis gives it.
    payload = {"type": "image_edit", "prompt": "", "image_ref": [{"url": "http://example.com/a"}]}
    report = engine._fast(payload)
    assert report is not None
    full = engine._diagnose(payload, False)
    assert (report.status, report.detail) == (full.status, full.detail)
    assert [e.rule for e in full.errors] == [
        "prompt_length",
        "source_required",
        "url_not_fetchable",
    ]
    assert report.errors == full.errors
    assert report.as_dict() == full.as_dict()
    assert RequestError(check(payload)).errors == full.errors


def test_early_refusal_reads_images_before_answering() -> None:
    # Row 2 on an image and warnings come before (or beside) the early rule: the diagnosis answers.
    for image in ({"url": 5}, {"url": "https://example.com/a", "colour": "red"}, "x"):
        payload = {"type": "image_edit", "prompt": "", "image_ref": [image]}
        full = engine._diagnose(payload, False)
        assert summary(check(payload))[:4] == (full.status, full.detail, full.errors, full.warnings)
        fast = engine._fast(payload)
        assert fast is None or fast.errors == full.errors


def test_early_refusal_errors_never_raise() -> None:
    # The full list is built on first access, from the payload as it is then (README caveat):
    # even a payload mutated into something that is not JSON gives a list, never an exception.
    payload: dict[str, Any] = {"type": "image_edit", "prompt": ""}
    report = check(payload)
    payload["image_ref"] = [{"url": object()}]
    payload[5] = set()  # type: ignore[index]
    assert report.status == 400 and report.errors
    assert report.errors[0].status == 400


PNG64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgAAACAAAB4iG8MwAAAABJRU5ErkJggg=="
JPEG64 = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDA=="
images = st.sampled_from(
    [
        {"url": "https://example.com/a.png"},
        {"url": "http://example.com/a.png"},
        {"data": PNG64, "media_type": "image/png"},
        {"data": JPEG64, "media_type": "image/jpeg"},
        {"data": PNG64, "media_type": "image/jpeg"},  # format_mismatch
        {"data": "AAAA", "media_type": "image/png"},  # format_unknown
        {"data": "data:image/png;base64," + PNG64, "media_type": "image/png"},
        {"data": PNG64[:-4] + "!!!!", "media_type": "image/gif"},
        {"data": "AAA", "media_type": "image/png"},
        {"data": PNG64},
        {"data": PNG64, "media_type": "text/plain"},
        {"data": PNG64, "media_type": None, "url": None},
        {"url": "https://example.com/a.png", "data": PNG64, "media_type": "image/png"},
        {},
        {"data": 1},
        {"data": PNG64, "media_type": "image/png", "extra": 1},
    ]
)
mixed = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["image", "image_edit", "video", None]),
        "prompt": st.sampled_from(["a cat", "", "x" * 6001, None, 1]),
        "model": st.sampled_from(["uni-1", "uni-1-max", "uni-2"]),
        "aspect_ratio": st.sampled_from(["1:1", "9:16", "3:1", None]),
        "style": st.sampled_from(["auto", "manga", "noir"]),
        "output_format": st.sampled_from(["png", "jpeg", "gif", None]),
        "web_search": st.sampled_from([True, False, 0]),
        "source": st.none() | images,
        "image_ref": st.lists(images, max_size=10),
    },
)


@settings(SETTINGS, max_examples=300)
@given(mixed)
def test_images_with_data_answer_alike_on_every_path(payload: dict[str, Any]) -> None:
    # Decoded data earns warnings on refused requests too: the compiled path must give them.
    full = summary(engine._diagnose(payload, False))
    fresh = engine._compile()(payload)
    for fast in (fresh, engine._generate(tuple(payload))(payload), engine._fast(payload)):
        if fast is not None:
            assert summary(fast) == full
    assert summary(check(payload)) == full
    assert summary(check(json.dumps(payload))) == full
    assert summary(check(json.dumps(payload).encode())) == full
