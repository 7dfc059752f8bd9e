"""JSON text: orjson (extra ``fast``) reads it when it can, and every answer is the standard
library's; the reader's own choices (what orjson may read) are unit-tested here too."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from luma_schema import check
from luma_schema._input import json_text

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def answer(payload: Any) -> tuple[Any, ...]:
    report = check(payload)
    return (report.status, report.detail, report.errors, report.warnings, report.request)


def both(payload: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    quick = answer(payload)
    with monkeypatch.context() as patched:
        patched.setattr(json_text, "_orjson", None)
        plain = answer(payload)
    return quick, plain


REQUEST = '{"prompt": "a cat", "source": {"url": "https://example.com/a.png"}}'
CASES = [
    REQUEST,
    '{"prompt": "a", "prompt": "b"}',
    '{"prompt": "a", "prompt": 1}',
    '{"prompt": 1, "prompt": "a"}',
    '{"prompt": "a", "x": {"k": 1, "k": 2}}',
    '{"prompt": "a", "x": {"k": "1", "k": ["2"]}}',
    '{"type": "image_edit", "prompt": "a", "source": {"url": "https://e.com/", "url": "x"}}',
    '{"prompt": "a", "x": [{"a": 1}, {"a": 1}]}',
    '{"prompt": "a", "x": 1e400}',
    '{"prompt": "a", "x": -0, "y": 12345678901234567890123, "z": 1.5E-7}',
    '{"prompt": "a", "x": NaN}',
    '{"prompt": "a", "x": Infinity}',
    '{"prompt": "\\ud800"}',
    '{"prompt": "\\u0061", "prompt": "a"}',
    '{"pro\\u006dpt": "a", "prompt": "b"}',
    '{"prompt": "a\\"b"}',
    '{"prompt": "tab\there"}',
    '{"prompt": "a"} x',
    '{"prompt": "a",}',
    " \r\n\t" + REQUEST + " \n",
    "[" * 300 + "]" * 300,
    "[" * 2000 + "]" * 2000,
    '{"prompt": "a", "x": ' + "[" * 250 + "]" * 250 + "}",
    '{"prompt": "a", "x": ' + "[" * 990 + "]" * 990 + "}",
    '{"prompt": "a", "x": ' + '{"a":' * 1100 + "1" + "}" * 1100 + "}",
    '"just a string"',
    "12",
    "null",
    "",
]


@pytest.mark.parametrize("text", CASES)
def test_orjson_answers_as_the_standard_library(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for payload in (text, text.encode(), b"\xef\xbb\xbf" + text.encode()):
        quick, plain = both(payload, monkeypatch)
        assert quick == plain, payload


@pytest.mark.parametrize(
    "payload",
    [b'{"prompt": "\xff"}', b'{"prompt": "\xed\xa0\x80"}', '{"prompt": "\ud800"}', b"\x00"],
)
def test_text_orjson_refuses_is_decided_by_the_standard_library(
    payload: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick, plain = both(payload, monkeypatch)
    assert quick == plain


def test_a_repeated_member_name_is_found_however_it_is_written() -> None:
    for text in ('{"prompt": "a", "prompt": "a"}', '{"a": {"b": "", "b": ""}, "prompt": "x"}'):
        assert check(text).errors[0].rule == "body_not_object", text
        assert json_text.quick_parse(text.encode()) is json_text.UNSURE


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=4),
    max_leaves=12,
)


@st.composite
def texts(draw: st.DrawFn) -> str:
    """JSON text of a request-like object, sometimes with a member repeated, odd spacing, or a
    character cut out."""
    value = draw(st.dictionaries(st.sampled_from(["prompt", "type", "x", "source"]), json_values))
    text = json.dumps(value, ensure_ascii=draw(st.booleans()), separators=(",", ":"))
    if draw(st.booleans()) and text.startswith("{") and len(text) > 2:
        member = json.dumps(draw(st.sampled_from(["prompt", "x", "type"]))) + ":" + json.dumps(
            draw(json_values)
        )
        text = "{" + member + "," + text[1:]
    if draw(st.booleans()):
        text = text.replace(",", draw(st.sampled_from([", ", " ,", ",\n"])))
    if draw(st.booleans()) and text:
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] + text[at + 1 :]
    return text


@SETTINGS
@given(texts())
def test_generated_texts_answer_alike_with_and_without_orjson(text: str) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        for payload in (text, text.encode("utf-8", "surrogatepass")):
            quick, plain = both(payload, monkeypatch)
            assert quick == plain, payload


def test_plain_request_text_is_read_by_orjson() -> None:
    value = json_text.quick_parse(REQUEST.encode())
    assert value == json.loads(REQUEST)
    assert json_text.quick_parse('{"prompt": "a\\u0062"}') is json_text.UNSURE
