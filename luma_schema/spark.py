"""Auditing requests with PySpark (extra ``spark``): a DataFrame column, or JSONL files.

``audit(df, column)`` adds the verdict columns of :data:`luma_schema.batch.SCHEMA` with one
``mapInArrow`` stage: each task checks its own Arrow batches in a Python worker, nothing is
shuffled, and the rows keep their partitions.  ``read_jsonl(spark, path)`` reads JSONL files
with Spark's own reader as ``file``, ``line`` and ``value`` (the line's bytes), blank lines left
out as ``luma-schema check`` leaves them out; ``summary(verdicts)`` is the CLI's summary.

The executors need ``luma_schema`` and pyarrow (``pip install 'luma-schema[batch]'`` where
PySpark comes with the cluster).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final

try:
    import pyarrow as pa  # type: ignore[import-untyped]
    from pyspark.sql import functions as F
    from pyspark.sql.types import (
        ArrayType,
        BooleanType,
        IntegerType,
        StringType,
        StructField,
        StructType,
    )
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "luma_schema.spark needs the 'spark' extra: pip install 'luma-schema[spark]'"
    ) from exc

from luma_schema.batch import COLUMNS, Summary, verdicts

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["VERDICT_FIELDS", "audit", "read_jsonl", "summary"]

# The Spark types of luma_schema.batch.SCHEMA, in its order.
VERDICT_FIELDS: Final = (
    StructField("ok", BooleanType()),
    StructField("status", IntegerType()),
    StructField("detail", StringType()),
    StructField("rule", StringType()),
    StructField("path", StringType()),
    StructField("warnings", ArrayType(StringType())),
)
assert tuple(f.name for f in VERDICT_FIELDS) == COLUMNS


def audit(df: DataFrame, column: str = "value", keep: bool = True) -> DataFrame:
    """``df`` with the verdict columns after its own: each row's are what
    ``luma_schema.check()`` answers for its ``column`` (JSON text, string or binary; a null is
    no request and gets nulls).  ``keep=False`` leaves ``column`` out of the result, which
    spares shipping the requests back from the Python workers.  Lazy, like any transformation;
    rows stay in their partitions."""
    names = df.columns
    if column not in names:
        raise ValueError(f"column: {column!r} is not a column of the DataFrame ({names})")
    clash = sorted(set(names).intersection(COLUMNS))
    if clash:
        raise ValueError(f"the DataFrame has columns named like verdict columns: {clash}")
    kept = [f for f in df.schema.fields if keep or f.name != column]
    schema = StructType([*kept, *VERDICT_FIELDS])
    return df.mapInArrow(_Audit(column, [f.name for f in kept]), schema)


class _Audit:
    """The function of the ``mapInArrow`` stage (pickled to the workers: plain values only)."""

    def __init__(self, column: str, kept: Sequence[str]) -> None:
        self.column = column
        self.kept = list(kept)

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        for batch in batches:
            table = verdicts(batch.column(self.column))
            arrays = [batch.column(name) for name in self.kept]
            arrays += [chunks.combine_chunks() for chunks in table.columns]
            yield pa.RecordBatch.from_arrays(arrays, names=[*self.kept, *COLUMNS])


def read_jsonl(spark: SparkSession, path: str | Sequence[str]) -> DataFrame:
    """The requests of JSONL files as ``file`` (the path as Spark names it, a URI), ``line``
    (numbered from 1, lines split at ``\\n`` as ``luma-schema check`` splits them) and ``value``
    (the line's bytes); lines that are empty or only whitespace are not requests and are left
    out.  ``path`` is anything ``spark.read.text`` reads: a file, a directory, a glob, a list.

    Numbering lines costs one Spark job before this returns: it counts the lines of each file
    split, in the JVM, with no Python and no shuffle of the lines (one small row per split is
    collected).  The files must not change until the result has been used."""
    text = spark.read.option("lineSep", "\n").text(
        list(path) if not isinstance(path, str) else path
    )
    rows = text.select(
        F.col("_metadata.file_path").alias("file"),
        F.col("_metadata.file_block_start").alias("_split"),
        # (task << 33) + the row's place in its task: the scan is the same in both jobs
        F.monotonically_increasing_id().alias("_row"),
        F.col("value").cast("binary").alias("value"),
    )
    splits = (
        rows.groupBy("file", "_split")
        .agg(F.count(F.lit(1)).alias("lines"), F.min("_row").alias("first"))
        .collect()
    )
    before: dict[str, int] = {}
    bases = []
    for split in sorted(splits, key=lambda s: (s["file"], s["_split"])):
        done = before.get(split["file"], 0)
        bases.append((split["file"], split["_split"], done + 1 - split["first"]))
        before[split["file"]] = done + split["lines"]
    base = spark.createDataFrame(bases, "file string, _split long, _base long")
    numbered = rows.join(F.broadcast(base), ["file", "_split"])
    # A line of only whitespace is no request (bytes.isspace() in the CLI: space, \t-\r).
    blank = F.col("value").cast("string").rlike("^[ \\t\\n\\x0B\\f\\r]*$")
    return numbered.where(~blank).select(
        "file", (F.col("_row") + F.col("_base")).alias("line"), "value"
    )


def summary(verdicts: DataFrame) -> Summary:
    """The CLI's summary of a DataFrame with the verdicts' ``status`` and ``rule`` columns (and
    ``warnings``, when it has them): ``audit``'s result, or the Parquet written from it.  An
    aggregation a row per answer collected, and the warnings counted likewise; a null status (a
    null input) is no request."""
    counts = verdicts.groupBy("status", "rule").count().collect()
    warned, codes = 0, {}
    if "warnings" in verdicts.columns:  # a request counts once per warning code, as in the CLI
        warned = verdicts.where(F.size("warnings") > 0).count()
        distinct = verdicts.select(F.explode(F.array_distinct("warnings")).alias("code"))
        codes = {row["code"]: row["count"] for row in distinct.groupBy("code").count().collect()}
    return Summary.from_rows(
        ((row["status"], row["rule"], row["count"]) for row in counts), warned, codes
    )
