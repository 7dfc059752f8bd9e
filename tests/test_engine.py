"""The engine as a function of the catalogue: an extended catalogue gets its checks, schema and
strategies without engine code; the compiled paths answer as the diagnosis does; a bug is never
a user's error; what the engine runs can be read."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import luma_schema
from luma_schema import catalog, expr
from luma_schema.engine import Engine, generated_source
from luma_schema.export.jsonschema import json_schema
from luma_schema.rules import Field, JsonType, Range
from luma_schema.strategies import valid_requests, violating

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)

# ---------------------------------------------------------------- a catalogue one field larger

SEED = Range(
    "seed_range",
    400,
    "{field} must be between {min} and {max}",
    field="seed",
    min=0,
    max=4_294_967_295,
)
EXTENDED = catalog.CATALOGUE.extended(
    fields=(Field("seed", JsonType.INTEGER, nullable=True, default=None),),
    rules=(SEED,),
    library_messages=frozenset({"seed_range"}),
)
ENGINE = Engine(EXTENDED)
DIAGNOSIS = Engine(EXTENDED, compiled=False)


def test_a_new_field_is_checked_by_its_own_rule() -> None:
    assert ENGINE.check({"prompt": "x", "seed": 7}).ok
    assert ENGINE.check({"prompt": "x", "seed": 7}).request["seed"] == 7  # type: ignore[index]
    assert ENGINE.check({"prompt": "x"}).request["seed"] is None  # type: ignore[index]
    for seed in (-1, 4_294_967_296):
        report = ENGINE.check({"prompt": "x", "seed": seed})
        assert (report.status, report.detail) == (400, "seed must be between 0 and 4294967295")
        assert report.errors[0].rule == "seed_range"
    wrong = ENGINE.check({"prompt": "x", "seed": "7"})
    assert (wrong.detail, wrong.errors[0].path) == ("seed must be an integer", "seed")
    assert ENGINE.check({"prompt": "x", "seed": True}).detail == "seed must be an integer"
    assert ENGINE.check({"prompt": "x", "seed": 1.5}).detail == "seed must be an integer"


def test_the_new_field_keeps_the_order_and_the_other_rules() -> None:
    # Request rules added by `extended` come after the others, before the image rules.
    report = ENGINE.check({"type": "image_edit", "prompt": "", "seed": -1})
    assert [e.rule for e in report.errors] == ["prompt_length", "source_required", "seed_range"]
    assert luma_schema.check({"prompt": "x", "seed": -1}).warnings[0].code == "unknown_field"


def test_a_whole_valued_float_is_an_integer_and_numbers_keep_their_values() -> None:
    big = 4_294_967_295
    for payload in (
        {"prompt": "x", "seed": big},
        json.dumps({"prompt": "x", "seed": big}),
        json.dumps({"prompt": "x\n", "seed": big}).encode(),  # an escape: the standard library
        {"prompt": "x", "seed": float(big)},
    ):
        report = ENGINE.check(payload)
        assert report.ok, payload
        assert report.request["seed"] == big  # type: ignore[index]
        assert type(report.request["seed"]) is int  # type: ignore[index]


@SETTINGS
@given(valid_requests(EXTENDED))
def test_valid_requests_of_the_extended_catalogue_are_accepted(request: dict[str, Any]) -> None:
    assert ENGINE.check(request).ok, ENGINE.check(request).errors


@pytest.mark.parametrize("rule_id", ["seed_range", "wrong_type"])
def test_violating_a_rule_of_the_extended_catalogue(rule_id: str) -> None:
    @SETTINGS
    @given(violating(rule_id, EXTENDED))
    def run(payload: Any) -> None:
        assert [e.rule for e in ENGINE.check(payload).errors] == [rule_id]

    run()


def test_the_extended_catalogue_has_its_json_schema() -> None:
    schema = json_schema(EXTENDED)
    assert schema["properties"]["seed"]["type"] == ["integer", "null"]
    assert schema["properties"]["seed"]["maximum"] == 4_294_967_295
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"prompt": "x", "seed": 3})
    assert not validator.is_valid({"prompt": "x", "seed": -3})
    assert "seed" not in luma_schema.json_schema()["properties"]


# ---------------------------------------------------------------- compiled paths and diagnosis


def summary(report: luma_schema.Report) -> tuple[Any, ...]:
    return (report.status, report.detail, report.errors, report.warnings, report.request)


PNG64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgAAACAAAB4iG8MwAAAABJRU5ErkJggg=="
JPEG64 = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDA=="
images = st.sampled_from(
    [
        {"url": "https://example.com/a.png"},
        {"url": "http://example.com/a.png"},
        {"url": None},
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
        {"url": "https://example.com/a.png", "media_type": "image/gif"},
        {},
        {"data": 1},
        {"data": PNG64, "media_type": "image/png", "extra": 1},
        "x",
        None,
    ]
)
mixed = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["image", "image_edit", "video", None, 3]),
        "prompt": st.sampled_from(["a cat", "", "x" * 6001, None, 1]),
        "model": st.sampled_from(["uni-1", "uni-1-max", "uni-2", None]),
        "aspect_ratio": st.sampled_from(["1:1", "9:16", "3:1", None, "4:5"]),
        "style": st.sampled_from(["auto", "manga", "noir"]),
        "output_format": st.sampled_from(["png", "jpeg", "gif", None]),
        "web_search": st.sampled_from([True, False, 0]),
        "user_id": st.sampled_from(["u", "u" * 257, None]),
        "source": st.none() | images,
        "image_ref": st.lists(images, max_size=10) | st.sampled_from([None, {}, "x"]),
        "seed": st.sampled_from([0, -1, 2**40, "1", 1.0, 2.5, None]),
        "image_refs": st.just([]),
        "extra": st.sampled_from([1, [1, {"a": None}], "x"]),
    },
)


@settings(SETTINGS, max_examples=400)
@given(mixed)
def test_the_compiled_paths_answer_as_the_diagnosis(payload: dict[str, Any]) -> None:
    reference = summary(DIAGNOSIS.check(payload))
    assert summary(ENGINE.check(payload)) == reference
    assert summary(ENGINE.check(json.dumps(payload))) == reference
    assert summary(ENGINE.check(json.dumps(payload).encode())) == reference
    # The first answer of a report comes before its lists: it is the same either way.
    fresh = ENGINE.check(payload)
    assert (fresh.status, fresh.detail) == reference[:2]


class Text(str):
    """A subclass of str: a wrong type to the compiled paths' exact tests, text to the API."""


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


_REFRAME = {
    "model": "ray-3.2",
    "type": "video_reframe",
    "prompt": "x",
    "source": {"url": "https://example.com/a.mp4", "media_type": "video/mp4"},
}
_POSITION = {"h_norm": 0.5, "w_norm": 0.5, "x_norm": 0.1, "y_norm": 0.1}
_URL = "https://example.com/a.png"
_DEEP = catalog.MAX_DEPTH
_HTTP = "http://example.com/a.png"  # not fetchable
_JPEG_AS = {"data": PNG64, "media_type": "image/jpeg"}  # a PNG said to be a JPEG: a warning


@pytest.mark.parametrize(
    "payload",
    [
        # A wrong JSON type is the first error unless a type error comes before it in the
        # table (a reference's member), or the payload is no JSON at all.
        {"prompt": 5},
        {"web_search": "yes", "prompt": "x"},
        {"prompt": "x", "source": {"url": 5}, "web_search": "y"},
        {"prompt": "x", "image_ref": [{"url": 5}], "video": 5},
        {"prompt": 5, "extra": _nested(_DEEP)},
        {"prompt": 5, "extra": _nested(_DEEP - 3)},
        {"prompt": "x", "image_ref": [{"url": 5}], "extra": _nested(_DEEP - 2)},  # 512 levels
        {"prompt": "x", "image_ref": [{"url": 5}], "extra": _nested(_DEEP - 1)},  # 513
        {"prompt": 5, "extra": {1, 2}},
        {"prompt": 5, "aspect_ratio": {1, 2}},
        {"prompt": Text("x"), "web_search": "y"},
        {"prompt": Text("x"), "web_search": True},
        {"prompt": [Text("x")]},
        {**_REFRAME, "video": {"source_position": {**_POSITION, "h_norm": float("nan")}}},
        {**_REFRAME, "video": {"source_position": {**_POSITION, "w_norm": float("inf")}}},
        {**_REFRAME, "video": {"source_position": {**_POSITION, "w_norm": "0.5"}}},
        {**_REFRAME, "video": {"source_position": {**_POSITION, "w_norm": 1}}},
        # Unknown members of a reference are warned of and ignored, whatever else holds.
        {"prompt": "x", "image_ref": [{"url": _URL, "colour": "red"}]},
        {"prompt": "x", "image_ref": [{"url": _URL, "colour": [[{"a": None}]]}]},
        {"prompt": "x", "image_ref": [{"url": _URL, "colour": _nested(_DEEP - 4)}]},
        {"prompt": "x", "image_ref": [{"url": _URL, "colour": _nested(_DEEP - 3)}]},
        {"prompt": "x", "image_ref": [{"url": _URL, "colour": {1, 2}}]},
        {"prompt": "x", "image_ref": [{"url": _URL, "colour": float("nan")}]},
        {"prompt": "x", "image_ref": [{"url": "http://example.com/a.png", "colour": 1}]},
        {"prompt": "x", "image_ref": [{"url": _URL, Text("colour"): 1}]},
        {"prompt": "x", "image_ref": [{"url": _URL, "colour": 1}, {"url": 2}]},
        {"type": "image_edit", "prompt": "x", "source": {"url": _URL, "uri": _URL}},
        {**_REFRAME, "source": {**_REFRAME["source"], "note": "x"}},  # type: ignore[dict-item]
        {"prompt": "x", "image_ref": [{"url": _URL, "data": PNG64, "colour": 1}]},
        # A refusal by a reference knows whether it has warnings: those seen before it, the
        # request's, its own, and those of any reference after it.
        {"prompt": "x", "image_ref": [{"url": _HTTP}]},
        {"prompt": "x", "image_ref": [{"url": _HTTP}, {"data": PNG64, "media_type": "image/jpeg"}]},
        {"prompt": "x", "image_ref": [{"data": PNG64, "media_type": "image/jpeg"}, {"url": _HTTP}]},
        {"prompt": "x", "image_refs": 1, "image_ref": [{"url": _HTTP}]},
        {"type": "image_edit", "prompt": "x", "aspect_ratio": "1:1", "source": {"url": _HTTP}},
        {"type": "image_edit", "prompt": "x", "source": {"url": _HTTP}, "image_ref": [_JPEG_AS]},
        {"type": "image_edit", "prompt": "x", "source": _JPEG_AS, "image_ref": [{"url": _HTTP}]},
        {"type": "image_edit", "prompt": "x", "source": {"url": _HTTP, "colour": 1}},
        {"type": "image_edit", "prompt": "x", "source": {"data": "AAA", "media_type": "image/png"}},
        {"prompt": "x", "image_ref": [{"data": "data:image/png;base64,AAA", "media_type": "image/png"}]},
        {"prompt": "x", "image_ref": [{"generation_id": "nope", "media_type": "image/png"}]},
        {"type": "image_edit", "prompt": "x", "source": {**_JPEG_AS, "data": PNG64[:-4] + "!!!!"}},
    ],
)
def test_wrong_types_and_unknown_members_are_answered_as_the_diagnosis(payload: Any) -> None:
    reference = summary(Engine(catalog.CATALOGUE, compiled=False).check(payload))
    fresh = luma_schema.check(payload)  # its first answer before its lists, then the lists
    assert (fresh.status, fresh.detail) == reference[:2]
    assert summary(fresh) == reference
    try:
        text = json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return  # (no JSON text says it)
    assert summary(luma_schema.check(text.encode())) == reference


@SETTINGS
@given(st.one_of(valid_requests(), *(violating(r.id) for r in catalog.RULES if r.id not in ("image_too_large", "url_fetch_failed", "url_http_error"))))
def test_the_api_engine_answers_as_its_diagnosis(payload: Any) -> None:
    assert summary(luma_schema.check(payload)) == summary(
        Engine(catalog.CATALOGUE, compiled=False).check(payload)
    )


def test_past_the_bound_of_compiled_shapes_every_answer_stays_the_same() -> None:
    engine = Engine(catalog.CATALOGUE)
    reference = Engine(catalog.CATALOGUE, compiled=False)
    fields = [f.name for f in catalog.FIELDS if f.name != "prompt"]
    for i in range(300):  # more shapes than the engine compiles: the rest take `ordered`
        payload = {"prompt": "x", f"extra{i}": i, fields[i % len(fields)]: None}
        assert summary(engine.check(payload)) == summary(reference.check(payload))


# ---------------------------------------------------------------- faults


def test_a_rule_that_raises_is_an_exception_not_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(url: str) -> None:
        raise ZeroDivisionError("a bug in a rule")

    monkeypatch.setitem(expr.FUNCTIONS, "url_problem", broken)  # type: ignore[index]
    engine = Engine(catalog.CATALOGUE)
    payload = {"prompt": "x", "image_ref": [{"url": "https://example.com/a.png"}]}
    with pytest.raises(ZeroDivisionError):
        engine.check(payload)
    with pytest.raises(ZeroDivisionError):  # the diagnosis
        Engine(catalog.CATALOGUE, compiled=False).check(payload)
    with pytest.raises(ZeroDivisionError):
        Engine(catalog.CATALOGUE, compiled=False).check(json.dumps(payload))


def test_only_bad_input_is_an_answer() -> None:
    for payload in (b"\xff", "[1]", "{", {1: 2}, {"a": {1}}, object(), 5):
        report = luma_schema.check(payload)
        assert (report.status, report.errors[0].rule) == (400, "body_not_object")


# ---------------------------------------------------------------- two answers fixed


def test_an_unknown_type_skips_the_rules_of_types_whatever_the_model() -> None:
    payload = {
        "type": "video",
        "model": "m",
        "prompt": "a",
        "source": {"url": "https://example.com/a.png"},
    }
    assert [e.detail for e in luma_schema.check(payload).errors] == ["Unknown model: m"]
    # A known type stays valid when the model is unknown: its rules still run.
    edit = {"type": "image_edit", "model": "m", "prompt": "a"}
    assert [e.rule for e in luma_schema.check(edit).errors] == ["model_unknown", "source_required"]


@pytest.mark.parametrize("depth", [catalog.MAX_DEPTH - 1, catalog.MAX_DEPTH, catalog.MAX_DEPTH + 1, 1000, 100_000])
def test_nesting_has_one_answer_as_text_and_as_values(depth: int) -> None:
    # The request object is level 1, so an unknown field's value starts at level 2.
    value: Any = "leaf"
    for _ in range(depth - 1):
        value = [value]
    as_value = luma_schema.check({"prompt": "x", "extra": value})
    as_text = luma_schema.check('{"prompt": "x", "extra": ' + "[" * (depth - 1) + '"leaf"' + "]" * (depth - 1) + "}")
    assert summary(as_value)[:4] == summary(as_text)[:4]
    assert as_value.ok == (depth <= catalog.MAX_DEPTH)
    # The same nesting in values that are no JSON built-ins (read through their plain copy).
    odd: Any = ("leaf",)
    for _ in range(depth - 2):
        odd = [odd]
    as_odd = luma_schema.check({"prompt": Text("x"), "extra": odd})
    assert summary(as_odd)[:4] == summary(as_value)[:4]


# ---------------------------------------------------------------- what runs


def test_the_source_run_for_a_shape_can_be_printed() -> None:
    source = generated_source({"prompt": "x", "aspect_ratio": "1:1"})
    assert source.startswith("def accept_prompt__aspect_ratio(p):")
    assert "def ordered(p, shape, quiet=False):" in source
    assert "K" in source and "refuse(" in source
    # The function is the one check() runs: it answers the shape's requests.
    assert generated_source(("prompt", "aspect_ratio")) == source


def test_the_source_of_a_shape_is_shown_past_the_cache_of_shapes() -> None:
    # An engine keeps a bounded number of compiled shapes; the debug helper still compiles
    # and shows a new one (a long-running process has usually seen hundreds).
    engine = Engine(catalog.CATALOGUE)
    for i in range(300):
        assert engine.check({"prompt": "x", f"extra_{i}": i}).ok
    source = engine.generated_source({"prompt": "x", "type": "image_edit", "style": "manga"})
    assert source.startswith("def accept_prompt__type__style(p):")
    # The function of the payload's type follows the shape's own.
    assert "def accept_prompt__type__style__image_edit(p, warned," in source


def test_a_shape_hands_each_type_to_a_function_of_its_own() -> None:
    engine = Engine(catalog.CATALOGUE)
    edit = engine.generated_source({"prompt": "x", "type": "image_edit"})
    video = engine.generated_source({"prompt": "x", "type": "video"})
    # One function for the shape, and one for each type asked.
    assert edit.split("\n\n")[0] == video.split("\n\n")[0]
    assert "__video(p, warned," in video and "__image_edit(p, warned," not in video
    assert "__image_edit(p, warned," in edit and "__video(p, warned," not in edit
