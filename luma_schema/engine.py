"""The one engine: applies the catalogue to a request and reports what the server would answer.

Two paths share the catalogue.  ``_fast`` is generated once, at import, from the rule table into a
single straight-line function that accepts the common case (well-typed, URL images, nothing to
warn about) and returns the normalised request; it returns ``None`` whenever it is not sure.  Then
``_diagnose`` applies every rule object in SPEC section 3 order, with its skipping, and builds the
full error list.  A property test holds the two paths to the same verdict.
"""

from __future__ import annotations

import difflib
import json
import math
import secrets
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from luma_schema import catalog, media
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


class Violation:
    """One broken rule: its catalogue id, HTTP status, exact message and the path it concerns."""

    __slots__ = ("detail", "path", "rule", "status")

    def __init__(self, rule: str, status: int, detail: str, path: str) -> None:
        self.rule = rule
        self.status = status
        self.detail = detail
        self.path = path

    def __repr__(self) -> str:
        return f"Violation({self.rule!r}, {self.status}, {self.detail!r}, path={self.path!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Violation):
            return NotImplemented
        return self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash((self.rule, self.status, self.detail, self.path))

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "status": self.status, "detail": self.detail, "path": self.path}


class Notice:
    """A warning (SPEC section 5): never changes the verdict."""

    __slots__ = ("code", "message", "path")

    def __init__(self, code: str, path: str, message: str) -> None:
        self.code = code
        self.path = path
        self.message = message

    def __repr__(self) -> str:
        return f"Notice({self.code!r}, {self.path!r}, {self.message!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Notice):
            return NotImplemented
        return self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash((self.code, self.path, self.message))

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "path": self.path, "message": self.message}


class Report:
    """What the server would answer: ``status`` 201 and the normalised ``request`` when ``ok``;
    else the first error's ``status`` and exact ``detail``, and the full SPEC list in ``errors``."""

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
        raise _NotJson("duplicate member name")
    return obj


def _no_constant(name: str) -> Any:
    raise _NotJson(name)


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
        if q < 0:
            break
        j, escaped = q + 1, False
        while True:
            k = buf.find(quote, j)
            if k < 0:
                return None
            bs = buf.find(backslash, j, k)
            if bs < 0:
                break
            escaped, j = True, bs + 2
        i = k + 1
        if escaped or k - q - 1 < _BIG_STRING:
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


def _parse(payload: bytes | str) -> Any:
    """One RFC 8259 value in UTF-8 (a leading BOM allowed); raises _NotJson for anything else."""
    if isinstance(payload, bytes):
        if payload.startswith(_BOM_BYTES):
            payload = payload[3:]
    elif payload.startswith("\ufeff"):
        payload = payload[1:]
    cut = _cut_blobs(payload) if len(payload) >= _BIG_INPUT else None
    blobs: dict[str, media.Blob] = {}
    if cut is not None:
        payload, blobs = cut
    try:
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
        value = _DECODER.decode(text)
    except (ValueError, RecursionError, _NotJson) as exc:
        raise _NotJson(str(exc)) from None
    if blobs and isinstance(value, (dict, list)):
        value = _put_blobs(value, blobs)
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
        if leaving:
            on_path.discard(id(node))
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


def _as_str(value: Any) -> Any:
    """An exact ``str`` for a ``str`` subclass (its overrides must not run); Blobs stay."""
    return value if type(value) is str or isinstance(value, media.Blob) else str.__str__(value)


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
                image.members[member.name] = _as_str(value)
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
    violation = Violation(_BODY_RULE.id, _BODY_RULE.status, _BODY_RULE.render(""), "")
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
    group: list[Rule] = []
    for rule in _ORDERED:
        if rule.scope is Scope.IMAGE:
            group.append(rule)
            continue
        _apply_images(run, group, images)
        group = []
        if rule.scope is Scope.REQUEST and not run.bad.intersection(rule.reads):
            echo = rule.check(view)
            if echo is not None:
                run.fail(rule, getattr(rule, "field", ""), **echo)
                if rule.marks:
                    run.bad.add(rule.marks)
    _apply_images(run, group, images)

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


def _apply_images(run: _Diagnosis, group: list[Rule], images: list[_Image]) -> None:
    if not group:
        return
    for image in images:
        for rule in group:
            if "image" in image.bad or image.bad.intersection(rule.reads):
                continue
            echo = rule.check(image)
            if echo is not None:
                run.fail(rule, image.path, **echo)
                if rule.marks:
                    image.bad.add(rule.marks)
        if group[-1] is _LAST_IMAGE_RULE:
            _image_advice(run, image)


def _image_advice(run: _Diagnosis, image: _Image) -> None:
    data = image.members.get("data")
    if data is None or "image" in image.bad:
        return
    path = f"{image.path}.data"
    start = data.prefix(5) if isinstance(data, media.Blob) else data[:5]
    if start.lower() == "data:":
        run.warn("data_uri_prefix", path)
    found = media.sniff_format(media.head_bytes(data))
    media_type = image.members.get("media_type")
    if found is not None and media_type is not None and "media_type" not in image.bad:
        named = media.media_format(media_type)
        if named != found:
            run.warn(
                "format_mismatch",
                path,
                found=_FORMAT_NAMES[found],
                named=_FORMAT_NAMES.get(named or "", "another format"),
            )
    if "data" in image.bad:
        return
    info = image.base64("data")
    if not info.valid:
        return
    if found is None:
        run.warn("format_unknown", path)
    if catalog.ADVISED_IMAGE_BYTES < info.size <= catalog.MAX_IMAGE_BYTES:
        run.warn("image_large", path, limit_mb=catalog.ADVISED_IMAGE_BYTES >> 20)


_FORMAT_NAMES: Final = {"png": "PNG", "jpeg": "JPEG", "gif": "GIF", "webp": "WebP"}


def _request_advice(run: _Diagnosis, values: dict[str, Any]) -> None:
    if (
        "type" not in run.bad
        and "aspect_ratio" not in run.bad
        and values["type"] == "image_edit"
        and values["aspect_ratio"] is not None
    ):
        run.warn("aspect_ratio_ignored", "aspect_ratio")


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


# ---------------------------------------------------------------- the compiled fast path

_ORDERED: Final = tuple(
    r for r in catalog.RULES if r.scope not in (Scope.BODY, Scope.TYPES, Scope.FETCH)
)
_LAST_IMAGE_RULE: Final = [r for r in _ORDERED if r.scope is Scope.IMAGE][-1]


def _given(name: str) -> str:
    return f"({name} is not MISSING and {name} is not None)"


def _const(ns: dict[str, Any], value: Any) -> str:
    name = f"C{len(ns)}"
    ns[name] = value
    return name


# One emitter per rule kind: a Python expression that is True when the rule surely holds.
# ``v`` names a field's (or member's) local variable; ``ns`` collects constants.
Emitter = Callable[[Any, Callable[[str], str], dict[str, Any]], str]
_EMITTERS: Final[dict[type[Rule], Emitter | None]] = {
    JsonBody: None,  # the function's own preamble
    JsonTypes: None,  # likewise, per field
    Fetched: None,  # network: never on the fast path
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
    # Data images go to the full path: their base64 costs far more than the detour.
    Base64: lambda r, v, ns: f"({v(r.member)} is None)",
    MaxBytes: lambda r, v, ns: f"({v(r.member)} is None)",
    ImageMediaType: lambda r, v, ns: f"({v(r.member)} is None or is_media_type({v(r.member)}))",
    PublicHttpsUrl: lambda r, v, ns: (
        f"({v(r.member)} is None or url_problem({v(r.member)}) is None)"
    ),
}


def _compile() -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    missing = {type(r) for r in catalog.RULES} - set(_EMITTERS)
    if missing:
        raise TypeError(
            f"the engine cannot compile rule kinds {sorted(k.__name__ for k in missing)}"
        )
    ns: dict[str, Any] = {
        "MISSING": MISSING,
        "is_media_type": media.is_image_media_type,
        "url_problem": media.url_problem,
    }

    def field_var(name: str) -> str:
        return f"f_{name}"

    def member_var(name: str) -> str:
        return f"m_{name}"

    lines = ["def image(v):", "    get = v.get", "    n = 0"]
    for member in catalog.IMAGE_MEMBERS:
        m = member_var(member.name)
        lines += [
            f"    {m} = get({member.name!r})",
            f"    if {m} is not None:",
            f"        if type({m}) is not str: return None",
            "        n += 1",
            f"    elif {member.name!r} in v: n += 1",
        ]
    lines.append("    if n != len(v): return None")
    for rule in catalog.RULES:
        emit = _EMITTERS[type(rule)]
        if emit is not None and rule.scope is Scope.IMAGE:
            lines.append(f"    if not {emit(rule, member_var, ns)}: return None")
    members = ", ".join(f"{m.name!r}: {member_var(m.name)}" for m in catalog.IMAGE_MEMBERS)
    lines += [f"    return {{{members}}}", ""]

    lines += [
        "def fast(p):",
        "    if type(p) is not dict: return None",
        "    get = p.get",
        "    n = 0",
    ]
    for spec in catalog.FIELDS:
        f = field_var(spec.name)
        default = _const(
            ns, list(spec.default) if isinstance(spec.default, tuple) else spec.default
        )
        nullable = f" and {f} is not None" if spec.nullable else ""
        lines += [f"    {f} = get({spec.name!r}, MISSING)", f"    if {f} is MISSING:"]
        if spec.type is JsonType.ARRAY:
            lines.append(f"        {f} = []")
        else:
            lines.append(f"        {f} = {default}")
        lines += ["    else:", "        n += 1"]
        if spec.type is JsonType.STRING:
            lines.append(f"        if type({f}) is not str{nullable}: return None")
        elif spec.type is JsonType.BOOLEAN:
            lines.append(f"        if type({f}) is not bool: return None")
        elif spec.type is JsonType.OBJECT:
            lines += [
                f"        if {f} is not None:",
                f"            if type({f}) is not dict: return None",
                f"            {f} = image({f})",
                f"            if {f} is None: return None",
            ]
        else:
            lines += [
                f"        if type({f}) is not list: return None",
                f"        {f} = [image(x) if type(x) is dict else None for x in {f}]",
                f"        if None in {f}: return None",
            ]
    lines.append("    if n != len(p): return None")
    for rule in catalog.RULES:
        emit = _EMITTERS[type(rule)]
        if emit is not None and rule.scope is Scope.REQUEST:
            lines.append(f"    if not {emit(rule, field_var, ns)}: return None")
    # Anything that earns a warning takes the full path, which gives warnings.
    lines.append("    if f_type == 'image_edit' and f_aspect_ratio is not None: return None")
    fields = ", ".join(f"{s.name!r}: {field_var(s.name)}" for s in catalog.FIELDS)
    lines.append(f"    return {{{fields}}}")
    source = "\n".join(lines)
    exec(compile(source, "<luma_schema compiled catalogue>", "exec"), ns)
    compiled: Callable[[dict[str, Any]], dict[str, Any] | None] = ns["fast"]
    compiled.__doc__ = source
    return compiled


_fast: Final = _compile()
_NO_ERRORS: Final[tuple[Violation, ...]] = ()
_NO_WARNINGS: Final[tuple[Notice, ...]] = ()


def check(payload: object, fetch: bool = False) -> Report:
    """What the server answers for ``payload``: a dict (or other Python JSON value), or JSON text
    as ``str`` or UTF-8 ``bytes``.  Never raises on bad input: a payload that is not a JSON
    object is a 400 like any other error.  ``fetch=True`` also fetches URL images (extra
    ``fetch``); without it URLs get only the static checks."""
    body: Any = payload
    kind = type(payload)  # not isinstance: an object's __class__ may lie
    parsed = issubclass(kind, (bytes, str, bytearray, memoryview))
    if parsed:
        text: Any = payload
        if kind is not bytes and kind is not str:
            text = str.__str__(text) if issubclass(kind, str) else bytes(memoryview(text))
        try:
            body = _parse(text)
        except _NotJson:
            return _not_json()
    if not fetch and type(body) is dict:
        try:
            request = _fast(body)
        except Exception:  # a key's own __eq__ may raise: the full path reads a plain copy
            request = None
        if request is not None:
            return Report(201, None, _NO_ERRORS, _NO_WARNINGS, request)
    # Parsed JSON text is plain already; a Python payload is copied so no override runs.
    return _diagnose(body if parsed else _plain(body), fetch)


def iter_errors(payload: object) -> Iterator[Violation]:
    """Every violation of ``payload`` in SPEC order (the ``errors`` of :func:`check`)."""
    return iter(check(payload).errors)


def _rule_scopes() -> Mapping[str, Scope]:
    return {r.id: r.scope for r in catalog.RULES}
