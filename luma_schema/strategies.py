"""Hypothesis strategies for Luma Agents generation requests (extra ``testing``).

``valid_requests()`` builds requests the server accepts; ``violating(rule_id)`` builds requests
that break exactly that rule of ``catalog.RULES`` and nothing else, by construction (no
filtering).  Every limit and enum is read from the catalogue's rule objects.
"""

from __future__ import annotations

import base64
import json
from typing import Any

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "luma_schema.strategies needs hypothesis: pip install 'luma-schema[testing]'"
    ) from exc

from luma_schema import catalog
from luma_schema.rules import (
    AllowedWith,
    Base64,
    Length,
    MaxBytes,
    MaxItemsFor,
    OneOf,
    RequiredFor,
)

__all__ = ["valid_requests", "violating"]

Request = dict[str, Any]


def _rule(rule_id: str, kind: type[Any]) -> Any:
    rule = catalog.rule(rule_id)
    if not isinstance(rule, kind):
        raise TypeError(f"{rule_id} is no longer a {kind.__name__}: update the strategies")
    return rule


_MODEL: OneOf = _rule("model_unknown", OneOf)
_TYPE: OneOf = _rule("type_unsupported", OneOf)
_PROMPT: Length = _rule("prompt_length", Length)
_ASPECT: OneOf = _rule("aspect_ratio_invalid", OneOf)
_STYLE: OneOf = _rule("style_invalid", OneOf)
_FORMAT: OneOf = _rule("output_format_invalid", OneOf)
_USER_ID: Length = _rule("user_id_length", Length)
_SOURCE: RequiredFor = _rule("source_required", RequiredFor)
_EDIT_MAX: MaxItemsFor = _rule("image_ref_edit_max", MaxItemsFor)
_IMAGE_MAX: MaxItemsFor = _rule("image_ref_max", MaxItemsFor)
_MANGA: AllowedWith = _rule("manga_portrait", AllowedWith)
_SIZE: MaxBytes = _rule("image_too_large", MaxBytes)
_BASE64: Base64 = _rule("base64_invalid", Base64)

_EDIT = _SOURCE.equals  # the type that takes a source
_PLAIN = next(t for t in _TYPE.values if t != _EDIT)
_MAX_REFS = {_EDIT_MAX.equals: _EDIT_MAX.max, _IMAGE_MAX.equals: _IMAGE_MAX.max}

# ---------------------------------------------------------------- text

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


# ---------------------------------------------------------------- images

_MAGIC = {
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
def _public_url(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(("https", "HTTPS", "Https")))
    port = draw(st.one_of(st.just(""), st.integers(1, 65535).map(lambda n: f":{n}")))
    return f"{scheme}://{draw(_public_hosts)}{port}/{draw(_paths)}"


@st.composite
def _image_data(draw: st.DrawFn, padded: bool = False) -> tuple[str, str]:
    """Base64 of bytes that start with a real PNG, JPEG, GIF or WebP signature, and its type;
    ``padded``: a length that is not a multiple of 3, so the text ends in ``=``."""
    media_type = draw(st.sampled_from(sorted(_MAGIC)))
    magic = _MAGIC[media_type]
    size = draw(st.integers(0, 16)) * 3
    if padded:  # a total length of 1 or 2 modulo 3
        size += (draw(st.sampled_from((1, 2))) - len(magic)) % 3
    raw = magic + draw(st.binary(min_size=size, max_size=size))
    return base64.b64encode(raw).decode("ascii"), media_type


def _url_image() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"url": _public_url()},
        optional={
            "data": st.none(),
            "media_type": st.one_of(st.none(), st.sampled_from(sorted(_MAGIC))),
        },
    )


@st.composite
def _data_image(draw: st.DrawFn) -> dict[str, Any]:
    data, media_type = draw(_image_data())
    image: dict[str, Any] = {"data": data, "media_type": media_type}
    if draw(st.booleans()):
        image["url"] = None
    return image


def _valid_image() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(_url_image(), _data_image())


# ---------------------------------------------------------------- requests


@st.composite
def _request(draw: st.DrawFn, request_type: str | None = None, images: bool = True) -> Request:
    """A valid request; ``request_type`` fixes ``type``, ``images=False`` leaves images out."""
    kind = request_type if request_type is not None else draw(st.sampled_from(_TYPE.values))
    body: Request = {"prompt": draw(_text(_PROMPT.min, _PROMPT.max))}
    if kind != _PLAIN or draw(st.booleans()):
        body["type"] = kind
    if draw(st.booleans()):
        body["model"] = draw(st.sampled_from(_MODEL.values))
    style = draw(st.one_of(st.none(), st.sampled_from(_STYLE.values)))
    if style is not None:
        body["style"] = style
    ratios: tuple[str, ...] = _ASPECT.values
    if kind == _MANGA.key_equals and style == _MANGA.equals:
        ratios = _MANGA.allowed
    ratio = draw(st.one_of(st.just("absent"), st.none(), st.sampled_from(ratios)))
    if ratio != "absent":
        body["aspect_ratio"] = ratio
    for name, strategy in (
        ("output_format", st.one_of(st.none(), st.sampled_from(_FORMAT.values))),
        ("web_search", st.booleans()),
        ("user_id", st.one_of(st.none(), _text(0, _USER_ID.max))),
    ):
        if draw(st.booleans()):
            body[name] = draw(strategy)
    if not images:
        if kind == _EDIT:
            body[_SOURCE.field] = {"url": draw(_public_url())}
        return body
    if kind == _EDIT:
        body[_SOURCE.field] = draw(_valid_image())
    elif draw(st.booleans()):
        body[_SOURCE.field] = None
    refs: list[dict[str, Any]] = draw(st.lists(_valid_image(), max_size=min(_MAX_REFS[kind], 3)))
    keep_empty: bool = draw(st.booleans())
    if refs or keep_empty:
        body[_IMAGE_MAX.field] = refs
    return body


def valid_requests() -> st.SearchStrategy[Request]:
    """Requests the server accepts: both types, both models, URL and base64 images (real PNG,
    JPEG, GIF and WebP signatures), optional fields present, null or absent, any Unicode prompt
    up to the limit (astral-plane characters included)."""
    return _request()


# ---------------------------------------------------------------- one broken rule each


def _set(body: Request, **fields: Any) -> Request:
    return {**body, **fields}


def _with_image(image: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Request]:
    """A valid request with one image replaced by ``image``: the source of an edit or one
    ``image_ref`` item."""

    @st.composite
    def build(draw: st.DrawFn) -> Request:
        kind = draw(st.sampled_from(_TYPE.values))
        body = draw(_request(kind, images=False))
        bad = draw(image)
        if kind == _EDIT and draw(st.booleans()):
            body[_SOURCE.field] = bad
            return body
        refs = [{"url": draw(_public_url())} for _ in range(draw(st.integers(0, 2)))]
        refs.insert(draw(st.integers(0, len(refs))), bad)
        body[_IMAGE_MAX.field] = refs
        return body

    return build()


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


def _oversized() -> st.SearchStrategy[dict[str, Any]]:
    """Valid base64 of one to three bytes more than the cap, built without encoding anything."""

    def build(extra: int, media_type: str) -> dict[str, Any]:
        size = _SIZE.max + extra
        head = base64.b64encode(_MAGIC[media_type][:12]).decode("ascii")  # 12 bytes, 16 chars
        rest = size - 12
        tail = {0: "", 1: "QQ==", 2: "QUE="}[rest % 3]
        return {"data": head + "QUFB" * (rest // 3) + tail, "media_type": media_type}

    return st.builds(build, st.integers(1, 3), st.sampled_from(sorted(_MAGIC)))


def _wrong_type() -> st.SearchStrategy[Request]:
    not_string: st.SearchStrategy[Any] = st.one_of(
        st.integers(), st.booleans(), st.lists(st.none(), max_size=2), st.just({})
    )

    @st.composite
    def build(draw: st.DrawFn) -> Request:
        body = draw(_request())
        field = draw(st.sampled_from(catalog.FIELDS))
        if field.name in catalog.IMAGE_FIELDS and draw(st.booleans()):
            # Inside an image: a member of the wrong type, or an image_ref item not an object.
            member = draw(st.sampled_from(catalog.IMAGE_MEMBERS))
            image = {"url": draw(_public_url()), member.name: draw(not_string)}
            if field.name == _IMAGE_MAX.field:
                image = draw(st.sampled_from((image, None, "x", 5, [])))
                return _set(body, **{field.name: [image]})
            if body.get("type", _PLAIN) != _EDIT:
                body["type"] = _EDIT
                body.pop("aspect_ratio", None)
            return _set(body, **{field.name: image})
        wrong: st.SearchStrategy[Any] = {
            "a string": st.one_of(st.integers(), st.booleans(), st.just([]), st.just({})),
            "a boolean": st.one_of(st.integers(), st.just("true"), st.just([])),
            "an array": st.one_of(st.just({}), st.just("[]"), st.integers()),
            "an object": st.one_of(st.just([]), st.just("{}"), st.integers(), st.booleans()),
        }[field.type.value]
        if not field.nullable:
            wrong = st.one_of(wrong, st.none())
        return _set(body, **{field.name: draw(wrong)})

    return build()


def _body_not_object() -> st.SearchStrategy[Any]:
    scalars = (
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    )
    values = st.recursive(
        scalars | st.text(max_size=8),
        lambda children: st.lists(children, max_size=3),
        max_leaves=5,
    )
    not_objects = st.one_of(
        scalars, st.lists(values, max_size=3), st.lists(valid_requests(), min_size=1, max_size=2)
    )
    # Python values, and the same as JSON text (a str payload is JSON text, never a string value).
    return st.one_of(
        not_objects, not_objects.map(json.dumps), not_objects.map(lambda v: json.dumps(v).encode())
    )


def violating(rule_id: str) -> st.SearchStrategy[Any]:
    """Requests that break exactly the rule ``rule_id`` (rows 1-22 of SPEC section 2, the rules
    that need no network) and no other: ``check()`` reports that rule alone."""
    requests = _request()
    edits = _request(_EDIT)
    plains = _request(_PLAIN)
    builders: dict[str, st.SearchStrategy[Any]] = {
        "body_not_object": _body_not_object(),
        "wrong_type": _wrong_type(),
        "model_unknown": st.builds(lambda b, m: _set(b, model=m), requests, _not_in(_MODEL.values)),
        "type_unsupported": st.builds(
            lambda b, t: _set(b, type=t), requests, _not_in(_TYPE.values)
        ),
        "prompt_missing": requests.map(lambda b: {k: v for k, v in b.items() if k != "prompt"}),
        "prompt_length": st.builds(
            lambda b, p: _set(b, prompt=p),
            requests,
            st.one_of(
                st.just("") if _PROMPT.min > 0 else st.nothing(),
                _text(_PROMPT.max + 1, _PROMPT.max + 3),
            ),
        ),
        "aspect_ratio_invalid": st.builds(
            lambda b, a: _set(b, aspect_ratio=a), requests, _not_in(_ASPECT.values)
        ),
        "style_invalid": st.builds(lambda b, s: _set(b, style=s), requests, _not_in(_STYLE.values)),
        "output_format_invalid": st.builds(
            lambda b, s: _set(b, output_format=s), requests, _not_in(_FORMAT.values)
        ),
        "user_id_length": st.builds(
            lambda b, u: _set(b, user_id=u), requests, _text(_USER_ID.max + 1, _USER_ID.max + 3)
        ),
        "source_required": st.builds(
            lambda b, s: {**{k: v for k, v in b.items() if k != "source"}, **s},
            edits,
            st.sampled_from(({}, {"source": None})),
        ),
        "source_forbidden": st.builds(lambda b, s: _set(b, source=s), plains, _valid_image()),
        "image_ref_edit_max": st.builds(
            lambda b, refs: _set(b, image_ref=refs),
            edits,
            st.lists(_url_image(), min_size=_EDIT_MAX.max + 1, max_size=_EDIT_MAX.max + 2),
        ),
        "image_ref_max": st.builds(
            lambda b, refs: _set(b, image_ref=refs),
            plains,
            st.lists(_url_image(), min_size=_IMAGE_MAX.max + 1, max_size=_IMAGE_MAX.max + 2),
        ),
        "url_and_data": _with_image(
            st.builds(
                lambda url, data, mt: {"url": url, "data": data, **mt},
                _public_url(),
                st.one_of(_image_data().map(lambda t: t[0]), st.text(max_size=8)),
                st.sampled_from(({}, {"media_type": "image/png"}, {"media_type": None})),
            )
        ),
        "url_or_data": _with_image(
            st.sampled_from(
                ({}, {"url": None}, {"data": None, "url": None}, {"media_type": "image/png"})
            )
        ),
        "media_type_required": _with_image(
            st.builds(
                lambda data, extra: {"data": data, **extra},
                st.one_of(_image_data().map(lambda t: t[0]), st.text(max_size=8)),
                st.sampled_from(({}, {"media_type": None}, {"url": None})),
            )
        ),
        "manga_portrait": st.builds(
            lambda b, ratio: _set(b, style=_MANGA.equals, aspect_ratio=ratio),
            _request(_MANGA.key_equals),
            st.sampled_from([r for r in _ASPECT.values if r not in _MANGA.allowed]),
        ),
        "base64_invalid": _with_image(
            st.builds(
                lambda data, mt: {"data": data, "media_type": mt},
                _BAD_BASE64,
                st.sampled_from(sorted(_MAGIC)),
            )
        ),
        "image_too_large": _with_image(_oversized()),
        "not_an_image": _with_image(
            st.one_of(
                st.builds(
                    lambda u, mt: {"url": u, "media_type": mt}, _public_url(), _BAD_MEDIA_TYPES
                ),
                st.builds(
                    lambda t, mt: {"data": t[0], "media_type": mt}, _image_data(), _BAD_MEDIA_TYPES
                ),
            )
        ),
        "url_not_fetchable": _with_image(_PRIVATE_URLS.map(lambda u: {"url": u})),
    }
    try:
        return builders[rule_id]
    except KeyError:
        known = ", ".join(builders)
        raise ValueError(
            f"no strategy breaks {rule_id!r} alone without the network; known: {known}"
        ) from None
