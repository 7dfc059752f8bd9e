"""A Python value of a subclass of a JSON type is read as the base class's value: the answer is
the one for the plain value, wherever it sits (a known field, an unknown one, an image member),
and a non-finite float is no JSON whatever its class.  JSON text in a ``bytearray``, a
``memoryview`` or a ``str`` subclass is read as the same text in ``bytes`` or ``str``."""

from __future__ import annotations

from typing import Any

import pytest

from luma_schema import check

URL = "https://example.com/a.png"


class Text(str):
    pass


class Whole(int):
    pass


class Real(float):
    pass


def answer(payload: Any) -> tuple[Any, ...]:
    report = check(payload)
    return (report.status, report.detail, report.errors, report.warnings, report.request)


@pytest.mark.parametrize(
    ("value", "plain"),
    [(Text("x"), "x"), (Whole(3), 3), (Real(1.5), 1.5), (Real(float("inf")), float("inf"))],
    ids=["str", "int", "float", "inf"],
)
def test_a_subclass_value_answers_as_its_plain_value(value: Any, plain: Any) -> None:
    for where in (
        lambda v: {"prompt": "x", "extra": v},
        lambda v: {"prompt": "x", "image_ref": [{"url": URL, "colour": v}]},
        lambda v: {"prompt": v},
        lambda v: {"prompt": "x", "extra": [1, {"a": v}]},
    ):
        assert answer(where(value)) == answer(where(plain))


@pytest.mark.parametrize(
    "text",
    ['{"prompt": "x", "colour": 1}', '{"type": "image_edit", "prompt": ""}', "[1]", "{"],
    ids=["accepted", "refused", "not_an_object", "not_json"],
)
def test_json_text_in_other_buffers_reads_as_text(text: str) -> None:
    expected = answer(text)
    assert answer(text.encode()) == expected
    for payload in (bytearray(text.encode()), memoryview(text.encode()), Text(text)):
        assert answer(payload) == expected, type(payload)
