"""Rule kinds and the catalogue: rules check themselves when defined, say what they read and
hide, read as short reprs; a catalogue refuses what does not hold together; predicates mean the
same folded or not."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from luma_schema import catalog, expr
from luma_schema.expr import (
    MISSING,
    All,
    Any_,
    Call,
    Compare,
    Const,
    Equals,
    Given,
    In,
    Len,
    Member,
    Not,
    NotNull,
    Present,
    Same,
    Value,
    fold,
    render,
)
from luma_schema.rules import (
    Advice,
    AllowedWith,
    Alone,
    Base64,
    Catalogue,
    EitherOf,
    Fetched,
    Field,
    ForbiddenFor,
    HttpStatus,
    ImageMediaType,
    ItemsRange,
    JsonBody,
    JsonType,
    JsonTypes,
    Length,
    MaxBytes,
    MaxItemsFor,
    MediaFamily,
    NotBoth,
    NotTogether,
    OneOf,
    OneOfFor,
    OnlyFor,
    PublicHttpsUrl,
    Range,
    Required,
    RequiredFor,
    RequiredWith,
    Rule,
    SameLength,
    Scope,
    Test,
    Uuid,
)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Required("Bad-Id", 400, "{field}", field="p"), "rule id 'Bad-Id' must be lower_snake_case"),
        (lambda: Required("", 400, "{field}", field="p"), "rule id '' must be lower_snake_case"),
        (lambda: Required("UPPER", 400, "{field}", field="p"), "rule id 'UPPER' must be lower_snake_case"),
        (lambda: Required("ok_id", 418, "{field}", field="p"), "ok_id: status 418 is not one the API answers"),
        (lambda: Required("ok_id", 201, "{field}", field="p"), "ok_id: status 201 is not one the API answers"),
        (lambda: Required("ok_id", 400, "{nope}", field="p"), "ok_id: message uses unknown placeholders ['nope']"),
        (lambda: Required("ok_id", 400, "{path}", field="p"), "ok_id: message uses unknown placeholders ['path']"),
        (lambda: Required("ok_id", 400, "{{field}}", field="p"), "ok_id: literal braces in a message are not supported"),
        (lambda: Length("ok_id", 400, "{field}", field="p", min=7, max=1), "ok_id: need 0 <= min <= max, got 7..1"),
        (lambda: Length("ok_id", 400, "{field}", field="p", min=-1, max=1), "ok_id: need 0 <= min <= max, got -1..1"),
        (lambda: Range("ok_id", 400, "{field}", field="p"), "ok_id: a range needs a bound"),
        (lambda: Range("ok_id", 400, "{field}", field="p", min=2, max=1), "ok_id: need min <= max, got 2..1"),
        (lambda: OneOf("ok_id", 400, "{value}", field="m", values=()), "ok_id: values must be distinct and non-empty"),
        (lambda: OneOf("ok_id", 400, "{value}", field="m", values=("a", "a")), "ok_id: values must be distinct and non-empty"),
        (lambda: OneOf("ok_id", 400, "{value}", field="m", values=("a", "b"), listing="a, c"), "ok_id: the verbatim listing does not name exactly the values"),
        (lambda: OneOf("ok_id", 400, "{value}", field="m", values=("a", "b"), listing="a"), "ok_id: the verbatim listing does not name exactly the values"),
        (lambda: OneOfFor("ok_id", 400, "{value}", field="m", key="t", by=(("a", ("x",)),)), "ok_id: values must be distinct and non-empty"),
        (lambda: OneOfFor("ok_id", 400, "{value}", field="m", values=("x", "x"), key="t", by=(("a", ("x",)),)), "ok_id: values must be distinct and non-empty"),
        (lambda: OneOfFor("ok_id", 400, "{value}", field="m", values=("x",), key="t"), "ok_id: by names some of the values for each key"),
        (lambda: OneOfFor("ok_id", 400, "{value}", field="m", values=("x",), key="t", by=(("a", ("x",)), ("b", ("y",)))), "ok_id: by names some of the values for each key"),
        (lambda: NotTogether("ok_id", 400, "{field}", field="a", tests=(Test("a"),)), "ok_id: a combination needs two tests or more"),
        (lambda: NotTogether("ok_id", 400, "{field}", field="a"), "ok_id: a combination needs two tests or more"),
        (lambda: RequiredFor("ok_id", 400, "{field}", field="s", key="t"), "ok_id: give equals or among, not both"),
        (lambda: RequiredFor("ok_id", 400, "{field}", field="s", key="t", equals="a", among=("a",)), "ok_id: give equals or among, not both"),
        (lambda: ForbiddenFor("ok_id", 400, "{field}", field="s", key="t"), "ok_id: among must not be empty"),
        (lambda: Alone("ok_id", 422, "{path}", among=("a", "b")), "ok_id: keys must be some of among"),
        (lambda: Alone("ok_id", 422, "{path}", keys=("a", "c"), among=("a", "b")), "ok_id: keys must be some of among"),
        (lambda: MediaFamily("ok_id", 422, "{path}", member="m"), "ok_id: families are image and video"),
        (lambda: MediaFamily("ok_id", 422, "{path}", member="m", families=("image", "audio")), "ok_id: families are image and video"),
        (lambda: MaxItemsFor("ok_id", 400, "{max}", field="i", max=-1), "ok_id: max must be >= 0"),
        (lambda: AllowedWith("ok_id", 400, "{field}", field="s", allowed=()), "ok_id: allowed must not be empty"),
        (lambda: MaxBytes("ok_id", 413, "{path}", member="d", max=0), "ok_id: max must be a positive whole number of MiB"),
        (lambda: MaxBytes("ok_id", 413, "{path}", member="d", max=(1 << 20) + 1), "ok_id: max must be a positive whole number of MiB"),
        (lambda: Fetched("ok_id", 422, "{path}", member="u", timeout=0, max_redirects=1), "ok_id: timeout must be > 0 and max_redirects >= 0"),
        (lambda: Fetched("ok_id", 422, "{path}", member="u", timeout=1, max_redirects=-1), "ok_id: timeout must be > 0 and max_redirects >= 0"),
        (lambda: Field("not an identifier", JsonType.STRING), "field name 'not an identifier' is not an identifier"),
        (lambda: Field("name", JsonType.ARRAY), "name: items is given exactly for arrays"),
        (lambda: Field("name", JsonType.STRING, items=JsonType.OBJECT), "name: items is given exactly for arrays"),
        (lambda: Field("name", JsonType.STRING, nullable=True, default="x"), "name: a nullable field defaults to null"),
        (lambda: Field("name", JsonType.STRING, members=()), "name: only objects have members"),
        (lambda: Field("name", JsonType.OBJECT, reference=True), "name: a media reference names its members"),
        (lambda: Field("name", JsonType.OBJECT, members=(Field("a", JsonType.STRING),) * 2), "name: member names must be unique"),
        (lambda: Advice("ok_id", "{path} {value} {other}"), "ok_id: message uses unknown placeholders ['other', 'value']"),
        (lambda: Advice("ok_id", "{path}", Scope.FETCH), "ok_id: advice is about the request or one image"),
        (lambda: Advice("ok_id", "{path}", when=Const(True)), "ok_id: request advice names the field it concerns"),
        (lambda: Compare(Value("a"), "=", 1), "unknown comparison '='"),
        (lambda: Call("no_such_function", Value("a")), "unknown function 'no_such_function'"),
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
    Range("ok_id", 400, "{field}", field="seed", min=1, max=1)
    Range("ok_id", 400, "{field}", field="seed", max=-1)
    MaxItemsFor("ok_id", 400, "{max}", field="image_ref", max=0)
    MaxBytes("ok_id", 413, "{path} {max_mb}", member="data", max=1 << 20)
    Fetched("ok_id", 422, "{path}", member="url", timeout=0.5, max_redirects=0)
    OneOf("ok_id", 400, "{value} {valid}", field="model", values=("b", "a"), listing="b, a")
    Field("name", JsonType.STRING, nullable=True, default=None)
    Field("name", JsonType.ARRAY, items=JsonType.OBJECT, members=(), reference=True)
    Advice("ok_id", "{path} {near} {found} {named} {limit_mb}")
    Required("a1_b", 422, "{field}", field="prompt")
    JsonTypes("ok_id", 400, "{path} must be {expected}")
    OneOfFor("ok_id", 400, "{value} {key}", field="m", values=("x", "y"), key="t", by=(("a", ("x", "y")), ("b", ())))
    NotTogether("ok_id", 400, "{field}", field="a", tests=(Test("a"), Test("b")))
    RequiredFor("ok_id", 400, "{field} {equals}", field="s", key="t", among=("a",))
    RequiredFor("ok_id", 400, "{field} {equals}", field="s", key="t", equals="a")
    ForbiddenFor("ok_id", 400, "{field} {key}", field="s", key="t", among=("a",))
    Alone("ok_id", 422, "{path}", keys=("a", "b"), among=("a", "b"))
    MediaFamily("ok_id", 422, "{path}", member="m", families=("image", "video"))
    MediaFamily("ok_id", 422, "{path}", member="m", families=("video",))


def test_reprs_are_short() -> None:
    r = catalog.rule
    assert repr(r("prompt_length")) == "Length(prompt_length, prompt, 1..6000 unless type in layering)"
    assert repr(r("prompt_missing")) == "Required(prompt_missing, prompt unless type in layering)"
    assert repr(r("model_unknown")) == "OneOf(model_unknown, model in uni-1|uni-1-max|ray-3.2)"
    assert repr(r("source_required")) == (
        "RequiredFor(source_required, source if type=image_edit|video_edit|video_reframe|layering)"
    )
    assert repr(r("source_forbidden")) == "ForbiddenFor(source_forbidden, no source if type=image)"
    assert repr(r("image_ref_max")) == "MaxItemsFor(image_ref_max, image_ref <= 9 if type=image)"
    assert repr(r("manga_portrait")) == (
        "AllowedWith(manga_portrait, style=manga needs aspect_ratio in 2:3|9:16|1:2|1:3)"
    )
    assert repr(r("url_and_data")) == "NotBoth(url_and_data, url, data)"
    assert repr(r("url_or_data")) == "EitherOf(url_or_data, url | data | generation_id | file_id)"
    assert repr(r("media_type_required")) == "RequiredWith(media_type_required, media_type with data)"
    assert repr(r("base64_invalid")) == "Base64(base64_invalid, data)"
    assert repr(r("image_too_large")) == (
        "MaxBytes(image_too_large, data <= 52428800 bytes unless @ in source, "
        "type in video_edit|video_reframe, media_family(.media_type) in video)"
    )
    assert repr(r("not_an_image")) == (
        "ImageMediaType(not_an_image, media_type unless @ in source, type in video_edit|video_reframe)"
    )
    assert repr(r("url_not_fetchable")) == "PublicHttpsUrl(url_not_fetchable, url)"
    assert repr(r("url_fetch_failed")) == "Fetched(url_fetch_failed, url, 18s, 5 redirects)"
    assert repr(r("url_http_error")) == "HttpStatus(url_http_error, url < 400)"
    assert repr(r("body_not_object")) == "JsonBody(body_not_object)"
    assert repr(Range("seed_range", 400, "{field}", field="seed", min=0)) == "Range(seed_range, seed, 0..)"
    assert repr(MISSING) == "MISSING"
    assert repr(catalog.FIELDS[0]) == "Field(type: string)"
    assert repr(catalog.FIELDS[3]) == "Field(aspect_ratio: string|null)"


def test_reprs_say_the_conditions_and_open_bounds() -> None:
    only_video = (Test("video"),)
    assert repr(Required("r", 400, "{field}", field="a", when=only_video)) == "Required(r, a when video given)"
    assert repr(Range("r", 400, "{field}", field="n", max=5)) == "Range(r, n, ..5)"
    assert repr(ItemsRange("r", 400, "{field}", field="n", min=1)) == "ItemsRange(r, n[*], 1..)"
    kind = Test(".media_type", ("video",), negated=True, function="media_family")
    assert repr(kind) == "not media_family(.media_type) in video"


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (OneOfFor("r", 400, "{field}", field="f", values=("a", "b"), key="k", by=(("t", ("a",)),)), "OneOfFor(r, f in a|b, by k)"),
        (SameLength("r", 400, "{field}", field="f", other="g"), "SameLength(r, len(f) = len(g))"),
        (NotTogether("r", 400, "{field}", field="f", tests=(Test("a", ("x",)), Test("b"))), "NotTogether(r, a in x and b given)"),
        (ForbiddenFor("r", 400, "{field}", field="f", key="k", among=("a", "b")), "ForbiddenFor(r, no f if k=a|b)"),
        (OnlyFor("r", 400, "{field}", field="f", key="k", equals="e"), "OnlyFor(r, f only if k=e)"),
        (Alone("r", 422, "{path}", keys=("g", "f"), among=("g", "f", "u")), "Alone(r, g|f alone among g|f|u)"),
        (Uuid("r", 422, "{path}", member="g"), "Uuid(r, g)"),
        (MediaFamily("r", 422, "{path}", member="m", families=("image", "video")), "MediaFamily(r, m in image|video)"),
        (EitherOf("r", 422, "{path}", a="u", b="d", others=("g",)), "EitherOf(r, u | d | g)"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Rule) else "",
)
def test_every_kind_reads_as_a_short_repr(rule: Rule, text: str) -> None:
    assert repr(rule) == text


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (OneOf("r", 400, "{field} {value} {valid}", field="f", values=("b", "a")), "f x a, b"),
        (OneOfFor("r", 400, "{field} {key} {value}", field="f", values=("a",), key="k", by=(("t", ("a",)),)), "f k x"),
        (Length("r", 400, "{field} {min} {max}", field="f", min=1, max=2), "f 1 2"),
        (Range("r", 400, "{field} {min} {max}", field="f", min=1), "f 1 None"),
        (ItemsRange("r", 400, "{field} {min} {max}", field="f", max=2), "f None 2"),
        (SameLength("r", 400, "{field} {other}", field="f", other="g"), "f g"),
        (RequiredFor("r", 400, "{field} {key} {equals}", field="f", key="k", equals="e"), "f k e"),
        (RequiredFor("r", 400, "{field} {key} {equals}", field="f", key="k", among=("e",)), "f k x"),
        (ForbiddenFor("r", 400, "{field} {key}", field="f", key="k", among=("e",)), "f k"),
        (OnlyFor("r", 400, "{field} {key} {equals}", field="f", key="k", equals="e"), "f k e"),
        (MaxItemsFor("r", 400, "{field} {max} {key} {equals}", field="f", max=3, key="k", equals="e"), "f 3 k e"),
        (
            AllowedWith(
                "r", 400, "{field} {equals} {other} {allowed} {key} {key_equals}",
                field="f", equals="e", other="o", allowed=("a", "b"), key="k", key_equals="q",
            ),
            "f e o a, b k q",
        ),
        (NotBoth("r", 422, "{path} {a} {b}", a="u", b="d"), "p u d"),
        (EitherOf("r", 422, "{path} {a} {b}", a="u", b="d", others=("g",)), "p u d"),
        (RequiredWith("r", 422, "{path} {member} {with_}", member="m", with_="d"), "p m d"),
        (Alone("r", 422, "{path} {keys} {among}", keys=("g",), among=("g", "u")), "p ('g',) ('g', 'u')"),
        (Uuid("r", 422, "{path} {member}", member="g"), "p g"),
        (MaxBytes("r", 413, "{path} {member} {max} {max_mb}", member="d", max=2 << 20), "p d 2097152 2"),
        (Fetched("r", 422, "{path} {member} {timeout} {max_redirects}", member="u", timeout=1.5, max_redirects=2), "p u 1.5 2"),
        (HttpStatus("r", 422, "{path} {member} {min_error} {code}", member="u"), "p u 400 404"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Rule) else "",
)
def test_a_message_may_quote_each_parameter_of_its_kind(rule: Rule, message: str) -> None:
    echo = {name: "x" for name in rule.echo()}
    if isinstance(rule, HttpStatus):
        echo["code"] = "404"
    path = "p" if rule.scope in (Scope.IMAGE, Scope.FETCH) else ""
    assert rule.render(path, **echo) == message


def test_what_a_rule_reads_and_hides_follows_from_its_predicate() -> None:
    r = catalog.rule
    assert r("type_unsupported").reads == ("model", "type")  # the message quotes the model
    assert r("type_unsupported").marks == "type"
    assert r("prompt_missing").reads == ("prompt",) and r("prompt_missing").marks == "prompt"
    assert r("source_required").reads == ("source", "type") and r("source_required").marks == "source"
    assert r("source_forbidden").reads == ("source", "type")
    assert r("source_forbidden").marks is None  # a forbidden source is still an image
    assert r("image_ref_max").reads == ("image_ref", "type") and r("image_ref_max").marks is None
    assert r("manga_portrait").reads == ("aspect_ratio", "style", "type")
    for rule_id in ("url_and_data", "url_or_data", "media_type_required"):
        assert r(rule_id).marks == "image"
    assert r("url_and_data").reads == ("data", "url")
    assert r("url_or_data").reads == ("data", "file_id", "generation_id", "url")
    assert r("media_type_required").reads == ("data", "media_type")
    # the size cap is for images: the declared media type says whether a video source is one
    assert r("image_too_large").reads == ("data", "media_type")
    assert r("image_too_large").marks is None
    assert r("url_fetch_failed").reads == ("url",) and r("body_not_object").reads == ()
    assert r("image_too_large").params() == {"member": "data", "max": 52_428_800, "max_mb": 50}
    assert r("aspect_ratio_invalid").params()["valid"] == "1:1, 1:2, 1:3, 16:9, 2:1, 2:3, 3:1, 3:2, 9:16"
    assert r("style_invalid").params()["valid"] == "auto, manga"  # sorted when not verbatim


def test_kinds_declare_their_scope_and_expressibility() -> None:
    assert JsonBody.scope is Scope.BODY and JsonTypes.scope is Scope.TYPES
    for kind in (NotBoth, EitherOf, RequiredWith, Base64, MaxBytes, ImageMediaType, PublicHttpsUrl):
        assert kind.scope is Scope.IMAGE
    assert Fetched.scope is Scope.FETCH and HttpStatus.scope is Scope.FETCH
    for kind in (OneOf, Required, Length, Range, RequiredFor, OnlyFor, MaxItemsFor, AllowedWith):
        assert kind.scope is Scope.REQUEST
    assert PublicHttpsUrl.expressible.value == "approximate"
    assert Fetched.expressible.value == HttpStatus.expressible.value == "not expressible"
    assert Base64.expressible.value == MaxBytes.expressible.value == "exact"


# ---------------------------------------------------------------- a catalogue checks itself

CAT = catalog.CATALOGUE


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Catalogue(CAT.fields, (*CAT.rules, CAT.rules[0])), "rule ids must be unique"),
        (
            lambda: Catalogue(CAT.fields, (*CAT.rules, Required("stray", 400, "{field}", field="nope"))),
            "stray reads unknown fields ['nope']",
        ),
        (
            lambda: Catalogue(CAT.fields, (*CAT.rules, Base64("stray", 422, "{path}", member="prompt"))),
            "stray reads unknown fields ['prompt']",
        ),
        (
            lambda: Catalogue(CAT.fields, CAT.rules, library_messages=frozenset({"no_such_rule"})),
            "library_messages names unknown rules",
        ),
        (
            lambda: Catalogue(CAT.fields, CAT.rules[1:]),
            "a catalogue has exactly one rule of scope BODY",
        ),
        (
            lambda: Catalogue(
                (*CAT.fields, Field("more", JsonType.OBJECT, members=(Field("x", JsonType.STRING),), reference=True)),
                CAT.rules,
            ),
            "every media reference must have the same members",
        ),
        (
            lambda: Catalogue(CAT.fields, CAT.rules, (Advice("a", "{path}", Scope.IMAGE, when=Given(Member("nope"))),)),
            "a: image advice reads unknown members ['nope']",
        ),
        (
            lambda: Catalogue(CAT.fields, CAT.rules, (Advice("a", "{path}", when=Given(Value("nope")), at="x"),)),
            "a reads unknown fields ['nope']",
        ),
        (
            lambda: Catalogue(
                CAT.fields, (*CAT.rules, Required("stray", 400, "{field}", field="nope", when=(Test(".url"),)))
            ),
            "stray reads unknown fields ['nope', 'url']",
        ),
        (
            # Advice the engine gives itself (no condition) comes first: the rest are still read.
            lambda: Catalogue(CAT.fields, CAT.rules, (*CAT.advice, Advice("a", "{path}", when=Given(Value("nope")), at="x"))),
            "a reads unknown fields ['nope']",
        ),
        (
            lambda: Catalogue(CAT.fields, CAT.rules, (Advice("a", "{path}", when=Given(Member("url")), at="prompt"),)),
            "a: request advice reads no image member",
        ),
    ],
)
def test_a_catalogue_refuses_what_does_not_hold_together(make: Any, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        make()
    assert str(raised.value) == message


def test_catalogue_lookups() -> None:
    assert catalog.rule("prompt_length") is CAT.rule("prompt_length") is catalog.RULES_BY_ID["prompt_length"]
    assert CAT.advice_by_id("not_fetched") is catalog.ADVICE_BY_ID["not_fetched"]
    with pytest.raises(KeyError):
        CAT.rule("no_such_rule")
    with pytest.raises(KeyError):
        CAT.advice_by_id("no_such_advice")
    at_references = [path for path, f in CAT.paths.items() if f.reference]
    assert at_references == [
        "source",
        "image_ref",
        "video.start_frame",
        "video.end_frame",
        "video.keyframes",
        "video.edit.keyframes",
    ]
    assert [f.name for f in CAT.references] == [path.rsplit(".", 1)[-1] for path in at_references]
    assert [m.name for m in CAT.reference_members] == ["url", "data", "media_type", "generation_id", "file_id"]
    assert [path for path in CAT.paths if "." not in path] == [f.name for f in catalog.FIELDS]
    assert CAT.paths["video.edit.keyframes"].items is JsonType.OBJECT


def test_extended_places_new_request_rules_before_the_image_rules() -> None:
    seed = Range("seed_range", 400, "{field} out of range", field="seed", min=0)
    more = CAT.extended(fields=(Field("seed", JsonType.INTEGER),), rules=(seed,))
    ids = [r.id for r in more.rules]
    first_image_rule = next(r.id for r in CAT.rules if r.scope is Scope.IMAGE)
    assert ids.index("seed_range") == ids.index(first_image_rule) - 1
    assert ids.index("seed_range") > ids.index("image_ref_max")
    assert more.fields[-1].name == "seed" and more.fields[:-1] == CAT.fields


# ---------------------------------------------------------------- predicates mean one thing

values = st.one_of(
    st.just(MISSING), st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["", "a", "image"])
)
LEAVES = (Value("x"), Value("y"), Member("m"))
leaf = st.sampled_from(LEAVES)
predicates = st.recursive(
    st.one_of(
        st.builds(Given, leaf),
        st.builds(Present, leaf),
        st.builds(Equals, leaf, st.sampled_from([None, True, 1, "a", "image"])),
        st.builds(In, leaf, st.just(frozenset({"a", "image"}))),
        st.builds(Same, leaf, leaf),
        st.just(Const(True)),
        st.just(Const(False)),
    ),
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: All(*xs)),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: Any_(*xs)),
    ),
    max_leaves=8,
)


class _Names:
    def value(self, path: str) -> str:
        return f"env[{path!r}]"

    def member(self, name: str) -> str:
        return f"env['m.{name}']"

    def position(self) -> str:
        return "env['pos']"

    def constant(self, value: Any) -> str:
        return "MISSING" if value is MISSING else repr(value)

    def call(self, function: str, argument: expr.Expr, rendered: str) -> str:
        return f"F[{function!r}]({rendered})"


def _evaluate(predicate: expr.Expr, env: dict[str, Any]) -> bool:
    source = render(predicate, _Names())
    return bool(eval(source, {"MISSING": MISSING, "F": expr.FUNCTIONS, "env": env}))


@settings(max_examples=400, deadline=None)
@given(predicates, values, values, values, st.sets(st.sampled_from(LEAVES)))
def test_folding_in_what_is_known_keeps_the_meaning(
    predicate: expr.Expr, x: Any, y: Any, m: Any, known: set[expr.Expr]
) -> None:
    env = {"x": x, "y": y, "m.m": m}
    by_leaf = {Value("x"): x, Value("y"): y, Member("m"): m}
    folded = fold(predicate, {leaf: by_leaf[leaf] for leaf in known})
    assert _evaluate(folded, env) == _evaluate(predicate, env)
    # What is known given or present (type-checked, value unknown) folds the same way.
    given = frozenset(k for k, v in by_leaf.items() if v is not MISSING and v is not None)
    present = frozenset(k for k, v in by_leaf.items() if v is not MISSING) - given
    assert _evaluate(fold(predicate, {}, given, present), env) == _evaluate(predicate, env)


def test_rendering_reads_one_chained_comparison_and_exact_identity() -> None:
    between = All(Compare(Len(Value("p")), ">=", 1), Compare(Len(Value("p")), "<=", 6000))
    assert render(between, _Names()) == "(1 <= len(env['p']) <= 6000)"
    assert render(Equals(Value("p"), None), _Names()) == "(env['p'] is None)"
    assert render(Not(Equals(Value("p"), True)), _Names()) == "(env['p'] is not True)"
    assert render(Not(NotNull(Value("p"))), _Names()) == "(env['p'] is None)"
    # A boolean is not an integer: identity, as rendered, folds the same way.
    assert fold(Equals(Value("p"), True), {Value("p"): 1}) == Const(False)
