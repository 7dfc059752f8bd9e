"""JSON text (``str`` or UTF-8 ``bytes``) read as the API reads it: one RFC 8259 value, a leading
BOM allowed; anything else (other encodings, ``NaN``/``Infinity``, trailing data, a member name
repeated in any object) raises :class:`NotJson`.

Two readers give the same values: orjson (extra ``fast``) reads texts without escapes, the standard
library everything else.  A text of a MiB or more has its long base64-only strings cut out before
parsing and kept as :class:`luma_schema.media.Blob` slices of the text, so a 50 MiB image is never
copied.  Numbers keep their values (an integer too long for ``int()`` becomes a float).
"""

from __future__ import annotations

import json
import secrets
from typing import Any, Final

from luma_schema import media

try:  # an optional accelerator (extra ``fast``): the answers are the same without it
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised by the tests that hide it
    _orjson = None  # type: ignore[assignment]

__all__ = ["BIG_INPUT", "UNSURE", "NotJson", "parse", "quick_parse"]


class NotJson(Exception):
    """The payload is not one JSON value in UTF-8."""


BIG_INPUT: Final = 1 << 20  # below this, JSON text is parsed as it is
_BIG_STRING: Final = 1 << 16  # strings this long (base64 only) stay slices of the input
_BOM_BYTES: Final = b"\xef\xbb\xbf"
_BLOB_ALPHABET: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_INT_DIGITS: Final = 4000  # int() refuses longer digit strings (CVE-2020-10735 guard)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise NotJson  # a repeated member name
    return obj


def _no_constant(name: str) -> Any:
    raise NotJson  # NaN, Infinity, -Infinity are not JSON


def _integer(text: str) -> int | float:
    # Numbers of any size are numbers: past int()'s limit, the nearest float stands for it.
    return int(text) if len(text) <= _INT_DIGITS else float(text)


_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_pairs, parse_constant=_no_constant, parse_int=_integer
)

UNSURE: Final = object()
_BACKSLASH: Final = ord("\\")


def quick_parse(payload: bytes | str) -> Any:
    """orjson's reading of a text without escapes, when it means what the standard library's
    does, else ``UNSURE`` (the standard library then decides).  orjson keeps the last of repeated
    member names silently; without escapes every string is two quotes, in the text as in orjson's
    own serialisation of the value, so a lost member shows as fewer quotes.  orjson refuses what
    the standard library refuses (NaN, bad UTF-8, ...), and also integers beyond 64 bits and
    floats beyond the double range: those are read again by the standard library."""
    if _orjson is None:
        return UNSURE
    if isinstance(payload, bytes):
        if _BACKSLASH in payload:  # an int: a plain byte search, cheaper than a bytes needle
            return UNSURE
        quotes = payload.count(b'"')
    else:
        if "\\" in payload:
            return UNSURE
        quotes = payload.count('"')
    try:
        value = _orjson.loads(payload)
        return value if _orjson.dumps(value).count(b'"') == quotes else UNSURE
    except (_orjson.JSONDecodeError, _orjson.JSONEncodeError, TypeError):
        return UNSURE


def parse(payload: bytes | str, quick: bool = True) -> Any:
    """One RFC 8259 value in UTF-8 (a leading BOM allowed); raises :class:`NotJson` for anything
    else.  ``quick=False``: the caller has had :func:`quick_parse` try already."""
    if isinstance(payload, bytes):
        if payload.startswith(_BOM_BYTES):
            payload = payload[3:]
    elif payload.startswith("\ufeff"):
        payload = payload[1:]
    if quick and len(payload) < BIG_INPUT:
        value = quick_parse(payload)
        if value is not UNSURE:
            return value
    cut = _cut_blobs(payload) if len(payload) >= BIG_INPUT else None
    blobs: dict[str, media.Blob] = {}
    if cut is not None:
        payload, blobs = cut
    try:
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
        value = _DECODER.decode(text)
    except (ValueError, RecursionError, NotJson):
        # ValueError: malformed text or bad UTF-8 (JSONDecodeError, UnicodeDecodeError);
        # RecursionError: nesting deeper than the interpreter's stack.
        raise NotJson from None
    if blobs:
        value = _put_blobs(value, blobs) if isinstance(value, (dict, list)) else blobs[value]
    return value


# ---------------------------------------------------------------- long strings of big texts


def _base64_only(buf: bytes | str, start: int, end: int) -> bool:
    for i in range(start, end, 1 << 20):
        chunk = buf[i : min(i + (1 << 20), end)]
        if isinstance(chunk, str):
            if not chunk.isascii():
                return False
            chunk = chunk.encode("ascii")
        if chunk.translate(None, _BLOB_ALPHABET):
            return False
    return True


_BLANKS: Final = (b" ", b"\t", b"\n", b"\r", " ", "\t", "\n", "\r")


def _cut_blobs(buf: bytes | str) -> tuple[bytes | str, dict[str, media.Blob]] | None:
    """Replace each long base64-only string value of a JSON text by a short token, so that
    parsing does not copy it; ``None`` when there is nothing to cut (or the text is malformed)."""
    as_bytes = isinstance(buf, bytes)
    quote: Any = b'"' if as_bytes else '"'
    slash: Any = 0x5C if as_bytes else "\\"  # what indexing the text gives for a backslash
    nonce = secrets.token_hex(16)
    pieces: list[Any] = []
    blobs: dict[str, media.Blob] = {}
    last = i = 0
    n = len(buf)
    while True:
        q = buf.find(quote, i)
        if q == -1:
            break
        j = q + 1
        while True:  # the closing quote: the first one after an even run of backslashes
            k = buf.find(quote, j)
            if k == -1:
                return None
            b = k - 1
            while b > q and buf[b] == slash:
                b -= 1
            if (k - 1 - b) % 2 == 0:
                break
            j = k + 1
        i = k + 1
        if k - q - 1 < _BIG_STRING:  # (a string with escapes is not base64-only: kept too)
            continue
        after = k + 1
        while after < n and buf[after : after + 1] in _BLANKS:
            after += 1
        if buf[after : after + 1] in (b":", ":") or not _base64_only(buf, q + 1, k):
            continue  # a member name, or not base64: parsed as it is
        token = f"{nonce}:{len(blobs)}"
        pieces.append(buf[last : q + 1])
        pieces.append(token.encode("ascii") if as_bytes else token)
        blobs[token] = media.Blob(buf, q + 1, k)
        last = k
    if not blobs:
        return None
    pieces.append(buf[last:])
    joined: bytes | str = b"".join(pieces) if as_bytes else "".join(pieces)
    return joined, blobs


def _put_blobs(value: Any, blobs: dict[str, media.Blob]) -> Any:
    stack = [value]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, item in list(items):
            if isinstance(item, str):
                if item in blobs:
                    node[key] = blobs[item]
            elif isinstance(item, (dict, list)):
                stack.append(item)
    return value
