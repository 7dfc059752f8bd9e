"""The normalised request: what ``Report.request`` holds for an accepted request (every field
shown always with its default filled, the others when given, each object with its members
likewise, a field the request's type does not take left out), made from the values a request
that passed every rule was read with."""

from __future__ import annotations

from typing import Any, Final

from luma_schema import media
from luma_schema._engine.diagnose import Diagnosis
from luma_schema._engine.reading import Reading
from luma_schema.expr import MISSING
from luma_schema.report import Notice, Violation
from luma_schema.rules import Catalogue, Field, JsonType

__all__ = ["BLOBS", "Normaliser", "has_blobs"]


class Normaliser:
    """The normalised requests of one catalogue."""

    def __init__(self, catalogue: Catalogue, diagnosis: Diagnosis) -> None:
        self._fields = catalogue.fields
        self._diagnosis = diagnosis

    def request(self, named: dict[str, Any]) -> dict[str, Any]:
        """The request in full, from the values of a request that passed every rule (``named``:
        its top-level values by name)."""
        out: dict[str, Any] = {}
        values = None
        for f in self._fields:
            value = named.get(f.name, MISSING)
            if f.applies is not None:
                values = values or self._top_values(named)
                if not self._diagnosis.applies(f.name, values):
                    value = MISSING
            if f.shown or (value is not MISSING and value is not None):
                out[f.name] = _normal(f, value)
        return out

    def field(self, named: dict[str, Any], name: str) -> Any:
        """One field of :meth:`request`."""
        return self.request(named).get(name)

    def _top_values(self, named: dict[str, Any]) -> dict[str, Any]:
        # What an `applies` test reads: the top-level fields, defaults filled.
        return {
            f.name: named.get(f.name, f.default) for f in self._fields if f.type is JsonType.STRING
        }


class _Blobs:
    """Finishes the normalised request of a diagnosis that kept long strings as slices."""

    __slots__ = ()

    def lists(self, payload: Any) -> tuple[tuple[Violation, ...], tuple[Notice, ...]]:
        raise AssertionError("a diagnosis report has its lists")

    def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        request: dict[str, Any] = _materialise(payload)
        return request

    def field(self, payload: dict[str, Any], name: str) -> Any:
        return _materialise(payload.get(name))  # the one field: other images stay slices


def _materialise(value: Any) -> Any:
    if type(value) is media.Blob:
        return value.text()
    if type(value) is dict:
        return {k: _materialise(v) for k, v in value.items()}
    if type(value) is list:
        return [_materialise(v) for v in value]
    return value


def _normal(f: Field, value: Any) -> Any:
    """One field's value in the normalised request (Blobs kept: see ``_Blobs``)."""
    if value is MISSING:
        value = f.default
        if value is MISSING:
            return None
        if isinstance(value, tuple):
            return list(value)
    if value is None:
        return None
    if f.members is not None:
        if f.type is JsonType.ARRAY:
            return [_normal_object(f.members, item) for item in value]
        return _normal_object(f.members, value)
    if f.type is JsonType.ARRAY:
        return list(value)
    if f.type is JsonType.INTEGER and type(value) is float:
        return int(value)  # a whole-valued float reads as the integer
    return value


def _normal_object(table: tuple[Field, ...], raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in table:
        value = raw.get(m.name, MISSING)
        if m.shown or (value is not MISSING and value is not None):
            out[m.name] = _normal(m, value)
    return out


def has_blobs(reading: Reading) -> bool:
    return any(type(v) is media.Blob for ref in reading.refs for v in ref.members.values())


BLOBS: Final = _Blobs()
