"""Columnar checking (extra ``batch``): a column of JSON texts in, an Arrow table of verdicts out.

``verdicts(column)`` answers, row for row, what :func:`luma_schema.check` answers for each text
(static checks only: URLs are not fetched), in the columns of :data:`SCHEMA`.  ``Summary``
counts verdicts the way ``luma-schema check`` does, and prints the CLI's summary.  The Spark and
Dask adapters (``luma_schema.spark``, ``luma_schema.dask``) ship these Arrow tables between
processes, never reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

try:
    import pyarrow as pa  # type: ignore[import-untyped]
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "luma_schema.batch needs the 'batch' extra: pip install 'luma-schema[batch]'"
    ) from exc

from luma_schema.engine import ANSWER_OK, check, first_answer, first_violation

__all__ = ["COLUMNS", "SCHEMA", "Summary", "verdicts"]

SCHEMA: Final = pa.schema(
    [
        # null in every column for a null input (no request); else ok is status == 201
        pa.field("ok", pa.bool_()),
        pa.field("status", pa.int32()),
        # the exact message of the answer, null when ok
        pa.field("detail", pa.string()),
        # the catalogue id of the first error's rule, null when ok
        pa.field("rule", pa.string()),
        # where the first error is ("" for the body as a whole), null when ok
        pa.field("path", pa.string()),
        # the codes of the report's warnings, in its order (a valid request may have some)
        pa.field("warnings", pa.list_(pa.string())),
    ]
)
COLUMNS: Final = tuple(SCHEMA.names)

_TEXT_TYPES = (
    pa.types.is_binary,
    pa.types.is_large_binary,
    pa.types.is_binary_view,
    pa.types.is_fixed_size_binary,
    pa.types.is_string,
    pa.types.is_large_string,
    pa.types.is_string_view,
)


def verdicts(column: Any, columns: Iterable[str] = COLUMNS) -> Any:
    """A ``pyarrow.Table`` of :data:`SCHEMA`, one row per value of ``column``, each row what
    ``check(value)`` answers: ``ok``, ``status``, ``detail`` and the first error's ``rule`` and
    ``path`` (null when ok), and the warnings' codes.  A null value (``None``, a pandas NA) is no
    request: its row is null in every column.

    ``column`` holds JSON texts (str) or UTF-8 bytes: a pyarrow ``Array``/``ChunkedArray`` of a
    string or binary type (plain, large, view or dictionary-encoded), anything that exports an
    Arrow stream (a polars ``Series``), a pandas ``Series``, or a Python iterable of str, bytes
    and None.  Any other value type raises ``TypeError``; no text does, whatever it holds.

    ``columns`` picks some of :data:`SCHEMA`'s columns (kept in its order): without ``path`` and
    ``warnings`` a row costs what it costs ``luma-schema check --summary-only``, since a refusal
    then never builds its full error list."""
    wanted = set(columns)
    unknown = wanted.difference(COLUMNS)
    if unknown:
        raise ValueError(f"columns: unknown {sorted(unknown)}; known: {list(COLUMNS)}")
    return _table(_texts(column), tuple(name for name in COLUMNS if name in wanted))


def _texts(column: Any) -> Iterable[Any]:
    """The values of ``column`` as Python str, bytes or None, each as ``check()`` reads it."""
    if isinstance(column, (pa.Array, pa.ChunkedArray)):
        return _arrow_texts(column)
    module = type(column).__module__.partition(".")[0]
    if module == "pandas":
        if str(getattr(column, "dtype", "")) == "object":
            # Python objects as they are (a str may hold a lone surrogate, which Arrow refuses).
            missing = column.isna().tolist()
            return _objects(
                None if gone else value
                for value, gone in zip(column.tolist(), missing, strict=True)
            )
        return _arrow_texts(pa.array(column))
    if hasattr(column, "__arrow_c_stream__"):
        return _arrow_texts(pa.chunked_array(column))
    if hasattr(column, "__arrow_c_array__"):
        return _arrow_texts(pa.array(column))
    if isinstance(column, (str, bytes, bytearray, memoryview)):
        raise TypeError("verdicts() takes a column of JSON texts, not one text: use check()")
    return _objects(iter(column))


def _arrow_texts(array: Any) -> list[Any]:
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = (
            array.dictionary_decode()
            if isinstance(array, pa.Array)
            else pa.chunked_array(
                [chunk.dictionary_decode() for chunk in array.chunks], kind.value_type
            )
        )
        kind = array.type
    if pa.types.is_null(kind):
        return [None] * len(array)
    if not any(test(kind) for test in _TEXT_TYPES):
        raise TypeError(f"verdicts() takes JSON texts (an Arrow string or binary type), not {kind}")
    if not pa.types.is_binary(kind) and not pa.types.is_large_binary(kind):
        # Arrow strings are UTF-8 already: their bytes are the text check() reads, on its
        # quickest path (bytes), without decoding to str first.
        array = array.cast(pa.large_binary())
    return array.to_pylist()  # type: ignore[no-any-return]


_MEMORY = (bytearray, memoryview)


def _objects(values: Iterator[Any]) -> Iterator[Any]:
    for value in values:
        if value is None or isinstance(value, (str, bytes)):
            yield value
        elif isinstance(value, _MEMORY):
            yield bytes(value)
        else:
            raise TypeError(
                f"verdicts() takes JSON texts (str or bytes) or None, not {type(value).__name__}"
            )


def _table(texts: Iterable[Any], columns: tuple[str, ...]) -> Any:
    """The verdicts of ``texts``: the CLI's loop (``check()``, then ``first_answer()``), plus
    what the requested columns need that the CLI's tally does not (``path`` and ``warnings``
    may make a refusal build its full error list)."""
    oks: list[bool | None] = []
    statuses: list[int | None] = []
    details: list[str | None] = []
    rules: list[str | None] = []
    paths: list[str | None] = []
    codes: list[str] = []  # the warnings of every row, one after the other
    ends = [0]  # where each row's warnings end in codes
    nulls: list[int] = []  # the rows of null inputs
    want_path = "path" in columns
    want_warnings = "warnings" in columns
    ok_answer = ANSWER_OK
    for row, text in enumerate(texts):
        if text is None:
            for values in (oks, statuses, details, rules, paths):
                values.append(None)
            if want_warnings:
                ends.append(len(codes))
            nulls.append(row)
            continue
        report = check(text)
        answer = first_answer(report)
        if answer == ok_answer:
            oks.append(True)
            statuses.append(201)
            details.append(None)
            rules.append(None)
            paths.append(None)
        else:
            oks.append(False)
            statuses.append(answer[0])
            details.append(report.detail)
            rules.append(answer[1])
            first = first_violation(report)  # the answer only: no full list is made for it
            paths.append(first.path if want_path and first is not None else None)
        if want_warnings:
            warnings = report.warnings
            if warnings:
                codes.extend(notice.code for notice in warnings)
            ends.append(len(codes))
    arrays = {
        "ok": lambda: pa.array(oks, pa.bool_()),
        "status": lambda: pa.array(statuses, pa.int32()),
        "detail": lambda: pa.array(details, pa.string()),
        "rule": lambda: pa.array(rules, pa.string()),
        "path": lambda: pa.array(paths, pa.string()),
        "warnings": lambda: _lists(ends, codes, nulls, len(oks)),
    }
    return pa.Table.from_arrays(
        [arrays[name]() for name in columns], schema=pa.schema([SCHEMA.field(n) for n in columns])
    )


def _lists(ends: list[int], codes: list[str], nulls: list[int], rows: int) -> Any:
    mask = None
    if nulls:
        missing = [False] * rows
        for row in nulls:
            missing[row] = True
        mask = pa.array(missing, pa.bool_())
    return pa.ListArray.from_arrays(
        pa.array(ends, pa.int32()), pa.array(codes, pa.string()), mask=mask
    )


_Tally = dict[tuple[int, str], int]


class Summary:
    """Requests counted as ``luma-schema check`` counts them: by answer (``counts[(status,
    rule)]``, the rule ``"ok"`` for a valid request), how many earned warnings (``warned``) and
    how many earned each warning code (``codes``; a request counts once per code).  Summaries of
    parts add up to the summary of the whole; ``str()`` is the CLI's summary text and
    ``as_dict()`` its JSON summary (``--summary-only --format json``)."""

    __slots__ = ("codes", "counts", "warned")

    def __init__(
        self,
        counts: Mapping[tuple[int, str], int] | None = None,
        warned: int = 0,
        codes: Mapping[str, int] | None = None,
    ) -> None:
        self.counts: _Tally = {key: n for key, n in (counts or {}).items() if n}
        self.warned = warned
        self.codes: dict[str, int] = {code: n for code, n in (codes or {}).items() if n}

    @classmethod
    def of(cls, table: Any) -> Summary:
        """The summary of a table with the ``status`` and ``rule`` columns of :data:`SCHEMA`
        (and ``warnings``, when it has them); a row with a null status (a null input) is no
        request."""
        counts = (
            table.select(["status", "rule"])
            .group_by(["status", "rule"], use_threads=False)
            .aggregate([([], "count_all")])
        )
        summary = cls.from_rows(
            zip(
                counts.column("status").to_pylist(),
                counts.column("rule").to_pylist(),
                counts.column("count_all").to_pylist(),
                strict=True,
            )
        )
        if "warnings" in table.column_names:
            summary.warned, summary.codes = warning_counts(table.column("warnings").to_pylist())
        return summary

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[tuple[int | None, str | None, int]],
        warned: int = 0,
        codes: Mapping[str, int] | None = None,
    ) -> Summary:
        """The summary of ``(status, rule, requests)`` counts, the rule null when ok (the shape
        of a group-by on the verdicts' ``status`` and ``rule``); a null status is no request."""
        counts: _Tally = {}
        for status, rule, n in rows:
            if status is None:
                continue
            key = (int(status), rule if rule is not None else ANSWER_OK[1])
            counts[key] = counts.get(key, 0) + int(n)
        return cls(counts, warned, codes)

    def __add__(self, other: Summary) -> Summary:
        counts = dict(self.counts)
        for key, n in other.counts.items():
            counts[key] = counts.get(key, 0) + n
        codes = dict(self.codes)
        for code, n in other.codes.items():
            codes[code] = codes.get(code, 0) + n
        return Summary(counts, self.warned + other.warned, codes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Summary) and (self.counts, self.warned, self.codes) == (
            other.counts,
            other.warned,
            other.codes,
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def requests(self) -> int:
        return sum(self.counts.values())

    @property
    def valid(self) -> int:
        return sum(n for (status, _), n in self.counts.items() if status == 201)

    def _tally(self) -> Any:
        from luma_schema._cli.batch import Tally  # the CLI's own counts: the two never drift

        return Tally(dict(self.counts), self.warned, dict(self.codes))

    def as_dict(self) -> dict[str, Any]:
        """The object ``luma-schema check --summary-only --format json`` prints."""
        from luma_schema._cli.batch import Inputs, summary_json

        summary: dict[str, Any] = summary_json(self._tally(), Inputs())
        return summary

    def lines(self) -> list[str]:
        """The summary lines ``luma-schema check`` prints at the end."""
        from luma_schema._cli.batch import Inputs, summary_text

        text: str = summary_text(self._tally(), Inputs())
        return text.splitlines()

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __repr__(self) -> str:
        return f"Summary({self.counts!r}, warned={self.warned}, codes={self.codes!r})"


def warning_counts(rows: Iterable[list[str] | None]) -> tuple[int, dict[str, int]]:
    """How many rows earned warnings, and how many rows earned each code."""
    warned = 0
    codes: dict[str, int] = {}
    for row in rows:
        if row:
            warned += 1
            for code in set(row):
                codes[code] = codes.get(code, 0) + 1
    return warned, codes
