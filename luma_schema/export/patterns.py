"""The patterns of the validation schema: base64, media types, URLs and UUIDs.

Patterns are written for every validator at once: ECMA-262 (ajv), Rust (jsonschema-rs) and
Python ``re`` (python-jsonschema, fastjsonschema).  They disagree on ``$``: Python's also matches
before a final newline.  A lookahead would settle it but sends jsonschema-rs (fancy-regex) to its
backtracking engine, which gives up on a 50 MiB base64 string; so patterns end in a plain ``$``
and each patterned member also refuses a final newline (:func:`no_final_newline`), which all of
them read alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

__all__ = [
    "BASE64_PATTERN",
    "CONTROLS",
    "MEDIA_TYPE_PATTERN",
    "SPACES",
    "URL_PATTERN",
    "UUID_PATTERN",
    "base64_max_length",
    "media_type_pattern",
    "no_final_newline",
]

_END: Final = "$"


def _escape(chars: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in chars)


# Characters Python's str.isspace() calls whitespace (all in the BMP, below U+3001) that are not
# C0/DEL controls: the media-type and URL checks reject them where the controls are rejected too.
SPACES: Final = _escape(
    "".join(c for c in map(chr, range(0x3001)) if c.isspace() and c > "\x1f" and c != "\x7f")
)
CONTROLS: Final = r"\u0000-\u001f\u007f"
_B64: Final = "A-Za-z0-9+/"
# Canonical standard base64 of at least one byte (docs/contract.md, Images): whole quanta, then
# padding.  Each quantum is spelled out: V8 (ajv) runs `(?:[...]{4})*` on the stack and overflows
# it on a 50 MiB string, while four classes in a row make a loop it runs in constant space.
_QUANTUM: Final = f"[{_B64}]"
BASE64_PATTERN: Final = (
    f"^(?:{_QUANTUM * 4})*(?:{_QUANTUM * 2}==|{_QUANTUM * 3}=|{_QUANTUM * 4}){_END}"
)


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


def media_type_pattern(families: Iterable[str]) -> str:
    """``<family>/<subtype>[;params]`` for one of ``families`` (``image``, ``video``): the family
    in any case; parameters free of controls; no trailing space.  (``\\$`` in the class:
    fastjsonschema rewrites every unescaped ``$`` into ``\\Z``, classes included.)"""
    names = [_any_case(f) for f in families]
    family = names[0] if len(names) == 1 else f"(?:{'|'.join(names)})"
    return (
        f"^{family}/[A-Za-z0-9][A-Za-z0-9!#\\$&^_.+\\-]*"
        f"(?:;(?:[^{CONTROLS}]*[^{CONTROLS}{SPACES}])?)?{_END}"
    )


MEDIA_TYPE_PATTERN: Final = media_type_pattern(["image"])
# The static URL checks, as far as a pattern can go: https, no whitespace or control characters,
# a non-empty authority without user info.  Host publicity (private ranges, local names, IPv4 in
# any WHATWG spelling) and port ranges are beyond it: the rule is approximate.
_URL_BAD: Final = f"{CONTROLS}\\u0080-\\u009f{SPACES}"
URL_PATTERN: Final = (
    f"^[Hh][Tt][Tt][Pp][Ss]://[^{_URL_BAD}@/?#\\\\]+(?:[/?#\\\\][^{_URL_BAD}]*)?{_END}"
)
# What Python's uuid.UUID() reads, as a superset a pattern can state: at least 32 characters,
# each one it may read or drop (hexadecimal digits, hyphens, braces, the letters and colon of
# `urn:` and `uuid:`, and what int(..., 16) takes besides digits: a sign, `0x`, underscores,
# whitespace, and non-ASCII digits and spaces).  Any string it reads matches; some that match
# it refuses (LIMITS in luma_schema.export.jsonschema says so).
UUID_PATTERN: Final = (
    r"^(?:[0-9A-Fa-f\-\{\}:urnixX+_\u0009-\u000d\u001c-\u0020]|[^\u0000-\u007f]){32,}" + _END
)


def base64_max_length(max_bytes: int) -> int:
    """The longest base64 text of at most ``max_bytes`` decoded bytes: 4·⌈n/3⌉."""
    return 4 * -(-max_bytes // 3)


def no_final_newline(node: dict[str, Any], pattern: str) -> None:
    """``pattern`` on a string node that also refuses a final newline (see the module doc)."""
    node["pattern"] = pattern
    node["not"] = {"type": "string", "pattern": r"\n$"}
