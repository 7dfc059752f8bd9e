"""What a check answers: :class:`Report`, its :class:`Violation` and :class:`Notice` items, and
:class:`RequestError`.  Every one of them is immutable to its users and survives ``pickle`` (a
process pool or a distributed engine can ship it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, NamedTuple, Protocol

__all__ = [
    "ANSWER_OK",
    "Notice",
    "Report",
    "RequestError",
    "Violation",
    "first_answer",
    "first_rule",
    "first_violation",
    "request_field",
]

ACCEPTED: Final = 201


class Violation(NamedTuple):
    """One broken rule: its catalogue id, HTTP status, exact message and the path it concerns."""

    rule: str
    status: int
    detail: str
    path: str

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "status": self.status, "detail": self.detail, "path": self.path}


class Notice(NamedTuple):
    """A warning: never changes the verdict."""

    code: str
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "path": self.path, "message": self.message}


class Finisher(Protocol):
    """What finishes a report the engine made early, from its payload: the full lists, the
    normalised request, one field of it."""

    def lists(self, payload: Any) -> tuple[tuple[Violation, ...], tuple[Notice, ...]]: ...

    def request(self, payload: Any) -> dict[str, Any]: ...

    def field(self, payload: Any, name: str) -> Any: ...


_UNKNOWN: Final = None  # a list not made yet


class Report:
    """What the server would answer: ``status`` 201 and the normalised ``request`` when ``ok``;
    else the first error's ``status`` and exact ``detail``, and the full list in ``errors``
    (every violation, in precedence order, the first being the answer).

    The engine decides the answer first and makes the rest when it is read: ``request`` (a
    50 MiB image is not copied unless it is asked for), and ``errors`` and ``warnings`` when the
    answer was found before the whole list.  For a dict payload they are made from that dict, so
    read them before you mutate it (a list made from a payload changed since still starts with
    the answer given, and reading never raises)."""

    __slots__ = ("_errors", "_finisher", "_first", "_payload", "_request", "_warnings")

    _first: Violation | None
    _errors: tuple[Violation, ...] | None
    _warnings: tuple[Notice, ...] | None
    _request: dict[str, Any] | None
    _finisher: Finisher | None
    _payload: Any

    def __init__(
        self,
        status: int,
        detail: str | None,
        errors: tuple[Violation, ...],
        warnings: tuple[Notice, ...],
        request: dict[str, Any] | None,
    ) -> None:
        """A finished report (the server's helpers make their own, such as an early 413)."""
        if errors:
            first = errors[0]
            if (status, detail) != (first.status, first.detail) or request is not None:
                raise ValueError("a refusal answers its first error and has no request")
        elif status != ACCEPTED or detail is not None:
            raise ValueError("a report without errors is ok: status 201, no detail")
        self._first = errors[0] if errors else None
        self._errors = tuple(errors)
        self._warnings = tuple(warnings)
        self._request = request
        self._finisher = None
        self._payload = None

    # ------------------------------------------------------------ made by the engine

    @classmethod
    def accepted(cls, finisher: Finisher, payload: Any, warned: bool) -> Report:
        """``ok``; the request is made when read, and so are the warnings when ``warned``.
        (The compiled paths make the same four stores inline; ``_request`` and ``_errors`` stay
        unset: the properties know an accepted report has no errors and makes its request.)"""
        report = object.__new__(cls)
        report._first = None
        report._warnings = _UNKNOWN if warned else ()
        report._finisher = finisher
        report._payload = payload
        return report

    @classmethod
    def refused(
        cls, first: Violation, finisher: Finisher, payload: Any, quiet: bool = False
    ) -> Report:
        """Refused with ``first``; the rest of the list is made when read, and so are the
        warnings unless ``quiet`` (the engine knows there are none)."""
        report = object.__new__(cls)
        report._first = first
        report._errors = _UNKNOWN
        report._warnings = () if quiet else _UNKNOWN
        report._request = None
        report._finisher = finisher
        report._payload = payload
        return report

    @classmethod
    def whole(
        cls,
        errors: tuple[Violation, ...],
        warnings: tuple[Notice, ...],
        request: dict[str, Any] | None,
        finisher: Finisher | None = None,
        payload: Any = None,
    ) -> Report:
        """A report whose lists are made (``request`` may still be made when read, by
        ``finisher``, when it is ``None`` for an ``ok`` report)."""
        report = object.__new__(cls)
        report._first = errors[0] if errors else None
        report._errors = errors
        report._warnings = warnings
        report._request = request
        report._finisher = finisher
        report._payload = payload
        return report

    # ------------------------------------------------------------ what users read

    @property
    def ok(self) -> bool:
        return self._first is None

    @property
    def status(self) -> int:
        first = self._first
        return ACCEPTED if first is None else first.status

    @property
    def detail(self) -> str | None:
        first = self._first
        return None if first is None else first.detail

    @property
    def errors(self) -> tuple[Violation, ...]:
        if self._first is None:
            return ()
        errors = self._errors
        if errors is None:
            self._finish()
            errors = self._errors
            assert errors is not None
        return errors

    @property
    def warnings(self) -> tuple[Notice, ...]:
        warnings = self._warnings
        if warnings is None:
            self._finish()
            warnings = self._warnings
            assert warnings is not None
        return warnings

    @property
    def request(self) -> dict[str, Any] | None:
        """The normalised request (every field, defaults filled) when ``ok``, else ``None``."""
        if self._first is not None:
            return None
        # An accepted report of the compiled paths is made without it (see ``accepted``).
        request: dict[str, Any] | None = getattr(self, "_request", None)
        finisher = self._finisher
        if request is None and finisher is not None:
            request = self._request = finisher.request(self._payload)
        return request

    def to_response(self) -> tuple[int, dict[str, Any]]:
        """``(status, body)`` as the server answers: ``{"detail": ...}`` for an error."""
        first = self._first
        if first is None:
            return ACCEPTED, {}
        return first.status, {"detail": first.detail}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``ok``, ``status``, ``detail``, ``errors``, ``warnings``."""
        return {
            "ok": self.ok,
            "status": self.status,
            "detail": self.detail,
            "errors": [e.as_dict() for e in self.errors],
            "warnings": [w.as_dict() for w in self.warnings],
        }

    def _finish(self) -> None:
        finisher = self._finisher
        assert finisher is not None  # a report without one was made whole
        errors, warnings = finisher.lists(self._payload)
        first = self._first
        if (errors[0] if errors else None) != first:
            # The payload changed after the answer was given (see the class docstring): the
            # answer stands, and nothing more can be said of it.
            errors, warnings = ((first,) if first is not None else ()), ()
        if first is not None and self._errors is None:
            self._errors = errors
        if self._warnings is None:  # (what was read once is never read differently)
            self._warnings = warnings

    # ------------------------------------------------------------ values

    def _fields(self) -> tuple[Any, ...]:
        return (self.status, self.detail, self.errors, self.warnings, self.request)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Report):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Callable[..., Report], tuple[Any, ...]]:
        return (_restore, (self.errors, self.warnings, self.request))

    def __repr__(self) -> str:
        if self.ok:
            warned = "?" if self._warnings is None else len(self._warnings)
            return f"Report(ok, 201, warnings={warned})"
        count = "?" if self._errors is None else len(self._errors)
        return f"Report({self.status}, {self.detail!r}, errors={count})"


def _restore(
    errors: tuple[Violation, ...], warnings: tuple[Notice, ...], request: dict[str, Any] | None
) -> Report:
    if errors:
        return Report(errors[0].status, errors[0].detail, errors, warnings, None)
    return Report(ACCEPTED, None, (), warnings, request)


class RequestError(ValueError):
    """A request the server would refuse: ``status``, exact ``detail`` and the full ``errors``."""

    def __init__(self, report: Report) -> None:
        if report.ok:
            raise ValueError("RequestError needs a report that is not ok")
        super().__init__(report.detail)
        self.report = report
        self.status: int = report.status
        self.detail: str = report.detail or ""

    @property
    def errors(self) -> tuple[Violation, ...]:
        return self.report.errors

    def to_response(self) -> tuple[int, dict[str, str]]:
        """``(status, {"detail": detail})``, the body the server sends."""
        return self.status, {"detail": self.detail}

    def __reduce__(self) -> tuple[type[RequestError], tuple[Report]]:
        return (type(self), (self.report,))


ANSWER_OK: Final = (ACCEPTED, "ok")


def first_answer(report: Report) -> tuple[int, str]:
    """``(status, id of the first error's rule)``, or ``ANSWER_OK`` (that very tuple) for an
    ``ok`` report; unlike ``errors[0]``, it never makes the rest of the list."""
    first = report._first
    if first is None:
        return ANSWER_OK
    return first.status, first.rule


def first_violation(report: Report) -> Violation | None:
    """The first error of ``report`` (its answer), or ``None`` when it is ``ok``; unlike
    ``errors[0]``, it never makes the rest of the list."""
    return report._first


def first_rule(report: Report) -> str:
    """The id of the rule of ``report``'s first error, or ``"ok"`` (see ``first_answer``)."""
    return first_answer(report)[1]


def request_field(report: Report, name: str) -> Any:
    """``report.request.get(name)`` for a top-level field of an ``ok`` report, without making the
    rest of the normalised request (a server reads a few fields per request): ``None`` for a
    field the normalised request leaves out (one shown only when given, such as ``video``)."""
    if report._first is not None:
        raise ValueError("the report is not ok")
    request = getattr(report, "_request", None)
    if request is None:
        return report._finisher.field(report._payload, name)  # type: ignore[union-attr]
    return request.get(name)
