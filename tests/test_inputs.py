"""Inputs at the edges: nulls, base64 spellings, URL hosts, JSON text, precedence and skipping,
warnings, the examples, and Python objects that are no JSON at all."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path
from typing import Any

import pytest
from conftest import PNG, PNG64, URL, edit, errors, image
from hypothesis import given, settings
from hypothesis import strategies as st

from luma_schema import catalog, check, media

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def rules(payload: Any) -> list[str]:
    return [e.rule for e in check(payload).errors]


# ---------------------------------------------------------------- the seed examples


@pytest.mark.parametrize("path", sorted((EXAMPLES / "valid").glob("*.json")), ids=lambda p: p.name)
def test_valid_examples_are_ok(path: Path) -> None:
    report = check(path.read_bytes())
    assert report.ok and report.status == 201 and report.errors == ()


INVALID = {
    "bad_aspect_ratio.json": "aspect_ratio_invalid",
    "empty_prompt.json": "prompt_length",
    "manga_landscape.json": "manga_portrait",
    "not_json.json": "body_not_object",
    "private_address.json": "url_not_fetchable",
    "seed_data_without_media_type.json": "media_type_required",
    "seed_invalid_base64.json": "base64_invalid",
    "seed_missing_source.json": "source_required",
    "seed_source_url_and_data.json": "url_and_data",
    "seed_source_with_type_image.json": "source_forbidden",
    "seed_unreachable_url.json": "url_not_fetchable",
    "too_many_refs_edit.json": "image_ref_edit_max",
    "unknown_model.json": "model_unknown",
}
# The newer surface's examples are named after the rule each breaks.
INVALID.update(
    {
        f"{rule}.json": rule
        for rule in (
            "generation_id_invalid",
            "layering_prompt_length",
            "reference_ids_alone",
            "type_unsupported",
            "video_aspect_ratio_invalid",
            "video_exr_needs_hdr",
            "video_hdr_reframe",
            "video_keyframe_index_beyond_5s",
            "video_keyframe_indexes_length",
            "video_loop_duration",
            "video_media_type_required",
        )
    }
)


def test_every_invalid_example_is_named() -> None:
    assert sorted(p.name for p in (EXAMPLES / "invalid").glob("*.json")) == sorted(INVALID)


@pytest.mark.parametrize(("name", "rule"), sorted(INVALID.items()))
def test_invalid_examples_fail_as_named(name: str, rule: str) -> None:
    report = check((EXAMPLES / "invalid" / name).read_bytes())
    assert [e.rule for e in report.errors] == [rule]
    assert report.status == catalog.rule(rule).status


def test_seed_strings() -> None:
    assert check(edit(source=None)).detail == "source is required for type 'image_edit'"
    seed = check((EXAMPLES / "invalid" / "seed_invalid_base64.json").read_bytes())
    assert seed.detail == "source: invalid base64 data"


def test_jsonl_examples_all_check() -> None:
    lines = (EXAMPLES / "requests.jsonl").read_text().splitlines()
    assert lines and all(check(line).status in (201, 400, 413, 422) for line in lines)


# ---------------------------------------------------------------- lengths, nulls, both/neither


def test_prompt_counts_code_points_astral_included() -> None:
    assert check(image(prompt="😀" * 6000)).ok
    assert rules(image(prompt="😀" * 6001)) == ["prompt_length"]
    assert check(image(prompt=" \t\n")).ok  # whitespace-only is valid, no trimming
    assert check(image(user_id="𝄞" * 256)).ok
    assert rules(image(user_id="𝄞" * 257)) == ["user_id_length"]


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        (image(style=None), "style must be a string"),
        (image(type=None), "type must be a string"),
        (image(model=None), "model must be a string"),
        (image(prompt=None), "prompt must be a string"),
        (image(web_search=None), "web_search must be a boolean"),
        (image(image_ref=None), "image_ref must be an array"),
        (image(image_ref=[None]), "image_ref[0] must be an object"),
    ],
)
def test_null_where_not_nullable(payload: dict[str, Any], detail: str) -> None:
    assert [e.detail for e in check(payload).errors] == [detail]


def test_null_where_nullable() -> None:
    report = check(image(aspect_ratio=None, output_format=None, user_id=None, source=None))
    assert report.ok
    assert check(edit(source={"url": URL, "data": None, "media_type": None})).ok
    assert check(edit(source={"url": None, "data": PNG64, "media_type": "image/png"})).ok


def test_both_and_neither() -> None:
    assert rules(edit(source={"url": URL, "data": ""})) == ["url_and_data"]  # "" is given
    assert rules(edit(source={})) == ["url_or_data"]
    assert rules(edit(source={"url": None, "data": None})) == ["url_or_data"]
    assert rules(edit(source={"data": PNG64, "media_type": None})) == ["media_type_required"]


# ---------------------------------------------------------------- base64


@pytest.mark.parametrize(
    "data",
    [
        PNG64.rstrip("=") if PNG64.endswith("=") else PNG64[:-1],  # unpadded / truncated
        base64.b64encode(PNG + b"x").decode().rstrip("="),
        PNG64[:8] + "\n" + PNG64[8:],
        " " + PNG64,
        PNG64 + " ",
        base64.urlsafe_b64encode(b"\xfb\xff\xfe" * 4).decode(),
        "data:image/png;base64," + PNG64,
        "",
        "====",
        "QQ=A",
        "QQ===",
        "éééé",
    ],
)
def test_invalid_base64(data: str) -> None:
    assert rules(edit(source={"data": data, "media_type": "image/png"})) == ["base64_invalid"]


def test_data_prefix_warns_too() -> None:
    report = check(
        edit(source={"data": "data:image/png;base64," + PNG64, "media_type": "image/png"})
    )
    assert [w.code for w in report.warnings] == ["data_uri_prefix"]
    assert report.warnings[0].path == "source.data"


def test_valid_base64_non_zero_pad_bits_accepted() -> None:
    assert check(edit(source={"data": "QR==", "media_type": "image/png"})).ok


_B64_TEXT = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_. é", max_size=24)


@settings(max_examples=500, deadline=None)
@given(_B64_TEXT)
def test_base64_readers_agree(text: str) -> None:
    # One chunk is read in one pass; a Blob (large data) chunk by chunk: both mean SPEC's base64.
    info = media.base64_info(text)
    if text.isascii():
        blob = media.base64_info(media.Blob(text.encode("ascii"), 0, len(text)))
        assert blob == info
    body = text.rstrip("=")
    canonical = len(text) % 4 == 0 and 0 < len(text) <= len(body) + 2 and set(body) <= _ALPHABET
    assert info.valid == canonical, text
    if canonical:
        decoded = base64.b64decode(text)
        assert (info.size, info.head) == (len(decoded), decoded[:16])


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


# ---------------------------------------------------------------- URL hosts

PRIVATE = [
    "https://127.0.0.1/a",
    "https://127.1/a",
    "https://2130706433/a",
    "https://0x7f.0.0.1/a",
    "https://0177.0.0.1/a",
    "https://\uff11\uff12\uff17.0.0.1/a",
    "https://localhost/a",
    "https://localhost./a",
    "https://LOCALHOST/a",
    "https://a.localhost/a",
    "https://x.internal/a",
    "https://x.local/a",
    "https://x.home.arpa/a",
    "https://intranet/a",
    "https://intranet./a",
    "https://10.0.0.1/a",
    "https://172.16.5.4/a",
    "https://192.168.0.1/a",
    "https://169.254.169.254/a",
    "https://100.64.0.1/a",
    "https://0.0.0.0/a",
    "https://[::1]/a",
    "https://[::]/a",
    "https://[::ffff:127.0.0.1]/a",
    "https://[::ffff:7f00:1]/a",
    "https://[::ffff:192.168.0.1]/a",
    "https://[fe80::1]/a",
    "https://[fc00::1]/a",
    "https://[2001:db8::1]/a",
    "https://[64:ff9b::a00:1]/a",
    "https://[2002:c0a8:1::]/a",
    "https://[ff02::1]/a",
    "http://example.com/a",
    "https://user@example.com/a",
    "https://example.com:0/a",
    "https://example.com:99999/a",
    "https:// example.com/a",
    "https://exa\tmple.com/a",
    "https:///a",
]
PUBLIC = [
    "https://example.com/a",
    "HTTPS://Example.COM/a",
    "https://8.8.8.8/a",
    "https://[2606:4700::1111]/a",
    "https://[::ffff:8.8.8.8]/a",
    "https://example.com:8443/a",
    # WHATWG allows leading zeros in a port, however many (more than int() takes as text).
    "https://example.com:" + "0" * 5000 + "443/a",
    "https://[::ffff:8.8.8.8]:" + "0" * 5000 + "1/a",
    "https://b\u00fccher.example/a",
    "https://\uff45xample.com/a",
    "https://example.com./a",
]


@pytest.mark.parametrize("url", PRIVATE)
def test_non_public_urls(url: str) -> None:
    assert errors(check(edit(source={"url": url}))) == [
        ("url_not_fetchable", 422, "source: failed to fetch URL", "source")
    ]


@pytest.mark.parametrize("url", PUBLIC)
def test_public_urls(url: str) -> None:
    assert check(edit(source={"url": url})).ok
    assert media.url_problem(url) is None


# ---------------------------------------------------------------- JSON text


@pytest.mark.parametrize(
    "text",
    [
        b'{"prompt": "a", "prompt": "b"}',
        b'{"prompt": "a", "source": {"url": "x", "url": "y"}}',
        b'{"prompt": NaN}',
        b'{"prompt": "a", "x": Infinity}',
        b'{"prompt": "a"} {}',
        b'{"prompt": "\xff"}',
        '{"prompt": "a"}'.encode("utf-16"),
        b"",
        b"   ",
        b"\xef\xbb\xbf",
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_not_json(text: bytes) -> None:
    assert errors(check(text)) == [
        ("body_not_object", 400, "request body must be a JSON object", "")
    ]


def test_bom_and_big_numbers() -> None:
    assert check(b'\xef\xbb\xbf{"prompt": "a"}').ok
    assert check('\ufeff{"prompt": "a"}').ok
    assert check('{"prompt": "a", "extra": 1e999999, "n": 123456789012345678901234567890}').ok
    assert rules('{"prompt": 1e400}') == ["wrong_type"]


# ---------------------------------------------------------------- precedence and skipping

PAIRS = [
    (image(model="x", aspect_ratio="x"), ["model_unknown", "aspect_ratio_invalid"]),
    (image(prompt="", user_id="u" * 300), ["prompt_length", "user_id_length"]),
    (image(style="x", output_format="x"), ["style_invalid", "output_format_invalid"]),
    (
        {"type": "image_edit", "prompt": "", "image_ref": [{"url": URL}] * 9},
        ["prompt_length", "source_required", "image_ref_edit_max"],
    ),
    (
        image(source={"url": URL}, image_ref=[{}] * 10),
        ["source_forbidden", "image_ref_max"] + ["url_or_data"] * 10,
    ),
    (
        image(style="manga", aspect_ratio="1:1", image_ref=[{"url": URL, "data": PNG64}]),
        ["url_and_data", "manga_portrait"],
    ),
    (
        image(style="manga", aspect_ratio="1:1", image_ref=[{"url": "http://x.com/a"}]),
        ["manga_portrait", "url_not_fetchable"],
    ),
    (
        edit(
            source={"data": "bad", "media_type": "text/plain"},
            image_ref=[{"url": "https://10.0.0.1/"}],
        ),
        ["base64_invalid", "not_an_image", "url_not_fetchable"],
    ),
    (
        edit(source={"url": "https://localhost/", "media_type": "x"}, image_ref=[{}]),
        ["url_or_data", "not_an_image", "url_not_fetchable"],
    ),
    (image(prompt=3, model="x"), ["wrong_type", "model_unknown"]),
    (
        {"prompt": 1, "source": 2, "image_ref": [3, {"url": 4}]},
        ["wrong_type"] * 4,
    ),
]


@pytest.mark.parametrize(("payload", "expected"), PAIRS)
def test_precedence(payload: Any, expected: list[str]) -> None:
    report = check(payload)
    assert [e.rule for e in report.errors] == expected
    assert report.detail == report.errors[0].detail and report.status == report.errors[0].status


def test_row_two_paths_in_depth_first_order() -> None:
    report = check({"prompt": 1, "source": 2, "image_ref": [3, {"url": 4}]})
    assert [e.path for e in report.errors] == [
        "prompt",
        "source",
        "image_ref[0]",
        "image_ref[1].url",
    ]


def test_skipping_rules() -> None:
    # A value that failed row 2 is neither absent nor present.
    assert errors(check({"prompt": "x", "source": 5})) == [
        ("wrong_type", 400, "source must be an object", "source")
    ]
    assert rules({"type": "image_edit", "prompt": "x", "source": 5}) == ["wrong_type"]
    assert rules({"prompt": 5}) == ["wrong_type"]  # no prompt_missing, no prompt_length
    # Row 4 only with a valid model; rows 11-14 and 18 only with a valid type.
    assert rules(image(model="x", type="y")) == ["model_unknown"]
    assert rules(image(type="y", source={"url": URL}, image_ref=[{"url": URL}] * 12)) == [
        "type_unsupported"
    ]
    assert rules(image(type=1, style="manga", aspect_ratio="1:1")) == ["wrong_type"]
    # Row 18 only when style and aspect_ratio are valid.
    assert rules(image(style="manga", aspect_ratio="4:5")) == ["aspect_ratio_invalid"]
    assert rules(image(style=1, aspect_ratio="1:1")) == ["wrong_type"]
    # An image that failed 2, 15, 16 or 17 gets none of 19-22.
    assert rules(edit(source={"data": "!!", "url": "http://x"})) == ["url_and_data"]
    assert rules(edit(source={"data": "!!"})) == ["media_type_required"]
    assert rules(edit(source={"data": 1, "media_type": "text/plain"})) == ["wrong_type"]
    # A source forbidden by row 12 is still checked by rows 15-22.
    assert rules(image(source={"url": "https://10.0.0.1/"})) == [
        "source_forbidden",
        "url_not_fetchable",
    ]
    # Row 20 only when row 19 passed.
    huge_bad = "QUFB" * (catalog.MAX_IMAGE_BYTES // 3) + "QUF"
    assert errors(check(edit(source={"data": huge_bad, "media_type": "image/png"}))) == [
        ("base64_invalid", 422, "source: invalid base64 data", "source")
    ]


# ---------------------------------------------------------------- warnings


def codes(payload: Any) -> list[tuple[str, str]]:
    return [(w.code, w.path) for w in check(payload).warnings]


def test_warnings() -> None:
    report = check(image(image_refs=[]))
    assert report.ok
    assert [(w.code, w.path) for w in report.warnings] == [("unknown_field_near", "image_refs")]
    assert "image_ref" in report.warnings[0].message
    assert codes(image(zzz=1)) == [("unknown_field", "zzz")]
    assert codes(edit(source={"url": URL, "urll": 1})) == [("unknown_member_near", "source.urll")]
    assert codes(edit(aspect_ratio="1:1")) == [("aspect_ratio_ignored", "aspect_ratio")]
    assert codes(edit(aspect_ratio=None)) == []
    assert codes(edit(source={"data": PNG64, "media_type": "image/jpeg"})) == [
        ("format_mismatch", "source.data")
    ]
    assert codes(edit(source={"data": PNG64, "media_type": "image/png"})) == []
    assert codes(edit(source={"data": "AAAA", "media_type": "image/png"})) == [
        ("format_unknown", "source.data")
    ]
    big = base64.b64encode(PNG + b"\x00" * (4 << 20)).decode()
    assert codes(edit(source={"data": big, "media_type": "image/png"})) == [
        ("image_large", "source.data")
    ]
    # Warnings come with invalid requests too, and never change the verdict.
    report = check({"type": "image_edit", "prompt": "x", "aspect_ratio": "1:1", "extra": 1})
    assert not report.ok and {w.code for w in report.warnings} == {
        "aspect_ratio_ignored",
        "unknown_field",
    }


def test_warnings_quote_no_submitted_value() -> None:
    secret = "sk-SECRET-TOKEN"
    report = check(
        edit(
            source={"data": PNG64, "media_type": "image/jpeg", secret: secret}, **{secret + "x": 1}
        )
    )
    for w in report.warnings:
        assert secret not in w.message.replace(w.path, "")


# ---------------------------------------------------------------- not JSON at all


class HostileStr(str):
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq")

    def __hash__(self) -> int:
        raise RuntimeError("hash")

    def __len__(self) -> int:
        raise RuntimeError("len")

    __ne__ = __eq__  # type: ignore[assignment]


class HostileKey(str):
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq")

    __hash__ = str.__hash__


class HostileDict(dict):  # type: ignore[type-arg]
    def get(self, *args: Any) -> Any:
        raise RuntimeError("get")

    def keys(self) -> Any:
        raise RuntimeError("keys")

    def items(self) -> Any:
        raise RuntimeError("items")

    def __iter__(self) -> Any:
        raise RuntimeError("iter")


class Custom:
    pass


def cyclic() -> dict[str, Any]:
    body: dict[str, Any] = {"prompt": "x"}
    body["extra"] = body
    return body


def deep() -> dict[str, Any]:
    body: dict[str, Any] = {"prompt": "x"}
    node: list[Any] = []
    body["extra"] = node
    for _ in range(100_000):
        child: list[Any] = []
        node.append(child)
        node = child
    return body


ODD = [
    {1, 2},
    float("nan"),
    Custom(),
    b"\x00\x01",
    bytearray(b'{"prompt": "x"}'),
    memoryview(b'{"prompt": "x"}'),
    {"prompt": {1, 2}},
    {"prompt": float("nan")},
    {"prompt": "x", "extra": float("inf")},
    {"prompt": "x", "extra": Custom()},
    {"prompt": HostileStr("x")},
    {HostileKey("prompt"): "x"},
    {HostileKey("zzz"): "x", "prompt": "x"},
    {"prompt": "x", "model": HostileStr("uni-1")},
    HostileDict(prompt="x"),
    {"prompt": "x", "source": HostileDict(url=URL)},
    {"type": "image_edit", "prompt": "x", "source": {"url": HostileStr(URL)}},
    {"prompt": "x", "image_ref": ({"url": URL},)},
    {"prompt": "x", "image_ref": [{"url": URL, 1: 2}]},
    {"prompt": "x", "image_ref": [{"url": URL, "x": {3}}]},
    cyclic(),
    deep(),
    {"prompt": "x", "image_ref": [{}] * 100_000},
    {(): 1},
]


@pytest.mark.parametrize("payload", ODD, ids=lambda p: type(p).__name__)
def test_odd_python_objects_never_raise(payload: Any) -> None:
    report = check(payload)
    assert report.status in (201, 400, 413, 422)
    if not report.ok:
        assert report.detail == report.errors[0].detail
    report.as_dict()
    json.dumps(report.as_dict())


def test_odd_objects_answer_as_spec_says() -> None:
    assert rules({1, 2}) == ["body_not_object"]
    assert rules({"prompt": {1, 2}}) == ["wrong_type"]
    assert rules({"prompt": math.nan}) == ["wrong_type"]
    assert rules({"prompt": "x", "extra": Custom()}) == ["body_not_object"]
    assert rules(cyclic()) == ["body_not_object"]
    assert rules({"prompt": "x", "image_ref": ({"url": URL},)}) == []  # a tuple is an array
    # A str subclass is a string: its value counts, not its overrides.
    report = check({"prompt": "x", "model": type("S", (str,), {})("uni-1")})
    assert report.ok and type(report.request["model"]) is str  # type: ignore[index]
