"""The command line's own hints for a refused request: what the server's message cannot say
(where JSON text breaks, that several requests were read as one, that a URL needs https).

A hint never changes the verdict, which keeps the server's exact message; it quotes no
submitted value (positions, JSON types and fixed words only), and finding one never raises.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, NamedTuple

from luma_schema import catalog
from luma_schema.engine import Report

_BODY_RULE: Final = catalog.rule("body_not_object").id
_URL_RULE: Final = catalog.rule("url_not_fetchable").id
_BOM: Final = b"\xef\xbb\xbf"
_UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")
_CONTENT: Final = re.compile(rb"[^ \t\r\n]")
# A quick look before the payload is parsed again (a hint may miss a URL spelled with escapes).
_HTTP: Final = re.compile(rb'"[Hh][Tt][Tt][Pp]:')
_IMAGE_REF: Final = re.compile(r"image_ref\[(\d+)\]\Z")
_JSON_TYPES: Final = ((bool, "a boolean"), (list, "an array"), (str, "a string"))


class Hint(NamedTuple):
    """A hint: ``code`` names its kind, ``message`` says it in words."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class Source(NamedTuple):
    """Where a request was read: its first line in its file (1 for a whole file), whether it
    was a whole file or stdin (not a JSONL line), and whether it came from stdin."""

    line: int
    whole: bool
    stdin: bool


def hints(report: Report, payload: bytes, line: int, whole: bool, stdin: bool) -> list[Hint]:
    """The hints for ``report``, the refusal of ``payload`` read at ``line`` of its file (1 for
    a whole file), a whole file or stdin when ``whole``."""
    errors = report.errors
    if errors[0].rule == _BODY_RULE:  # body_not_object comes alone
        return _json_hints(payload, Source(line, whole, stdin))
    for error in errors:
        if error.rule == _URL_RULE:
            return _https_hints(report, payload)
    return []


# ---------------------------------------------------------------- JSON text


class _Duplicate(ValueError):
    pass


class _Constant(ValueError):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise _Duplicate
    return value


def _constant(name: str) -> Any:
    raise _Constant(name)


def _json_hints(data: bytes, source: Source) -> list[Hint]:
    what = "the input" if source.stdin else "the file" if source.whole else "the line"
    if data[:2] in _UTF16_BOMS:
        return [Hint("not_utf8", f"{what} is UTF-16 text; a request is UTF-8")]
    body = data[3:] if data.startswith(_BOM) else data
    if _CONTENT.search(body) is None:
        return [Hint("empty", f"{what} holds no JSON value")]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [
            Hint("not_utf8", f"not UTF-8 text: invalid byte at {_byte_at(body, exc.start, source)}")
        ]
    try:
        value = json.loads(text, parse_constant=_constant, object_pairs_hook=_unique)
    except json.JSONDecodeError as exc:
        several = _several(text, exc, source)
        if several:
            return [several]
        return [Hint("json_syntax", f"JSON syntax error at {_at(exc, source)}: {_problem(exc)}")]
    except _Constant as exc:
        return [
            Hint("json_syntax", f"{exc.args[0]} is not a JSON number (JSON numbers are finite)")
        ]
    except _Duplicate:
        return [Hint("duplicate_name", "an object repeats a member name")]
    except RecursionError:
        return [Hint("too_deep", "the JSON value is nested too deeply")]
    if isinstance(value, dict):
        return []
    kind = next((name for t, name in _JSON_TYPES if isinstance(value, t)), None)
    kind = kind or ("null" if value is None else "a number")
    message = f"the JSON value is {kind}, not an object"
    if isinstance(value, list) and source.whole:
        message += "; for several requests, write one object per line and pass --jsonl"
    return [Hint("not_an_object", message)]


def _several(text: str, exc: json.JSONDecodeError, source: Source) -> Hint | None:
    """A hint when the text is several JSON values (JSON Lines read as one request)."""
    if exc.msg != "Extra data" or not source.whole:
        return None
    try:
        json.JSONDecoder().raw_decode(text, exc.pos)
    except (ValueError, RecursionError):
        return None
    where = f"the second starts at {_at(exc, source)}"
    if source.stdin:
        return Hint(
            "json_lines", f"the input holds several JSON values ({where}); did you mean `--jsonl`?"
        )
    return Hint(
        "json_lines",
        f"the file holds several JSON values ({where}); one request per line is a .jsonl file "
        "(or pass --jsonl)",
    )


def _problem(exc: json.JSONDecodeError) -> str:
    """What is wrong where the JSON text breaks, in words (a character is named by its code
    point when it is invisible)."""
    found = exc.doc[exc.pos : exc.pos + 1]
    if exc.msg.startswith("Invalid control character") and found:
        return f"a control character (U+{ord(found):04X}) in a string; escape it"
    if found.isspace() and found not in " \t\r\n":
        return f"{_words(exc.msg)} (U+{ord(found):04X} is not JSON whitespace)"
    return _words(exc.msg)


def _words(message: str) -> str:
    """The json module's message as a clause: "Unterminated string starting at" -> "unterminated
    string" (the position is given apart)."""
    message = message.removesuffix(" at").removesuffix(" starting")
    return message[:1].lower() + message[1:]


def _at(exc: json.JSONDecodeError, source: Source) -> str:
    return f"line {source.line + exc.lineno - 1}, column {exc.colno}"


def _byte_at(body: bytes, offset: int, source: Source) -> str:
    start = body.rfind(b"\n", 0, offset) + 1
    column = len(body[start:offset].decode("utf-8", "replace")) + 1
    line = source.line + body.count(b"\n", 0, offset)
    return f"line {line}, column {column}"


# ---------------------------------------------------------------- URLs


def _https_hints(report: Report, payload: bytes) -> list[Hint]:
    if _HTTP.search(payload) is None:
        return []
    try:
        body = json.loads(payload)  # a JSON object: the engine read it to reach the URL rule
    except (ValueError, RecursionError):
        return []
    found = []
    for error in report.errors:
        if error.rule != _URL_RULE:
            continue
        url = _url(body, error.path)
        if isinstance(url, str) and url[:7].lower() == "http://":
            found.append(
                Hint(
                    "https_required",
                    f"{error.path}.url: an http:// URL; image URLs must be https://",
                )
            )
    return found


def _url(body: Any, path: str) -> Any:
    try:
        match = _IMAGE_REF.match(path)
        image = body["image_ref"][int(match[1])] if match else body[path]
        return image.get("url")
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
