"""The engine: a function of a catalogue that answers, for any payload, what the server answers.

``Engine(catalogue).check(payload)`` reads the payload (JSON text, or a Python value read without
trusting it), answers from the compiled paths when they can (``luma_schema._engine.compile``),
else from the full diagnosis (``luma_schema._engine.diagnose``), and with ``fetch`` fetches the
URL references of a request that passed every static rule (the fetch rules, docs/contract.md).
``luma_schema.check`` is the engine of the API's own catalogue.

Only bad input becomes an answer: a payload that is not JSON, not an object, or nested too
deep is ``body_not_object``.  Anything else that goes wrong inside is a bug and propagates.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Protocol

from luma_schema import catalog
from luma_schema._engine.codegen import Namespace
from luma_schema._engine.compile import Compiler
from luma_schema._engine.diagnose import Diagnosis
from luma_schema._engine.normal import BLOBS, Normaliser, has_blobs
from luma_schema._engine.reading import WRONG, Reading, typed
from luma_schema._input import json_text
from luma_schema._input.python import TooDeep, depth_ok, exact, has_alien, plain
from luma_schema.expr import MISSING, All, Const, Expr, Not, Position, Value, fold
from luma_schema.report import (
    ANSWER_OK,
    Notice,
    Report,
    RequestError,
    Violation,
    first_answer,
    first_rule,
    first_violation,
    request_field,
)
from luma_schema.rules import Catalogue, JsonType, MediaFamily, Scope

__all__ = [
    "ANSWER_OK",
    "Engine",
    "FetchViolations",
    "Notice",
    "Report",
    "RequestError",
    "Violation",
    "acheck",
    "check",
    "first_answer",
    "first_rule",
    "first_violation",
    "generated_source",
    "iter_errors",
    "request_field",
]

_SHAPE_KEYS_MAX: Final = 32  # a payload with more top-level keys than this is not compiled
_SEPARATOR: Final = "\0"


_CHECK: Final = '''
def check(payload, fetch=False):
    """What the server answers for ``payload``: a dict (or other Python JSON value), or JSON text
    as ``str`` or UTF-8 ``bytes``.  Never raises on bad input: a payload that is not a JSON
    object is a 400 like any other error.  ``fetch=True`` also fetches URL references (extra
    ``fetch``; or pass a ``luma_schema.fetch.Fetcher``); without it URLs get only the static
    checks."""
    kind = type(payload)
    if kind is dict:
        body = payload
    elif kind is bytes or kind is str:
        body = quick_parse(payload) if len(payload) < BIG else UNSURE
        if body is UNSURE:
            try:
                body = parse(payload, False)
            except NotJson:
                return row_one()
        if type(body) is not dict:
            return row_one()
    else:
        return slow(payload, fetch)
    try:
        function = SHAPES[join(body)]
    except KeyError:
        function = specialise(body, join(body))
    except TypeError:  # a key that is not a string: not JSON
        return slow(payload, fetch)
    report = function(body)
    if report is None:
        return slow(body, fetch, kind is not dict)
    return report if fetch is False else fetched(report, fetch)
'''


# A URL reference to fetch: its path, its URL and the media families its position takes.
Target = tuple[str, str, tuple[str, ...]]


class FetchViolations(Protocol):
    """What fetches URL references: :class:`luma_schema.fetch.Fetcher` is one."""

    def fetch_violations(
        self, targets: Sequence[Target]
    ) -> tuple[list[Violation], list[Notice]]: ...

    async def afetch_violations(
        self, targets: Sequence[Target]
    ) -> tuple[list[Violation], list[Notice]]: ...


class _Finisher:
    """Finishes the reports the compiled paths make for one payload shape."""

    __slots__ = ("engine", "shape")

    def __init__(self, engine: Engine, shape: tuple[str, ...]) -> None:
        self.engine = engine
        self.shape = shape

    def _named(self, payload: dict[str, Any]) -> dict[str, Any]:
        # Positionally, as the compiled path read it: a key's own == never runs.
        named: dict[str, Any] = dict(zip(self.shape, dict.values(payload), strict=False))
        return named

    def lists(self, payload: Any) -> tuple[tuple[Violation, ...], tuple[Notice, ...]]:
        reading = self.engine._read(payload, parsed=False)
        if isinstance(reading, Report):
            return reading.errors, reading.warnings
        return tuple(reading.errors), tuple(reading.warnings)

    def request(self, payload: Any) -> dict[str, Any]:
        return self.engine.normaliser.request(self._named(payload))

    def field(self, payload: Any, name: str) -> Any:
        return self.engine.normaliser.field(self._named(payload), name)


class Engine:
    """The checks of one catalogue.  ``check`` and ``acheck`` are its entry points; the
    compiled functions are generated once per payload shape seen (at most ``shapes``; past
    them, one generic compiled function answers).
    ``compiled=False``: every answer comes from the full diagnosis, the engine's reference
    (the compiled paths must answer alike: a property test holds them together)."""

    def __init__(self, catalogue: Catalogue, compiled: bool = True, shapes: int = 256) -> None:
        if shapes < 0:
            raise ValueError(f"shapes: must be 0 or more, not {shapes}")
        self.catalogue = catalogue
        self._shapes_max = shapes
        self._compiled = compiled
        self.ns = Namespace("engine")
        self.diagnosis = Diagnosis(catalogue, self.ns)
        self.normaliser = Normaliser(catalogue, self.diagnosis)
        self._body_rule = next(r for r in catalogue.rules if r.scope is Scope.BODY)
        self._not_json = Violation(
            self._body_rule.id, self._body_rule.status, self._body_rule.render(), ""
        )
        self._fields = catalogue.fields
        self._field_names = frozenset(f.name for f in catalogue.fields)
        self._members = tuple(m.name for m in catalogue.reference_members)
        self._finishers: dict[tuple[str, ...], _Finisher] = {}
        self.compiler = Compiler(
            catalogue,
            self.diagnosis,
            self.ns,
            refuse=Report.refused,
            accept=Report.accepted,
            finisher_for=self._finisher,
            wrong_type=self._wrong_type,
        )
        if compiled:
            # The diagnosis that completes the compiled paths' reports applies, per type, the
            # rules that type leaves to test; compiled=False keeps the reference: every rule.
            self.diagnosis.plan_by(self.compiler.split)
        self._shapes: dict[str, Callable[[dict[str, Any]], Report | None]] = {}
        # A shape's makers of its per-type functions (see _brancher), for generated_source;
        # those of shapes compiled only to be shown (past the cap) are kept apart, bounded.
        self._branches: dict[str, Callable[[Any], Callable[..., Report | None]]] = {}
        self._shown: dict[str, Callable[[Any], Callable[..., Report | None]]] = {}
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self.check = self._make_check()

    # ------------------------------------------------------------ entry points

    def _make_check(self) -> Callable[..., Report]:
        # Generated into the engine's namespace, so that what it calls are globals (looked up
        # once and cached by the interpreter), not a closure's cells copied in at every call.
        ns = self.ns
        ns.bind("SHAPES", self._shapes)
        ns.bind("specialise", self._specialise)
        ns.bind("slow", self._slow)
        ns.bind("quick_parse", json_text.quick_parse)
        ns.bind("UNSURE", json_text.UNSURE)
        ns.bind("BIG", json_text.BIG_INPUT)
        ns.bind("parse", json_text.parse)
        ns.bind("NotJson", json_text.NotJson)
        ns.bind("row_one", self._row_one)
        ns.bind("fetched", self._fetched)
        ns.bind("join", _SEPARATOR.join)
        (check,) = ns.define(_CHECK, ["check"])
        return check  # type: ignore[no-any-return]

    async def acheck(self, payload: object, fetch: bool | FetchViolations = True) -> Report:
        """:meth:`check` for async code: the static checks, then the fetch, awaited (the event
        loop never blocks on the network)."""
        report = self.check(payload)
        if not fetch or not report.ok:
            return report
        targets = self._targets(report)
        if not targets:
            return report
        fetcher = self._fetcher(fetch)
        if fetcher is None:
            return _with(report, [], self._not_fetched(targets))
        errors, notices = await fetcher.afetch_violations(targets)
        return _with(report, errors, notices)

    def generated_source(self, payload: Mapping[str, Any] | tuple[str, ...]) -> str:
        """The Python source the engine runs for a payload of this shape (its top-level keys, in
        order): the shape's own function, then the functions it calls: for a shape that branches
        on the request's type, the function of the payload's type (given a dict; given only the
        keys, the function of a type no rule names)."""
        shape = tuple(payload)
        joined = _SEPARATOR.join(shape)
        function = self._shapes.get(joined) or self._specialise(
            dict.fromkeys(shape), joined, shown=True
        )
        parts = []
        if function.__name__ in self.ns.sources:
            parts.append(self.ns.sources[function.__name__])
            parts.append(self.ns.source_made(f"ordered_{function.__name__}") or "")
        make = self._branches.get(joined) or self._shown.pop(joined, None)
        split = self.compiler.split_for(shape)
        if make is not None and split is not None:
            # The function a payload's value of the branching field (its type) is handed to.
            value = payload.get(split[0]) if isinstance(payload, Mapping) else None
            branch = make(value)
            parts.append(self.ns.sources[branch.__name__])
            parts.append(self.ns.source_made(f"ordered_{branch.__name__}") or "")
        if "ordered" in self.ns.sources:
            parts.append(self.ns.sources["ordered"])
        return "\n".join(dict.fromkeys(part for part in parts if part))

    # ------------------------------------------------------------ shapes

    def _finisher(self, shape: tuple[str, ...]) -> _Finisher:
        finisher = self._finishers.get(shape)
        if finisher is None:
            finisher = _Finisher(self, shape)
            if len(self._finishers) < self._shapes_max * 4:
                self._finishers[shape] = finisher
        return finisher

    def _specialise(
        self, body: dict[Any, Any], joined: str, shown: bool = False
    ) -> Callable[[dict[str, Any]], Report | None]:
        """The compiled function for payloads whose keys join to ``joined`` (one that returns
        ``None``, for the diagnosis, when keys repeat a text or hold the separator, when there
        are many of them, or when the catalogue does not compile)."""
        shape = tuple(str.__str__(key) for key in dict.keys(body))
        if any(_SEPARATOR in key for key in shape):
            return _diagnosis_only  # (not kept: its joined text could be another shape's)
        if (
            not self._compiled
            or not self.compiler.compiles
            or len(set(shape)) != len(shape)
            or len(shape) > _SHAPE_KEYS_MAX
        ):
            with self._lock:
                if len(self._shapes) < self._shapes_max:
                    self._shapes[joined] = _diagnosis_only
            return _diagnosis_only
        ordered = self.compiler.ordered
        assert ordered is not None
        with self._lock:
            function = self._shapes.get(joined)
            if function is not None:
                return function
            if len(self._shapes) >= self._shapes_max and not shown:
                return lambda p: ordered(p, shape)
            function, make = self._compile_shape(shape)
            if len(self._shapes) < self._shapes_max:
                self._shapes[joined] = function
                if make is not None:
                    self._branches[joined] = make
            elif make is not None:  # shown, not kept: generated_source reads it once
                self._shown[joined] = make
            return function

    def _compile_shape(
        self, shape: tuple[str, ...]
    ) -> tuple[
        Callable[[dict[str, Any]], Report | None],
        Callable[[Any], Callable[..., Report | None]] | None,
    ]:
        """The function of ``shape``, and the maker of its per-type functions (if it has any)."""
        number = next(self._numbers)
        # ASCII only: the compiler normalises other identifiers (NFKC) to other names.
        name = "accept_" + "__".join(k if k.isascii() and k.isidentifier() else "_" for k in shape)
        name = f"{name}_{number}" if name in self.ns.sources else name
        finisher = self.ns.bind(f"FIN_{number}", self._finisher(shape))
        branches = None
        make = None
        split = self.compiler.split_for(shape)
        if split is not None:
            table: dict[Any, Callable[..., Report | None]] = {}
            make = self._brancher(shape, name, finisher, split[1], table)
            branches = (
                self.ns.bind(f"BRANCHES_{number}", table),
                self.ns.bind(f"branch_{number}", make),
            )
        source = self.compiler.shape_source(shape, name, finisher, branches)
        (function,) = self.ns.define(source, [name])
        return function, make

    def _brancher(
        self,
        shape: tuple[str, ...],
        name: str,
        finisher: str,
        values: tuple[Any, ...],
        table: dict[Any, Callable[..., Report | None]],
    ) -> Callable[[Any], Callable[..., Report | None]]:
        """What a shape's function calls when its table has no function for a value of the
        field it branches on: that value's function, generated now and kept in ``table``
        (values the rules do not name share one function, kept aside: the table stays
        bounded by the catalogue, whatever strings requests hold)."""
        others: list[Callable[..., Report | None]] = []

        def make(value: Any) -> Callable[..., Report | None]:
            named = type(value) is str and value in values
            with self._lock:
                if named and value in table:
                    return table[value]
                if not named and others:
                    return others[0]
                suffix = value if named and value.isidentifier() and value.isascii() else "other"
                branch_name = f"{name}__{suffix}"
                if branch_name in self.ns.sources:
                    branch_name = f"{branch_name}_{len(self.ns.sources)}"
                source = self.compiler.branch_source(
                    shape, branch_name, finisher, value if named else None
                )
                (function,) = self.ns.define(source, [branch_name])
                if named:
                    table[value] = function
                else:
                    others.append(function)
                return function  # type: ignore[no-any-return]

        return make

    # ------------------------------------------------------------ the full path

    def _slow(
        self, payload: Any, fetch: bool | FetchViolations = False, parsed: bool = False
    ) -> Report:
        reading = self._read(payload, parsed)
        if isinstance(reading, Report):
            return reading
        report = self._report(reading)
        return report if fetch is False or not report.ok else self._fetched(report, fetch)

    def _read(self, payload: Any, parsed: bool) -> Reading | Report:
        """The diagnosis of ``payload`` (body_not_object as a finished report)."""
        body = payload
        if not parsed:
            kind = type(payload)
            if issubclass(kind, (bytes, str, bytearray, memoryview)):
                text: Any = payload
                if kind is not bytes and kind is not str:
                    text = str.__str__(text) if issubclass(kind, str) else bytes(memoryview(text))
                try:
                    body = json_text.parse(text)
                except json_text.NotJson:
                    return self._row_one()
                parsed = True
        if parsed:
            if type(body) is not dict or not depth_ok(body):
                return self._row_one()
        elif not exact(body):  # (exact built-ins are read as they are: no copy to make)
            try:
                body = plain(body)
            except TooDeep:
                return self._row_one()
            if type(body) is not dict or self._alien_outside_fields(body):
                return self._row_one()
        elif type(body) is not dict:
            return self._row_one()
        return self.diagnosis.run(body)

    def _wrong_type(self, payload: Any, first: Violation, finisher: _Finisher) -> Report | None:
        """The refusal a compiled path found, ``first`` a value of the wrong JSON type and every
        field before it in the table read (its errors come first); ``None`` (the diagnosis
        answers) when the payload is no JSON object (too deep, a value no JSON type names
        outside the fields) or when its plain copy has the type after all (a subclass of str)."""
        if exact(payload):
            body = payload  # (its plain copy would equal it, and holds no alien value)
        else:
            try:
                body = plain(payload)
            except TooDeep:
                return None
            if type(body) is not dict or self._alien_outside_fields(body):
                return None
        value: Any = body
        for part in first.path.split("."):
            value = value.get(part, MISSING) if type(value) is dict else MISSING
        f = self.catalogue.paths[first.path]
        if value is MISSING or (value is None and f.nullable) or typed(f.type, value) is not WRONG:
            return None
        return Report.refused(first, finisher, payload)

    def _alien_outside_fields(self, body: dict[str, Any]) -> bool:
        # A known field holding something that is no JSON value is a type error for that field;
        # anywhere else it is not JSON.
        return any(k not in self._field_names and has_alien(v) for k, v in body.items())

    def _row_one(self) -> Report:
        return Report.whole((self._not_json,), (), None)

    def _report(self, reading: Reading) -> Report:
        errors = tuple(reading.errors)
        warnings = tuple(reading.warnings)
        if errors:
            return Report.whole(errors, warnings, None)
        request = self.normaliser.request(reading.body)
        if has_blobs(reading):
            return Report.whole((), warnings, None, BLOBS, request)
        return Report.whole((), warnings, request)

    # ------------------------------------------------------------ fetching (step 7)

    def _fetcher(self, fetch: bool | FetchViolations) -> FetchViolations | None:
        if fetch is True:
            try:
                from luma_schema import fetch as fetch_module
            except ImportError:  # the extra is not installed: static checks only
                return None
            return fetch_module.default_fetcher()
        assert not isinstance(fetch, bool)
        return fetch

    def _targets(self, report: Report) -> list[Target]:
        """``(path, url, families)`` of every URL reference of an ``ok`` report, in order:
        ``families`` the media families its position takes (``("image",)``, or those of the
        media-family rules that apply there)."""
        request = report.request
        assert request is not None
        targets: list[Target] = []
        for path, f in self.catalogue.paths.items():
            if not f.reference:
                continue
            value: Any = request
            for part in path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                continue
            items = (
                [(path, value)]
                if f.type is JsonType.OBJECT
                else [(f"{path}[{i}]", item) for i, item in enumerate(value)]
            )
            families = self._families(path, request)
            for at, reference in items:
                if isinstance(reference, dict) and reference.get("url") is not None:
                    targets.append((at, reference["url"], families))
        return targets

    def _families(self, path: str, request: dict[str, Any]) -> tuple[str, ...]:
        """The media families the reference position ``path`` takes in ``request``."""
        known: dict[Expr, Any] = {Position(): path}
        for p in self.catalogue.paths:
            value: Any = request
            for part in p.split("."):
                value = value.get(part, MISSING) if isinstance(value, dict) else MISSING
            known[Value(p)] = value
        families: set[str] = set()
        for r in self.catalogue.rules:
            if isinstance(r, MediaFamily) and r.member == "media_type":
                where = [t.expr() for t in r.when]
                if r.unless:
                    where.append(Not(All(*(t.expr() for t in r.unless))))
                if fold(All(*where), known) == Const(True):
                    families.update(r.families)
        return tuple(sorted(families)) or ("image",)

    def _not_fetched(self, targets: list[Target]) -> list[Notice]:
        advice = self.catalogue.advice_by_id("not_fetched")
        return [
            Notice(advice.id, f"{path}.url", advice.render(f"{path}.url")) for path, _, _ in targets
        ]

    def _fetched(self, report: Report, fetch: bool | FetchViolations) -> Report:
        if not fetch or not report.ok:
            return report
        targets = self._targets(report)
        if not targets:
            return report
        fetcher = self._fetcher(fetch)
        if fetcher is None:
            return _with(report, [], self._not_fetched(targets))
        errors, notices = fetcher.fetch_violations(targets)
        return _with(report, errors, notices)


def _diagnosis_only(payload: dict[str, Any]) -> None:
    return None


def _with(report: Report, errors: list[Violation], notices: list[Notice]) -> Report:
    """``report`` (ok) with what fetching found: its errors, then the warnings of both."""
    warnings = (*report.warnings, *notices)
    if errors:
        return Report.whole(tuple(errors), warnings, None)
    return Report.whole((), warnings, report.request)


_ENGINE: Final = Engine(catalog.CATALOGUE)
check: Final = _ENGINE.check


async def acheck(payload: object, fetch: bool | FetchViolations = True) -> Report:
    """``check(payload, fetch=...)`` for async code: the fetch is awaited, never blocking the
    event loop (the mock server's ``--fetch``)."""
    return await _ENGINE.acheck(payload, fetch)


def generated_source(payload: Mapping[str, Any] | tuple[str, ...]) -> str:
    """The Python source ``check`` runs for payloads of this shape (a request, or its
    top-level keys in order): a debugging aid, ``print(generated_source({"prompt": "x"}))``."""
    return _ENGINE.generated_source(payload)


def iter_errors(payload: object) -> Any:
    """Every violation of ``payload`` in order (the ``errors`` of :func:`check`)."""
    return iter(check(payload).errors)
