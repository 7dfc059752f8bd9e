"""The API as it is today, as a user of the library meets it: the requests the image-editing
guide's era refused that the API accepts (a ray-3.2 video, an edit off an earlier generation,
layering), every request of the guide's surface answered as the guide's error table says, and
the engine's compiled paths answering every request of the new surface as its diagnosis does."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from luma_schema import catalog, check
from luma_schema.engine import Engine
from luma_schema.rules import Catalogue, EitherOf, OneOf, OneOfFor, Scope
from luma_schema.strategies import valid_requests, violating

SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GEN = "123e4567-e89b-12d3-a456-426614174000"
URL = "https://example.com/a.png"
DIAGNOSIS = Engine(catalog.CATALOGUE, compiled=False)

# The guide's error table (a copy kept for CI beside the tests): id -> (status, message).
_TABLE = (Path(__file__).parent / "data" / "spec_errors.md").read_text(encoding="utf-8")
GUIDE_ROWS = {
    m["id"]: (int(m["status"]), m["message"])
    for m in re.finditer(
        r"^\| \d+ \| `(?P<id>\w+)` \|[^\n]*?\| (?P<status>\d{3}) \| `(?P<message>[^`]+)`",
        _TABLE,
        re.M,
    )
}
# Too slow to draw at every run (50 MB), or needing the network: test_properties and
# test_fetch hold them.
_NOT_DRAWN = frozenset({"image_too_large", "url_fetch_failed", "url_http_error"})
NEW_RULES = [r.id for r in catalog.RULES if r.id not in GUIDE_ROWS and r.scope is not Scope.FETCH]


# ------------------------------------------------------------------ the issue's own examples


@pytest.mark.parametrize(
    "payload",
    [
        {"model": "ray-3.2", "type": "video", "prompt": "A wave breaking at dusk"},
        {"type": "image_edit", "prompt": "Make it snow", "source": {"generation_id": GEN}},
        {"type": "image_edit", "prompt": "Make it snow", "source": {"file_id": GEN}},
        {"type": "layering", "source": {"url": URL}},
        {"type": "layering", "source": {"generation_id": GEN}, "layering": {"resolution": "2k"}},
        {
            "model": "ray-3.2",
            "type": "video_edit",
            "prompt": "Snow",
            "source": {"generation_id": GEN},
            "video": {"duration": "5s", "resolution": "720p"},
        },
    ],
    ids=["video", "edit_of_a_generation", "edit_of_a_file", "layering", "layering_2k", "vedit"],
)
def test_requests_the_guide_era_refused_are_accepted(payload: dict[str, Any]) -> None:
    report = check(payload)
    assert (report.status, report.errors) == (201, ())
    assert report.request is not None
    assert report.request["type"] == payload["type"]
    if "source" in payload:
        given = report.request["source"]
        assert {k: given[k] for k in payload["source"]} == payload["source"]


def test_a_video_request_answers_alike_as_json_text_and_through_the_diagnosis() -> None:
    payload = {"model": "ray-3.2", "type": "video", "prompt": "A wave"}
    assert check(json.dumps(payload)).as_dict() == check(payload).as_dict()
    assert DIAGNOSIS.check(payload).as_dict() == check(payload).as_dict()


# -------------------------------------------------- the guide's surface keeps the guide's answers


def _guide_catalogue() -> Catalogue:
    """The live catalogue narrowed to the names the image-editing guide knew (its models, its
    two types, references by url or data, no video or layering options, the guide's rules): the
    strategies drawn from it build requests of the guide's surface only."""
    models = ("uni-1", "uni-1-max")
    members = tuple(m for m in catalog.IMAGE_MEMBERS if m.name not in catalog.IDS)
    fields = tuple(
        dataclasses.replace(f, members=members) if f.reference else f
        for f in catalog.FIELDS
        if f.name not in ("video", "layering")
    )
    rules = []
    for r in catalog.RULES:
        if r.id not in GUIDE_ROWS:
            continue
        if isinstance(r, OneOf) and r.field == "model":
            r = dataclasses.replace(r, values=models)
        elif isinstance(r, OneOfFor) and r.field == "type":
            by = tuple(
                (k, tuple(t for t in ts if t in catalog.IMAGE_TYPES))
                for k, ts in r.by
                if k in models
            )
            r = dataclasses.replace(r, values=catalog.IMAGE_TYPES, by=by)
        elif isinstance(r, EitherOf):
            r = dataclasses.replace(r, others=())
        rules.append(r)
    return Catalogue(fields, tuple(rules))


GUIDE = _guide_catalogue()


def _guide_pattern(message: str) -> re.Pattern[str]:
    """The guide's message as a pattern: ``{a|b}`` one of its choices, any other ``{...}`` an
    echo."""
    parts = re.split(r"(\{[^}]*\})", message)
    out = []
    for part in parts:
        if part.startswith("{"):
            choices = part[1:-1].split("\\|")
            out.append(
                "(?:" + "|".join(map(re.escape, choices)) + ")" if len(choices) > 1 else ".*"
            )
        else:
            out.append(re.escape(part))
    return re.compile("".join(out), re.S)


def test_the_guide_catalogue_has_every_row_of_the_guide() -> None:
    assert len(GUIDE_ROWS) == 24
    assert {r.id for r in GUIDE.rules} == set(GUIDE_ROWS)


def _uses_new_names(payload: Any) -> bool:
    if not isinstance(payload, dict):
        return False
    new = {catalog.VIDEO_MODEL, *catalog.VIDEO_TYPES, "layering"}
    items = payload.get("image_ref")
    refs = [payload.get("source"), *(items if isinstance(items, list) else [])]
    return (
        any(payload.get(k) in new for k in ("model", "type") if isinstance(payload.get(k), str))
        or bool({"video", "layering"} & set(payload))
        or any(isinstance(r, dict) and bool(set(r) & set(catalog.IDS)) for r in refs)
    )


@SETTINGS
@given(valid_requests(GUIDE))
def test_valid_requests_of_the_guide_are_accepted(payload: dict[str, Any]) -> None:
    assert not _uses_new_names(payload)
    report = check(payload)
    assert (report.status, report.errors) == (201, ())


@pytest.mark.parametrize("rule_id", sorted(set(GUIDE_ROWS) - _NOT_DRAWN))
def test_requests_of_the_guide_get_the_guide_answer(rule_id: str) -> None:
    status, message = GUIDE_ROWS[rule_id]
    pattern = _guide_pattern(message)

    @SETTINGS
    @given(violating(rule_id, GUIDE))
    def run(payload: Any) -> None:
        assert not _uses_new_names(payload)
        report = check(payload)
        assert [e.rule for e in report.errors] == [rule_id]
        assert report.status == status
        assert report.detail is not None and pattern.fullmatch(report.detail), report.detail

    run()


# ---------------------------------------- the compiled paths answer as the diagnosis, new surface


def _summary(report: Any) -> tuple[Any, ...]:
    return (report.status, report.detail, report.errors, report.warnings, report.request)


def _same_answers(payload: Any) -> None:
    reference = _summary(DIAGNOSIS.check(payload))
    assert _summary(check(payload)) == reference
    text = json.dumps(payload)
    assert _summary(check(text)) == reference
    assert _summary(check(text.encode())) == reference


@settings(SETTINGS, max_examples=15)
@given(valid_requests())
def test_the_compiled_paths_accept_what_the_diagnosis_accepts(payload: dict[str, Any]) -> None:
    _same_answers(payload)


@pytest.mark.parametrize("rule_id", NEW_RULES)
def test_the_compiled_paths_refuse_as_the_diagnosis(rule_id: str) -> None:
    # Two requests a rule: each new shape of payload is compiled afresh (about a second for a
    # request with video options), and every rule's run draws other shapes.
    @settings(SETTINGS, max_examples=2)
    @given(violating(rule_id))
    def run(payload: Any) -> None:
        _same_answers(payload)

    run()
