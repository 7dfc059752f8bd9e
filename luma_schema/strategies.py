"""Hypothesis strategies for generation requests (extra ``testing``), read from a catalogue.

``valid_requests()`` builds requests the server accepts; ``violating(rule_id)`` builds requests that
break exactly that rule and no other, by construction (no filtering).  Both take the catalogue
(``luma_schema.catalog.CATALOGUE`` by default): every field's value is drawn from its JSON type and
the rules that constrain it alone, then each rule that ties fields together is made to hold; a
violation breaks one rule the way its kind says and makes the others hold again.  Each rule kind
has its entry below (a kind without one fails at import), so a catalogue that only adds rules of
known kinds gets its strategies for free.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Mapping
from typing import Any, Final

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "luma_schema.strategies needs hypothesis: pip install 'luma-schema[testing]'"
    ) from exc

from luma_schema import catalog
from luma_schema.expr import MISSING
from luma_schema.rules import (
    AllowedWith,
    Base64,
    Catalogue,
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
    Range,
    Required,
    RequiredFor,
    RequiredWith,
    Rule,
    Scope,
)

__all__ = ["valid_requests", "violating"]

Request = dict[str, Any]
Draw = st.DrawFn

# ---------------------------------------------------------------- text and values

# Any code point but surrogates (not encodable as UTF-8), astral planes included.
_chars = st.characters(exclude_categories=["Cs"])
_astral = st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF, exclude_categories=["Cs"])


def _text(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    """Text of ``min_size``..``max_size`` code points, the bounds themselves often (in astral
    characters too: a length counts code points, not UTF-16 units or bytes).  Long text is a
    short head then one repeated character, so hypothesis never draws thousands of them."""
    sizes = st.one_of(
        st.sampled_from(sorted({min_size, max_size})), st.integers(min_size, max_size)
    )
    long = st.builds(
        lambda head, c, n: head + c * (n - len(head)),
        st.text(_chars, max_size=min(min_size, 16)),
        st.one_of(_chars, _astral),
        sizes,
    )
    if min_size > 64:
        return long
    return st.one_of(
        st.text(_chars, min_size=min_size, max_size=min(max_size, min_size + 20)), long
    )


def _not_in(values: tuple[str, ...]) -> st.SearchStrategy[str]:
    """A string that is none of ``values``: a value changed by construction."""
    return st.one_of(
        # "\u00a7" is in no enum value, so the result is none of them.
        st.builds(
            lambda v, s: v + "\u00a7" + s, st.sampled_from(values), st.text(_chars, max_size=5)
        ),
        st.builds(lambda v: v.upper() if v.upper() != v else v + " ", st.sampled_from(values)),
        st.just(""),
    )


def _number(
    f: Field, low: float | None = None, high: float | None = None, open_: bool = False
) -> st.SearchStrategy[Any]:
    """A number of ``f``'s JSON type in ``low``..``high`` (``open_``: the bounds excluded)."""
    lo = None if low is None else math.floor(low) + 1 if open_ else math.ceil(low)
    hi = None if high is None else math.ceil(high) - 1 if open_ else math.floor(high)
    integers = st.integers(lo, hi)
    if f.type is JsonType.INTEGER:
        return integers
    floats = st.floats(
        low, high, allow_nan=False, allow_infinity=False, exclude_min=open_, exclude_max=open_
    )
    return st.one_of(floats, integers) if lo is None or hi is None or lo <= hi else floats


# ---------------------------------------------------------------- media references

_MAGIC: Final = {
    "image/png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01",
    "image/gif": b"GIF89a\x01\x00\x01\x00\x80\x00",
    "image/webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
}
_label = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
_public_hosts = st.one_of(
    st.builds(
        lambda labels, tld: ".".join([*labels, tld]),
        st.lists(_label, min_size=1, max_size=3),
        st.sampled_from(("com", "org", "net", "io", "ai", "example")),
    ),
    st.sampled_from(("8.8.8.8", "1.1.1.1", "[2606:4700:4700::1111]", "[2001:4860:4860::8888]")),
)
_paths = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_./%", max_size=30)


@st.composite
def _public_url(draw: Draw) -> str:
    scheme = draw(st.sampled_from(("https", "HTTPS", "Https")))
    port = draw(st.one_of(st.just(""), st.integers(1, 65535).map(lambda n: f":{n}")))
    return f"{scheme}://{draw(_public_hosts)}{port}/{draw(_paths)}"


@st.composite
def _image_data(draw: Draw, padded: bool = False) -> tuple[str, str]:
    """Base64 of bytes that start with a real PNG, JPEG, GIF or WebP signature, and its type;
    ``padded``: a length that is not a multiple of 3, so the text ends in ``=``."""
    media_type = draw(st.sampled_from(sorted(_MAGIC)))
    magic = _MAGIC[media_type]
    size = draw(st.integers(0, 16)) * 3
    if padded:  # a total length of 1 or 2 modulo 3
        size += (draw(st.sampled_from((1, 2))) - len(magic)) % 3
    raw = magic + draw(st.binary(min_size=size, max_size=size))
    return base64.b64encode(raw).decode("ascii"), media_type


_BAD_BASE64 = st.one_of(
    _image_data(padded=True).map(lambda t: t[0].rstrip("=")),
    st.builds(lambda d: d[:-1], _image_data().map(lambda t: t[0])),
    _image_data().map(lambda t: t[0][:4] + "\n" + t[0][4:]),
    _image_data().map(lambda t: " " + t[0]),
    _image_data().map(lambda t: "data:" + t[1] + ";base64," + t[0]),
    _image_data().map(lambda t: t[0][:-4] + "-_" + t[0][-2:]),
    st.sampled_from(("", "====", "A===", "AB=C", "é" * 4)),
)
_BAD_MEDIA_TYPES = st.sampled_from(
    (
        "text/plain",
        "image/*",
        "image/",
        "image",
        " image/png",
        "image/png ",
        "application/json",
        "imagex/png",
        "image/-png",
        "",
    )
)
_PRIVATE_URLS = st.sampled_from(
    (
        "http://example.com/a.png",
        "ftp://example.com/a.png",
        "https://user:pw@example.com/a.png",
        "https://localhost/a.png",
        "https://localhost./a.png",
        "https://printer.local/a.png",
        "https://db.internal/a.png",
        "https://router.home.arpa/a.png",
        "https://intranet/a.png",
        "https://127.0.0.1/a.png",
        "https://127.1/a.png",
        "https://2130706433/a.png",
        "https://0x7f.0.0.1/a.png",
        "https://0177.0.0.1/a.png",
        "https://\uff11\uff12\uff17.0.0.1/a.png",
        "https://10.1.2.3/a.png",
        "https://172.16.0.1/a.png",
        "https://192.168.1.1/a.png",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/a.png",
        "https://0.0.0.0/a.png",
        "https://224.0.0.1/a.png",
        "https://[::1]/a.png",
        "https://[::]/a.png",
        "https://[::ffff:127.0.0.1]/a.png",
        "https://[::ffff:10.0.0.1]/a.png",
        "https://[64:ff9b::7f00:1]/a.png",
        "https://[2002:7f00:1::]/a.png",
        "https://[fe80::1]/a.png",
        "https://[fc00::1]/a.png",
        "https://[2001:db8::1]/a.png",
        "https://example.com:0/a.png",
        "https://example.com:65536/a.png",
        "https://exa mple.com/a.png",
        "https:///a.png",
        "",
    )
)


class _Roles:
    """Which reference member is the URL, the base64 data and the media type: read from the
    rules that check them."""

    def __init__(self, cat: Catalogue) -> None:
        def member(kind: type[Rule]) -> str:
            # "" when no rule checks such a member: the strategies then make no such image.
            found: str = next(
                (getattr(r, "member", "") for r in cat.rules if isinstance(r, kind)), ""
            )
            return found

        self.url = member(PublicHttpsUrl)
        self.data = member(Base64)
        self.media_type = member(ImageMediaType)
        self.members = cat.reference_members

    def url_image(self) -> st.SearchStrategy[dict[str, Any]]:
        assert self.url
        optional: dict[str, st.SearchStrategy[Any]] = {}
        for m in self.members:
            if m.name == self.media_type:
                optional[m.name] = st.one_of(st.none(), st.sampled_from(sorted(_MAGIC)))
            elif m.name != self.url and m.nullable:
                optional[m.name] = st.none()
        return st.fixed_dictionaries({self.url: _public_url()}, optional=optional)

    def data_image(self) -> st.SearchStrategy[dict[str, Any]]:
        assert self.data and self.media_type
        data, media_type = self.data, self.media_type
        nullable = [m.name for m in self.members if m.nullable and m.name not in (data, media_type)]

        def build(image: tuple[str, str], nulls: list[str]) -> dict[str, Any]:
            return {data: image[0], media_type: image[1], **dict.fromkeys(nulls)}

        return st.builds(
            build,
            _image_data(),
            st.lists(st.sampled_from(nullable), unique=True) if nullable else st.just([]),
        )

    def valid_image(self) -> st.SearchStrategy[dict[str, Any]]:
        kinds = []
        if self.url:
            kinds.append(self.url_image())
        if self.data and self.media_type:
            kinds.append(self.data_image())
        return st.one_of(*kinds)


# ---------------------------------------------------------------- what constrains a field


def _enum(cat: Catalogue, name: str) -> tuple[str, ...] | None:
    return next((r.values for r in cat.rules if isinstance(r, OneOf) and r.field == name), None)


def _default(cat: Catalogue, name: str) -> Any:
    return cat.paths[name].default


def _get(cat: Catalogue, body: Request, name: str) -> Any:
    """A field's value as the rules read it: its default when absent."""
    return body.get(name, _default(cat, name))


def _given(value: Any) -> bool:
    return value is not MISSING and value is not None


def _value(cat: Catalogue, roles: _Roles, f: Field) -> st.SearchStrategy[Any]:
    """A valid value of field ``f`` (not null) by its JSON type and single-field rules."""
    values = _enum(cat, f.name)
    if values is not None:
        return st.sampled_from(values)
    for r in cat.rules:
        if isinstance(r, Length) and r.field == f.name:
            return _text(r.min, r.max)
        if isinstance(r, Range) and r.field == f.name:
            return _number(f, r.min, r.max)
    if f.reference:
        image = roles.valid_image()
        if f.type is JsonType.ARRAY:
            return st.lists(image, max_size=3)
        return image
    match f.type:
        case JsonType.STRING:
            return st.text(_chars, max_size=20)
        case JsonType.BOOLEAN:
            return st.booleans()
        case JsonType.INTEGER | JsonType.NUMBER:
            return _number(f)
        case JsonType.ARRAY:
            assert f.items is not None
            return st.lists(_value(cat, roles, Field("item", f.items)), max_size=3)
        case JsonType.OBJECT:
            return st.fixed_dictionaries({})


# ---------------------------------------------------------------- making each rule hold

Fixed = frozenset[str] | set[str]
Satisfy = Callable[[Any, Catalogue, _Roles, Request, Draw, Fixed], None]


def _hold_required_for(
    r: RequiredFor, cat: Catalogue, roles: _Roles, body: Request, draw: Draw, fixed: Fixed
) -> None:
    if r.field in fixed:
        return
    if _get(cat, body, r.key) == r.equals and not _given(_get(cat, body, r.field)):
        body[r.field] = draw(_value(cat, roles, cat.paths[r.field]))


def _hold_only_for(
    r: OnlyFor, cat: Catalogue, roles: _Roles, body: Request, draw: Draw, fixed: Fixed
) -> None:
    if r.field in fixed:
        return
    if _get(cat, body, r.key) != r.equals and _given(_get(cat, body, r.field)):
        if draw(st.booleans()) and cat.paths[r.field].nullable:
            body[r.field] = None
        else:
            del body[r.field]


def _hold_max_items(
    r: MaxItemsFor, cat: Catalogue, roles: _Roles, body: Request, draw: Draw, fixed: Fixed
) -> None:
    if r.field in fixed:
        return
    items = _get(cat, body, r.field)
    if _get(cat, body, r.key) == r.equals and _given(items) and len(items) > r.max:
        body[r.field] = list(items)[: r.max]


def _hold_allowed_with(
    r: AllowedWith, cat: Catalogue, roles: _Roles, body: Request, draw: Draw, fixed: Fixed
) -> None:
    if r.other in fixed:
        return
    other = _get(cat, body, r.other)
    if (
        _get(cat, body, r.key) == r.key_equals
        and _get(cat, body, r.field) == r.equals
        and _given(other)
        and other not in r.allowed
    ):
        body[r.other] = draw(st.sampled_from(r.allowed))


def _nothing(*args: Any) -> None:
    """The field values drawn already obey rules of this kind."""


HOLD: Final[Mapping[type[Rule], Satisfy]] = {
    JsonBody: _nothing,
    JsonTypes: _nothing,
    OneOf: _nothing,
    Required: _nothing,
    Length: _nothing,
    Range: _nothing,
    RequiredFor: _hold_required_for,
    OnlyFor: _hold_only_for,
    MaxItemsFor: _hold_max_items,
    AllowedWith: _hold_allowed_with,
    NotBoth: _nothing,
    EitherOf: _nothing,
    RequiredWith: _nothing,
    Base64: _nothing,
    MaxBytes: _nothing,
    ImageMediaType: _nothing,
    PublicHttpsUrl: _nothing,
    Fetched: _nothing,
    HttpStatus: _nothing,
}


def _hold_all(
    cat: Catalogue,
    roles: _Roles,
    body: Request,
    draw: Draw,
    but: Rule | None = None,
    fixed: Fixed = frozenset(),
) -> Request:
    """Make every request rule (but ``but``) hold, in catalogue order, changing no field that
    ``but`` reads or that is in ``fixed`` (a rule that would need to is one the engine skips,
    since the field it reads is marked by ``but``'s failure)."""
    if but is not None and but.scope is Scope.REQUEST:
        fixed = fixed | set(but.reads)
    for r in cat.rules:
        if r is not but and r.scope is Scope.REQUEST:
            HOLD[type(r)](r, cat, roles, body, draw, fixed)
    return body


@st.composite
def _valid(
    draw: Draw, cat: Catalogue, roles: _Roles, fixed: tuple[tuple[str, Any], ...] = ()
) -> Request:
    """A valid request; ``fixed`` fields take the values given."""
    required = {r.field for r in cat.rules if isinstance(r, Required)}
    body: Request = {}
    for f in cat.fields:
        how = draw(st.sampled_from(("value", "value", "null", "absent")))
        if f.name in required:
            how = "value"
        elif how == "null" and not f.nullable:
            how = "absent"
        elif how == "absent" and f.default is MISSING and f.nullable and draw(st.booleans()):
            how = "null"
        if how == "value":
            body[f.name] = draw(_value(cat, roles, f))
        elif how == "null":
            body[f.name] = None
    body.update(fixed)
    return _hold_all(cat, roles, body, draw)


# ---------------------------------------------------------------- breaking one rule

Break = Callable[[Any, Catalogue, _Roles], st.SearchStrategy[Any]]


def _after(
    cat: Catalogue, roles: _Roles, rule: Rule, change: Callable[[Request, Draw], None]
) -> st.SearchStrategy[Request]:
    """A valid request changed by ``change``, then every other rule made to hold again."""

    @st.composite
    def build(draw: Draw) -> Request:
        body = draw(_valid(cat, roles))
        change(body, draw)
        return _hold_all(cat, roles, body, draw, but=rule)

    return build()


def _break_one_of(r: OneOf, cat: Catalogue, roles: _Roles) -> st.SearchStrategy[Any]:
    return _after(cat, roles, r, lambda b, d: b.__setitem__(r.field, d(_not_in(r.values))))


def _break_required(r: Required, cat: Catalogue, roles: _Roles) -> st.SearchStrategy[Any]:
    return _after(cat, roles, r, lambda b, d: b.pop(r.field, None))


def _break_length(r: Length, cat: Catalogue, roles: _Roles) -> st.SearchStrategy[Any]:
    bad = _text(r.max + 1, r.max + 3)
    if r.min > 0:
        bad = st.one_of(_text(0, r.min - 1), bad)
    return _after(cat, roles, r, lambda b, d: b.__setitem__(r.field, d(bad)))


def _break_range(r: Range, cat: Catalogue, roles: _Roles) -> st.SearchStrategy[Any]:
    f = cat.paths[r.field]
    outside = []
    if r.min is not None:
        outside.append(_number(f, high=r.min, open_=True))
    if r.max is not None:
        outside.append(_number(f, low=r.max, open_=True))
    bad = st.one_of(*outside)
    return _after(cat, roles, r, lambda b, d: b.__setitem__(r.field, d(bad)))


def _break_required_for(r: RequiredFor, cat: Catalogue, roles: _Roles) -> st.SearchStrategy[Any]:
    def change(body: Request, draw: Draw) -> None:
        body[r.key] = r.equals
        if draw(st.booleans()) and cat.paths[r.field].nullable:
            body[r.field] = None
        else:
            body.pop(r.field, None)

    return _after(cat, roles, r, change)


def _break_only_for(r: OnlyFor, cat: Catalogue, roles: _Roles) -> st.SearchStrategy[Any]:
    others = tuple(v for v in _enum(cat, r.key) or () if v != r.equals)
    if not others:
        raise ValueError(f"{r.id}: {r.key} has no other value to break it with")

    def change(body: Request, draw: Draw) -> None:
        key = draw(st.sampled_from(others))
        if key != _default(cat, r.key) or draw(st.booleans()):
            body[r.key] = key
        else:
            body.pop(r.key, None)
        body[r.field] = draw(_value(cat, roles, cat.paths[r.field]).filter(_given))

    return _after(cat, roles, r, change)


def _break_max_items(r: MaxItemsFor, cat: Catalogue, roles: _Roles) -> st.SearchStrategy[Any]:
    item = roles.url_image()

    def change(body: Request, draw: Draw) -> None:
        body[r.key] = r.equals
        body[r.field] = draw(st.lists(item, min_size=r.max + 1, max_size=r.max + 2))

    return _after(cat, roles, r, change)


def _break_allowed_with(r: AllowedWith, cat: Catalogue, roles: _Roles) -> st.SearchStrategy[Any]:
    others = tuple(v for v in _enum(cat, r.other) or () if v not in r.allowed)
    if not others:
        raise ValueError(f"{r.id}: {r.other} has no value outside the allowed ones")

    def change(body: Request, draw: Draw) -> None:
        body[r.key] = r.key_equals
        body[r.field] = r.equals
        body[r.other] = draw(st.sampled_from(others))

    return _after(cat, roles, r, change)


def _with_image(
    cat: Catalogue, roles: _Roles, rule: Rule, bad: st.SearchStrategy[Any]
) -> st.SearchStrategy[Request]:
    """A valid request with one reference replaced by ``bad``: a single reference field where
    the request may give one, or an item of an array of them."""
    singles = [f for f in cat.fields if f.reference and f.type is JsonType.OBJECT]
    arrays = [f for f in cat.fields if f.reference and f.type is JsonType.ARRAY]

    @st.composite
    def build(draw: Draw) -> Request:
        body = draw(_valid(cat, roles))
        image = draw(bad)
        fields = [f for f in singles if _may_give(cat, body, f.name)] + arrays
        f = draw(st.sampled_from(fields))
        if f.type is JsonType.OBJECT:
            body[f.name] = image
        else:
            items = list(body.get(f.name) or [])[:2]
            items.insert(draw(st.integers(0, len(items))), image)
            body[f.name] = items
        return _hold_all(cat, roles, body, draw, but=rule, fixed={f.name})

    return build()


def _may_give(cat: Catalogue, body: Request, name: str) -> bool:
    """Whether ``body`` may give field ``name`` (no rule forbids it for the body's values)."""
    for r in cat.rules:
        if isinstance(r, OnlyFor) and r.field == name and _get(cat, body, r.key) != r.equals:
            return False
    return True


def _image_without(roles: _Roles, *names: str | None) -> dict[str, Any]:
    return {m.name: None for m in roles.members if m.name not in names}


def _break_not_both(r: NotBoth, cat: Catalogue, roles: _Roles) -> st.SearchStrategy[Any]:
    values = {roles.url: _public_url(), roles.data: _image_data().map(lambda t: t[0])}
    image = st.builds(
        lambda a, b, extra: {r.a: a, r.b: b, **extra},
        values.get(r.a, st.text(max_size=8)),
        values.get(r.b, st.text(max_size=8)),
        st.sampled_from(({}, {roles.media_type: "image/png"}, {roles.media_type: None})),
    )
    return _with_image(cat, roles, r, image)


def _break_either_of(r: EitherOf, cat: Catalogue, roles: _Roles) -> st.SearchStrategy[Any]:
    image = st.sampled_from(
        ({}, {r.a: None}, {r.a: None, r.b: None}, {roles.media_type: "image/png"})
    )
    return _with_image(cat, roles, r, image)


def _break_required_with(r: RequiredWith, cat: Catalogue, roles: _Roles) -> st.SearchStrategy[Any]:
    withs = st.one_of(_image_data().map(lambda t: t[0]), st.text(max_size=8))
    image = st.builds(
        lambda v, extra: {r.with_: v, **extra},
        withs,
        st.sampled_from(({}, {r.member: None}, {roles.url: None})),
    )
    return _with_image(cat, roles, r, image)


def _break_base64(r: Base64, cat: Catalogue, roles: _Roles) -> st.SearchStrategy[Any]:
    image = st.builds(
        lambda data, mt: {r.member: data, roles.media_type: mt},
        _BAD_BASE64,
        st.sampled_from(sorted(_MAGIC)),
    )
    return _with_image(cat, roles, r, image)


def _break_max_bytes(r: MaxBytes, cat: Catalogue, roles: _Roles) -> st.SearchStrategy[Any]:
    """Valid base64 of one to three bytes more than the cap, built without encoding anything."""

    def build(extra: int, media_type: str) -> dict[str, Any]:
        size = r.max + extra
        head = base64.b64encode(_MAGIC[media_type][:12]).decode("ascii")  # 12 bytes, 16 chars
        rest = size - 12
        tail = {0: "", 1: "QQ==", 2: "QUE="}[rest % 3]
        return {r.member: head + "QUFB" * (rest // 3) + tail, roles.media_type: media_type}

    image = st.builds(build, st.integers(1, 3), st.sampled_from(sorted(_MAGIC)))
    return _with_image(cat, roles, r, image)


def _break_media_type(r: ImageMediaType, cat: Catalogue, roles: _Roles) -> st.SearchStrategy[Any]:
    image = st.one_of(
        st.builds(lambda u, mt: {roles.url: u, r.member: mt}, _public_url(), _BAD_MEDIA_TYPES),
        st.builds(lambda t, mt: {roles.data: t[0], r.member: mt}, _image_data(), _BAD_MEDIA_TYPES),
    )
    return _with_image(cat, roles, r, image)


def _break_url(r: PublicHttpsUrl, cat: Catalogue, roles: _Roles) -> st.SearchStrategy[Any]:
    return _with_image(cat, roles, r, _PRIVATE_URLS.map(lambda u: {r.member: u}))


_NOT: Final[Mapping[JsonType, st.SearchStrategy[Any]]] = {
    JsonType.STRING: st.one_of(st.integers(), st.booleans(), st.just([]), st.just({})),
    JsonType.BOOLEAN: st.one_of(st.integers(), st.just("true"), st.just([])),
    JsonType.INTEGER: st.one_of(st.just("1"), st.just(1.5), st.booleans(), st.just([])),
    JsonType.NUMBER: st.one_of(st.just("1"), st.booleans(), st.just({})),
    JsonType.ARRAY: st.one_of(st.just({}), st.just("[]"), st.integers()),
    JsonType.OBJECT: st.one_of(st.just([]), st.just("{}"), st.integers(), st.booleans()),
}


def _break_types(r: JsonTypes, cat: Catalogue, roles: _Roles) -> st.SearchStrategy[Any]:
    @st.composite
    def build(draw: Draw) -> Request:
        body = draw(_valid(cat, roles))
        f = draw(st.sampled_from(cat.fields))
        if f.reference and draw(st.booleans()):
            # Inside a reference: a member of the wrong type, or an array item not an object.
            m = draw(st.sampled_from(roles.members))
            image = {roles.url: draw(_public_url()), m.name: draw(_NOT[m.type])}
            if f.type is JsonType.ARRAY:
                image = draw(st.sampled_from((image, None, "x", 5, [])))
                body[f.name] = [image]
            else:
                if not _may_give(cat, body, f.name):
                    key = next(x for x in cat.rules if isinstance(x, OnlyFor) and x.field == f.name)
                    body[key.key] = key.equals
                body[f.name] = image
            return _hold_all(cat, roles, body, draw)
        wrong = _NOT[f.type]
        if not f.nullable:
            wrong = st.one_of(wrong, st.none())
        body[f.name] = draw(wrong)
        return body

    return build()


def _break_body(r: JsonBody, cat: Catalogue, roles: _Roles) -> st.SearchStrategy[Any]:
    scalars = (
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    )
    values = st.recursive(
        scalars | st.text(max_size=8),
        lambda children: st.lists(children, max_size=3),
        max_leaves=5,
    )
    not_objects = st.one_of(
        scalars, st.lists(values, max_size=3), st.lists(_valid(cat, roles), min_size=1, max_size=2)
    )
    # Python values, and the same as JSON text (a str payload is JSON text, never a string value).
    return st.one_of(
        not_objects, not_objects.map(json.dumps), not_objects.map(lambda v: json.dumps(v).encode())
    )


def _needs_network(r: Rule, cat: Catalogue, roles: _Roles) -> st.SearchStrategy[Any]:
    raise ValueError(f"{r.id} needs the network: no strategy breaks it alone")


BREAK: Final[Mapping[type[Rule], Break]] = {
    JsonBody: _break_body,
    JsonTypes: _break_types,
    OneOf: _break_one_of,
    Required: _break_required,
    Length: _break_length,
    Range: _break_range,
    RequiredFor: _break_required_for,
    OnlyFor: _break_only_for,
    MaxItemsFor: _break_max_items,
    AllowedWith: _break_allowed_with,
    NotBoth: _break_not_both,
    EitherOf: _break_either_of,
    RequiredWith: _break_required_with,
    Base64: _break_base64,
    MaxBytes: _break_max_bytes,
    ImageMediaType: _break_media_type,
    PublicHttpsUrl: _break_url,
    Fetched: _needs_network,
    HttpStatus: _needs_network,
}


def _kinds() -> set[type[Rule]]:
    from luma_schema import rules

    return {
        k
        for name in rules.__all__
        if isinstance(k := getattr(rules, name), type) and issubclass(k, Rule) and k is not Rule
    }


_UNMAPPED: Final = sorted(k.__name__ for k in _kinds() if k not in BREAK or k not in HOLD)
if _UNMAPPED:
    raise TypeError(f"the strategies have no entry for rule kinds {_UNMAPPED}")


# ---------------------------------------------------------------- the public strategies


def valid_requests(cat: Catalogue = catalog.CATALOGUE) -> st.SearchStrategy[Request]:
    """Requests the server accepts: every type and model, URL and base64 images (real PNG,
    JPEG, GIF and WebP signatures), optional fields present, null or absent, any Unicode text
    up to its limit (astral-plane characters included)."""
    return _valid(cat, _Roles(cat))


def violating(rule_id: str, cat: Catalogue = catalog.CATALOGUE) -> st.SearchStrategy[Any]:
    """Requests that break exactly the rule ``rule_id`` and no other (every rule that needs no
    network): ``check()`` reports that rule alone."""
    try:
        rule = cat.rule(rule_id)
    except KeyError:
        known = ", ".join(r.id for r in cat.rules if r.scope is not Scope.FETCH)
        raise ValueError(f"no rule {rule_id!r}; known: {known}") from None
    return BREAK[type(rule)](rule, cat, _Roles(cat))
