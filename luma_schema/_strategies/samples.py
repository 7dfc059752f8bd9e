"""The values requests are made of: text by code points, numbers in bounds, public and
non-public URLs, base64 of real image signatures and of video bytes, media types, UUIDs in every
spelling Python reads and strings that are none."""

from __future__ import annotations

import base64
import functools
import math
from typing import Any, Final

from hypothesis import strategies as st

from luma_schema.rules import JsonType

Draw = st.DrawFn
_cached = functools.lru_cache(maxsize=4096)

# Strategies are made once per argument: making one costs far more than drawing from it.


def _typed(values: tuple[Any, ...]) -> tuple[tuple[type, Any], ...]:
    # A cache key that tells 1 from True (equal, and equal in hash, as tuple items).
    return tuple((type(v), v) for v in values)


@_cached
def _one(key: tuple[tuple[type, Any], ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from([v for _, v in key])


def one(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return _one(_typed(values))


@_cached
def ints(low: int | None, high: int | None) -> st.SearchStrategy[int]:
    return st.integers(low, high)


@_cached
def _order(key: tuple[tuple[type, Any], ...]) -> st.SearchStrategy[list[Any]]:
    return st.permutations([v for _, v in key])


def order(values: tuple[Any, ...]) -> st.SearchStrategy[list[Any]]:
    return _order(_typed(values))


@_cached
def _few(
    key: tuple[tuple[type, Any], ...], min_size: int, max_size: int
) -> st.SearchStrategy[list[Any]]:
    values = [v for _, v in key]
    return st.lists(st.sampled_from(values), min_size=min_size, max_size=max_size, unique=True)


def few(
    values: tuple[Any, ...], min_size: int = 0, max_size: int = 2
) -> st.SearchStrategy[list[Any]]:
    """Distinct values of ``values``, ``min_size`` to ``max_size`` of them."""
    return _few(_typed(values), min_size, max_size)


@_cached
def exactly(items: st.SearchStrategy[Any], size: int, unique: bool) -> st.SearchStrategy[list[Any]]:
    return st.lists(items, min_size=size, max_size=size, unique=unique)


BOOLEANS: Final = st.booleans()

# Any code point but surrogates (not encodable as UTF-8), astral planes included.
_chars = st.characters(exclude_categories=["Cs"])
_astral = st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF, exclude_categories=["Cs"])


@_cached
def text(min_size: int, max_size: int) -> st.SearchStrategy[str]:
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


@_cached
def short_text() -> st.SearchStrategy[str]:
    return st.text(_chars, max_size=20)


def not_in(values: tuple[str, ...]) -> st.SearchStrategy[str]:
    """A string that is none of ``values``: a value changed by construction."""
    return st.one_of(
        # "\u00a7" is in no enum value, so the result is none of them.
        st.builds(
            lambda v, s: v + "\u00a7" + s, st.sampled_from(values), st.text(_chars, max_size=5)
        ),
        st.builds(lambda v: v.upper() if v.upper() != v else v + " ", st.sampled_from(values)),
        st.just(""),
    )


@_cached
def number(
    kind: JsonType, low: float | None = None, high: float | None = None, open_: bool = False
) -> st.SearchStrategy[Any]:
    """A number of JSON type ``kind`` in ``low``..``high`` (``open_``: the bounds excluded)."""
    lo = None if low is None else math.floor(low) + 1 if open_ else math.ceil(low)
    hi = None if high is None else math.ceil(high) - 1 if open_ else math.floor(high)
    integers = st.integers(lo, hi)
    if kind is JsonType.INTEGER:
        return integers
    floats = st.floats(
        low,
        high,
        allow_nan=False,
        allow_infinity=False,
        exclude_min=open_ and low is not None,
        exclude_max=open_ and high is not None,
    )
    return st.one_of(floats, integers) if lo is None or hi is None or lo <= hi else floats


# ---------------------------------------------------------------- URLs

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


@_cached
@st.composite
def public_url(draw: Draw) -> str:
    scheme = draw(st.sampled_from(("https", "HTTPS", "Https")))
    port = draw(st.one_of(st.just(""), st.integers(1, 65535).map(lambda n: f":{n}")))
    return f"{scheme}://{draw(_public_hosts)}{port}/{draw(_paths)}"


PRIVATE_URLS: Final = st.sampled_from(
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

# ---------------------------------------------------------------- media

MAGIC: Final = {
    "image/png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01",
    "image/gif": b"GIF89a\x01\x00\x01\x00\x80\x00",
    "image/webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
}
VIDEO_TYPES: Final = ("video/mp4", "video/quicktime", "video/webm", "VIDEO/MP4")
# Media types a reference may name, images first (every rule about them decides which fit).
MEDIA_TYPES: Final = (*MAGIC, "IMAGE/PNG", "image/png; charset=binary", *VIDEO_TYPES)
# Strings that are media types of neither family, or of one spelled wrongly.
BAD_MEDIA_TYPES: Final = (
    "text/plain",
    "image/*",
    "image/",
    "image",
    " image/png",
    "image/png ",
    "application/json",
    "imagex/png",
    "image/-png",
    "video/*",
    "video",
    "audio/mpeg",
    "",
)


@_cached
@st.composite
def image_data(draw: Draw, media_type: str | None = None, padded: bool = False) -> tuple[str, str]:
    """Base64 of bytes that start with a real PNG, JPEG, GIF or WebP signature, and its type
    (``media_type``'s when it names one); ``padded``: a length that is not a multiple of 3,
    so the text ends in ``=``."""
    essence = (media_type or "").split(";")[0].strip().lower()
    if essence not in MAGIC:
        essence = draw(st.sampled_from(sorted(MAGIC)))
    magic = MAGIC[essence]
    size = draw(st.integers(0, 16)) * 3
    if padded:  # a total length of 1 or 2 modulo 3
        size += (draw(st.sampled_from((1, 2))) - len(magic)) % 3
    raw = magic + draw(st.binary(min_size=size, max_size=size))
    return base64.b64encode(raw).decode("ascii"), media_type or essence


@_cached
def video_data() -> st.SearchStrategy[str]:
    """Base64 of a few bytes of a declared video (no signature is asked of video media)."""
    return st.binary(min_size=1, max_size=24).map(lambda b: base64.b64encode(b).decode("ascii"))


BAD_BASE64: Final = st.one_of(
    image_data(padded=True).map(lambda t: t[0].rstrip("=")),
    st.builds(lambda d: d[:-1], image_data().map(lambda t: t[0])),
    image_data().map(lambda t: t[0][:4] + "\n" + t[0][4:]),
    image_data().map(lambda t: " " + t[0]),
    image_data().map(lambda t: "data:" + t[1] + ";base64," + t[0]),
    image_data().map(lambda t: t[0][:-4] + "-_" + t[0][-2:]),
    st.sampled_from(("", "====", "A===", "AB=C", "é" * 4)),
)


def oversized(cap: int, extra: int, media_type: str) -> str:
    """Valid base64 of ``cap + extra`` bytes (``extra`` >= 1), built without encoding anything:
    the signature of ``media_type`` (an image's) then ``A`` bytes."""
    size = cap + extra
    magic = MAGIC.get(media_type.split(";")[0].strip().lower(), MAGIC["image/png"])
    head = base64.b64encode(magic[:12]).decode("ascii")  # 12 bytes, 16 characters
    rest = size - 12
    tail = {0: "", 1: "QQ==", 2: "QUE="}[rest % 3]
    return head + "QUFB" * (rest // 3) + tail


# ---------------------------------------------------------------- ids


@_cached
def uuid_text() -> st.SearchStrategy[str]:
    """A UUID in a spelling Python's ``uuid.UUID()`` reads: hyphens or none, any case, braces,
    ``urn:uuid:``."""
    return st.builds(
        lambda u, spelling: spelling(u),
        st.uuids(),
        st.sampled_from(
            (
                str,
                lambda u: str(u).upper(),
                lambda u: u.hex,
                lambda u: "{" + str(u) + "}",
                lambda u: u.urn,
            )
        ),
    )


@_cached
def not_uuid() -> st.SearchStrategy[str]:
    """A string ``uuid.UUID()`` refuses: a digit too few or too many, or a letter past ``f``."""
    return st.one_of(
        st.builds(lambda u: str(u)[:-1], st.uuids()),
        st.builds(lambda u: str(u) + "0", st.uuids()),
        st.builds(lambda u, i: u.hex[:i] + "g" + u.hex[i + 1 :], st.uuids(), st.integers(0, 31)),
        st.sampled_from(("", "0", "not-a-uuid", "gen_123", "123e4567-e89b-12d3-a456")),
    )


# ---------------------------------------------------------------- wrong JSON types

NOT: Final[dict[JsonType, st.SearchStrategy[Any]]] = {
    JsonType.STRING: st.one_of(st.integers(), st.booleans(), st.just([]), st.just({})),
    JsonType.BOOLEAN: st.one_of(st.integers(), st.just("true"), st.just([])),
    JsonType.INTEGER: st.one_of(st.just("1"), st.just(1.5), st.booleans(), st.just([])),
    JsonType.NUMBER: st.one_of(st.just("1"), st.booleans(), st.just({})),
    JsonType.ARRAY: st.one_of(st.just({}), st.just("[]"), st.integers()),
    JsonType.OBJECT: st.one_of(st.just([]), st.just("{}"), st.integers(), st.booleans()),
}
