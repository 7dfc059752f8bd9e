"""Tests that pin what the mutation run showed unpinned: the code that runs once at import (rule
validation, the catalogue's own checks, the compiled path's generator, the diagnosis' prepared
steps) exercised again at test time, and the rule kinds' parameters, reads, marks and reprs."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from luma_schema import catalog, engine, media
from luma_schema.rules import (
    MISSING,
    Advice,
    AllowedWith,
    Base64,
    EitherOf,
    Fetched,
    Field,
    HttpStatus,
    ImageMediaType,
    JsonBody,
    JsonType,
    JsonTypes,
    Length,
    MaxBytes,
    MaxItemsFor,
    NotBoth,
    OneOf,
    OnlyFor,
    PublicHttpsUrl,
    Required,
    RequiredFor,
    RequiredWith,
    Scope,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
URL = "https://example.com/a.png"
PNG64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgAAACAAAB4iG8MwAAAABJRU5ErkJggg=="
)


class _Reading(Fetched):
    """A network rule that says which member it reads (the catalogue's own ones read none)."""

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.member,)


def corpus() -> list[Any]:
    """Requests that reach every rule and every branch of the compiled path."""
    bodies: list[Any] = [
        json.loads(line)
        for line in (EXAMPLES / "requests.jsonl").read_text().splitlines()
        if line.strip()
    ]
    for path in sorted(EXAMPLES.rglob("*.json")):
        try:
            bodies.append(json.loads(path.read_text()))
        except ValueError:
            continue
    edit = {"type": "image_edit", "prompt": "Edit", "source": {"url": URL}}
    bodies += [
        {"prompt": "x"},
        {"prompt": "x", "type": "image", "model": "uni-1-max", "web_search": True},
        {"prompt": "x", "web_search": False, "user_id": None, "aspect_ratio": None},
        {"prompt": "x", "output_format": "png", "style": "auto", "user_id": "u" * 256},
        {"prompt": "x", "user_id": "u" * 257},
        {"prompt": "x" * 6000},
        {"prompt": "x" * 6001},
        {"prompt": ""},
        {},
        {"prompt": None},
        {"prompt": 5},
        {"prompt": "x", "web_search": "yes"},
        {"prompt": "x", "web_search": None},
        {"prompt": "x", "model": "uni-2", "type": "video"},
        {"prompt": "x", "type": "video"},
        {"prompt": "x", "type": None},
        {"prompt": "x", "aspect_ratio": "4:5", "style": "anime", "output_format": "gif"},
        {"prompt": "x", "style": "manga"},
        {"prompt": "x", "style": "manga", "aspect_ratio": "9:16"},
        {"prompt": "x", "style": "manga", "aspect_ratio": "1:1"},
        {"prompt": "x", "style": "manga", "aspect_ratio": "4:5"},
        {"type": "image_edit", "prompt": "x", "style": "manga", "aspect_ratio": "16:9"},
        {"type": "image_edit", "prompt": "x"},
        {"type": "image_edit", "prompt": "x", "source": None},
        {"prompt": "x", "source": {"url": URL}},
        {"prompt": "x", "source": None},
        {"prompt": "x", "image_ref": []},
        {"prompt": "x", "image_ref": [{"url": URL}] * 9},
        {"prompt": "x", "image_ref": [{"url": URL}] * 10},
        {**edit, "image_ref": [{"url": URL}] * 8},
        {**edit, "image_ref": [{"url": URL}] * 9},
        {**edit, "image_ref": [{"url": URL}] * 20},
        {**edit, "image_ref": None},
        {**edit, "image_ref": {"url": URL}},
        {**edit, "image_ref": [None]},
        {**edit, "image_ref": ["x"]},
        {**edit, "source": {"url": URL, "data": PNG64}},
        {**edit, "source": {}},
        {**edit, "source": {"url": None, "data": None}},
        {**edit, "source": {"data": PNG64}},
        {**edit, "source": {"data": PNG64, "media_type": "image/png"}},
        {**edit, "source": {"data": PNG64, "media_type": "text/plain"}},
        {**edit, "source": {"data": "abc", "media_type": "image/png"}},
        {**edit, "source": {"url": URL, "media_type": "image/png"}},
        {**edit, "source": {"url": URL, "media_type": "text/plain"}},
        {**edit, "source": {"url": URL, "media_type": None}},
        {**edit, "source": {"url": "http://example.com/a.png"}},
        {**edit, "source": {"url": "https://10.0.0.1/a.png"}},
        {**edit, "source": {"url": 5}},
        {**edit, "source": {"url": URL, "extra": 1}},
        {**edit, "source": "x"},
        {**edit, "aspect_ratio": "1:1"},
        {**edit, "extra": 1},
        {
            **edit,
            "source": {"url": URL, "data": PNG64},
            "image_ref": [{}, {"url": "http://x"}, {"data": PNG64}, {"url": URL}],
        },
        {
            "prompt": "",
            "model": "uni-2",
            "aspect_ratio": "5:4",
            "source": {"url": "ftp://x"},
            "image_ref": [{"url": URL, "data": "A"}] * 11,
        },
        {
            "type": "image_edit",
            "prompt": "x",
            "source": {"url": "https://127.0.0.1/", "media_type": "application/json"},
            "image_ref": [{"url": URL, "media_type": "image/jpeg"}, {"media_type": "image/png"}],
        },
    ]
    return bodies


def answer(report: engine.Report) -> tuple[Any, ...]:
    return (report.status, report.detail, report.errors, report.warnings, report.request)


def test_a_freshly_compiled_path_agrees_with_the_diagnosis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Generated now, not at import: the generators themselves are then under test.
    monkeypatch.setattr(engine, "_SHAPES", {})
    fresh_fast = engine._compile()
    answered = 0
    for body in corpus():
        expected = engine._diagnose(body, False)
        got = fresh_fast(body) if type(body) is dict else None
        if got is not None:
            answered += 1
            assert answer(got) == answer(expected), body
        if type(body) is dict:
            special = engine._generate(tuple(body))(body)
            if special is not None:
                assert answer(special) == answer(expected), body
        assert answer(engine.check(body)) == answer(expected)
        assert answer(engine.check(json.dumps(body))) == answer(expected)
    assert answered > 60


def test_the_compiled_path_answers_the_common_cases_itself() -> None:
    fresh_fast = engine._compile()
    edit = {"type": "image_edit", "prompt": "Edit", "source": {"url": URL}}
    answered = [
        {"prompt": "x"},
        {"prompt": "x", "image_ref": [{"url": URL}] * 9},
        {**edit, "image_ref": [{"url": URL}] * 8},
        {"prompt": "x", "style": "manga", "aspect_ratio": "9:16", "model": "uni-1-max"},
        {"prompt": "x", "user_id": "u", "output_format": "jpeg", "web_search": True},
        {"prompt": "", "model": "uni-2"},
        {"prompt": "x", "style": "manga", "aspect_ratio": "1:1"},
        {"prompt": "x", "image_ref": [{"url": URL}] * 10},
        {"type": "image_edit", "prompt": "x"},
        {"prompt": "x", "source": {"url": URL}},
        {**edit, "source": {"url": URL, "data": "x"}},
        {**edit, "source": {}},
        {**edit, "source": {"data": "x"}},
        {**edit, "source": {"url": "http://example.com/"}},
        {**edit, "source": {"url": URL, "media_type": "text/plain"}},
        {"prompt": "x", "user_id": "u" * 257, "aspect_ratio": "4:5", "style": "x"},
        # Data decoded on the compiled path: accepted when quiet, refused with its warnings.
        {**edit, "source": {"data": PNG64, "media_type": "image/png"}},
        {"prompt": "x", "image_ref": [{"url": URL}, {"data": PNG64, "media_type": "image/png"}]},
        {**edit, "source": {"data": PNG64[:-4] + "!!!!", "media_type": "image/jpeg"}},
        {**edit, "source": {"data": "AAAA", "media_type": "image/png"}, "model": "uni-2"},
        {**edit, "source": {"data": "AAA", "media_type": "image/png"}},
        {**edit, "source": {"data": "data:image/png;base64," + PNG64, "media_type": "image/png"}},
    ]
    for body in answered:
        got = fresh_fast(body)
        assert got is not None, body
        assert answer(got) == answer(engine._diagnose(body, False)), body
    # An accepted request that earns a warning is the diagnosis' business (it builds the request).
    for body in (
        {**edit, "aspect_ratio": "1:1"},
        {"prompt": "x", "extra": 1},
        {**edit, "source": {"data": "AAAA", "media_type": "image/png"}},
        {"prompt": "x", "web_search": 1},
    ):
        assert fresh_fast(body) is None


def test_steps_group_consecutive_image_rules_between_request_rules() -> None:
    steps = engine._steps()
    flat: list[Any] = []
    for before, after in itertools.pairwise(steps):
        assert not (isinstance(before, tuple) and isinstance(after, tuple))
    for step in steps:
        if isinstance(step, tuple):
            assert step and all(rule.scope is Scope.IMAGE for rule in step)
            flat.extend(step)
        else:
            assert step.scope is Scope.REQUEST
            flat.append(step)
    assert tuple(flat) == engine._ORDERED
    assert [r.id for r in flat] == [
        r.id for r in catalog.RULES if r.scope in (Scope.REQUEST, Scope.IMAGE)
    ]


@pytest.mark.parametrize("rule", engine._ORDERED, ids=lambda r: r.id)
def test_prepared_rules_render_as_the_rule_does(rule: Any) -> None:
    prepared = engine._prepare(rule)
    assert (prepared.id, prepared.status, prepared.rule) == (rule.id, rule.status, rule)
    assert prepared.reads == frozenset(rule.reads)
    assert prepared.marks == rule.marks
    path = getattr(rule, "field", "") if rule.scope is Scope.REQUEST else "image_ref[3]"
    assert prepared.path == (path if rule.scope is Scope.REQUEST else "")
    echo = {name: f"<{name}>" for name in rule._echo_names()}
    assert prepared.echoes == bool(echo)
    violation = prepared.violation(path, echo)
    assert violation.detail == rule.render(path, **echo)
    assert (violation.rule, violation.status, violation.path) == (rule.id, rule.status, path)
    if rule.scope is Scope.REQUEST and not echo:
        assert prepared.constant == violation
    else:
        assert prepared.constant is None
    assert engine._template(rule).format(path=path, **echo) == rule.render(path, **echo)


def test_a_template_with_literal_braces_is_refused() -> None:
    rule = Required("odd_rule", 400, "{field} {{literal}}", field="prompt")
    with pytest.raises(ValueError, match="odd_rule"):
        engine._template(rule)
    rule = Required("odd_rule", 400, "{field} }}", field="prompt")
    with pytest.raises(ValueError, match="literal braces"):
        engine._template(rule)


def test_emitters_cover_every_rule_kind_and_refuse_unknown_ones() -> None:
    kinds = {type(rule) for rule in catalog.RULES}
    assert kinds <= set(engine._EMITTERS)
    ns: dict[str, Any] = {}
    assert engine._const(ns, 5) == "C0" and ns == {"C0": 5}
    assert engine._const(ns, 6) == "C1" and ns["C1"] == 6


def test_normalise_fills_every_field_in_table_order() -> None:
    out = engine._normalise({"prompt": "x", "source": {"url": URL}, "image_ref": [{"data": "A"}]})
    assert list(out) == [f.name for f in catalog.FIELDS]
    assert out["source"] == {"url": URL, "data": None, "media_type": None}
    assert out["image_ref"] == [{"url": None, "data": "A", "media_type": None}]
    assert out["type"] == "image" and out["model"] == "uni-1" and out["style"] == "auto"
    assert out["web_search"] is False and out["aspect_ratio"] is None
    bare = engine._normalise({"prompt": "x", "source": None})
    assert bare["source"] is None and bare["image_ref"] == []


def test_url_ok_remembers_good_urls_within_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    cache: set[str] = set()
    monkeypatch.setattr(engine, "_URL_OK", cache)
    assert engine._url_ok("https://good.example/a.png")
    assert "https://good.example/a.png" in cache
    assert not engine._url_ok("https://127.0.0.1/")
    assert "https://127.0.0.1/" not in cache
    long_url = "https://good.example/" + "a" * 2100
    assert engine._url_ok(long_url) and long_url not in cache
    cache.update(f"https://h{i}.example/" for i in range(engine._URL_OK_MAX))
    assert engine._url_ok("https://new.example/")
    assert cache == {"https://new.example/"}


# ---------------------------------------------------------------- rules validate themselves


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Required("Bad-Id", 400, "{field}", field="p"),
            "rule id 'Bad-Id' must be lower_snake_case",
        ),
        (lambda: Required("", 400, "{field}", field="p"), "rule id '' must be lower_snake_case"),
        (
            lambda: Required("UPPER", 400, "{field}", field="p"),
            "rule id 'UPPER' must be lower_snake_case",
        ),
        (
            lambda: Required("ok_id", 418, "{field}", field="p"),
            "ok_id: status 418 is not one the API answers",
        ),
        (
            lambda: Required("ok_id", 201, "{field}", field="p"),
            "ok_id: status 201 is not one the API answers",
        ),
        (
            lambda: Required("ok_id", 400, "{nope}", field="p"),
            "ok_id: message uses unknown placeholders ['nope']",
        ),
        (
            lambda: Required("ok_id", 400, "{path}", field="p"),
            "ok_id: message uses unknown placeholders ['path']",
        ),
        (
            lambda: Length("ok_id", 400, "{field}", field="p", min=7, max=1),
            "ok_id: need 0 <= min <= max, got 7..1",
        ),
        (
            lambda: Length("ok_id", 400, "{field}", field="p", min=-1, max=1),
            "ok_id: need 0 <= min <= max, got -1..1",
        ),
        (
            lambda: OneOf("ok_id", 400, "{value}", field="m", values=()),
            "ok_id: values must be distinct and non-empty",
        ),
        (
            lambda: OneOf("ok_id", 400, "{value}", field="m", values=("a", "a")),
            "ok_id: values must be distinct and non-empty",
        ),
        (
            lambda: OneOf("ok_id", 400, "{value}", field="m", values=("a", "b"), listing="a, c"),
            "ok_id: the verbatim listing does not name exactly the values",
        ),
        (
            lambda: OneOf("ok_id", 400, "{value}", field="m", values=("a", "b"), listing="a"),
            "ok_id: the verbatim listing does not name exactly the values",
        ),
        (lambda: MaxItemsFor("ok_id", 400, "{max}", field="i", max=-1), "ok_id: max must be >= 0"),
        (
            lambda: AllowedWith("ok_id", 400, "{field}", field="s", allowed=()),
            "ok_id: allowed must not be empty",
        ),
        (
            lambda: MaxBytes("ok_id", 413, "{path}", member="d", max=0),
            "ok_id: max must be a positive whole number of MiB",
        ),
        (
            lambda: MaxBytes("ok_id", 413, "{path}", member="d", max=(1 << 20) + 1),
            "ok_id: max must be a positive whole number of MiB",
        ),
        (
            lambda: MaxBytes("ok_id", 413, "{path}", member="d", max=-(1 << 20)),
            "ok_id: max must be a positive whole number of MiB",
        ),
        (
            lambda: Fetched("ok_id", 422, "{path}", member="u", timeout=0, max_redirects=1),
            "ok_id: timeout must be > 0 and max_redirects >= 0",
        ),
        (
            lambda: Fetched("ok_id", 422, "{path}", member="u", timeout=1, max_redirects=-1),
            "ok_id: timeout must be > 0 and max_redirects >= 0",
        ),
        (
            lambda: Field("not an identifier", JsonType.STRING),
            "field name 'not an identifier' is not an identifier",
        ),
        (lambda: Field("name", JsonType.ARRAY), "name: items is given exactly for arrays"),
        (
            lambda: Field("name", JsonType.STRING, items=JsonType.OBJECT),
            "name: items is given exactly for arrays",
        ),
        (
            lambda: Field("name", JsonType.STRING, nullable=True, default="x"),
            "name: a nullable field defaults to null",
        ),
        (
            lambda: Advice("ok_id", "{path} {value} {other}"),
            "ok_id: message uses unknown placeholders ['other', 'value']",
        ),
    ],
)
def test_a_wrong_rule_fails_when_defined(make: Any, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        make()
    assert str(raised.value) == message


def test_right_rules_are_defined() -> None:
    # The boundaries of each validation are allowed.
    Length("ok_id", 400, "{field}", field="prompt", min=0, max=0)
    Length("ok_id", 400, "{field}", field="prompt", min=3, max=3)
    MaxItemsFor("ok_id", 400, "{max}", field="image_ref", max=0)
    MaxBytes("ok_id", 413, "{path} {max_mb}", member="data", max=1 << 20)
    Fetched("ok_id", 422, "{path}", member="url", timeout=0.5, max_redirects=0)
    OneOf("ok_id", 400, "{value} {valid}", field="model", values=("b", "a"), listing="b, a")
    Field("name", JsonType.STRING, nullable=True, default=None)
    Field("name", JsonType.ARRAY, items=JsonType.OBJECT)
    Advice("ok_id", "{path} {near} {found} {named} {limit_mb}")
    Required("a1_b", 422, "{field}", field="prompt")
    JsonTypes("ok_id", 400, "{path} must be {expected}")


def test_reprs_are_short() -> None:
    r = catalog.rule
    assert repr(r("prompt_length")) == "Length(prompt_length, prompt, 1..6000)"
    assert repr(r("prompt_missing")) == "Required(prompt_missing, prompt)"
    assert repr(r("model_unknown")) == "OneOf(model_unknown, model in uni-1|uni-1-max)"
    assert repr(r("source_required")) == "RequiredFor(source_required, source if type=image_edit)"
    assert repr(r("source_forbidden")) == (
        "OnlyFor(source_forbidden, source only if type=image_edit)"
    )
    assert repr(r("image_ref_max")) == "MaxItemsFor(image_ref_max, image_ref <= 9 if type=image)"
    assert repr(r("manga_portrait")) == (
        "AllowedWith(manga_portrait, style=manga needs aspect_ratio in 2:3|9:16|1:2|1:3)"
    )
    assert repr(r("url_and_data")) == "NotBoth(url_and_data, url, data)"
    assert repr(r("url_or_data")) == "EitherOf(url_or_data, url | data)"
    assert (
        repr(r("media_type_required")) == "RequiredWith(media_type_required, media_type with data)"
    )
    assert repr(r("base64_invalid")) == "Base64(base64_invalid, data)"
    assert repr(r("image_too_large")) == "MaxBytes(image_too_large, data <= 52428800 bytes)"
    assert repr(r("not_an_image")) == "ImageMediaType(not_an_image, media_type)"
    assert repr(r("url_not_fetchable")) == "PublicHttpsUrl(url_not_fetchable, url)"
    assert repr(r("url_fetch_failed")) == "Fetched(url_fetch_failed, url, 18s, 5 redirects)"
    assert repr(r("url_http_error")) == "HttpStatus(url_http_error, url < 400)"
    assert repr(r("body_not_object")) == "JsonBody(body_not_object)"
    assert repr(MISSING) == "MISSING"
    assert repr(catalog.FIELDS[0]) == "Field(type: string)"
    assert repr(catalog.FIELDS[3]) == "Field(aspect_ratio: string|null)"


def test_reads_and_marks_decide_the_skipping() -> None:
    r = catalog.rule
    assert r("type_unsupported").reads == ("type", "model")
    assert r("type_unsupported").marks == "type"
    assert r("prompt_missing").reads == ("prompt",) and r("prompt_missing").marks == "prompt"
    assert r("prompt_length").reads == ("prompt",) and r("prompt_length").marks == "prompt"
    assert r("source_required").reads == ("type", "source")
    assert r("source_required").marks == "source"
    assert r("source_forbidden").reads == ("type", "source")
    assert r("source_forbidden").marks is None  # a forbidden source is still an image
    assert r("image_ref_max").reads == ("type", "image_ref") and r("image_ref_max").marks is None
    assert r("manga_portrait").reads == ("type", "style", "aspect_ratio")
    assert r("manga_portrait").marks is None
    for rule_id in ("url_and_data", "url_or_data"):
        assert r(rule_id).reads == ("url", "data") and r(rule_id).marks == "image"
    assert r("media_type_required").reads == ("media_type", "data")
    assert r("media_type_required").marks == "image"
    assert r("base64_invalid").reads == ("data",) and r("base64_invalid").marks == "data"
    assert r("image_too_large").reads == ("data",) and r("image_too_large").marks == "data"
    assert r("not_an_image").reads == ("media_type",) and r("not_an_image").marks == "media_type"
    assert r("url_not_fetchable").reads == ("url",) and r("url_not_fetchable").marks == "url"
    assert r("body_not_object").reads == () and r("body_not_object").marks is None
    assert r("url_fetch_failed").params() == {"member": "url", "timeout": 18.0, "max_redirects": 5}
    assert r("url_http_error").params() == {"member": "url", "min_error": 400}
    assert r("image_too_large").params() == {
        "member": "data",
        "max": 52_428_800,
        "max_mb": 50,
    }
    assert r("manga_portrait").params() == {
        "field": "style",
        "equals": "manga",
        "other": "aspect_ratio",
        "allowed": "2:3, 9:16, 1:2, 1:3",
        "key": "type",
        "key_equals": "image",
    }
    assert r("image_ref_max").params() == {
        "field": "image_ref",
        "max": 9,
        "key": "type",
        "equals": "image",
    }
    assert r("source_required").params() == {
        "field": "source",
        "key": "type",
        "equals": "image_edit",
    }
    assert r("source_forbidden").params() == r("source_required").params()
    assert r("prompt_length").params() == {"field": "prompt", "min": 1, "max": 6000}
    assert r("prompt_missing").params() == {"field": "prompt"}
    assert r("url_and_data").params() == {"a": "url", "b": "data"}
    assert r("url_or_data").params() == {"a": "url", "b": "data"}
    assert r("media_type_required").params() == {"member": "media_type", "with_": "data"}
    assert r("base64_invalid").params() == {}
    assert r("aspect_ratio_invalid").params() == {
        "field": "aspect_ratio",
        "valid": "1:1, 1:2, 1:3, 16:9, 2:1, 2:3, 3:1, 3:2, 9:16",
    }
    assert r("style_invalid").params() == {"field": "style", "valid": "auto, manga"}
    assert r("output_format_invalid").params() == {"field": "output_format", "valid": "jpeg, png"}


class View:
    def __init__(self, **values: Any) -> None:
        self.values = values

    def get(self, name: str) -> Any:
        return self.values.get(name, MISSING)

    def base64(self, name: str) -> media.Base64Info:
        return media.base64_info(self.values[name])


def test_rule_checks_at_their_edges() -> None:
    r = catalog.rule
    assert r("model_unknown").check(View(model="uni-1")) is None
    assert r("model_unknown").check(View(model=None)) is None
    assert r("model_unknown").check(View()) is None
    assert r("model_unknown").check(View(model="x")) == {"value": "x"}
    assert r("type_unsupported").check(View(type="v")) == {"value": "v", "model": MISSING}
    assert r("prompt_missing").check(View(prompt=None)) is None
    assert r("prompt_missing").check(View()) == {}
    assert r("prompt_length").check(View(prompt="")) == {}
    assert r("prompt_length").check(View(prompt="x")) is None
    assert r("prompt_length").check(View(prompt="x" * 6000)) is None
    assert r("prompt_length").check(View(prompt="x" * 6001)) == {}
    assert r("prompt_length").check(View(prompt=None)) is None
    assert r("source_required").check(View(type="image_edit", source=None)) == {}
    assert r("source_required").check(View(type="image_edit")) == {}
    assert r("source_required").check(View(type="image_edit", source={})) is None
    assert r("source_required").check(View(type="image")) is None
    assert r("source_forbidden").check(View(type="image", source={})) == {}
    assert r("source_forbidden").check(View(type="image", source=None)) is None
    assert r("source_forbidden").check(View(type="image_edit", source={})) is None
    assert r("image_ref_max").check(View(type="image", image_ref=[1] * 9)) is None
    assert r("image_ref_max").check(View(type="image", image_ref=[1] * 10)) == {}
    assert r("image_ref_max").check(View(type="image_edit", image_ref=[1] * 10)) is None
    assert r("image_ref_max").check(View(type="image", image_ref=None)) is None
    manga = r("manga_portrait")
    assert manga.check(View(type="image", style="manga", aspect_ratio="1:1")) == {}
    assert manga.check(View(type="image", style="manga", aspect_ratio="2:3")) is None
    assert manga.check(View(type="image", style="manga", aspect_ratio=None)) is None
    assert manga.check(View(type="image", style="auto", aspect_ratio="1:1")) is None
    assert manga.check(View(type="image_edit", style="manga", aspect_ratio="1:1")) is None
    assert r("url_and_data").check(View(url="u", data="d")) == {}
    assert r("url_and_data").check(View(url="u", data=None)) is None
    assert r("url_and_data").check(View(url=None, data="d")) is None
    assert r("url_or_data").check(View(url=None, data=None)) == {}
    assert r("url_or_data").check(View(url="", data=None)) is None
    assert r("url_or_data").check(View(url=None, data="")) is None
    assert r("media_type_required").check(View(data="d", media_type=None)) == {}
    assert r("media_type_required").check(View(data="d", media_type="")) is None
    assert r("media_type_required").check(View(data=None, media_type=None)) is None
    assert r("base64_invalid").check(View(data=None)) is None
    assert r("base64_invalid").check(View(data="AAAA")) is None
    assert r("base64_invalid").check(View(data="AAA")) == {}
    assert r("image_too_large").check(View(data=None)) is None
    assert r("image_too_large").check(View(data="A" * 8)) is None
    exact = "A" * (catalog.MAX_IMAGE_BYTES // 3 * 4) + "AAA="
    assert media.base64_info(exact).size == catalog.MAX_IMAGE_BYTES
    assert r("image_too_large").check(View(data=exact)) is None
    assert r("image_too_large").check(View(data=exact[:-1] + "A")) == {}
    assert r("not_an_image").check(View(media_type="image/png")) is None
    assert r("not_an_image").check(View(media_type=None)) is None
    assert r("not_an_image").check(View(media_type="text/plain")) == {}
    assert r("url_not_fetchable").check(View(url=URL)) is None
    assert r("url_not_fetchable").check(View(url=None)) is None
    assert r("url_not_fetchable").check(View(url="http://x.example/")) == {}
    assert JsonBody("b", 400, "m").check(View(**{"": {}})) is None
    assert JsonBody("b", 400, "m").check(View(**{"": []})) == {}
    for rule_id in ("wrong_type", "url_fetch_failed", "url_http_error"):
        with pytest.raises(TypeError):
            r(rule_id).check(View())


def test_kinds_declare_their_scope_and_expressibility() -> None:
    assert JsonBody.scope is Scope.BODY and JsonTypes.scope is Scope.TYPES
    for kind in (NotBoth, EitherOf, RequiredWith, Base64, MaxBytes, ImageMediaType):
        assert kind.scope is Scope.IMAGE
    assert PublicHttpsUrl.scope is Scope.IMAGE
    assert Fetched.scope is Scope.FETCH and HttpStatus.scope is Scope.FETCH
    for kind in (OneOf, Required, Length, RequiredFor, OnlyFor, MaxItemsFor, AllowedWith):
        assert kind.scope is Scope.REQUEST
    assert PublicHttpsUrl.expressible.value == "approximate"
    assert Fetched.expressible.value == "not expressible"
    assert HttpStatus.expressible.value == "not expressible"
    assert Base64.expressible.value == "exact" and MaxBytes.expressible.value == "exact"
    assert HttpStatus.echoes == frozenset({"code"})
    assert JsonTypes.echoes == frozenset({"expected"})


# ---------------------------------------------------------------- the catalogue checks itself


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("RULES", (*catalog.RULES, catalog.RULES[0]), "rule ids must be unique"),
        (
            "RULES",
            (*catalog.RULES, Required("stray", 400, "{field}", field="nope")),
            "stray reads unknown fields ['nope']",
        ),
        (
            "RULES",
            (*catalog.RULES, Base64("stray", 422, "{path}", member="prompt")),
            "stray reads unknown fields ['prompt']",
        ),
        ("PORTRAIT_RATIOS", ("2:3", "7:5"), "portrait ratios must be aspect ratios"),
        ("LIBRARY_MESSAGES", frozenset({"no_such_rule"}), "LIBRARY_MESSAGES names unknown rules"),
        (
            "RULES",
            (*catalog.RULES, _Reading("stray_fetch", 422, "{path}", member="prompt", timeout=1)),
            "stray_fetch reads unknown fields ['prompt']",
        ),
        (
            "FIELDS",
            (Field("type", JsonType.STRING, default="video"), *catalog.FIELDS[1:]),
            "the default of type must be one of its values",
        ),
        (
            "FIELDS",
            (
                *catalog.FIELDS[:2],
                Field("model", JsonType.STRING, default="uni-9"),
                *catalog.FIELDS[3:],
            ),
            "the default of model must be one of its values",
        ),
    ],
)
def test_the_catalogue_refuses_inconsistencies(
    monkeypatch: pytest.MonkeyPatch, name: str, value: Any, message: str
) -> None:
    catalog._check_catalogue()  # as shipped
    monkeypatch.setattr(catalog, name, value)
    with pytest.raises(ValueError) as raised:
        catalog._check_catalogue()
    assert str(raised.value) == message


def test_the_catalogue_allows_every_ratio_to_be_portrait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "PORTRAIT_RATIOS", catalog.ASPECT_RATIOS)
    catalog._check_catalogue()


def test_the_catalogue_allows_library_wording_for_every_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(catalog, "LIBRARY_MESSAGES", frozenset(r.id for r in catalog.RULES))
    catalog._check_catalogue()
    # A network rule reads image members, as the image rules do.
    reading = _Reading("fetch_reads_url", 422, "{path}", member="url", timeout=1)
    monkeypatch.setattr(catalog, "RULES", (*catalog.RULES, reading))
    catalog._check_catalogue()


def test_catalogue_lookups() -> None:
    assert catalog.rule("prompt_length") is catalog.RULES_BY_ID["prompt_length"]
    with pytest.raises(KeyError):
        catalog.rule("no_such_rule")
    assert [r.id for r in catalog.RULES] == list(catalog.RULES_BY_ID)


# ---------------------------------------------------------------- big JSON text, fetch, lazy


def test_cut_blobs_replaces_only_long_base64_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "_BIG_STRING", 8)
    text = '{"prompt": "short", "source": {"data": "QUJDREVGR0hJSktM", "k": "not base64!!!!"}}'
    for buf in (text, text.encode()):
        cut = engine._cut_blobs(buf)
        assert cut is not None
        joined, blobs = cut
        assert len(blobs) == 1
        ((token, blob),) = blobs.items()
        assert blob.text() == "QUJDREVGR0hJSktM"
        value = json.loads(joined)
        assert value["source"]["data"] == token and value["source"]["k"] == "not base64!!!!"
        assert engine._put_blobs(value, blobs)["source"]["data"] is blob
    # Keys are never cut, escaped strings are never cut, nothing to cut is None.
    assert engine._cut_blobs('{"QUJDREVGR0hJSktM" : 1}') is None
    assert engine._cut_blobs('{"a": "QUJDREVG\\u0041R0hJSktM"}') is None
    assert engine._cut_blobs('{"a": "short"}') is None
    assert engine._cut_blobs('{"a": "QUJDREVGR0hJSktM') is None
    cut = engine._cut_blobs(b'["QUJDREVGR0hJSktM", "QUJDREVGR0hJSktN"]\n')
    assert cut is not None and len(cut[1]) == 2
    assert engine._put_blobs(json.loads(cut[0]), cut[1])[1].text() == "QUJDREVGR0hJSktN"


def test_base64_only_reads_every_chunk() -> None:
    good = "QUJD" * 10
    assert engine._base64_only(good, 0, len(good))
    assert engine._base64_only(good.encode(), 4, 8)
    assert not engine._base64_only(good + "!", 0, len(good) + 1)
    assert engine._base64_only(good + "!", 0, len(good))
    assert not engine._base64_only("QUJD\u00e9", 0, 5)
    big = "A" * (1 << 20) + "!" + "A" * 10
    assert not engine._base64_only(big, 0, len(big))
    assert engine._base64_only(big, 0, 1 << 20)


def test_a_big_json_text_is_checked_and_materialised() -> None:
    data = "QUJD" * ((1 << 20) // 4 + 10)
    body = {
        "type": "image_edit",
        "prompt": "x",
        "source": {"data": data, "media_type": "image/png"},
        "image_ref": [{"url": URL}, {"data": data, "media_type": "image/png"}],
    }
    for text in (json.dumps(body), json.dumps(body).encode()):
        report = engine.check(text)
        assert report.ok and report.status == 201
        request = report.request
        assert request is not None and request is report.request
        assert request["source"] == {"url": None, "data": data, "media_type": "image/png"}
        assert type(request["source"]["data"]) is str
        assert request["image_ref"][0] == {"url": URL, "data": None, "media_type": None}
        assert request["image_ref"][1]["data"] == data
        assert [w.code for w in report.warnings] == ["format_unknown", "format_unknown"]
    body["source"] = None
    body["type"] = "image"
    report = engine.check(json.dumps(body))
    assert report.ok and report.request is not None and report.request["source"] is None


def test_fetch_without_the_fetch_module_warns_per_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "_fetch_hook", lambda: None)
    body = {
        "type": "image_edit",
        "prompt": "x",
        "source": {"url": URL},
        "image_ref": [{"data": PNG64, "media_type": "image/png"}, {"url": URL}],
    }
    report = engine.check(body, fetch=True)
    assert report.ok
    assert [(w.code, w.path) for w in report.warnings] == [
        ("not_fetched", "source.url"),
        ("not_fetched", "image_ref[1].url"),
    ]
    assert engine.check({"prompt": "x"}, fetch=True).warnings == ()
    # A static error first: nothing is fetched.
    assert engine.check({**body, "prompt": ""}, fetch=True).warnings == ()


def test_fetch_hands_every_url_to_the_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[tuple[str, str]]] = []
    rule = catalog.rule("url_http_error")

    def hook(targets: list[tuple[str, str]]) -> tuple[list[Any], list[Any]]:
        seen.append(targets)
        error = engine.Violation(rule.id, rule.status, rule.render("source", code=404), "source")
        return [error], [engine.Notice("not_fetched", "x", "y")]

    monkeypatch.setattr(engine, "_fetch_hook", lambda: hook)
    body = {
        "type": "image_edit",
        "prompt": "x",
        "source": {"url": URL},
        "image_ref": [{"url": URL}],
    }
    report = engine.check(body, fetch=True)
    assert seen == [[("source", URL), ("image_ref[0]", URL)]]
    assert (report.status, report.detail) == (422, "source: failed to fetch URL (HTTP 404)")
    assert [w.code for w in report.warnings] == ["not_fetched"]


def test_the_fetch_hook_comes_from_the_fetch_module(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    import luma_schema

    # Another test may have imported the real module: it is then an attribute of the package,
    # which `from luma_schema import fetch` prefers to sys.modules.
    module = types.ModuleType("luma_schema.fetch")
    monkeypatch.setitem(sys.modules, "luma_schema.fetch", module)
    monkeypatch.setattr(luma_schema, "fetch", module, raising=False)
    assert engine._fetch_hook() is None
    module.fetch_violations = len  # type: ignore[attr-defined]
    assert engine._fetch_hook() is len
    monkeypatch.setitem(sys.modules, "luma_schema.fetch", None)
    monkeypatch.delattr(luma_schema, "fetch")
    assert engine._fetch_hook() is None


def test_request_error_carries_the_report() -> None:
    report = engine.check({"prompt": ""})
    error = engine.RequestError(report)
    assert str(error) == "Prompt must be between 1 and 6000 characters"
    assert error.args == (report.detail,)
    assert (error.status, error.detail, error.errors, error.report) == (
        400,
        report.detail,
        report.errors,
        report,
    )
    assert error.to_response() == (400, {"detail": report.detail})


def test_iter_errors_and_missing() -> None:
    import pickle

    body = {"prompt": "", "model": "x"}
    assert list(engine.iter_errors(body)) == list(engine.check(body).errors)
    assert [e.rule for e in engine.iter_errors(body)] == ["model_unknown", "prompt_length"]
    assert pickle.loads(pickle.dumps(MISSING)) is MISSING
    report = engine.check({"prompt": "x"})
    assert report.ok and report.request == engine._normalise({"prompt": "x"})
    assert report.request is report.request


def test_the_compiler_refuses_what_it_cannot_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True, slots=True, repr=False)
    class Novel(Required):
        pass

    with monkeypatch.context() as patch:
        patch.setattr(
            catalog, "RULES", (*catalog.RULES, Novel("novel", 400, "{field}", field="prompt"))
        )
        with pytest.raises(TypeError) as raised:
            engine._compile()
        assert str(raised.value) == "the engine cannot compile rule kinds ['Novel']"
    members = (catalog.IMAGE_MEMBERS[0], Field("data", JsonType.STRING), catalog.IMAGE_MEMBERS[2])
    with monkeypatch.context() as patch:
        patch.setattr(catalog, "IMAGE_MEMBERS", members)
        with pytest.raises(TypeError) as raised:
            engine._compile()
        assert str(raised.value) == "the compiled path expects nullable string image members"
    members = (catalog.IMAGE_MEMBERS[0], Field("data", JsonType.BOOLEAN, nullable=True))
    with monkeypatch.context() as patch:
        patch.setattr(catalog, "IMAGE_MEMBERS", members)
        with pytest.raises(TypeError) as raised:
            engine._compile()
        assert str(raised.value) == "the compiled path expects nullable string image members"
    fields = tuple(
        Field("source", JsonType.OBJECT) if f.name == "source" else f for f in catalog.FIELDS
    )
    with monkeypatch.context() as patch:
        patch.setattr(catalog, "FIELDS", fields)
        with pytest.raises(TypeError) as raised:
            engine._compile()
        assert str(raised.value) == "the compiled path expects images to be nullable objects"
    engine._compile()  # as shipped


def test_a_verbatim_listing_is_kept_as_written() -> None:
    rule = OneOf("ok_id", 400, "{valid}", field="m", values=("b", "a"), listing="b, a")
    assert rule.params() == {"field": "m", "valid": "b, a"}
    assert OneOf("ok_id", 400, "{valid}", field="m", values=("b", "a")).params()["valid"] == "a, b"


def test_an_accepted_report_normalises_on_first_read() -> None:
    accepted = engine._Accepted({"prompt": "x", "style": "manga"})
    assert accepted.ok and accepted.status == 201 and accepted.detail is None
    assert accepted.errors == () and accepted.warnings == ()
    assert accepted.request == engine._normalise({"prompt": "x", "style": "manga"})
    assert accepted.request is accepted.request


def _edit_with(data: str, media_type: str | None) -> dict[str, Any]:
    return {"type": "image_edit", "prompt": "x", "source": {"data": data, "media_type": media_type}}


def test_format_warnings_say_exactly_what_was_found() -> None:
    jpeg64 = "/9j/4AAQSkZJRgABAQ=="
    report = engine.check(_edit_with(PNG64, "image/jpeg"))
    assert report.ok
    assert [w.message for w in report.warnings] == [
        "source.data: decoded bytes are PNG, but media_type names JPEG"
    ]
    report = engine.check(_edit_with(jpeg64, "image/tiff"))
    assert [w.message for w in report.warnings] == [
        "source.data: decoded bytes are JPEG, but media_type names another format"
    ]
    assert engine.check(_edit_with(jpeg64, "image/jpeg; q=1")).warnings == ()
    report = engine.check(_edit_with("QUJD", "image/png"))
    assert [w.message for w in report.warnings] == [
        "source.data: decoded bytes are not PNG, JPEG, WebP or GIF"
    ]
    report = engine.check(_edit_with("data:image/png;base64,QUJD", "image/png"))
    assert [w.code for w in report.warnings] == ["data_uri_prefix"]
    assert report.errors[0].rule == "base64_invalid"
    # A bad media type gives its error, and no mismatch warning from it.
    report = engine.check(_edit_with(PNG64, "text/plain"))
    assert report.errors[0].rule == "not_an_image" and report.warnings == ()
    # An image that failed its shape gets no advice at all.
    report = engine.check({**_edit_with("data:QUJD", None), "image_ref": []})
    assert report.errors[0].rule == "media_type_required" and report.warnings == ()


def test_the_large_image_warning_starts_above_the_advised_size() -> None:
    advised = catalog.ADVISED_IMAGE_BYTES
    at = "A" * (advised // 3 * 4) + "AA=="  # advised bytes exactly (a multiple of 3, plus 1)
    assert media.base64_info(at).size == advised
    assert [w.code for w in engine.check(_edit_with(at, "image/png")).warnings] == [
        "format_unknown"
    ]
    above = "A" * (advised // 3 * 4) + "AAA="
    assert media.base64_info(above).size == advised + 1
    warnings = engine.check(_edit_with(above, "image/png")).warnings
    assert [w.message for w in warnings][-1] == (
        "source.data: decoded image is over 4 MB; smaller images are faster"
    )
    cap = "A" * (catalog.MAX_IMAGE_BYTES // 3 * 4) + "AAA="
    report = engine.check(_edit_with(cap, "image/png"))
    assert report.ok and [w.code for w in report.warnings] == ["format_unknown", "image_large"]


def test_responses_and_messages_of_the_body_rule() -> None:
    assert engine.check({"prompt": "x"}).to_response() == (201, {})
    report = engine.check(b"[]")
    assert report.to_response() == (400, {"detail": "request body must be a JSON object"})
    assert report.errors[0].path == "" and report.errors[0].rule == "body_not_object"
    with pytest.raises(TypeError) as raised:
        catalog.rule("wrong_type").check(View())
    assert str(raised.value) == "JsonTypes is applied by the engine through the field table"
    with pytest.raises(TypeError) as raised:
        catalog.rule("url_fetch_failed").check(View())
    assert str(raised.value) == "url_fetch_failed needs the network: luma_schema.fetch applies it"
    with pytest.raises(TypeError) as raised:
        catalog.rule("url_http_error").check(View())
    assert str(raised.value) == "url_http_error needs the network: luma_schema.fetch applies it"


def test_cut_blobs_follows_escapes_to_the_end_of_each_string(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine, "_BIG_STRING", 8)
    text = '"x"' + ' ["a\\"b\\\\", "QUJDREVGR0hJSktM", "c\\\\"]'
    for buf in (text, text.encode()):
        cut = engine._cut_blobs(buf)
        assert cut is not None
        joined, blobs = cut
        value = json.loads(joined[3:])
        assert value[0] == 'a"b\\' and value[2] == "c\\"
        assert [blob.text() for blob in blobs.values()] == ["QUJDREVGR0hJSktM"]
        assert engine._put_blobs(value, blobs)[1] is next(iter(blobs.values()))
    assert engine._cut_blobs('"QUJDREVGR0hJSktM"') is not None
    tokens = [engine._cut_blobs('["QUJDREVGR0hJSktM"]') for _ in range(2)]
    assert tokens[0] is not None and tokens[1] is not None
    assert set(tokens[0][1]) != set(tokens[1][1])  # a fresh nonce each time
    (token,) = tokens[0][1]
    assert len(token.split(":")[0]) == 32


def test_first_rule_is_the_first_errors_rule_without_the_full_list() -> None:
    for body in corpus():
        report = engine.check(body)
        expected = report.errors[0].rule if report.errors else "ok"
        fresh = engine.check(body)  # errors not read yet: an early refusal keeps only the first
        assert engine.first_rule(fresh) == expected, body
        if isinstance(fresh, engine._Refused):
            assert not hasattr(fresh, "_errors") or fresh._errors == report.errors
    full = engine.Report(422, "x", (engine.Violation("a", 422, "x", ""),), (), None)
    assert engine.first_rule(full) == "a"
    assert engine.first_answer(full) == (422, "a")
    assert engine.first_rule(engine.check({"prompt": "x"})) == "ok"


def test_first_answer_is_status_and_first_rule_and_one_tuple_for_ok() -> None:
    kinds = set()
    for body in corpus():
        report = engine.check(body)
        kinds.add(type(report))
        answer = engine.first_answer(report)
        if report.ok:
            assert answer is engine.ANSWER_OK
        else:
            assert answer == (report.status, engine.check(body).errors[0].rule), body
    diagnosed = engine.Report(201, None, (), (), {})
    assert engine.first_answer(diagnosed) is engine.ANSWER_OK
    assert kinds >= {engine._Accepted, engine._Refused, engine._RefusedFirst, engine.Report}


def test_request_field_is_the_normalised_field() -> None:
    names = [f.name for f in catalog.FIELDS if f.type in (JsonType.STRING, JsonType.BOOLEAN)]
    answered = 0
    for body in corpus():
        report = engine.check(body)
        if not report.ok:
            with pytest.raises(ValueError, match="not ok"):
                engine.request_field(report, "prompt")
            continue
        answered += 1
        for name in names:
            assert engine.request_field(engine.check(body), name) == report.request[name]  # type: ignore[index]
    assert answered > 10
    assert {
        f.name: f.default for f in catalog.FIELDS if f.type in (JsonType.STRING, JsonType.BOOLEAN)
    } == engine._SCALAR_DEFAULTS


def test_quick_parse_reads_only_what_it_is_sure_of() -> None:
    assert engine._quick_parse(b'{"prompt": "a", "n": [1, 2.5]}') == {"prompt": "a", "n": [1, 2.5]}
    assert engine._quick_parse('{"prompt": "a"}') == {"prompt": "a"}
    for text in (
        b'{"prompt": "a", "prompt": "b"}',
        '{"prompt": "a", "prompt": "b"}',
        b'{"prompt": "a\\u0062"}',
        '{"prompt": "a\\u0062"}',
        b'{"prompt": NaN}',
        b"[" * 300 + b"]" * 300,
        b"\xef\xbb\xbf{}",
        '{"p": "\ud800"}',
    ):
        assert engine._quick_parse(text) is engine._UNSURE, text
    assert engine._quick_parse(b'"text"') == "text"
    assert engine._quick_parse(b"[]") == []


def test_check_reads_bytes_and_dicts_on_the_short_path_and_text_on_the_full_one() -> None:
    for body in corpus():
        expected = engine._diagnose(body, False)
        for payload in (body, json.dumps(body).encode(), json.dumps(body)):
            report = engine.check(payload)
            assert (report.status, report.detail, report.errors, report.warnings) == (
                expected.status,
                expected.detail,
                expected.errors,
                expected.warnings,
            ), payload
    assert engine.check(b"[1]").errors[0].rule == "body_not_object"
    assert engine.check(b'"x"').status == 400
    assert engine.check(b"\xef\xbb\xbf" + b'{"prompt": "a"}').ok


def test_data_images_are_judged_on_the_compiled_path() -> None:
    image = {"data": PNG64, "media_type": "image/png"}
    assert engine._quiet_image(image)
    assert not engine._quiet_image({"data": "AAAA", "media_type": "image/png"})  # format_unknown
    assert not engine._quiet_image({"data": "AAA", "media_type": "image/png"})  # base64
    assert not engine._quiet_image({"data": PNG64, "media_type": "image/jpeg"})  # mismatch
    view = engine._image_view({"data": PNG64, "media_type": None, "url": None}, "source")
    assert (view.path, view.members) == ("source", {"data": PNG64})
    marks = (("image", 1), ("data", 2), ("media_type", 4))
    bad = [[{"data": PNG64, "media_type": "image/jpeg"}, "source", 0]]
    (notice,) = engine._compiled_advice(bad, marks)
    assert (notice.code, notice.path) == ("format_mismatch", "source.data")
    assert engine._compiled_advice([[{"data": PNG64, "media_type": "image/jpeg"}, "s", 4]], marks) == ()
    assert engine._compiled_advice([[{"data": PNG64, "media_type": "image/jpeg"}, "s", 1]], marks) == ()
    assert engine._compiled_advice([[{"url": URL}, "s", 0]], marks) == ()
    assert engine._compiled_advice([], marks) == ()


def test_violations_and_notices_as_json() -> None:
    violation = engine.Violation("prompt_length", 400, "prompt: too long", "prompt")
    assert violation.as_dict() == {
        "rule": "prompt_length",
        "status": 400,
        "detail": "prompt: too long",
        "path": "prompt",
    }
    notice = engine.Notice("format_unknown", "source.data", "source.data: not an image")
    assert notice.as_dict() == {
        "code": "format_unknown",
        "path": "source.data",
        "message": "source.data: not an image",
    }
    assert list(violation.as_dict()) == ["rule", "status", "detail", "path"]
    assert list(notice.as_dict()) == ["code", "path", "message"]


def test_a_request_error_of_an_accepted_report_has_an_empty_detail() -> None:
    error = engine.RequestError(engine.check({"prompt": "x"}))
    assert (error.status, error.detail, error.errors) == (201, "", ())


def test_echoed_braces_are_text_not_placeholders() -> None:
    for model in ("{x}", "a}b{c", "{{path}}", "{path}"):
        report = engine.check({"prompt": "x", "model": model})
        assert model in report.detail, report.detail  # type: ignore[operator]
        assert report.detail == catalog.rule("model_unknown").render("model", value=model)


def test_checked_urls_are_remembered_within_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    remembered: set[str] = set()
    monkeypatch.setattr(engine, "_URL_OK", remembered)
    base = "https://example.com/"
    exact = base + "a" * (2048 - len(base))
    assert engine._url_ok(exact) and exact in remembered
    longer = exact + "a"
    assert engine._url_ok(longer) and longer not in remembered
    assert not engine._url_ok("http://example.com/") and len(remembered) == 1
    for i in range(engine._URL_OK_MAX - 1):
        remembered.add(f"{base}{i}")
    assert len(remembered) == engine._URL_OK_MAX
    engine._url_ok(base + "next")
    assert remembered == {base + "next"}  # emptied when full, then the new one


def test_an_images_base64_is_read_once() -> None:
    image = engine._image_view({"data": PNG64, "media_type": "image/png"})
    first = image.base64("data")
    assert image.base64("data") is first
    assert first.valid and first.size == 67


def test_numbers_are_never_converted() -> None:
    # 10,000 digits would take int() a while (and Python refuses 4,301+): no rule reads a number.
    assert engine._DECODER.decode("1" * 10_000) == 0
    assert engine._DECODER.decode("[1.5e999, -0, 12]") == [0, 0, 0]
    with pytest.raises(engine._NotJson):
        engine._DECODER.decode('{"a": 1, "a": 2}')
    with pytest.raises(engine._NotJson):
        engine._DECODER.decode("NaN")


# ---------------------------------------------------------------- the generated code's shape
# The generator's output is the compiled path's speed: these pin what its docstrings promise
# about that code (answers are pinned by the agreement tests above).

SHAPES = [
    ("type", "prompt", "source"),
    ("prompt", "image_ref"),
    ("type", "prompt", "model", "source", "image_ref", "aspect_ratio"),
]


def _fresh(shape: tuple[str, ...]) -> str:
    """The code generated for ``shape`` now (not the generic function a full cache falls back on)."""
    saved = dict(engine._SHAPES)
    engine._SHAPES.clear()
    try:
        return engine._generate(shape).__doc__ or ""
    finally:
        engine._SHAPES.clear()
        engine._SHAPES.update(saved)


def _generated() -> list[str]:
    return [engine._compile().__doc__ or "", *(_fresh(s) for s in SHAPES)]


def _lanes(source: str, var: str) -> list[list[str]]:
    """The member sets of the lanes that test the image in ``var``, in order."""
    heads = re.findall(rf"(?:el)?if len\({var}\) == (\d+)((?: and '\w+' in {var})+):", source)
    return [re.findall(rf"'(\w+)' in {var}", members) for _, members in heads]


def test_generated_code_tests_no_constant() -> None:
    for source in _generated():
        assert not re.search(r"if not \(?(True|False)\)?:", source)
        assert not re.search(r"if \(?(True|False)\)?:", source)
        assert "(True)" not in source and "(False)" not in source


def test_image_lanes_come_smallest_first_and_read_by_subscript() -> None:
    members = [m.name for m in catalog.IMAGE_MEMBERS]
    functions = [f for source in _generated() for f in source.split("\ndef ")]
    accepting = [f for f in functions if "new(Accepted)" in f and "imgs" not in f]
    assert len(accepting) == 1 + len(SHAPES)
    for source in accepting:
        for var in ("f_source", "x"):
            lanes = _lanes(source, var)
            if not lanes:
                continue
            assert [len(lane) for lane in lanes] == sorted(len(lane) for lane in lanes)
            assert len({frozenset(lane) for lane in lanes}) == len(lanes)
            # every set of members a valid image may have has its lane (the accepting one,
            # and the refusal's, which leaves out the members only the diagnosis reads)
            for wanted in (["url"], ["data", "media_type"], ["url", "media_type"], members):
                assert wanted in lanes, (var, wanted)
            for lane in lanes:
                for member in lane:
                    assert f"{var}[{member!r}]" in source
            assert f"{var}.get(" in source  # the general case
            assert f"if not {var}.keys() <= MEMBER_SET" in source


def test_lanes_do_not_test_again_what_they_proved() -> None:
    source = _fresh(SHAPES[0])
    lane = source.split("if len(f_source) == 1 and 'url' in f_source:")[1].split("elif")[0]
    assert "if not (m_url is not None): return first(p, " in lane
    assert "if not (m_url in URL_OK or url_ok(m_url)): return first(p, " in lane
    assert "m_url is None or" not in lane
    data_lane = source.split("'data' in f_source and 'media_type' in f_source:")[1].split("elif")[0]
    assert "if not (quiet(f_source)): return first(p, " in data_lane
    assert "m_data is None" not in data_lane and "m_media_type is None" not in data_lane
    assert data_lane.index("is_media_type") < data_lane.index("quiet(")
    url_lane = source.split("'url' in f_source and 'media_type' in f_source:")[1].split("elif")[0]
    assert "quiet(" not in url_lane
    general = source.split("        else:\n")[1].split("    r = new(Accepted)")[0]
    assert general.count("if not (m_data is None or quiet(f_source)): return first(p, ") == 1


def test_refusals_read_only_the_members_the_diagnosis_does_not() -> None:
    source = _fresh(SHAPES[0])
    refuse = source.split("_refuse(p, first, f_source):")[1].split("\ndef ")[0]
    lanes = _lanes(refuse, "f_source")
    assert lanes and all("data" not in lane for lane in lanes)
    assert "elif not plain(f_source): return ordered(p)" in refuse
    assert "return None" not in refuse


def test_image_rule_groups_mark_and_decode() -> None:
    ns = engine._generic_fast.__globals__
    marks = [r.marks for r in engine._ORDERED if r.scope is Scope.IMAGE and r.marks]
    assert ns["MARKS"] == tuple((m, 1 << i) for i, m in enumerate(dict.fromkeys(marks)))
    source = engine._generic_fast.__doc__ or ""
    groups = re.findall(r"def (group_\d+)\(v, path, e, mask\):\n((?:    .*\n)+)", source + "\n")
    assert len(groups) >= 2
    image_bit = dict(ns["MARKS"])["image"]
    for index, (name, body) in enumerate(groups):
        decodes = any(
            type(rule) in engine._DEFER for rule in engine._steps()[int(name.split("_")[1])]
        )
        assert ("iv = None" in body) == decodes, name
        assert ("iv = iv or image_view(v)" in body) == decodes, name
        assert (f"if mask & {image_bit}: return mask" in body) == (index > 0), name
        assert "BAIL" not in body
    assert "        im[2] = group_" in source
    assert engine._generic_fast.__code__.co_filename == "<luma_schema compiled catalogue>"
    assert source.startswith("def shape(v):")
    plain = source.split("def plain(v):")[1].split("\ndef ")[0]
    assert "    if m_data is not None: return False" in plain
    assert "    if m_url is not None and type(m_url) is not str: return False" in plain


# ---------------------------------------------------------------- cutting blobs out of big text


def _spans(text: str, monkeypatch: pytest.MonkeyPatch) -> list[str] | None:
    monkeypatch.setattr(engine, "_BIG_STRING", 8)
    found = []
    for payload in (text, text.encode()):
        cut = engine._cut_blobs(payload)
        if cut is None:
            found.append(None)
            continue
        joined, blobs = cut
        texts = [blob.text() for blob in blobs.values()]
        # the tokens stand where the strings stood: putting them back gives the same value
        restored = json.loads(joined)
        if isinstance(restored, (dict, list)):
            assert engine._put_blobs(restored, blobs) is restored
        else:
            restored = blobs[restored]
        assert _plain_blobs(restored) == json.loads(text)
        found.append(texts)
    assert found[0] == found[1]
    return found[0]


def _plain_blobs(value: Any) -> Any:
    if isinstance(value, media.Blob):
        return value.text()
    if isinstance(value, dict):
        return {k: _plain_blobs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_blobs(v) for v in value]
    return value


@pytest.mark.parametrize("space", ["", " ", "\t", "\n", "\r", " \r\n\t "])
def test_only_long_base64_values_are_cut(space: str, monkeypatch: pytest.MonkeyPatch) -> None:
    long, short = "QUJDREVGR0g=", "QUJDREVG"  # 12 and 8 characters: the cut is at 8
    assert _spans(f'{{"a"{space}:{space}"{long}"{space}}}', monkeypatch) == [long]
    assert _spans(f'["{long}"{space},{space}"{long}+/"]', monkeypatch) == [long, long + "+/"]
    assert _spans(f'{{"{long}"{space}:{space}1}}', monkeypatch) is None  # a key stays
    assert _spans(f'{{"{long}"{space}:"{long}"}}', monkeypatch) == [long]
    assert _spans(f'{{"a":"{short}"}}', monkeypatch) == [short]
    assert _spans(f'{{"a":"{short[:-1]}"}}', monkeypatch) is None
    assert _spans(f'{{"a":"!{long}"}}', monkeypatch) is None
    assert _spans(f'{{"a":"{long}!"}}', monkeypatch) is None
    assert _spans(f'{{"a":"{long}\\u0041"}}', monkeypatch) is None  # escaped: not base64 text
    assert _spans(f'{{"a\\"":"{long}", "b":"x\\\\", "c":"{long}"}}', monkeypatch) == [long, long]
    assert _spans(f'{{"a":"é{long}"}}', monkeypatch) is None
    assert _spans(f'"{long}"', monkeypatch) == [long]


def test_malformed_text_is_not_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "_BIG_STRING", 8)
    long = "QUJDREVGR0g="
    for text in (f'{{"a":"{long}', f'{{"a":"{long}\\"}}', '{"a', '"'):
        assert engine._cut_blobs(text) is None
        assert engine._cut_blobs(text.encode()) is None
    assert engine._cut_blobs("{}") is None and engine._cut_blobs(b"[1, 2]") is None


def test_big_text_is_parsed_with_its_blobs_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "_BIG_INPUT", 64)
    monkeypatch.setattr(engine, "_BIG_STRING", 8)
    body = {"type": "image_edit", "prompt": "x", "source": {"data": PNG64, "media_type": "image/png"}}
    text = json.dumps(body)
    assert len(text) >= 64
    for payload in (text, text.encode()):
        value = engine._parse(payload)
        assert isinstance(value["source"]["data"], media.Blob)
        assert value["source"]["data"].text() == PNG64
        report = engine.check(payload)
        assert report.ok and report.request["source"]["data"] == PNG64  # type: ignore[index]
    small = json.dumps({"prompt": "QUJDREVGR0g=", "n": [True]})
    assert len(small) < 64 and engine._parse(small) == json.loads(small)
    assert engine._parse(small.encode()) == json.loads(small)
    edge = '{"prompt": "' + "x" * (64 - 14) + '"}'
    assert len(edge) == 64 and isinstance(engine._parse(edge)["prompt"], media.Blob)
    assert _plain_blobs(engine._parse(edge)) == json.loads(edge)
    below = edge.replace("x", "", 1)
    assert len(below) == 63 and engine._parse(below) == json.loads(below)
    with pytest.raises(engine._NotJson):
        engine._parse('{"a": "' + "QUJD" * 20 + '", "a": 1}')
    whole = engine._parse('"' + "QUJD" * 20 + '"')  # a text that is one long string
    assert isinstance(whole, media.Blob) and whole.text() == "QUJD" * 20


def test_large_data_is_left_to_the_diagnosis_which_decodes_it_once() -> None:
    fresh = engine._compile()
    shape = fresh.__globals__["shape"]
    small = "A" * (engine._BIG_STRING - 4) + PNG64[:4]
    large = "A" * engine._BIG_STRING
    assert len(small) == engine._BIG_STRING and len(large) == engine._BIG_STRING
    below = small[4:]
    assert shape({"data": below, "media_type": "image/png"})
    assert not shape({"data": large, "media_type": "image/png"})
    assert shape({"url": URL})
    assert engine._quiet_image({"data": PNG64, "media_type": "image/png"})
    assert not engine._quiet_image({"data": large, "media_type": "image/png"})
    edit = {"type": "image_edit", "prompt": "x"}
    assert fresh({**edit, "source": {"data": large, "media_type": "image/png"}}) is None
    body = {**edit, "source": {"data": below, "media_type": "image/png"}, "model": "uni-2"}
    assert fresh(body) is not None
    assert fresh.__globals__["BIG_DATA"] == engine._BIG_STRING


# ---------------------------------------------------------------- the diagnosis' own details


def test_unknown_keys_are_named_readably_and_briefly() -> None:
    assert engine._key_path("extra") == "extra"
    assert engine._key_path("a b") == '"a b"'
    assert engine._key_path("é-") == '"\\u00e9-"'
    exact = "k" * 64
    assert engine._key_path(exact) == exact
    assert engine._key_path(exact + "k") == "k" * 61 + "..."
    assert engine._key_path("é-" * 20) == '"' + "\\u00e9-" * 8 + '\\u00...'
    assert engine._key_path("ab-" * 21) == '"' + "ab-" * 20 + '...'  # 65 with its quotes
    warned = engine.check({"prompt": "x", "a b": 1}).warnings
    assert [(w.code, w.path) for w in warned] == [("unknown_field", '"a b"')]


def test_near_names_are_suggested_only_when_close_and_short() -> None:
    fields = tuple(f.name for f in catalog.FIELDS)
    assert engine._near("promt", fields) == "prompt"
    assert engine._near("sorce", fields) == "source"
    assert engine._near("xyz", fields) is None
    assert engine._near("styl3x", fields) is None  # close (0.73), not close enough (0.75)
    assert engine._near("mdl", fields) == "model"  # 0.75 exactly
    assert engine._near("image_refs", fields) == "image_ref"
    padded = "prompt" + "_" * 58
    assert len(padded) == 64 and engine._near(padded, ("prompt" + "_" * 57,)) is not None
    assert engine._near(padded + "_", ("prompt" + "_" * 58,)) is None


def test_the_diagnosis_reads_unknown_image_members_carefully() -> None:
    edit = {"type": "image_edit", "prompt": "x"}
    body = {**edit, "source": {"url": URL, "zz": {1, 2}, "urll": "x", "zzz": "y"}}
    report = engine._diagnose(body, False)
    assert [(e.rule, e.path, e.detail) for e in report.errors] == [
        ("wrong_type", "source", "source must be an object")
    ]
    assert [(w.code, w.path, w.message) for w in report.warnings] == [
        ("unknown_member_near", "source.urll", "source.urll: unknown image member, ignored (did you mean 'url'?)"),
        ("unknown_member", "source.zzz", "source.zzz: unknown image member, ignored"),
    ]
    assert engine.check(body).errors == report.errors


def test_each_image_rule_of_a_group_is_applied_unless_it_reads_what_failed() -> None:
    edit = {"type": "image_edit", "prompt": "x"}
    body = {**edit, "source": {"data": "!!!!", "media_type": "text/plain"}}
    report = engine._diagnose(body, False)
    assert [e.rule for e in report.errors] == ["base64_invalid", "not_an_image"]
    assert engine.check(body).errors == report.errors


def test_data_too_large_earns_no_format_warning() -> None:
    # decided: an image refused for its size is not examined further (README, "Decisions")
    size = catalog.MAX_IMAGE_BYTES + 3
    data = "A" * (size // 3 * 4)
    report = engine.check({"type": "image_edit", "prompt": "x", "source": {"data": data, "media_type": "image/png"}})
    assert [e.rule for e in report.errors] == ["image_too_large"] and report.warnings == ()


def test_format_mismatch_names_both_formats() -> None:
    edit = {"type": "image_edit", "prompt": "x"}
    report = engine.check({**edit, "source": {"data": PNG64, "media_type": "image/jpeg"}})
    assert [w.message for w in report.warnings] == [
        "source.data: decoded bytes are PNG, but media_type names JPEG"
    ]
    report = engine.check({**edit, "source": {"data": PNG64, "media_type": "image/x-icon"}})
    assert [w.message for w in report.warnings] == [
        "source.data: decoded bytes are PNG, but media_type names another format"
    ]


def test_a_data_uri_is_named_in_a_warning() -> None:
    edit = {"type": "image_edit", "prompt": "x"}
    report = engine.check({**edit, "source": {"data": "DATA:" + PNG64, "media_type": "image/png"}})
    assert [w.code for w in report.warnings] == ["data_uri_prefix"]


def test_big_text_keeps_its_data_as_a_slice() -> None:
    body = {"type": "image_edit", "prompt": "x", "source": {"data": "A" * (1 << 20), "media_type": "image/png"}}
    report = engine._check(json.dumps(body).encode(), False)
    assert isinstance(report._request, engine._Lazy)  # not copied unless asked for
    assert report.request["source"]["data"] == "A" * (1 << 20)  # type: ignore[index]


def test_a_refusals_full_list_comes_from_the_compiled_path(monkeypatch: pytest.MonkeyPatch) -> None:
    body = {"prompt": "", "model": "uni-2", "source": {"url": "http://x"}}
    expected = engine._diagnose(body, False).errors
    report = engine.check(body)
    assert isinstance(report, engine._Refused) and not hasattr(report, "_errors")
    assert engine.first_rule(report) == expected[0].rule
    assert not hasattr(report, "_errors")  # the first error's rule, without the list

    def no_diagnosis(*args: Any) -> Any:
        raise AssertionError("the diagnosis ran")

    monkeypatch.setattr(engine, "_diagnose", no_diagnosis)
    assert engine._errors_of(body) == expected
    assert report.errors == expected


def test_an_image_refusal_stops_at_its_first_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # An image that fails a rule: the answer is the first error, found without the diagnosis
    # and without the images' advice; the list and the warnings come when read, both at once.
    mismatch = {"data": PNG64, "media_type": "image/jpeg"}  # earns format_mismatch
    bodies = [
        {"prompt": "x", "image_ref": [{"url": "https://192.168.1.10/a.png"}, mismatch]},
        {"type": "image_edit", "prompt": "x", "source": {"data": PNG64}, "image_ref": [mismatch]},
        {"type": "image_edit", "prompt": "x", "source": {"data": "AAA.", "media_type": "image/png"}},
        {"type": "image_edit", "prompt": "x", "source": {"url": "https://h.example/a", "data": "A"}},
        {"prompt": "x", "style": "manga", "aspect_ratio": "16:9", "image_ref": [{"url": "http://a"}]},
    ]
    expected = [engine._diagnose(body, False) for body in bodies]
    calls: list[Any] = []
    advice = engine._compiled_advice
    monkeypatch.setattr(engine, "_diagnose", lambda *a: calls.append(a) or expected[0])
    engine._generic_fast.__globals__["advice"] = lambda *a: calls.append(a) or advice(*a)
    try:
        reports = [engine._generate(tuple(body))(body) for body in bodies]
        generic = [engine._generic_fast(body) for body in bodies]
        for report in [*reports, *generic]:
            assert type(report) is engine._RefusedFirst
            assert not hasattr(report, "_errors") and not hasattr(report, "_warnings")
        assert calls == []
        for report, full in zip(reports, expected, strict=True):
            assert (report.status, report.detail) == (full.status, full.detail)
            assert engine.first_rule(report) == full.errors[0].rule
            assert not hasattr(report, "_errors")
    finally:
        engine._generic_fast.__globals__["advice"] = advice
    monkeypatch.undo()
    for report, full, body in zip(reports, expected, bodies, strict=True):
        assert report.warnings == full.warnings, body
        assert report.errors == full.errors, body
    assert reports[0].warnings and reports[1].warnings  # data elsewhere earns its warnings
    assert [e.rule for e in reports[4].errors] == ["manga_portrait", "url_not_fetchable"]


def test_an_image_refusal_never_raises_when_read() -> None:
    payload: dict[str, Any] = {"prompt": "x", "image_ref": [{"url": "https://localhost/a"}]}
    report = engine.check(payload)
    assert type(report) is engine._RefusedFirst
    payload["image_ref"] = [{"url": object()}]
    payload[5] = set()  # type: ignore[index]
    # The list is made from the payload as it is then; it still starts with the answer given.
    assert report.errors == (report._first,) and report.warnings == ()
    assert report.errors[0].rule == "url_not_fetchable"
    assert report.as_dict()["status"] == 422


def test_an_image_refusal_reads_row_2_of_every_image_first() -> None:
    # A later image of the wrong type is row 2, before the earlier image's failed rule.
    for later in ({"url": 5}, {"url": "https://example.com/a", "colour": "red"}, "x", {"data": 1}):
        body = {"prompt": "x", "image_ref": [{"url": "https://localhost/a"}, later]}
        full = engine._diagnose(body, False)
        assert engine._generate(tuple(body))(body) is None
        report = engine.check(body)
        assert (report.status, report.errors, report.warnings) == (
            full.status,
            full.errors,
            full.warnings,
        )


def test_request_field_builds_nothing() -> None:
    report = engine.check({"prompt": "x", "model": "uni-1-max"})
    assert engine.request_field(report, "model") == "uni-1-max"
    assert not hasattr(report, "_request")
    with pytest.raises(ValueError, match=r"^the report is not ok$"):
        engine.request_field(engine.check({"prompt": ""}), "model")


def test_templates_keep_parameter_braces_and_refuse_literal_ones() -> None:
    import copy

    odd = copy.copy(catalog.rule("style_invalid"))
    object.__setattr__(odd, "values", ("a{0}", "b}"))
    object.__setattr__(odd, "listing", None)
    assert "a{0}, b}" in engine._template(odd).format(path="style", value="x")
    for message in ("{{literal}} {path}", "{path} }}"):
        rule = copy.copy(catalog.rule("prompt_length"))
        object.__setattr__(rule, "message", message)  # past the rule's own validation
        with pytest.raises(
            ValueError, match=r"^prompt_length: literal braces in a message are not supported$"
        ):
            engine._template(rule)
