"""Auditing requests with Dask (extra ``dask``): a DataFrame column, a bag, or JSONL files.

``audit(frame, column)`` adds the verdict columns of :data:`luma_schema.batch.SCHEMA` partition
by partition (``map_partitions``: nothing is shuffled); ``audit_bag(bag)`` maps a bag of JSON
texts to verdict rows.  ``read_jsonl(urlpath)`` reads JSONL files in blocks, through fsspec (s3://,
gs://, abfs:// with their fsspec packages), as ``file``, ``line`` and ``value`` (the line's
bytes), blank lines left out as ``luma-schema check`` leaves them out; ``summary(verdicts)`` is
the CLI's summary.  Columns are Arrow-backed (``pandas.ArrowDtype``), as in ``SCHEMA``.  Works on
any Dask scheduler; the workers need ``luma_schema`` with the ``batch`` extra.
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

try:
    import dask as _dask
    import dask.bag as _db
    import dask.dataframe as _dd
    import pandas as pd  # type: ignore[import-untyped]
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]
    from fsspec.core import url_to_fs  # type: ignore[import-untyped]
    from fsspec.implementations.local import LocalFileSystem  # type: ignore[import-untyped]
    from fsspec.utils import read_block  # type: ignore[import-untyped]
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "luma_schema.dask needs the 'dask' extra: pip install 'luma-schema[dask]'"
    ) from exc

from luma_schema.batch import COLUMNS, SCHEMA, Summary, verdicts, warning_counts

if TYPE_CHECKING:
    from dask.bag import Bag
    from dask.dataframe import DataFrame

# Dask's own annotations are partial (untyped calls): its modules are used untyped here, and the
# functions below state their types.
dask: Any = _dask
db: Any = _db
dd: Any = _dd


def _untyped(value: Any) -> Any:
    return value


__all__ = ["audit", "audit_bag", "read_jsonl", "summary", "write_parquet"]

_MIB: Final = 1 << 20
_MAX_BLOCK: Final = 64 * _MIB


def _dtype(kind: Any) -> Any:
    return pd.ArrowDtype(kind)


_VERDICT_DTYPES: Final = {field.name: _dtype(field.type) for field in SCHEMA}
_LINES_META: Final = {
    "file": _dtype(pa.string()),
    "line": _dtype(pa.int64()),
    "value": _dtype(pa.binary()),
}


def _empty(dtypes: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in dtypes.items()})


# ---------------------------------------------------------------- columns and bags


def audit(frame: DataFrame, column: str = "value", keep: bool = True) -> DataFrame:
    """``frame`` with the verdict columns after its own: each row's are what
    ``luma_schema.check()`` answers for its ``column`` (JSON text as str or bytes; a null is no
    request and gets nulls).  ``keep=False`` leaves ``column`` out.  Lazy; partitions and index
    are kept."""
    names = list(frame.columns)
    if column not in names:
        raise ValueError(f"column: {column!r} is not a column of the DataFrame ({names})")
    clash = sorted(set(names).intersection(COLUMNS))
    if clash:
        raise ValueError(f"the DataFrame has columns named like verdict columns: {clash}")
    kept = [name for name in names if keep or name != column]
    meta = _empty({**{name: frame.dtypes[name] for name in kept}, **_VERDICT_DTYPES})
    audited: DataFrame = _untyped(frame).map_partitions(_AuditPart(column, kept), meta=meta)
    return audited


class _AuditPart:
    """The function of ``map_partitions`` (pickled to the workers: plain values only)."""

    def __init__(self, column: str, kept: Sequence[str]) -> None:
        self.column = column
        self.kept = list(kept)

    def __call__(self, part: pd.DataFrame) -> pd.DataFrame:
        found = verdicts(part[self.column]).to_pandas(types_mapper=pd.ArrowDtype)
        found.index = part.index
        return pd.concat([part[self.kept], found], axis=1)


def audit_bag(bag: Bag) -> Bag:
    """A bag of verdicts, one dict of the ``SCHEMA`` columns per JSON text of ``bag`` (str,
    bytes or None), in its order: what ``luma_schema.check()`` answers, as plain values."""
    mapped: Bag = _untyped(bag).map_partitions(_bag_part)
    return mapped


def _bag_part(part: Iterable[Any]) -> list[dict[str, Any]]:
    return verdicts(list(part)).to_pylist()  # type: ignore[no-any-return]


def summary(found: DataFrame | Bag) -> Summary:
    """The CLI's summary of verdicts: a DataFrame with their ``status`` and ``rule`` columns
    (and ``warnings``, when it has them): ``audit``'s result, or the Parquet written from it;
    or ``audit_bag``'s bag.  Each partition is summed up where it is, and the small summaries
    added; a null status is no request."""
    if isinstance(found, db.Bag):
        parts = found.map_partitions(_bag_summary).compute()
    else:
        frame = _untyped(found)
        parts = dask.compute(*(dask.delayed(_frame_summary)(p) for p in frame.to_delayed()))
    total = Summary()
    for part in parts:
        total = total + part
    return total


def _frame_summary(part: pd.DataFrame) -> Summary:
    return Summary.of(pa.Table.from_pandas(part, preserve_index=False))


def _bag_summary(part: Iterable[dict[str, Any]]) -> list[Summary]:
    rows = list(part)
    counts: dict[tuple[int | None, str | None], int] = {}
    for row in rows:
        key = (row["status"], row["rule"])
        counts[key] = counts.get(key, 0) + 1
    warned, codes = warning_counts(row.get("warnings") for row in rows)
    return [Summary.from_rows(((s, r, n) for (s, r), n in counts.items()), warned, codes)]


# ---------------------------------------------------------------- JSONL files


def read_jsonl(
    urlpath: str | Sequence[str],
    blocksize: int | None = None,
    storage_options: dict[str, Any] | None = None,
) -> DataFrame:
    """The requests of JSONL files as ``file`` (a local path, or the URL of a remote file),
    ``line`` (numbered from 1, lines split at ``\\n`` as ``luma-schema check`` splits them) and
    ``value`` (the line's bytes); lines that are empty or only whitespace are not requests and
    are left out.  ``urlpath`` is a path, a glob, a directory (the files in it whose names do
    not start with ``_`` or ``.``), or a list of them.

    A partition is a block of about ``blocksize`` bytes of whole lines (default: four blocks
    per worker thread, at most 64 MiB).  Numbering lines costs, before this returns, one read
    of every block that is not the last of its file, to count its lines (a file of one block
    is read once); the files must not change until the result has been used."""
    files = _files(urlpath, storage_options or {})
    sizes = [fs.size(path) for fs, path in files]
    size = blocksize or _auto_blocksize(sum(sizes))
    blocks = [
        (fs, path, offset, size, offset + size >= total)
        for (fs, path), total in zip(files, sizes, strict=True)
        for offset in range(0, total, size)
    ]
    if not blocks:  # empty files only
        empty: DataFrame = dd.from_pandas(_empty(_LINES_META), npartitions=1)
        return empty
    counted = dask.compute(
        *[dask.delayed(_count_lines)(fs, p, o, n) for fs, p, o, n, last in blocks if not last]
    )
    lines = iter(counted)
    parts = []
    first: dict[str, int] = {}
    for fs, path, offset, length, last in blocks:
        label = path if isinstance(fs, LocalFileSystem) else fs.unstrip_protocol(path)
        start = first.get(label, 1)
        parts.append((fs, path, label, offset, length, start))
        if not last:
            first[label] = start + next(lines)
    frame: DataFrame = dd.from_map(
        _read_part, parts, meta=_empty(_LINES_META), enforce_metadata=False
    )
    return frame


def _files(urlpath: str | Sequence[str], options: dict[str, Any]) -> list[tuple[Any, str]]:
    """``(filesystem, path)`` of every file ``urlpath`` names, each pattern's in name order, a
    file named twice once."""
    found: list[tuple[Any, str]] = []
    for item in [urlpath] if isinstance(urlpath, str) else urlpath:
        fs, path = url_to_fs(item, **options)
        matches = sorted(fs.glob(path)) if any(c in path for c in "*?[") else [path]
        if not matches or not fs.exists(matches[0]):
            raise FileNotFoundError(f"{item}: no such file or directory")
        for match in matches:
            if fs.isdir(match):
                inside = sorted(fs.ls(match, detail=False))
                found += [
                    (fs, p)
                    for p in inside
                    if posixpath.basename(p)[:1] not in "_." and fs.isfile(p)
                ]
            else:
                found.append((fs, match))
    seen: set[tuple[str, str]] = set()
    unique = []
    for fs, path in found:
        key = (fs.unstrip_protocol(path), path)
        if key not in seen:
            seen.add(key)
            unique.append((fs, path))
    return unique


def _auto_blocksize(total: int) -> int:
    threads = dask.system.CPU_COUNT
    try:
        from distributed import default_client

        threads = sum(_untyped(default_client)().nthreads().values())
    except (ImportError, ValueError):  # no distributed, or no client: the local scheduler
        pass
    return min(_MAX_BLOCK, max(_MIB, math.ceil(total / (4 * max(int(threads), 1)))))


def _count_lines(fs: Any, path: str, offset: int, length: int) -> int:
    with fs.open(path, "rb") as handle:
        return read_block(handle, offset, length, delimiter=b"\n").count(b"\n")  # type: ignore[no-any-return]


def _read_part(part: tuple[Any, str, str, int, int, int]) -> pd.DataFrame:
    fs, path, label, offset, length, start = part
    with fs.open(path, "rb") as handle:
        data = read_block(handle, offset, length, delimiter=b"\n")
    numbers: list[int] = []
    values: list[bytes] = []
    for number, line in enumerate(data.split(b"\n"), start):
        if line and not line.isspace():
            numbers.append(number)
            values.append(line)
    table = pa.table(
        {
            "file": pa.array([label] * len(numbers), pa.string()),
            "line": pa.array(numbers, pa.int64()),
            "value": pa.array(values, pa.binary()),
        }
    )
    return table.to_pandas(types_mapper=pd.ArrowDtype)


# ---------------------------------------------------------------- Parquet


def write_parquet(
    frame: DataFrame,
    path: str,
    overwrite: bool = False,
    storage_options: dict[str, Any] | None = None,
) -> None:
    """Write ``frame`` (its columns, not its index) as ``path/part.N.parquet``, one file per
    partition, all of the Arrow schema of its dtypes.  Unlike ``DataFrame.to_parquet``, the
    files hold no pandas metadata: pandas cannot read back the metadata it writes for a list
    column such as ``warnings`` (pandas issue 53011), and other readers do not need it.  An
    existing ``path`` raises ``FileExistsError`` unless ``overwrite``."""
    fs, root = url_to_fs(path, **(storage_options or {}))
    if fs.exists(root):
        if not overwrite:
            raise FileExistsError(f"{path} already exists")
        fs.rm(root, recursive=True)
    fs.makedirs(root, exist_ok=True)
    schema = pa.Schema.from_pandas(_empty(dict(frame.dtypes)), preserve_index=False)
    schema = schema.remove_metadata()
    parts = _untyped(frame).to_delayed()
    width = len(str(len(parts) - 1))
    dask.compute(
        *[
            dask.delayed(_write_part)(part, fs, f"{root}/part.{i:0{width}d}.parquet", schema)
            for i, part in enumerate(parts)
        ]
    )


def _write_part(part: pd.DataFrame, fs: Any, path: str, schema: Any) -> None:
    table = pa.Table.from_pandas(part, schema=schema, preserve_index=False)
    with fs.open(path, "wb") as handle:
        pq.write_table(table.replace_schema_metadata(None), handle)
