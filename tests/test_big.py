"""The 50 MiB cap, exactly, and the memory check() needs for an image that large."""

from __future__ import annotations

import gc
import json
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from luma_schema import catalog, check
from luma_schema.engine import request_field

CAP = catalog.MAX_IMAGE_BYTES


def b64_of_size(size: int) -> str:
    """Valid base64 of exactly ``size`` decoded bytes (no encoding needed)."""
    tail = {0: "", 1: "QQ==", 2: "QUE="}[size % 3]
    return "QUFB" * (size // 3) + tail


def request(data: str) -> dict[str, Any]:
    return {
        "type": "image_edit",
        "prompt": "x",
        "source": {"data": data, "media_type": "image/png"},
    }


def test_exactly_the_cap_is_valid_one_more_is_413() -> None:
    assert CAP == 52_428_800
    assert check(request(b64_of_size(CAP))).ok
    over = check(request(b64_of_size(CAP + 1)))
    assert (over.status, over.detail) == (413, "source: image exceeds 50 MB limit")
    assert [e.rule for e in over.errors] == ["image_too_large"]


def test_invalid_and_oversized_is_422() -> None:
    data = b64_of_size(CAP + 3)
    bad = data[:100] + "*" + data[101:]
    report = check(request(bad))
    assert (report.status, report.detail) == (422, "source: invalid base64 data")
    assert len(report.errors) == 1


def peak(func: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def big() -> dict[str, Any]:
    return request(b64_of_size(CAP))


def test_memory_of_a_dict_with_a_50_mib_image(big: dict[str, Any]) -> None:
    def run() -> None:
        report = check(big)
        assert report.ok

    assert peak(run) <= 32 << 20


def test_memory_of_the_same_request_as_json_bytes(big: dict[str, Any]) -> None:
    text = json.dumps(big).encode()
    reports: list[Any] = []

    def run() -> None:
        reports.append(check(text))

    assert peak(run) <= len(text) + (32 << 20)
    report = reports[0]
    assert report.ok
    # The request is made lazily, and then it is the real string.
    request_ = report.request
    assert request_["source"]["data"] == big["source"]["data"]
    assert request_["source"]["media_type"] == "image/png" and request_["type"] == "image_edit"
    assert report.request is request_


def test_big_json_text_still_answers_errors_and_warnings() -> None:
    body = {
        "prompt": "x",
        "type": "image_edit",
        "source": {"data": b64_of_size(CAP + 1), "media_type": "image/png"},
        "extra": 1,
    }
    report = check(json.dumps(body))
    assert [e.rule for e in report.errors] == ["image_too_large"]
    assert [(w.code, w.path) for w in report.warnings] == [("unknown_field", "extra")]


LONG = "A" * 1_200_000  # base64-only, so a big JSON text keeps it as a slice of the input


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": "x", "model": LONG},
        {"prompt": "x", "style": LONG},
        {"prompt": "x", "image_ref": [{"url": LONG}]},
        {"prompt": "x", "image_ref": [{"url": "https://example.com/a", "media_type": LONG}]},
        {"prompt": LONG},
        {"prompt": "x", "user_id": LONG},
        {"prompt": "x", "unknown": LONG},
        {"type": "image_edit", "prompt": "x", "source": {"data": LONG, "media_type": "image/png"}},
        {"prompt": "x", "image_ref": [{"data": LONG, "media_type": "image/png"}]},
    ],
    ids=lambda b: next(k for k, v in b.items() if LONG in json.dumps(v)),
)
def test_long_strings_in_big_json_text_answer_as_the_dict(body: dict[str, Any]) -> None:
    text, direct = check(json.dumps(body)), check(body)
    assert (text.status, text.detail, text.errors, text.warnings) == (
        direct.status,
        direct.detail,
        direct.errors,
        direct.warnings,
    )
    assert text.request == direct.request


def test_one_field_of_a_big_json_text_reads_as_the_dict() -> None:
    body = {"type": "image_edit", "prompt": "x", "source": {"data": LONG, "media_type": "image/png"}}
    direct = check(body).request
    assert direct is not None
    for name in ("type", "prompt", "source", "image_ref"):
        for payload in (json.dumps(body), json.dumps(body).encode()):
            assert request_field(check(payload), name) == direct[name]
