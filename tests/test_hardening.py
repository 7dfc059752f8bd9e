"""Bad input never crashes: whatever is thrown at ``check()``, it answers a Report with a SPEC
status and message, in bounded time and memory."""

from __future__ import annotations

import json
import math
import tracemalloc
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import luma_schema
from luma_schema import catalog

STATUSES = {rule.status for rule in catalog.RULES} | {201}
BODY = catalog.rule("body_not_object")
KEYS = [f.name for f in catalog.FIELDS] + [m.name for m in catalog.IMAGE_MEMBERS] + ["other"]


def assert_report(report: object) -> luma_schema.Report:
    """A Report with a SPEC status; when it refuses, the detail is its first error's, from the
    catalogue rule with that status."""
    assert isinstance(report, luma_schema.Report)
    assert report.status in STATUSES
    if report.ok:
        assert report.detail is None and report.errors == () and report.request is not None
    else:
        first = report.errors[0]
        assert (report.status, report.detail) == (first.status, first.detail)
        assert catalog.rule(first.rule).status == first.status
        assert isinstance(report.detail, str) and report.detail
    json.dumps(report.as_dict())
    return report


# ---------------------------------------------------------------- hostile Python objects


class EqRaises(str):
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("__eq__")

    def __hash__(self) -> int:
        return hash(str.__str__(self))


class StrEverythingRaises(str):
    def __len__(self) -> int:
        raise RuntimeError("__len__")

    def __iter__(self) -> Any:
        raise RuntimeError("__iter__")

    def __getitem__(self, index: Any) -> Any:
        raise RuntimeError("__getitem__")

    def __str__(self) -> str:
        raise RuntimeError("__str__")

    def encode(self, *args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("encode")

    def startswith(self, *args: Any) -> bool:
        raise RuntimeError("startswith")

    def isidentifier(self) -> bool:
        raise RuntimeError("isidentifier")


class EqualsAnything(str):
    """A key that claims to be every field name."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return hash("prompt")


class EndlessList(list[Any]):
    def __iter__(self) -> Any:
        while True:
            yield {}

    def __len__(self) -> int:
        raise RuntimeError("__len__")


class DictEverythingRaises(dict[Any, Any]):
    def keys(self) -> Any:
        raise RuntimeError("keys")

    def items(self) -> Any:
        raise RuntimeError("items")

    def values(self) -> Any:
        raise RuntimeError("values")

    def get(self, *args: Any) -> Any:
        raise RuntimeError("get")

    def __getitem__(self, key: Any) -> Any:
        raise RuntimeError("__getitem__")

    def __iter__(self) -> Any:
        raise RuntimeError("__iter__")

    def __len__(self) -> int:
        raise RuntimeError("__len__")

    def __contains__(self, key: object) -> bool:
        raise RuntimeError("__contains__")


class ClassRaises:
    @property  # type: ignore[misc]
    def __class__(self) -> type:
        raise RuntimeError("__class__")


class ClassLies:
    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return str


def test_subclasses_are_read_through_their_base_class() -> None:
    # Overrides never run: the values are what the base class holds.
    report = assert_report(
        luma_schema.check(
            DictEverythingRaises(
                {
                    EqRaises("prompt"): StrEverythingRaises("a cat"),
                    "type": EqRaises("image_edit"),
                    "source": DictEverythingRaises(url=StrEverythingRaises("https://a.example/")),
                    "image_ref": EndlessList([{"url": "https://b.example/x.png"}]),
                }
            )
        )
    )
    assert report.ok
    assert report.request is not None
    assert report.request["prompt"] == "a cat"
    assert type(report.request["prompt"]) is str
    assert report.request["source"]["url"] == "https://a.example/"
    assert report.request["image_ref"] == [
        {"url": "https://b.example/x.png", "data": None, "media_type": None}
    ]


def test_a_key_that_claims_every_name_gets_a_report() -> None:
    # Its text says "zz", its __eq__ says "prompt": either reading is a verdict, never a crash.
    for body in ({EqualsAnything("zz"): "a cat"}, {EqualsAnything("zz"): 5, "model": "x"}):
        assert_report(luma_schema.check(body))


def test_a_key_whose_eq_raises_still_names_its_field() -> None:
    report = assert_report(luma_schema.check({EqRaises("prompt"): "a cat", "model": "nope"}))
    assert report.errors[0].rule == "model_unknown"


@pytest.mark.parametrize("make", [ClassRaises, ClassLies, lambda: {1, 2}, lambda: b"x", object])
def test_non_json_values_are_type_errors_in_fields_and_not_json_elsewhere(make: Any) -> None:
    hostile = make()
    in_field = assert_report(luma_schema.check({"prompt": hostile}))
    assert in_field.errors[0].rule == "wrong_type" and in_field.errors[0].path == "prompt"
    elsewhere = assert_report(luma_schema.check({"prompt": "x", "extra": hostile}))
    assert elsewhere.detail == BODY.render()
    if type(hostile) is not bytes:
        assert assert_report(luma_schema.check(hostile)).detail == BODY.render()


def test_a_payload_whose_class_lies_is_not_json_text() -> None:
    assert assert_report(luma_schema.check(ClassLies())).detail == BODY.render()


def test_cycles_are_not_json() -> None:
    loop: list[Any] = []
    loop.append(loop)
    assert assert_report(luma_schema.check({"prompt": "x", "extra": loop})).detail == BODY.render()
    body: dict[str, Any] = {"prompt": "x"}
    body["source"] = body
    report = assert_report(luma_schema.check(body))
    assert report.errors[0].rule == "wrong_type" and report.errors[0].path == "source"


def test_shared_values_cost_their_size_not_their_paths() -> None:
    # 2**80 paths through 80 shared lists: walked once each, or this would never end.
    shared: list[Any] = []
    for _ in range(80):
        shared = [shared, shared]
    image = {"url": "https://example.com/a.png"}
    report = assert_report(
        luma_schema.check({"prompt": "x", "extra": shared, "image_ref": [image, image]})
    )
    assert report.ok


class OwnHash(str):
    def __eq__(self, other: object) -> bool:
        return other is self

    def __hash__(self) -> int:
        return id(self)


def test_two_keys_with_the_same_text_are_duplicates() -> None:
    report = luma_schema.check({"prompt": "x", OwnHash("prompt"): "y"})
    assert assert_report(report).detail == BODY.render()


# ---------------------------------------------------------------- depth, size, encodings

DEPTH = 100_000


@pytest.mark.timeout(120)
@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deep_json_text_is_not_json(opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    text = opener * DEPTH + "1" + closer * DEPTH
    assert assert_report(luma_schema.check(text)).detail == BODY.render()
    wrapped = '{"prompt": "x", "extra": ' + text + "}"
    assert assert_report(luma_schema.check(wrapped.encode())).detail == BODY.render()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("as_dict", [False, True])
def test_deep_python_values_cost_no_stack(as_dict: bool) -> None:
    value: Any = "leaf"
    for _ in range(DEPTH):
        value = {"a": value} if as_dict else [value]
    # Deeper than catalog.MAX_DEPTH: not JSON, as the same value sent as text (test_engine).
    report = assert_report(luma_schema.check({"prompt": "x", "image_ref": [{"a": value}]}))
    assert report.detail == BODY.render()


@pytest.mark.timeout(120)
def test_huge_strings_and_arrays_are_checked_in_bounded_memory() -> None:
    prompt = "x" * 20_000_000
    tracemalloc.start()
    try:
        report = assert_report(luma_schema.check({"prompt": prompt}))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.errors[0].rule == "prompt_length"
    assert peak < 1_000_000  # the 20 MB string is never copied
    refs = [{"url": "https://example.com/a.png"}] * 20_000
    report = assert_report(luma_schema.check({"prompt": "x", "image_ref": refs}))
    assert report.errors[0].rule == "image_ref_max"


@pytest.mark.parametrize(
    "text",
    [
        b'{"prompt": "\xff"}',
        b'{"prompt": "x"}\xff',
        '{"prompt": "x"}'.encode("utf-16"),
        b'{"prompt": NaN}',
        b'{"prompt": "x", "extra": Infinity}',
        b'{"prompt": "x", "extra": -Infinity}',
        b'{"prompt": "x", "prompt": "y"}',
        b'{"prompt": "x", "source": {"url": "https://a.example/", "url": "x"}}',
        b'{"prompt": "x"} {}',
        b"\xef\xbb\xbf\xef\xbb\xbf{}",
        b"",
    ],
)
def test_malformed_json_text_is_not_json(text: bytes) -> None:
    assert assert_report(luma_schema.check(text)).detail == BODY.render()


def test_a_bom_is_allowed_once() -> None:
    assert assert_report(luma_schema.check(b'\xef\xbb\xbf{"prompt": "x"}')).ok
    assert assert_report(luma_schema.check('\ufeff{"prompt": "x"}')).ok


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_are_not_json(value: float) -> None:
    assert assert_report(luma_schema.check({"prompt": "x", "n": value})).detail == BODY.render()
    assert assert_report(luma_schema.check({"prompt": value})).errors[0].path == "prompt"


def test_lone_surrogates_reach_no_encoder() -> None:
    for url in ("https://\ud800.example/", "https://a\udfff.example/", "https://%ed%a0%80.x/"):
        report = assert_report(
            luma_schema.check({"prompt": "x", "type": "image_edit", "source": {"url": url}})
        )
        assert report.errors[0].rule == "url_not_fetchable"
    report = assert_report(luma_schema.check({"prompt": "\ud800", "model": "\udfff"}))
    assert report.errors[0].rule == "model_unknown"


# ---------------------------------------------------------------- anything at all

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(
        [*catalog.MODELS, *catalog.TYPES, *catalog.ASPECT_RATIOS, "https://example.com/a.png"]
    ),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=20,
)


class Make:
    """A blueprint: hypothesis draws these, and the test builds the hostile value from them, so
    that hypothesis itself never touches a hostile object."""

    def __init__(self, kind: str, arg: Any = None) -> None:
        self.kind, self.arg = kind, arg

    def __repr__(self) -> str:
        return f"Make({self.kind!r}, {self.arg!r})"


LEAVES = {
    "class_raises": lambda _: ClassRaises(),
    "class_lies": lambda _: ClassLies(),
    "set": lambda _: {1},
    "bytes": lambda _: b"AAAA",
    "object": lambda _: object(),
    "eq_raises": EqRaises,
    "str_raises": StrEverythingRaises,
}
CONTAINERS = {
    "tuple": tuple,
    "endless": EndlessList,
    "dict_raises": DictEverythingRaises,
}


def build(blueprint: Any) -> Any:
    if isinstance(blueprint, Make):
        if blueprint.kind in LEAVES:
            return LEAVES[blueprint.kind](blueprint.arg)
        if blueprint.kind == "lying_key":
            return {EqualsAnything("zz"): build(blueprint.arg)}
        return CONTAINERS[blueprint.kind](build(blueprint.arg))
    if isinstance(blueprint, list):
        return [build(item) for item in blueprint]
    if isinstance(blueprint, dict):
        built: dict[Any, Any] = {}
        for key, value in blueprint.items():
            built[EqRaises(key) if key.startswith("_") else key] = build(value)
        return built
    return blueprint


leaf_blueprints = st.builds(Make, st.sampled_from(sorted(LEAVES)), st.sampled_from(KEYS))
anything = st.recursive(
    json_values | leaf_blueprints,
    lambda children: (
        st.lists(children, max_size=4)
        | st.builds(Make, st.sampled_from(["tuple", "endless"]), st.lists(children, max_size=4))
        | st.builds(
            Make,
            st.sampled_from(["dict_raises"]),
            st.dictionaries(st.sampled_from(KEYS), children, max_size=5),
        )
        | st.builds(Make, st.just("lying_key"), children)
        | st.dictionaries(st.sampled_from(KEYS) | st.sampled_from(["_prompt", "_url"]), children)
    ),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(anything)
def test_anything_gets_a_report(blueprint: Any) -> None:
    assert_report(luma_schema.check(build(blueprint)))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8),
    st.sampled_from(["", "\ufeff"]),
)
def test_json_text_and_its_value_agree(body: dict[str, Any], bom: str) -> None:
    try:
        text = json.dumps(body)
    except ValueError:
        return
    from_text = assert_report(luma_schema.check((bom + text).encode("utf-8", "surrogatepass")))
    from_value = assert_report(luma_schema.check(body))
    # Python writes NaN and Infinity into text, which then is not JSON: it is not JSON as a value
    # either, except inside a known field, where it is that field's type error.
    if from_value.errors and from_value.errors[0].rule == "wrong_type":
        assert from_text.errors[0].rule in ("wrong_type", "body_not_object")
    else:
        assert (from_text.status, from_text.detail) == (from_value.status, from_value.detail)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_get_a_report(data: bytes) -> None:
    assert_report(luma_schema.check(data))
    assert_report(luma_schema.check(data.decode("latin-1")))


# ---------------------------------------------------------------- reading values as they are


class _Word(str):
    pass


_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and the infinities included: no JSON number
    st.text(max_size=3),
    st.text(max_size=3).map(_Word),
    st.frozensets(st.integers(), max_size=2),
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=3), st.integers()), inner, max_size=3),
        st.dictionaries(st.text(max_size=3).map(_Word), inner, max_size=2),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_VALUES, st.sampled_from([1, catalog.MAX_DEPTH - 2, catalog.MAX_DEPTH]))
def test_a_value_read_as_it_stands_equals_its_plain_copy(value: Any, depth: int) -> None:
    # The engine reads a payload of exact JSON built-ins as it stands, without the plain copy
    # that reading any other payload takes: the two must be the same value.
    from luma_schema._input.python import ALIEN, TooDeep, exact, has_alien, plain

    try:
        copy = plain(value, depth)
    except TooDeep:
        assert not exact(value, depth)
        return
    if exact(value, depth):
        assert copy is not ALIEN and not has_alien(copy)
        assert json.dumps(copy, sort_keys=True) == json.dumps(value, sort_keys=True)
    elif copy is not ALIEN and not has_alien(copy):
        assert _has_subclass(value)  # not exact, yet a JSON value: a subclass or a tuple in it


def _has_subclass(value: Any) -> bool:
    if type(value) is tuple or type(value) is _Word:
        return True
    if type(value) is list:
        return any(_has_subclass(v) for v in value)
    if type(value) is dict:
        return any(_has_subclass(k) or _has_subclass(v) for k, v in value.items())
    return False
