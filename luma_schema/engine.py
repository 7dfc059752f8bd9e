"""The one engine: applies the catalogue to a request and reports what the server would answer.

Two paths share the catalogue.  ``_fast`` is generated once, at import, from the rule table into a
single straight-line function that accepts the common case (well-typed, images that pass their
rules, nothing to warn about) and returns the normalised request; it returns ``None`` whenever it is not sure.  Then
``_diagnose`` applies every rule object in SPEC section 3 order, with its skipping, and builds the
full error list.  A property test holds the two paths to the same verdict.
"""

from __future__ import annotations

import ast
import difflib
import json
import math
import re
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, NamedTuple

from luma_schema import catalog, media

try:  # an optional accelerator (extra ``fast``): the answers are the same without it
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised by the tests that hide it
    _orjson = None  # type: ignore[assignment]
from luma_schema.rules import (
    MISSING,
    AllowedWith,
    Base64,
    EitherOf,
    Fetched,
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
    Rule,
    Scope,
)

__all__ = ["Notice", "Report", "RequestError", "Violation", "check"]

_BODY_RULE: Final = next(r for r in catalog.RULES if r.scope is Scope.BODY)
_TYPES_RULE: Final = next(r for r in catalog.RULES if r.scope is Scope.TYPES)
_FIELD_NAMES: Final = tuple(f.name for f in catalog.FIELDS)
_MEMBER_NAMES: Final = tuple(m.name for m in catalog.IMAGE_MEMBERS)
_ADVICE: Final = catalog.ADVICE_BY_ID
# Image members read in chunks (base64 data): a big JSON text's long strings stay in place there.
_BLOB_MEMBERS: Final = frozenset(
    r.member for r in catalog.RULES if isinstance(r, (Base64, MaxBytes))
)


class Violation(NamedTuple):
    """One broken rule: its catalogue id, HTTP status, exact message and the path it concerns.
    Immutable, so the engine can hand the same value to many reports."""

    rule: str
    status: int
    detail: str
    path: str

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "status": self.status, "detail": self.detail, "path": self.path}


class Notice(NamedTuple):
    """A warning (SPEC section 5): never changes the verdict."""

    code: str
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "path": self.path, "message": self.message}


class Report:
    """What the server would answer: ``status`` 201 and the normalised ``request`` when ``ok``;
    else the first error's ``status`` and exact ``detail``, and the full SPEC list in ``errors``.

    ``request`` is built on first access (a 50 MiB image is not copied unless it is asked for),
    and so may be ``errors`` (``status`` and ``detail`` need only the first error), with
    ``warnings`` when an image failed a rule; for a dict payload they are built from that dict,
    so read them before mutating the payload."""

    __slots__ = ("_request", "detail", "errors", "status", "warnings")

    def __init__(
        self,
        status: int,
        detail: str | None,
        errors: tuple[Violation, ...],
        warnings: tuple[Notice, ...],
        request: Any,
    ) -> None:
        self.status = status
        self.detail = detail
        self.errors = errors
        self.warnings = warnings
        self._request = request

    @property
    def ok(self) -> bool:
        return self.status == 201

    @property
    def request(self) -> dict[str, Any] | None:
        """The normalised request (SPEC section 4) when ``ok``, else ``None``."""
        request = self._request
        if isinstance(request, _Lazy):
            request = self._request = request.materialise()
        return request  # type: ignore[no-any-return]

    def to_response(self) -> tuple[int, dict[str, Any]]:
        """``(status, body)`` as the server answers: ``{"detail": ...}`` for an error."""
        if self.ok:
            return 201, {}
        return self.status, {"detail": self.detail}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``ok``, ``status``, ``detail``, ``errors``, ``warnings``."""
        return {
            "ok": self.ok,
            "status": self.status,
            "detail": self.detail,
            "errors": [e.as_dict() for e in self.errors],
            "warnings": [w.as_dict() for w in self.warnings],
        }

    def __repr__(self) -> str:
        if self.ok:
            return f"Report(ok, 201, warnings={len(self.warnings)})"
        return f"Report({self.status}, {self.detail!r}, errors={len(self.errors)})"


class _Accepted(Report):
    """An ``ok`` report of the compiled path, made with one allocation and one store: the
    constant members are class attributes (they shadow the base's slots), and the normalised
    request is built from the payload when first read."""

    __slots__ = ("_payload",)
    status = 201
    detail = None
    errors: tuple[Violation, ...] = ()
    warnings: tuple[Notice, ...] = ()

    def __init__(self, payload: dict[str, Any]) -> None:
        self._payload = payload

    @property
    def ok(self) -> bool:
        return True

    @property
    def request(self) -> dict[str, Any]:
        try:
            return self._request  # type: ignore[no-any-return]
        except AttributeError:
            request = self._request = _normalise(self._payload)
            return request


class _Refused(Report):
    """A refusal of the compiled path: the status and detail are the first error's, and there
    are no warnings (else the diagnosis answers).  A request rule that fails before any image
    rule (SPEC section 3) is the first error whatever follows, so the compiled path stops there
    and stores only that error and the payload: the full list is made on first access of
    ``errors``, from the payload (the caveat of ``request``: read it before mutating a dict)."""

    __slots__ = ("_errors", "_first", "_payload")
    _errors: tuple[Violation, ...]
    _first: Violation
    _payload: dict[str, Any]
    warnings: tuple[Notice, ...] = ()
    _request = None

    @property
    def status(self) -> int:  # type: ignore[override]
        return self._first.status

    @property
    def detail(self) -> str:  # type: ignore[override]
        return self._first.detail

    @property
    def errors(self) -> tuple[Violation, ...]:  # type: ignore[override]
        try:
            return self._errors
        except AttributeError:
            pass
        try:
            errors = _errors_of(self._payload)
        except Exception:  # reading a report never raises; the first error is known
            errors = (self._first,)
        self._errors = errors
        return errors


class _RefusedFirst(_Refused):
    """A refusal of the compiled path that stopped at its first error past an image rule's
    place (``first`` in the compiled catalogue): the rest of the list and the warnings (an
    image's data may earn some) are made on first access of either, from the payload (the
    caveat of ``request``: read them before mutating a dict)."""

    __slots__ = ("_warnings",)
    _warnings: tuple[Notice, ...]

    @classmethod
    def make(cls, payload: dict[str, Any], first: Violation) -> _RefusedFirst:
        report = object.__new__(cls)
        report._first = first
        report._payload = payload
        return report

    @property
    def errors(self) -> tuple[Violation, ...]:  # type: ignore[override]
        self._complete()
        return self._errors

    @property
    def warnings(self) -> tuple[Notice, ...]:  # type: ignore[override]
        self._complete()
        return self._warnings

    def _complete(self) -> None:
        if hasattr(self, "_warnings"):
            return
        try:
            full = _full_report(self._payload)
            errors, warnings = full.errors, full.warnings
        except Exception:  # reading a report never raises; the first error is known
            errors, warnings = (self._first,), ()
        if errors[:1] != (self._first,):  # the payload has changed since (see ``request``)
            errors, warnings = (self._first,), ()
        self._errors = errors
        self._warnings = warnings


def request_field(report: Report, name: str) -> Any:
    """``report.request[name]`` for a string or boolean field of an ``ok`` report, without
    building the rest of the normalised request (a server reads a few fields per request)."""
    if type(report) is _Accepted:
        value = report._payload.get(name, MISSING)
        return _SCALAR_DEFAULTS[name] if value is MISSING else value
    request = report.request
    if request is None:
        raise ValueError("the report is not ok")
    return request[name]


ANSWER_OK: Final = (201, "ok")


def first_answer(report: Report) -> tuple[int, str]:
    """``(status, id of the first error's rule)``, or ``ANSWER_OK`` (that very tuple) for an
    ``ok`` report; unlike ``errors[0]``, it never builds the rest of the list."""
    kind = type(report)
    if kind is _Accepted:
        return ANSWER_OK
    if kind is _Refused or kind is _RefusedFirst:
        first: Violation = report._first  # type: ignore[attr-defined]
        return first.status, first.rule
    if report.status == 201:
        return ANSWER_OK
    return report.status, report.errors[0].rule


def first_rule(report: Report) -> str:
    """The id of the rule of ``report``'s first error, or ``"ok"`` (see ``first_answer``)."""
    return first_answer(report)[1]


class RequestError(ValueError):
    """A request the server would refuse: ``status``, exact ``detail`` and the full ``errors``."""

    def __init__(self, report: Report) -> None:
        super().__init__(report.detail)
        self.report = report
        self.status: int = report.status
        self.detail: str = report.detail or ""
        self.errors: tuple[Violation, ...] = report.errors

    def to_response(self) -> tuple[int, dict[str, str]]:
        """``(status, {"detail": detail})``, the body the server sends."""
        return self.status, {"detail": self.detail}


# ---------------------------------------------------------------- JSON text


class _NotJson(Exception):
    pass


_BOM_BYTES: Final = b"\xef\xbb\xbf"
_BIG_INPUT: Final = 1 << 20  # below this, JSON text is parsed as it is
_BIG_STRING: Final = 1 << 16  # strings this long (base64 only) stay slices of the input
_BLOB_ALPHABET: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _NotJson  # a repeated member name
    return obj


def _no_constant(name: str) -> Any:
    raise _NotJson  # NaN, Infinity, -Infinity are not JSON


def _number(text: str) -> int:
    # No field of the request is a number: its value never matters, only that it is a number.
    return 0


_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_pairs, parse_constant=_no_constant, parse_int=_number, parse_float=_number
)


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


def _cut_blobs(buf: bytes | str) -> tuple[bytes | str, dict[str, media.Blob]] | None:
    """Replace each long base64-only string value of a JSON text by a short token, so that
    parsing does not copy it; ``None`` when there is nothing to cut (or the text is malformed)."""
    as_bytes = isinstance(buf, bytes)
    quote: Any = b'"' if as_bytes else '"'
    backslash: Any = b"\\" if as_bytes else "\\"
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
        while True:  # the closing quote: the first one not escaped
            k = buf.find(quote, j)
            if k == -1:
                return None
            bs = buf.find(backslash, j, k)
            if bs == -1:
                break
            j = bs + 2
        i = k + 1
        if k - q - 1 < _BIG_STRING:  # (a string with escapes is not base64-only: kept too)
            continue
        after = k + 1
        while after < n and buf[after : after + 1] in (
            b" ",
            b"\t",
            b"\n",
            b"\r",
            " ",
            "\t",
            "\n",
            "\r",
        ):
            after += 1
        if buf[after : after + 1] in (b":", ":") or not _base64_only(buf, q + 1, k):
            continue
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


_UNSURE: Final = object()
_BACKSLASH: Final = ord("\\")


def _quick_parse(payload: bytes | str) -> Any:
    """orjson's reading of a text without escapes, when it means what ``_DECODER``'s does, else
    ``_UNSURE`` (``_DECODER`` then decides).  orjson keeps the last of repeated member names
    silently; without escapes every string is two quotes, in the text as in orjson's own
    serialisation of the value, so a lost member shows as fewer quotes.  orjson refuses what
    ``_DECODER`` refuses (NaN, bad UTF-8, ...) and serialises at most 254 levels, well within
    the interpreter's recursion limit.  Numbers keep their values (``_DECODER`` makes them 0):
    no rule reads a number's value, and no message or request shows one."""
    if _orjson is None:
        return _UNSURE
    if isinstance(payload, bytes):
        if _BACKSLASH in payload:  # an int: a plain byte search, cheaper than a bytes needle
            return _UNSURE
        quotes = payload.count(b'"')
    else:
        if "\\" in payload:
            return _UNSURE
        quotes = payload.count('"')
    try:
        value = _orjson.loads(payload)
        return value if _orjson.dumps(value).count(b'"') == quotes else _UNSURE
    except (_orjson.JSONDecodeError, _orjson.JSONEncodeError, TypeError):
        return _UNSURE


def _parse(payload: bytes | str, quick: bool = True) -> Any:
    """One RFC 8259 value in UTF-8 (a leading BOM allowed); raises _NotJson for anything else.
    ``quick=False``: the caller has already had orjson try (see ``check``)."""
    if isinstance(payload, bytes):
        if payload.startswith(_BOM_BYTES):
            payload = payload[3:]
    elif payload.startswith("\ufeff"):
        payload = payload[1:]
    if quick and len(payload) < _BIG_INPUT:
        value = _quick_parse(payload)
        if value is not _UNSURE:
            return value
    cut = _cut_blobs(payload) if len(payload) >= _BIG_INPUT else None
    blobs: dict[str, media.Blob] = {}
    if cut is not None:
        payload, blobs = cut
    try:
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
        value = _DECODER.decode(text)
    except (ValueError, RecursionError, _NotJson):
        raise _NotJson from None
    if blobs:
        value = _put_blobs(value, blobs) if isinstance(value, (dict, list)) else blobs[value]
    return value


# ---------------------------------------------------------------- Python values


def _json_like(value: Any) -> bool:
    """Whether ``value`` is a JSON value as Python holds one (SPEC section 1): dicts with string
    keys, lists and tuples, str, int, finite float, bool, None; no cycles.  Iterative, so depth
    costs no stack."""
    stack: list[tuple[Any, bool]] = [(value, False)]
    on_path: set[int] = set()
    done: set[int] = set()  # shared sub-values are walked once, or a DAG costs 2**depth
    while stack:
        node, leaving = stack.pop()
        if leaving:  # (a node left is done: never looked at again, so never a cycle)
            done.add(id(node))
            continue
        if id(node) in done:
            continue
        if node is None or isinstance(node, (str, bool, int, media.Blob)):
            continue
        if isinstance(node, float):
            if not math.isfinite(node):
                return False
            continue
        if isinstance(node, dict):
            children: Any = dict.values(node)
            if not all(isinstance(k, str) for k in dict.keys(node)):
                return False
        elif isinstance(node, (list, tuple)):
            children = node
        else:
            return False
        if id(node) in on_path:
            return False
        on_path.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children)
    return True


_ALIEN: Final = object()  # stands in a plain copy for any value that is not a JSON value
_LEAVE: Final = object()


def _plain(value: Any) -> Any:
    """A copy of a Python payload made only of exact built-in types, read through the base
    classes' own methods, so that no override of a subclass (``__eq__``, ``__hash__``,
    ``__iter__``, ``keys``, ``__len__``...) and no ``__class__`` property ever runs.  A value that
    is not a JSON value (a set, NaN, a cycle, a dict with a non-string key or two keys of the same
    text, any other object) becomes ``_ALIEN``; numbers become ``0`` (no field is a number).
    Shared sub-values are copied once; iterative, so depth costs no stack."""
    memo: dict[int, Any] = {}
    on_path: set[int] = set()
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while stack:
        node, parent, key = stack.pop()
        if parent is _LEAVE:
            on_path.discard(key)
            continue
        kind = type(node)
        out: Any
        if node is None or kind is str or kind is bool or kind is media.Blob:
            out = node
        elif issubclass(kind, str):
            out = str.__str__(node)
        elif issubclass(kind, int):
            out = 0
        elif issubclass(kind, float):
            out = 0 if math.isfinite(node) else _ALIEN
        elif issubclass(kind, (dict, list, tuple)):
            ident = id(node)
            if ident in on_path:
                out = _ALIEN
            elif ident in memo:
                out = memo[ident]
            else:
                out = _plain_container(node, ident, memo, stack)
                if out is not _ALIEN:
                    on_path.add(ident)
        else:
            out = _ALIEN
        parent[key] = out
    return root[0]


def _plain_container(
    node: Any, ident: int, memo: dict[int, Any], stack: list[tuple[Any, Any, Any]]
) -> Any:
    out: Any
    if isinstance(node, dict):
        items = list(dict.items(node))
        out = {}
        for k, _ in items:
            if not issubclass(type(k), str):
                return _ALIEN
            out[str.__str__(k)] = None  # keys first: the copy keeps the payload's order
        if len(out) != len(items):
            return _ALIEN
        children: list[tuple[Any, Any]] = [(str.__str__(k), v) for k, v in items]
    else:
        items = list(list.__iter__(node) if isinstance(node, list) else tuple.__iter__(node))
        out = [None] * len(items)
        children = list(enumerate(items))
    memo[ident] = out
    stack.append((None, _LEAVE, ident))
    stack.extend((child, out, k) for k, child in children)
    return out


def _as_str(value: Any, keep_blob: bool = False) -> Any:
    """An exact ``str`` for a ``str`` subclass (its overrides must not run).  A Blob (a long
    string of a big JSON text) stays one only where a rule reads it in chunks (base64 data);
    anywhere else it becomes the string it is, so messages echo it and rules read it as text."""
    if type(value) is str:
        return value
    if isinstance(value, media.Blob):
        return value if keep_blob else value.text()
    return str.__str__(value)


# ---------------------------------------------------------------- the full diagnosis

_BAD: Final = object()


class _Values:
    """A rule's view of the request: field values with defaults, absent ones as MISSING."""

    __slots__ = ("values",)

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def get(self, name: str) -> Any:
        return self.values.get(name, MISSING)


class _Image:
    """One image: its path, its type-checked members and what has failed in it so far."""

    __slots__ = ("_info", "bad", "members", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self.members: dict[str, Any] = {}
        self.bad: set[str] = set()
        self._info: dict[str, media.Base64Info] = {}

    def get(self, name: str) -> Any:
        return self.members.get(name)

    def base64(self, name: str) -> media.Base64Info:
        info = self._info.get(name)
        if info is None:
            info = self._info[name] = media.base64_info(self.members[name])
        return info

    def normalised(self) -> dict[str, Any]:
        return {name: self.members.get(name) for name in _MEMBER_NAMES}


def _key_path(key: str) -> str:
    # Paths name unknown keys; keep them short and printable whatever was sent.
    shown = key if key.isidentifier() else json.dumps(key, ensure_ascii=True)
    return shown if len(shown) <= 64 else shown[:61] + "..."


def _near(name: str, known: tuple[str, ...]) -> str | None:
    if len(name) > 64:
        return None
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    return close[0] if close else None


class _Diagnosis:
    def __init__(self) -> None:
        self.errors: list[Violation] = []
        self.warnings: list[Notice] = []
        self.bad: set[str] = set()
        self.images: list[_Image] = []

    def fail(self, rule: Rule, path: str, **echo: Any) -> None:
        self.errors.append(Violation(rule.id, rule.status, rule.render(path, **echo), path))

    def warn(self, advice_id: str, path: str, **params: Any) -> None:
        message = _ADVICE[advice_id].render(path, **params)
        self.warnings.append(Notice(advice_id, path, message))

    def wrong_type(self, path: str, expected: JsonType) -> None:
        self.fail(_TYPES_RULE, path, expected=expected.value)

    def image(self, raw: Any, path: str) -> _Image | None:
        """Type-check one image (row 2, members in table order); warnings for unknown members."""
        if not isinstance(raw, dict) or not all(isinstance(k, str) for k in dict.keys(raw)):
            self.wrong_type(path, JsonType.OBJECT)
            return None
        image = _Image(path)
        for member in catalog.IMAGE_MEMBERS:
            value = dict.get(raw, member.name)
            if value is None:
                continue
            if isinstance(value, (str, media.Blob)):
                image.members[member.name] = _as_str(value, member.name in _BLOB_MEMBERS)
            else:
                self.wrong_type(f"{path}.{member.name}", member.type)
                image.bad.add("image")
        for key in dict.keys(raw):
            if key in _MEMBER_NAMES:
                continue
            if not _json_like(dict.__getitem__(raw, key)):
                self.wrong_type(path, JsonType.OBJECT)
                image.bad.add("image")
                continue
            near = _near(key, _MEMBER_NAMES)
            advice = "unknown_member_near" if near else "unknown_member"
            self.warn(advice, f"{path}.{_key_path(key)}", near=near)
        self.images.append(image)
        return image

    def field(self, spec: Any, raw: Any) -> Any:
        """Row 2 for one present field; returns its normalised value, or _BAD."""
        name = spec.name
        if raw is None:
            if spec.nullable:
                return None
            self.wrong_type(name, spec.type)
            return _BAD
        if spec.type is JsonType.STRING:
            if isinstance(raw, (str, media.Blob)):
                return _as_str(raw)
        elif spec.type is JsonType.BOOLEAN:
            if isinstance(raw, bool):
                return bool(raw)
        elif spec.type is JsonType.OBJECT:
            if isinstance(raw, dict):
                image = self.image(raw, name)
                return _BAD if image is None else image
        elif isinstance(raw, (list, tuple)):
            return [self.image(item, f"{name}[{i}]") for i, item in enumerate(raw)]
        self.wrong_type(name, spec.type)
        return _BAD


def _not_json() -> Report:
    violation = Violation(_BODY_RULE.id, _BODY_RULE.status, _BODY_RULE.render(), "")
    return Report(violation.status, violation.detail, (violation,), (), None)


def _diagnose(body: Any, fetch: bool) -> Report:
    run = _Diagnosis()
    if not isinstance(body, dict) or not _json_like_top(body):
        return _not_json()

    values: dict[str, Any] = {}
    for spec in catalog.FIELDS:
        raw = dict.get(body, spec.name, MISSING)
        if raw is MISSING:
            values[spec.name] = spec.default
            continue
        value = run.field(spec, raw)
        if value is _BAD:
            run.bad.add(spec.name)
        values[spec.name] = value
    for key in dict.keys(body):
        if key not in _FIELD_NAMES:
            near = _near(key, _FIELD_NAMES)
            advice = "unknown_field_near" if near else "unknown_field"
            run.warn(advice, _key_path(key), near=near)

    view = _Values({k: v for k, v in values.items() if k not in run.bad})
    images = [image for image in run.images if "image" not in image.bad]
    errors = run.errors
    bad = run.bad
    for step in _DIAGNOSIS_STEPS:
        if not isinstance(step, _Prepared):
            if images:
                _apply_images(run, step, images)
            continue
        prep = step
        if bad and not bad.isdisjoint(prep.reads):
            continue
        echo = prep.rule.check(view)
        if echo is not None:
            errors.append(prep.violation(prep.path, echo))
            if prep.marks:
                bad.add(prep.marks)

    _request_advice(run, values)
    if fetch and not run.errors:
        _fetch(run, images)

    warnings = tuple(run.warnings)
    if run.errors:
        first = run.errors[0]
        return Report(first.status, first.detail, tuple(run.errors), warnings, None)
    normalised = {name: values[name] for name in _FIELD_NAMES}
    source = normalised["source"]
    normalised["source"] = source.normalised() if isinstance(source, _Image) else None
    normalised["image_ref"] = [image.normalised() for image in normalised["image_ref"]]
    has_blobs = any(isinstance(v, media.Blob) for image in images for v in image.members.values())
    return Report(201, None, (), warnings, _Lazy(normalised) if has_blobs else normalised)


def _json_like_top(body: dict[Any, Any]) -> bool:
    # Known fields get row 2 for a non-JSON value; anything else that is not JSON fails row 1.
    for key, value in dict.items(body):
        if not isinstance(key, str):
            return False
        if key not in _FIELD_NAMES and not _json_like(value):
            return False
    return True


def _apply_images(run: _Diagnosis, group: tuple[_Prepared, ...], images: list[_Image]) -> None:
    last = group[-1].rule is _LAST_IMAGE_RULE
    for image in images:
        bad = image.bad
        for prep in group:
            if bad and ("image" in bad or not bad.isdisjoint(prep.reads)):
                continue
            echo = prep.rule.check(image)
            if echo is not None:
                run.errors.append(prep.violation(image.path, echo))
                if prep.marks:
                    bad.add(prep.marks)
        if last:
            _image_advice(run, image)


def _image_advice(run: _Diagnosis, image: _Image) -> None:
    data = image.members.get("data")
    if data is None or "image" in image.bad:
        return
    path = f"{image.path}.data"
    # (a Blob is base64 text only: it never starts with "data:")
    if isinstance(data, str) and data[:5].lower() == "data:":
        run.warn("data_uri_prefix", path)
    # Valid data has its head decoded already; invalid data is sniffed as far as it decodes.
    info = image.base64("data")
    found = media.sniff_format(info.head if info.valid else media.head_bytes(data))
    media_type = image.members.get("media_type")
    if found is not None and media_type is not None and "media_type" not in image.bad:
        named = media.media_format(media_type)
        if named != found:
            run.warn(
                "format_mismatch",
                path,
                found=_FORMAT_NAMES[found],
                named=_FORMAT_NAMES[named] if named else "another format",
            )
    if "data" in image.bad or not info.valid:
        return
    if found is None:
        run.warn("format_unknown", path)
    if catalog.ADVISED_IMAGE_BYTES < info.size <= catalog.MAX_IMAGE_BYTES:
        run.warn("image_large", path, limit_mb=catalog.ADVISED_IMAGE_BYTES >> 20)


_FORMAT_NAMES: Final = {"png": "PNG", "jpeg": "JPEG", "gif": "GIF", "webp": "WebP"}


def _request_advice(run: _Diagnosis, values: dict[str, Any]) -> None:
    for field, key, equals in catalog.IGNORED_FIELDS:
        if (
            key not in run.bad
            and field not in run.bad
            and values[key] == equals
            and values[field] is not None
        ):
            run.warn(f"{field}_ignored", field, key=key, equals=equals)


# The condition under which a request earns an ``_ignored`` warning, as generated code.
_IGNORED_CODE: Final = " or ".join(
    f"(f_{key} == {equals!r} and f_{field} is not None)"
    for field, key, equals in catalog.IGNORED_FIELDS
) or "False"


# Set by luma_schema.fetch when it is importable (extra `fetch`); see _fetch.
FetchHook = Callable[[list[tuple[str, str]]], tuple[list[Violation], list[Notice]]]


def _fetch(run: _Diagnosis, images: list[_Image]) -> None:
    targets = [(image.path, image.members["url"]) for image in images if "url" in image.members]
    if not targets:
        return
    hook = _fetch_hook()
    if hook is None:
        for path, _ in targets:
            run.warn("not_fetched", f"{path}.url")
        return
    errors, warnings = hook(targets)
    run.errors.extend(errors)
    run.warnings.extend(warnings)


def _fetch_hook() -> FetchHook | None:
    try:
        from luma_schema import fetch as fetch_module
    except ImportError:
        return None
    hook: FetchHook | None = getattr(fetch_module, "fetch_violations", None)
    return hook


class _Lazy:
    """A normalised request still holding Blobs: the strings are made on first access."""

    __slots__ = ("value",)

    def __init__(self, value: dict[str, Any]) -> None:
        self.value = value

    def materialise(self) -> dict[str, Any]:
        def plain(v: Any) -> Any:
            return v.text() if isinstance(v, media.Blob) else v

        value = dict(self.value)
        if value["source"] is not None:
            value["source"] = {k: plain(v) for k, v in value["source"].items()}
        value["image_ref"] = [{k: plain(v) for k, v in i.items()} for i in value["image_ref"]]
        return value


# ---------------------------------------------------------------- prepared rules

_ORDERED: Final = tuple(
    r for r in catalog.RULES if r.scope not in (Scope.BODY, Scope.TYPES, Scope.FETCH)
)
_LAST_IMAGE_RULE: Final = [r for r in _ORDERED if r.scope is Scope.IMAGE][-1]


class _Keep(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _template(rule: Rule) -> str:
    """The rule's message with its own parameters filled in, once; ``{path}`` and the echoes
    stay placeholders for the one ``format`` a violation costs."""
    if "{{" in rule.message or "}}" in rule.message:
        raise ValueError(f"{rule.id}: literal braces in a message are not supported")
    params = {
        name: str(value).replace("{", "{{").replace("}", "}}")
        for name, value in rule.params().items()
    }
    return rule.message.format_map(_Keep(params))


class _Prepared(NamedTuple):
    """What applying a rule needs, computed once from the rule object."""

    rule: Rule
    id: str
    status: int
    reads: frozenset[str]
    marks: str | None
    path: str  # request rules: the field the message concerns
    template: str
    echoes: bool  # whether the message quotes submitted values
    constant: Violation | None  # request rules without echoes: the violation itself

    def violation(self, path: str, echo: Mapping[str, Any]) -> Violation:
        if not self.echoes:
            if self.constant is not None:
                return self.constant
            return Violation(self.id, self.status, self.template.format(path=path), path)
        return Violation(self.id, self.status, self.template.format(path=path, **echo), path)


def _prepare(rule: Rule) -> _Prepared:
    path = getattr(rule, "field", "") if rule.scope is Scope.REQUEST else ""
    template = _template(rule)
    echoes = bool(rule._echo_names())
    constant = None
    if rule.scope is Scope.REQUEST and not echoes:
        constant = Violation(rule.id, rule.status, template.format(path=path), path)
    return _Prepared(
        rule,
        rule.id,
        rule.status,
        frozenset(rule.reads),
        rule.marks,
        path,
        template,
        echoes,
        constant,
    )


_PREPARED: Final = {rule: _prepare(rule) for rule in _ORDERED}


def _steps() -> tuple[Rule | tuple[Rule, ...], ...]:
    """The rules in order, consecutive image rules grouped: each group runs over every image
    (images outer, rules inner) at its place between the request rules (SPEC section 3)."""
    out: list[Rule | tuple[Rule, ...]] = []
    group: list[Rule] = []
    for rule in _ORDERED:
        if rule.scope is Scope.IMAGE:
            group.append(rule)
            continue
        if group:
            out.append(tuple(group))
            group = []
        out.append(rule)
    if group:
        out.append(tuple(group))
    return tuple(out)


_DIAGNOSIS_STEPS: Final = tuple(
    tuple(_PREPARED[r] for r in step) if isinstance(step, tuple) else _PREPARED[step]
    for step in _steps()
)

# ---------------------------------------------------------------- the compiled path


def _given(name: str) -> str:
    return f"({name} is not MISSING and {name} is not None)"


def _const(ns: dict[str, Any], value: Any) -> str:
    name = f"C{len(ns)}"
    ns[name] = value
    return name


# One emitter per rule kind: a Python expression that is True when the rule holds.
# ``v`` names a field's (or member's) local variable; ``ns`` collects constants.
Emitter = Callable[[Any, Callable[[str], str], dict[str, Any]], str]
_EMITTERS: Final[dict[type[Rule], Emitter | None]] = {
    JsonBody: None,  # the caller's own test
    JsonTypes: None,  # the type checks of the preamble
    Fetched: None,  # network: never on the compiled path
    HttpStatus: None,
    OneOf: lambda r, v, ns: (
        f"(not {_given(v(r.field))} or {v(r.field)} in {_const(ns, frozenset(r.values))})"
    ),
    Required: lambda r, v, ns: f"({v(r.field)} is not MISSING)",
    Length: lambda r, v, ns: (
        f"(not {_given(v(r.field))} or {r.min} <= len({v(r.field)}) <= {r.max})"
    ),
    RequiredFor: lambda r, v, ns: f"({v(r.key)} != {r.equals!r} or {_given(v(r.field))})",
    OnlyFor: lambda r, v, ns: f"({v(r.key)} == {r.equals!r} or not {_given(v(r.field))})",
    MaxItemsFor: lambda r, v, ns: (
        f"({v(r.key)} != {r.equals!r} or not {_given(v(r.field))} or len({v(r.field)}) <= {r.max})"
    ),
    AllowedWith: lambda r, v, ns: (
        f"not ({v(r.key)} == {r.key_equals!r} and {v(r.field)} == {r.equals!r} and "
        f"{_given(v(r.other))} and {v(r.other)} not in {_const(ns, frozenset(r.allowed))})"
    ),
    NotBoth: lambda r, v, ns: f"({v(r.a)} is None or {v(r.b)} is None)",
    EitherOf: lambda r, v, ns: f"({v(r.a)} is not None or {v(r.b)} is not None)",
    RequiredWith: lambda r, v, ns: f"({v(r.with_)} is None or {v(r.member)} is not None)",
    # Decoding is the diagnosis' business (it also gives the format warnings): see _DEFER.
    Base64: lambda r, v, ns: "True",
    MaxBytes: lambda r, v, ns: "True",
    ImageMediaType: lambda r, v, ns: f"({v(r.member)} is None or is_media_type({v(r.member)}))",
    PublicHttpsUrl: lambda r, v, ns: (
        f"({v(r.member)} is None or {v(r.member)} in URL_OK or url_ok({v(r.member)}))"
    ),
}
# Rule kinds the compiled path hands to the diagnosis when they apply to a given value.
_DEFER: Final[dict[type[Rule], Emitter]] = {
    Base64: lambda r, v, ns: f"{v(r.member)} is not None",
    MaxBytes: lambda r, v, ns: f"{v(r.member)} is not None",
}

# Image members whose rules the compiled path leaves to the diagnosis: it needs them null.
_DEFERRED_MEMBERS: Final = frozenset(
    member for rule in _ORDERED if type(rule) in _DEFER for member in rule.reads
)

_DEFERRED_RULES: Final = tuple(
    _PREPARED[rule] for rule in _ORDERED if type(rule) in _DEFER and rule.scope is Scope.IMAGE
)


def _image_view(raw: dict[str, Any], path: str = "") -> _Image:
    """The diagnosis' view of an image the compiled path has type-checked (known members, each
    a string or null)."""
    image = _Image(path)
    image.members = {name: value for name, value in raw.items() if value is not None}
    return image


def _compiled_advice(
    images: list[list[Any]], marks: tuple[tuple[str, int], ...]
) -> tuple[Notice, ...]:
    """The warnings the diagnosis gives for images the compiled rule groups have judged, each
    as ``[image, path, marks]`` (the marks of the rules it failed, as bits)."""
    run: _Diagnosis | None = None
    for raw, path, mask in images:
        if raw.get("data") is None:  # the advice is about decoded data (see _image_advice)
            continue
        image = _image_view(raw, path)
        image.bad = {name for name, bit in marks if mask & bit}
        run = run or _Diagnosis()
        _image_advice(run, image)
    return tuple(run.warnings) if run is not None else ()


def _quiet_image(raw: dict[str, Any]) -> bool:
    """Whether an image that passed the compiled path's tests (known members, each a string or
    null) also passes the rules that path defers (data: base64, size) and earns no warning:
    the diagnosis' own rule checks and advice, run on this one image."""
    if any(len(raw.get(name) or "") >= _BIG_STRING for name in _DEFERRED_MEMBERS):
        return False  # see shape(): large data is decoded once, by the diagnosis
    image = _image_view(raw)
    for prep in _DEFERRED_RULES:
        if prep.rule.check(image) is not None:
            return False
    run = _Diagnosis()
    _image_advice(run, image)
    return not run.warnings


# URLs that passed the static checks, so that a client sending the same URLs again pays one
# set lookup; bounded, and emptied when full.
_URL_OK: Final[set[str]] = set()
_URL_OK_MAX: Final = 4096


def _url_ok(url: str) -> bool:
    if media.url_problem(url) is not None:
        return False
    if len(_URL_OK) >= _URL_OK_MAX:
        _URL_OK.clear()
    if len(url) <= 2048:
        _URL_OK.add(url)
    return True




def _compile() -> Callable[[dict[str, Any]], Report | None]:
    """Generate one function from the catalogue: the field table becomes type checks, each rule
    an ``if`` in SPEC section 3 order with its skipping decided at generation time.  It answers
    every request whose fields are well typed and known and whose images are URLs (or fail
    their shape rules); for anything else (data to decode, warnings to give, Python oddities)
    it returns ``None`` and the diagnosis answers."""
    missing = {type(r) for r in catalog.RULES} - set(_EMITTERS)
    if missing:
        raise TypeError(
            f"the engine cannot compile rule kinds {sorted(k.__name__ for k in missing)}"
        )
    ns: dict[str, Any] = {
        "MISSING": MISSING,
        "is_media_type": media.is_image_media_type,
        "url_ok": _url_ok,
        "quiet": _quiet_image,
        "BIG_DATA": _BIG_STRING,
        "image_view": _image_view,
        "advice": _compiled_advice,
        "URL_OK": _URL_OK,
        "Violation": Violation,
        "View": _Values,
        "Report": Report,
        "Accepted": _Accepted,
        "Refused": _Refused,
        "late": _RefusedFirst.make,
        "FIELD_SET": frozenset(_FIELD_NAMES),
        "new": object.__new__,
        "MEMBER_SET": frozenset(_MEMBER_NAMES),
    }

    def field_var(name: str) -> str:
        return f"f_{name}"

    def member_var(name: str) -> str:
        return f"m_{name}"

    def fail(rule: Rule, var: Callable[[str], str], path: str) -> str:
        return _fail_code(ns, rule, var, path)

    lines: list[str] = []
    # Image shape (row 2 for image members): an exact dict of known members, str or null; and
    # no large data, which the diagnosis decodes (once: the compiled path would decode it
    # again for its warnings, and then hand the request on anyway when it earns one).
    lines += [
        "def shape(v):",
        "    if type(v) is not dict or not v.keys() <= MEMBER_SET: return False",
        "    get = v.get",
    ]
    for member in catalog.IMAGE_MEMBERS:
        if member.type is not JsonType.STRING or not member.nullable:
            raise TypeError("the compiled path expects nullable string image members")
        m = member_var(member.name)
        lines.append(f"    {m} = get({member.name!r})")
        lines.append(f"    if {m} is not None and type({m}) is not str: return False")
        if member.name in _DEFERRED_MEMBERS:
            lines.append(f"    if {m} is not None and len({m}) >= BIG_DATA: return False")
    lines += ["    return True", ""]
    # An image that passes row 2 and earns no warning before the image rules run: ``shape``
    # with the members the diagnosis must read (base64 data) null.
    lines += [
        "def plain(v):",
        "    if type(v) is not dict or not v.keys() <= MEMBER_SET: return False",
        "    get = v.get",
    ]
    for member in catalog.IMAGE_MEMBERS:
        m = member_var(member.name)
        lines.append(f"    {m} = get({member.name!r})")
        if member.name in _DEFERRED_MEMBERS:
            lines.append(f"    if {m} is not None: return False")
        else:
            lines.append(f"    if {m} is not None and type({m}) is not str: return False")
    lines += ["    return True", ""]

    # Image rule groups: each a function of (image, path, errors, marks) -> marks.
    steps = _steps()
    bits: dict[str, int] = {}
    for rule in _ORDERED:
        if rule.scope is Scope.IMAGE and rule.marks:
            bits.setdefault(rule.marks, 1 << len(bits))
    whole = bits["image"]  # the mark of an image whose shape is wrong: its rules stop
    group_names: dict[int, str] = {}
    marked: set[str] = set()  # marks an earlier image rule may have set
    for index, step in enumerate(steps):
        if not isinstance(step, tuple):
            continue
        name = group_names[index] = f"group_{index}"
        lines += [f"def {name}(v, path, e, mask):"]
        if "image" in marked:
            lines.append(f"    if mask & {whole}: return mask")
        lines.append("    get = v.get")
        for member in catalog.IMAGE_MEMBERS:
            lines.append(f"    {member_var(member.name)} = get({member.name!r})")
        if any(type(rule) in _DEFER for rule in step):
            lines.append("    iv = None")
        for rule in step:
            reads = [bits[r] for r in _PREPARED[rule].reads if r in bits and r in marked]
            indent = "    "
            if reads:
                lines.append(f"    if not mask & {sum(reads)}:")
                indent = "        "
            defer = _DEFER.get(type(rule))
            if defer is not None:
                # Decoding: the rule's own check, on a view of the image made once per group.
                prep = _const(ns, _PREPARED[rule])
                lines += [
                    f"{indent}if {defer(rule, member_var, ns)}:",
                    f"{indent}    iv = iv or image_view(v)",
                    f"{indent}    echo = {prep}.rule.check(iv)",
                    f"{indent}    if echo is not None:",
                    f"{indent}        e.append({prep}.violation(path, echo))",
                ]
                if rule.marks:
                    lines.append(f"{indent}        mask |= {bits[rule.marks]}")
                    if rule.marks == "image":
                        lines.append(f"{indent}        return mask")
                    marked.add(rule.marks)
            holds = _EMITTERS[type(rule)](rule, member_var, ns)  # type: ignore[misc]
            if holds == "True":
                continue
            lines.append(f"{indent}if not {holds}:")
            lines.append(f"{indent}    {fail(rule, member_var, 'path')}")
            if rule.marks:
                lines.append(f"{indent}    mask |= {bits[rule.marks]}")
                if rule.marks == "image":
                    lines.append(f"{indent}    return mask")
                marked.add(rule.marks)
        lines += ["    return mask", ""]

    lines += _accepting(ns, field_var, member_var)
    # Row 2 for the whole request, then every error in SPEC order (``listed``).
    prologue = [
        "    if not p.keys() <= FIELD_SET: return None",
        "    get = p.get",
    ]
    image_fields: list[tuple[str, bool]] = []
    for spec in catalog.FIELDS:
        f = field_var(spec.name)
        default = spec.default
        if spec.type is JsonType.ARRAY:
            default = ()
        prologue.append(f"    {f} = get({spec.name!r}, {_const(ns, default)})")
        if spec.type is JsonType.STRING:
            allowed = [f"type({f}) is str"]
            if spec.nullable:
                allowed.append(f"{f} is None")
            if default is MISSING:
                allowed.append(f"{f} is MISSING")
            prologue.append(f"    if not ({' or '.join(allowed)}): return None")
        elif spec.type is JsonType.BOOLEAN:
            prologue.append(f"    if {f} is not True and {f} is not False: return None")
        elif spec.type is JsonType.OBJECT:
            if not spec.nullable or default is not None:
                raise TypeError("the compiled path expects images to be nullable objects")
            prologue.append(f"    if {f} is not None and not shape({f}): return None")
            image_fields.append((spec.name, False))
        else:
            prologue += [
                f"    if type({f}) is not list and {f} is not {_const(ns, default)}: return None",
                f"    for x in {f}:",
                "        if not shape(x): return None",
            ]
            image_fields.append((spec.name, True))
    # The typed fields go on to the rules; fast() comes here directly once it has typed them.
    typed = ", ".join(field_var(spec.name) for spec in catalog.FIELDS)
    lines += ["def ordered(p):", *prologue, f"    return listed(p, {typed}, False)", ""]
    lines += _first_error(ns, field_var, steps, group_names, image_fields)
    lines += [f"def listed(p, {typed}, images_ok):"]
    # Anything that earns a warning goes to the diagnosis, which gives warnings.
    lines.append(f"    if {_IGNORED_CODE}: return None")
    lines.append("    e = []")
    # The images, in SPEC order, as [image, path, marks].
    lines += ["    imgs = []", "    if not images_ok:"]
    for name, is_array in image_fields:
        f = field_var(name)
        if is_array:
            lines += [
                f"        for i, x in enumerate({f}):",
                f"            imgs.append([x, {_item_path_code(ns, name)}, 0])",
            ]
        else:
            lines.append(f"        if {f} is not None: imgs.append([{f}, {name!r}, 0])")
    flags: set[str] = set()  # request fields an earlier rule may have marked
    # Past the type checks, a field with a default is never MISSING, and never None unless
    # nullable; ``prompt`` (no default) may be absent.
    defined = frozenset(field_var(s.name) for s in catalog.FIELDS if s.default is not MISSING)
    defaulted = {
        field_var(s.name) for s in catalog.FIELDS if s.default is not MISSING and not s.nullable
    }
    for index, step in enumerate(steps):
        if isinstance(step, tuple):
            lines += [
                "    for im in imgs:",
                f"        im[2] = {group_names[index]}(im[0], im[1], e, im[2])",
            ]
            continue
        rule = step
        emit = _EMITTERS[type(rule)]
        if emit is None or rule.scope is not Scope.REQUEST:
            continue
        skip = [f"bad_{name}" for name in sorted(_PREPARED[rule].reads & flags)]
        cond = f"not {_simplify(emit(rule, field_var, ns), set(), defaulted, defined)}"
        if skip:
            cond = f"not ({' or '.join(skip)}) and {cond}"
        lines += [f"    if {cond}:", f"        {fail(rule, field_var, repr(_PREPARED[rule].path))}"]
        if rule.marks:
            lines.append(f"        bad_{rule.marks} = True")
            flags.add(rule.marks)
    # The images' warnings (decoded data); an accepted request with warnings goes to the
    # diagnosis, which also builds its request.
    ns["MARKS"] = tuple(bits.items())
    lines += [
        "    w = advice(imgs, MARKS) if imgs else ()",
        "    if not e: return None if w else Accepted(p)",
        "    e = tuple(e)",
        "    if w: return Report(e[0].status, e[0].detail, e, w, None)",
        "    r = new(Refused)",
        "    r._first = e[0]",
        "    r._errors = e",
        "    return r",
    ]
    # Flags start false (only those some rule sets).
    at = lines.index("    e = []", lines.index(f"def listed(p, {typed}, images_ok):"))
    for name in sorted(flags):
        lines.insert(at, f"    bad_{name} = False")
    source = "\n".join(lines)
    exec(compile(source, "<luma_schema compiled catalogue>", "exec"), ns)
    compiled: Callable[[dict[str, Any]], Report | None] = ns["fast"]
    compiled.__doc__ = source
    return compiled


def _item_path_code(ns: dict[str, Any], name: str) -> str:
    """An expression for the path of item ``i`` of the array field ``name`` (the first 16 made
    once)."""
    paths = _const(ns, tuple(f"{name}[{i}]" for i in range(16)))
    return f"{paths}[i] if i < 16 else f'{name}[{{i}}]'"


def _first_error(
    ns: dict[str, Any],
    field_var: Callable[[str], str],
    steps: tuple[Rule | tuple[Rule, ...], ...],
    group_names: dict[int, str],
    image_fields: list[tuple[str, bool]],
) -> list[str]:
    """``first(p, fields...)``: row 2 for the images (the fields are typed already), then the
    rules in SPEC order up to the first that fails; a ``_RefusedFirst`` with that error (the
    rest of the list and the warnings are made when read), or ``None`` when none fails (the
    request earns a warning, and the diagnosis answers).  The compiled path comes here when an
    image fails: nothing past the first error is built, whatever the images' data would earn."""
    typed = ", ".join(field_var(spec.name) for spec in catalog.FIELDS)
    lines = [f"def first(p, {typed}):", "    imgs = []"]
    for name, is_array in image_fields:
        f = field_var(name)
        if is_array:
            lines += [
                f"    for i, x in enumerate({f}):",
                "        if not shape(x): return None",
                f"        imgs.append((x, {_item_path_code(ns, name)}))",
            ]
        else:
            lines += [
                f"    if {f} is not None:",
                f"        if not shape({f}): return None",
                f"        imgs.append(({f}, {name!r}))",
            ]
    defined = frozenset(field_var(s.name) for s in catalog.FIELDS if s.default is not MISSING)
    defaulted = {
        field_var(s.name) for s in catalog.FIELDS if s.default is not MISSING and not s.nullable
    }
    lines.append("    e = []")
    for index, step in enumerate(steps):
        if isinstance(step, tuple):
            # A group appends an image's failures in rule order, images in SPEC order, and
            # marks only what it has failed: the first error of the step is the first append.
            lines += [
                "    for x, path in imgs:",
                f"        {group_names[index]}(x, path, e, 0)",
                "        if e: return late(p, e[0])",
            ]
            continue
        emit = _EMITTERS[step.__class__]
        if emit is None or step.scope is not Scope.REQUEST:
            continue
        holds = _simplify(emit(step, field_var, ns), set(), defaulted, defined)
        violation = _violation_code(ns, step, field_var, repr(_PREPARED[step].path))
        lines.append(f"    if not {holds}: return late(p, {violation})")
    lines += ["    return None", ""]
    return lines


def _fail_code(ns: dict[str, Any], rule: Rule, var: Callable[[str], str], path: str) -> str:
    """The statement that appends the rule's violation to ``e``."""
    return f"e.append({_violation_code(ns, rule, var, path)})"


def _violation_code(ns: dict[str, Any], rule: Rule, var: Callable[[str], str], path: str) -> str:
    """An expression for the rule's violation, the values it echoes read from ``var``."""
    prep = _PREPARED[rule]
    key = _const(ns, prep)
    if not prep.echoes:
        if prep.constant is not None:
            return f"{key}.constant"
        return f"Violation({rule.id!r}, {rule.status}, {key}.template.format(path={path}), {path})"
    view = ", ".join(f"{name!r}: {var(name)}" for name in prep.reads)
    return f"{key}.violation({path}, {key}.rule.check(View({{{view}}})))"


def _accepting(
    ns: dict[str, Any],
    field_var: Callable[[str], str],
    member_var: Callable[[str], str],
    shape: tuple[str, ...] | None = None,
    name: str = "fast",
) -> list[str]:
    """``fast(p)``: the common case, a request that breaks no rule, as one chain of tests with
    no bookkeeping (order does not matter when nothing fails).  At the first doubt it hands the
    request to ``ordered``, which lists the errors in SPEC order (or gives up: ``None``)."""
    image_rules = [rule for rule in _ORDERED if rule.scope is Scope.IMAGE]

    # The image tests do not depend on the shape: generated once per namespace.
    memo: dict[tuple[Any, ...], list[str] | None] = ns.setdefault("IMAGE_TESTS", {})

    def tests(absent: set[str], read: list[str], subscript: bool) -> list[str] | None:
        key = (frozenset(absent), tuple(read), subscript)
        if key not in memo:
            memo[key] = image_tests(absent, read, subscript)
        return memo[key]

    def image_tests(absent: set[str], read: list[str], subscript: bool) -> list[str] | None:
        """Read the members in ``read``, the others being null, then test every image rule,
        folded; ``None`` when some rule cannot hold for such an image."""
        out = []
        for member in read:
            m = member_var(member)
            out.append(f"{m} = v[{member!r}]" if subscript else f"{m} = v.get({member!r})")
            out.append(f"if {m} is not None and type({m}) is not str: FAIL")
        present: set[str] = set()
        known_null = {member_var(name) for name in absent}
        for rule in image_rules:
            holds = _simplify(_EMITTERS[type(rule)](rule, member_var, ns), known_null, present)  # type: ignore[misc]
            if holds == "(True)":
                continue
            if holds == "(False)":
                return None
            out.append(f"if not {holds}: FAIL")
            proved = holds.removeprefix("(").removesuffix(" is not None)")
            if proved.isidentifier():
                present.add(proved)
        # The rules deferred to the diagnosis (decoding data) hold, and the image earns no
        # warning, when ``quiet`` says so: it runs the diagnosis' own checks on this image.
        given = " or ".join(
            f"{member_var(m)} is not None" for m in read if m in _DEFERRED_MEMBERS
        )
        if given:
            deferred = _simplify(f"(not ({given}) or quiet(v))", known_null, present)
            if deferred != "(True)":
                out.append(f"if not {deferred}: FAIL")
        return out

    members = [m.name for m in catalog.IMAGE_MEMBERS]
    readable = members
    body = ["if type(v) is not dict: FAIL"]
    # One lane per set of member names an image may have, so that absent members cost nothing;
    # then the general case.  A lane is tested by the image's size and its members (the keys
    # are distinct, so that is the set equality; cheaper than comparing a keys view to a set).
    lanes = [
        [m for j, m in enumerate(readable) if mask >> j & 1]
        for mask in range(1, 1 << len(readable))
    ]
    lanes.sort(key=len)

    def lane_test(lane: list[str]) -> str:
        return " and ".join([f"len(v) == {len(lane)}", *(f"{m!r} in v" for m in lane)])

    keyword = "if"
    for lane in lanes:
        lane_tests = tests(set(members) - set(lane), lane, subscript=True)
        if lane_tests is None:
            continue
        body.append(f"{keyword} {lane_test(lane)}:")
        body += ["    " + line for line in lane_tests]
        keyword = "elif"
    general = ["if not v.keys() <= MEMBER_SET: FAIL"]
    general += tests(set(), readable, subscript=False) or ["FAIL"]
    if keyword == "if":
        body += general
    else:
        body.append("else:")
        body += ["    " + line for line in general]

    # Row 2 alone (and no member the diagnosis must read), in the same lanes: for a refusal by
    # a request rule that comes before the image rules.
    typed_body = ["if type(v) is not dict: FAIL"]
    keyword = "if"
    # Not the members whose rules the diagnosis must read: those may earn warnings.
    plain_lanes = [lane for lane in lanes if _DEFERRED_MEMBERS.isdisjoint(lane)]
    for lane in plain_lanes:
        typed_body.append(f"{keyword} {lane_test(lane)}:")
        typed_body += [
            f"    if type(v[{m!r}]) is not str and v[{m!r}] is not None: FAIL" for m in lane
        ]
        keyword = "elif"
    typed_body.append(f"{keyword} not plain(v): FAIL")

    def image_typed(var: str, indent: str) -> list[str]:
        return [
            indent + re.sub(r"\bv\b", var, line).replace("FAIL", "return ordered(p)")
            for line in typed_body
        ]

    def image_ok(var: str, indent: str) -> list[str]:
        """The image tests inlined for the image in ``var`` (no call per image); a failure goes
        to ``first`` with the typed fields: only the first error is needed to answer."""
        return [
            indent + re.sub(r"\bv\b", var, line).replace("FAIL", f"return first(p, {typed})")
            for line in body
        ]

    lines: list[str] = []
    # No field is MISSING past the type checks below; only nullable ones can be None.
    always = {field_var(spec.name) for spec in catalog.FIELDS if not spec.nullable}
    every = frozenset(field_var(spec.name) for spec in catalog.FIELDS)
    # With a ``shape`` (the payload's keys, known at generation time), absent fields are their
    # defaults, folded into the tests as constants.
    consts: dict[str, Any] = {}
    args: list[str] = []
    for spec in catalog.FIELDS:
        default = () if spec.type is JsonType.ARRAY else spec.default
        if shape is not None and spec.name not in shape:
            consts[field_var(spec.name)] = default
            args.append(_const(ns, default))
        else:
            args.append(field_var(spec.name))
    typed = ", ".join(args)
    image_lines: list[str] = []  # the images' tests, after the request rules that come first
    plain_lines: list[str] = []  # row 2 for the images, for a refusal by those rules
    lines += [f"def {name}(p):"]
    if shape is None:
        lines += ["    if not p.keys() <= FIELD_SET: return ordered(p)", "    get = p.get"]
    for spec in catalog.FIELDS:
        f = field_var(spec.name)
        default = () if spec.type is JsonType.ARRAY else spec.default
        if f in consts:
            continue
        if shape is None:
            lines.append(f"    {f} = get({spec.name!r}, {_const(ns, default)})")
        else:
            lines.append(f"    {f} = p[{spec.name!r}]")
        if spec.type is JsonType.STRING:
            allowed = [f"type({f}) is str"]
            if spec.nullable:
                allowed.append(f"{f} is None")
            lines.append(f"    if not ({' or '.join(allowed)}): return ordered(p)")
        elif spec.type is JsonType.BOOLEAN:
            lines.append(f"    if {f} is not True and {f} is not False: return ordered(p)")
        elif spec.type is JsonType.OBJECT:
            image_lines.append(f"    if {f} is not None:")
            image_lines += image_ok(f, "        ")
            plain_lines.append(f"    if {f} is not None:")
            plain_lines += image_typed(f, "        ")
        else:
            lines.append(
                f"    if type({f}) is not list and {f} is not {_const(ns, default)}: return ordered(p)"
            )
            image_lines.append(f"    for x in {f}:")
            image_lines += image_ok("x", "        ")
            plain_lines.append(f"    for x in {f}:")
            plain_lines += image_typed("x", "        ")
    # Anything that earns a warning goes to the diagnosis, which gives warnings.
    warn = _simplify(_IGNORED_CODE, set(), always, every, consts, ns)
    # fast() has seen every image rule hold: only request rules can fail.  With a shape, a
    # failure goes to this shape's own error list (request rules in SPEC order, folded too).
    present_args = ", ".join(f for f in args if f.startswith("f_"))
    arg_of = {spec.name: arg for spec, arg in zip(catalog.FIELDS, args, strict=True)}

    def shaped_var(field: str) -> str:
        return arg_of[field]  # an absent field is its default's constant

    on_fail = f"listed(p, {typed}, True)" if shape is None else f"{name}_errors(p, {present_args})"
    errors = [f"def {name}_errors(p, {present_args}):"]
    if warn != "(False)":
        errors.append(f"    if {warn}: return None")
    errors.append("    e = []")
    # The request rules before the first image rule (SPEC section 3) run before the images: the
    # first of them that fails is the first error once row 2 holds for the images and nothing
    # earns a warning, which ``refuse`` checks; it keeps that error, and the payload for the
    # full list (``_Refused.errors``).
    first_image = next(i for i, r in enumerate(_ORDERED) if r.scope is Scope.IMAGE)
    refuse_body = [f"    if {warn}: return None"] if warn != "(False)" else []
    refuse_body += plain_lines
    used = set(re.findall(r"\bf_\w+", "\n".join(refuse_body)))
    refuse_args = ", ".join(["p", "first", *(f for f in args if f in used)])
    refuse = [f"def {name}_refuse({refuse_args}):", *refuse_body]
    refuse += [
        "    r = new(Refused)",
        "    r._first = first",
        "    r._payload = p",
        "    return r",
        "",
    ]
    flags: set[str] = set()
    for index, rule in enumerate(_ORDERED):
        if index == first_image:
            lines += image_lines
        emit = _EMITTERS[type(rule)]
        if emit is not None and rule.scope is Scope.REQUEST:
            holds = _simplify(emit(rule, field_var, ns), set(), always, every, consts, ns)
            if holds == "(True)":
                continue
            if index < first_image:
                first = _violation_code(ns, rule, shaped_var, repr(_PREPARED[rule].path))
                call = refuse_args.replace("first", first, 1)
                lines.append(f"    if not {holds}: return {name}_refuse({call})")
            else:
                lines.append(f"    if not {holds}: return {on_fail}")
            skip = [f"bad_{n}" for n in sorted(_PREPARED[rule].reads & flags)]
            cond = f"not {holds}" if not skip else f"not ({' or '.join(skip)}) and not {holds}"
            errors += [
                f"    if {cond}:",
                f"        {_fail_code(ns, rule, shaped_var, repr(_PREPARED[rule].path))}",
            ]
            if rule.marks:
                errors.append(f"        bad_{rule.marks} = True")
                flags.add(rule.marks)
    for flag in sorted(flags):
        errors.insert(2 if warn != "(False)" else 1, f"    bad_{flag} = False")
    errors += [
        "    if not e: return None",
        "    e = tuple(e)",
        "    r = new(Refused)",
        "    r._first = e[0]",
        "    r._errors = e",
        "    return r",
        "",
    ]
    if warn != "(False)":
        lines.append(f"    if {warn}: return None")
    lines += [
        "    r = new(Accepted)",
        "    r._payload = p",
        "    return r",
        "",
    ]
    lines += refuse
    if shape is not None:
        lines += errors
    return lines


_COMPARE: Final[dict[type[ast.cmpop], Callable[[Any, Any], bool]]] = {
    ast.Is: lambda a, b: a is b,
    ast.IsNot: lambda a, b: a is not b,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}
_UNKNOWN: Final = object()


def _simplify(
    expr: str,
    nulls: set[str],
    present: set[str],
    defined: frozenset[str] = frozenset(),
    consts: Mapping[str, Any] | None = None,
    ns: Mapping[str, Any] | None = None,
) -> str:
    """``expr`` folded with what the code around it has proved: the names in ``nulls`` are
    None, those in ``present`` are neither None nor MISSING (``(a is None or b is None)`` with
    ``b`` null is ``True``; ``not (a is not None)`` is ``a is None``)."""

    known = consts or {}
    names = ns or {}

    def value(node: ast.expr) -> Any:
        """The value of a node known at generation time, else _UNKNOWN."""
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in known:
                return known[node.id]
            if node.id in names and (node.id == "MISSING" or node.id[1:].isdigit()):
                return names[node.id]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "len"
            and len(node.args) == 1
        ):
            inner = value(node.args[0])
            if inner is not _UNKNOWN and hasattr(inner, "__len__"):
                return len(inner)
        return _UNKNOWN

    class Fold(ast.NodeTransformer):
        def visit_Compare(self, node: ast.Compare) -> ast.AST:
            operands = [value(n) for n in (node.left, *node.comparators)]
            if all(v is not _UNKNOWN for v in operands):
                try:
                    result = all(
                        _COMPARE[type(op)](operands[i], operands[i + 1])
                        for i, op in enumerate(node.ops)
                    )
                except TypeError:  # a test the code never reaches (`None <= 256`)
                    return self.generic_visit(node)
                return ast.Constant(result)
            if (
                isinstance(node.left, ast.Name)
                and len(node.ops) == 1
                and isinstance(node.ops[0], (ast.Is, ast.IsNot))
            ):
                right = node.comparators[0]
                is_ = isinstance(node.ops[0], ast.Is)
                none = isinstance(right, ast.Constant) and right.value is None
                missing = isinstance(right, ast.Name) and right.id == "MISSING"
                if node.left.id in nulls and none:
                    return ast.Constant(is_)
                if node.left.id in present and (none or missing):
                    return ast.Constant(not is_)
                if node.left.id in defined and missing:
                    return ast.Constant(not is_)
            return self.generic_visit(node)

        def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
            self.generic_visit(node)
            if isinstance(node.op, ast.Not):
                if isinstance(node.operand, ast.Constant):
                    return ast.Constant(not node.operand.value)
                inner = node.operand
                if isinstance(inner, ast.Compare) and len(inner.ops) == 1:
                    flipped = {
                        ast.Is: ast.IsNot,
                        ast.IsNot: ast.Is,
                        ast.In: ast.NotIn,
                        ast.NotIn: ast.In,
                        ast.Eq: ast.NotEq,
                        ast.NotEq: ast.Eq,
                    }
                    op = flipped.get(type(inner.ops[0]))
                    if op is not None:
                        return ast.Compare(inner.left, [op()], inner.comparators)
            return node

        def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
            self.generic_visit(node)
            decisive = isinstance(node.op, ast.Or)  # True decides an `or`, False an `and`
            values = []
            for value in node.values:
                if isinstance(value, ast.Constant):
                    if bool(value.value) is decisive:
                        return ast.Constant(decisive)
                    continue
                values.append(value)
            if not values:
                return ast.Constant(not decisive)
            if len(values) == 1:
                return values[0]
            node.values = values
            return node

    tree = Fold().visit(ast.parse(expr, mode="eval"))
    return f"({ast.unparse(tree)})"


_SCALAR_DEFAULTS: Final = {
    spec.name: spec.default
    for spec in catalog.FIELDS
    if spec.type in (JsonType.STRING, JsonType.BOOLEAN)
}


def _normalise(payload: dict[str, Any]) -> dict[str, Any]:
    """The full form (SPEC section 4) of a request the compiled path accepted: every field,
    defaults filled, each image with exactly its members."""
    out: dict[str, Any] = {}
    for spec in catalog.FIELDS:
        value = payload.get(spec.name, MISSING)
        if spec.type is JsonType.OBJECT:
            value = None if value is MISSING or value is None else _normal_image(value)
        elif spec.type is JsonType.ARRAY:
            value = [] if value is MISSING else [_normal_image(item) for item in value]
        elif value is MISSING:
            value = spec.default
        out[spec.name] = value
    return out


def _normal_image(image: dict[str, Any]) -> dict[str, Any]:
    return {name: image.get(name) for name in _MEMBER_NAMES}


_generic_fast: Final = _compile()
_generic_ordered: Final[Callable[[dict[str, Any]], Report | None]] = _generic_fast.__globals__[
    "ordered"
]
# The compiled path specialised to each payload shape (its keys, in order) seen so far: absent
# fields cost nothing, their rules are folded away.  Bounded: past the limit, new shapes take the
# generic function.
_SHAPES: Final[dict[tuple[Any, ...], Callable[[dict[str, Any]], Report | None]]] = {}
_SHAPES_MAX: Final = 256
_REQUIRED: Final = frozenset(s.name for s in catalog.FIELDS if s.default is MISSING)


_SHAPES_LOCK: Final = threading.Lock()


def _specialise(shape: tuple[Any, ...]) -> Callable[[dict[str, Any]], Report | None]:
    with _SHAPES_LOCK:  # generation adds names to the shared namespace
        return _SHAPES.get(shape) or _generate(shape)


def _generate(shape: tuple[Any, ...]) -> Callable[[dict[str, Any]], Report | None]:
    if (
        len(_SHAPES) >= _SHAPES_MAX
        or not all(type(key) is str for key in shape)
        or len(set(shape)) != len(shape)
        or not set(shape) <= set(_FIELD_NAMES)
        or not set(shape) >= _REQUIRED
    ):
        return _generic_fast
    ns = _generic_fast.__globals__
    name = f"fast_{len(_SHAPES)}_{len(ns)}"
    lines = _accepting(ns, "f_{}".format, "m_{}".format, tuple(shape), name)
    exec(compile("\n".join(lines), f"<luma_schema compiled for {shape}>", "exec"), ns)
    func: Callable[[dict[str, Any]], Report | None] = ns[name]
    func.__doc__ = "\n".join(lines)
    _SHAPES[shape] = func
    return func


def _full_report(payload: dict[str, Any]) -> Report:
    """The full report of a payload the compiled path refused early (see ``_Refused``): the
    compiled error stage, or the diagnosis when that stage is not sure."""
    try:
        report = _generic_ordered(payload)
    except Exception:
        report = None
    if report is None:
        report = _diagnose(payload, False)
    return report


def _errors_of(payload: dict[str, Any]) -> tuple[Violation, ...]:
    return _full_report(payload).errors


def _fast(body: dict[str, Any]) -> Report | None:
    """The compiled path: a Report, or None when only the diagnosis can answer."""
    shape = tuple(body)
    return (_SHAPES.get(shape) or _specialise(shape))(body)


def check(payload: object, fetch: bool = False) -> Report:
    """What the server answers for ``payload``: a dict (or other Python JSON value), or JSON text
    as ``str`` or UTF-8 ``bytes``.  Never raises on bad input: a payload that is not a JSON
    object is a 400 like any other error.  ``fetch=True`` also fetches URL images (extra
    ``fetch``); without it URLs get only the static checks."""
    kind = type(payload)
    if not fetch and (kind is dict or kind is bytes):  # the common cases, with the fewest steps
        try:
            body: Any = payload
            if kind is bytes:
                body = _quick_parse(payload) if len(payload) < _BIG_INPUT else _UNSURE  # type: ignore[arg-type]
            if type(body) is dict:
                shape = tuple(body)
                report = (_SHAPES.get(shape) or _specialise(shape))(body)
                if report is not None:
                    return report
            if kind is bytes and body is not _UNSURE:
                return _diagnose(body, False)  # parsed text is plain already
        except Exception:
            pass  # odd keys or values: the full path below looks at them carefully
    try:
        # A dict has had its fast path above; anything else may still take it once parsed.
        # Bytes had their quick reading above: the full path reads them with _DECODER only.
        return _check(payload, fetch, fast=kind is not dict, quick=kind is not bytes or fetch)
    except RecursionError:
        return _not_json()
    except Exception:
        # A payload whose own methods fail (a hostile __eq__, say) cannot be read as JSON.
        return _not_json()


def _check(payload: object, fetch: bool, fast: bool = True, quick: bool = True) -> Report:
    # check() without its safety net: the fuzzer calls this, so that a bug is a crash it sees.
    body: Any = payload
    kind = type(payload)  # not isinstance: an object's __class__ may lie
    parsed = issubclass(kind, (bytes, str, bytearray, memoryview))
    if parsed:
        text: Any = payload
        if kind is not bytes and kind is not str:
            text = str.__str__(text) if issubclass(kind, str) else bytes(memoryview(text))
        try:
            body = _parse(text, quick)
        except _NotJson:
            return _not_json()
    if fast and not fetch and type(body) is dict:
        try:
            report = _fast(body)
        except Exception:  # a key's own __eq__ may raise: the full path reads a plain copy
            report = None
        if report is not None:
            return report
    # Parsed JSON text is plain already; a Python payload is copied so no override runs.
    return _diagnose(body if parsed else _plain(body), fetch)


def iter_errors(payload: object) -> Iterator[Violation]:
    """Every violation of ``payload`` in SPEC order (the ``errors`` of :func:`check`)."""
    return iter(check(payload).errors)

