"""What a check answers: one Report class, immutable to its users, its lists made when read and
equal to the full diagnosis, and every answer type surviving pickle and a process pool."""

from __future__ import annotations

import concurrent.futures
import pickle
from typing import Any

import pytest
from conftest import URL, edit, image

import luma_schema
from luma_schema import Notice, Report, RequestError, Violation, catalog
from luma_schema.engine import (
    ANSWER_OK,
    Engine,
    first_answer,
    first_rule,
    iter_errors,
    request_field,
)

DIAGNOSIS = Engine(catalog.CATALOGUE, compiled=False)

PAYLOADS: list[Any] = [
    image(),
    edit(),
    edit(aspect_ratio="1:1"),  # a warning
    image(image_ref=[{"url": URL}, {"data": "AAAA", "media_type": "image/png"}]),
    {"type": "image_edit", "prompt": ""},  # a request rule, then more
    edit(source={"url": URL, "data": "AAAA"}),  # an image rule first
    edit(image_ref=[{"url": "http://example.com/a"}], style="noir"),
    image(prompt=5, colour="red"),  # the diagnosis
    b'{"prompt": "x", "prompt": "y"}',
    "[]",
]


def fields(report: Report) -> tuple[Any, ...]:
    return (report.ok, report.status, report.detail, report.errors, report.warnings, report.request)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_report_is_the_diagnosis_whichever_path_made_it(payload: Any) -> None:
    report = luma_schema.check(payload)
    assert fields(report) == fields(DIAGNOSIS.check(payload))
    assert report == DIAGNOSIS.check(payload)
    assert report.ok == (not report.errors) == (report.status == 201)
    if not report.ok:
        assert (report.status, report.detail) == (report.errors[0].status, report.errors[0].detail)
        assert report.to_response() == (report.status, {"detail": report.detail})
        assert report.request is None
    else:
        assert report.to_response() == (201, {})
    assert report.as_dict() == {
        "ok": report.ok,
        "status": report.status,
        "detail": report.detail,
        "errors": [e.as_dict() for e in report.errors],
        "warnings": [w.as_dict() for w in report.warnings],
    }


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_answer_survives_pickle(payload: Any) -> None:
    report = luma_schema.check(payload)
    again = pickle.loads(pickle.dumps(report))
    assert type(again) is Report
    assert fields(again) == fields(report)
    for item in (*report.errors, *report.warnings):
        assert pickle.loads(pickle.dumps(item)) == item
    if not report.ok:
        error = pickle.loads(pickle.dumps(RequestError(report)))
        assert (error.status, error.detail, error.errors) == (
            report.status,
            report.detail,
            report.errors,
        )
        assert str(error) == report.detail


def test_a_process_pool_maps_check() -> None:
    payloads = [p for p in PAYLOADS if not isinstance(p, bytes)]
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(luma_schema.check, payloads))
    assert [fields(r) for r in reports] == [fields(luma_schema.check(p)) for p in payloads]


def test_a_report_cannot_be_changed_by_its_users() -> None:
    report = luma_schema.check(image())
    for name in ("ok", "status", "detail", "errors", "warnings", "request"):
        with pytest.raises(AttributeError):
            setattr(report, name, None)
    with pytest.raises(AttributeError):
        report.colour = "red"  # type: ignore[attr-defined]
    assert isinstance(report.errors, tuple) and isinstance(report.warnings, tuple)


def test_a_refusal_made_early_still_lists_everything_in_order() -> None:
    payload = {"type": "image_edit", "prompt": "", "image_ref": [{"url": "http://example.com/a"}]}
    report = luma_schema.check(payload)
    assert repr(report) == "Report(400, 'Prompt must be between 1 and 6000 characters', errors=?)"
    assert [e.rule for e in report.errors] == ["prompt_length", "source_required", "url_not_fetchable"]
    assert repr(report).endswith("errors=3)")


def test_lists_made_from_a_changed_payload_keep_the_answer_given() -> None:
    payload: dict[Any, Any] = {"type": "image_edit", "prompt": ""}
    report = luma_schema.check(payload)
    payload["prompt"] = "fine now"
    payload[5] = set()  # no longer JSON at all
    assert report.errors == (report.errors[0],)
    assert report.errors[0].rule == "prompt_length" and report.warnings == ()
    accepted: dict[Any, Any] = image(aspect_ratio="1:1", type="image_edit", source={"url": URL})
    ok = luma_schema.check(accepted)
    accepted["prompt"] = ""
    assert ok.ok and ok.errors == () and ok.warnings == ()
    grown: dict[Any, Any] = image()
    answer = luma_schema.check(grown)
    grown["colour"] = "red"  # a key added since: reading the request still never raises
    assert answer.request is not None and answer.request["prompt"] == grown["prompt"]
    again: dict[Any, Any] = image()
    one = luma_schema.check(again)
    again["colour"] = "red"
    assert request_field(one, "prompt") == again["prompt"]


def test_first_answer_needs_no_list() -> None:
    assert first_answer(luma_schema.check(image())) is ANSWER_OK
    refused = luma_schema.check({"type": "image_edit", "prompt": ""})
    assert first_answer(refused) == (400, "prompt_length") and first_rule(refused) == "prompt_length"
    assert repr(refused).endswith("errors=?)")  # first_answer made no list
    assert first_rule(luma_schema.check(edit())) == "ok"
    assert [e.rule for e in iter_errors({"type": "image_edit", "prompt": ""})] == [
        "prompt_length",
        "source_required",
    ]


def test_request_field_reads_one_normalised_field() -> None:
    for payload in (edit(), image(), b'{"prompt": "x", "model": "uni-1-max"}'):
        report = luma_schema.check(payload)
        assert report.request is not None
        for name in report.request:
            assert request_field(luma_schema.check(payload), name) == report.request[name]
    with pytest.raises(ValueError):
        request_field(luma_schema.check(image(prompt="")), "prompt")


def test_request_field_reads_every_kind_of_ok_report() -> None:
    # A report whose request was read, one of the diagnosis, one made by hand, one unpickled.
    read = luma_schema.check(edit())
    assert read.request is not None
    reports = [read, DIAGNOSIS.check(edit()), pickle.loads(pickle.dumps(luma_schema.check(edit())))]
    for report in reports:
        assert request_field(report, "type") == "image_edit"
        assert request_field(report, "source") == read.request["source"]
    by_hand = Report(201, None, (), (), {"prompt": "x"})
    assert request_field(by_hand, "prompt") == "x"
    assert request_field(by_hand, "style") is None


def test_reports_made_by_hand_are_consistent() -> None:
    error = Violation("image_too_large", 413, "Image exceeds 50 MB size limit", "")
    report = Report(413, error.detail, (error,), (), None)
    assert (report.status, report.detail, report.errors) == (413, error.detail, (error,))
    ok = Report(201, None, (), (Notice("not_fetched", "source.url", "x"),), {"prompt": "x"})
    assert ok.ok and ok.request == {"prompt": "x"} and len(ok.warnings) == 1
    assert Report(201, None, (), (), None).request is None  # no request given, none made
    with pytest.raises(ValueError):
        Report(400, "another text", (error,), (), None)
    with pytest.raises(ValueError):
        Report(201, "a detail", (), (), None)
    with pytest.raises(ValueError):
        RequestError(ok)
