"""PySpark in ``local[2]``: ``audit`` on a DataFrame column, ``read_jsonl`` numbering the lines of
split files, the summary, and ``examples/spark_audit.py``.  One Spark session for the module:
a JVM takes tens of seconds to start on a busy machine."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession
from scale_support import EXAMPLE_LINES, ROOT, expected, lines_of, write_logs

from luma_schema import batch
from luma_schema import spark as luma_spark

pytestmark = pytest.mark.skipif(
    shutil.which("java") is None and not os.environ.get("JAVA_HOME"),
    reason="Spark needs Java 17 or later: install a JDK (apt-get install "
    "openjdk-17-jre-headless) or set JAVA_HOME",
)


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    # The Python workers run this interpreter (with the extras), not whatever python3 is on PATH:
    # PySpark reads the worker's interpreter from PYSPARK_PYTHON when it starts the context.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("luma-schema tests")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_audit_adds_the_verdicts_of_a_column(spark: SparkSession) -> None:
    texts: list[Any] = [*EXAMPLE_LINES, "", "not json", '{"prompt": "\u00e9"}', None]
    # two partitions (local[2]), so two Python workers
    df = spark.createDataFrame([(i, t) for i, t in enumerate(texts)], "id int, body string")
    rows = luma_spark.audit(df, "body").collect()
    assert sorted(r["id"] for r in rows) == list(range(len(texts)))
    for row in rows:
        got = row.asDict()
        assert got.pop("body") == texts[got.pop("id")]
    by_id = {r["id"]: {k: r[k] for k in batch.COLUMNS} for r in rows}
    assert by_id == {i: expected(t) for i, t in enumerate(texts)}

    dropped = luma_spark.audit(df, "body", keep=False)
    assert dropped.columns == ["id", *batch.COLUMNS]
    assert dropped.schema.fields[1:] == list(luma_spark.VERDICT_FIELDS)


def test_audit_reads_binary_columns_byte_for_byte(spark: SparkSession) -> None:
    raw = [b'{"prompt": "x"}', b'{"prompt": "\xff"}', b"\xef\xbb\xbf{}", b"\x00"]
    df = spark.createDataFrame([(i, bytearray(t)) for i, t in enumerate(raw)], "id int, b binary")
    rows = luma_spark.audit(df, "b", keep=False).collect()
    assert {r["id"]: {k: r[k] for k in batch.COLUMNS} for r in rows} == {
        i: expected(t) for i, t in enumerate(raw)
    }


def test_audit_names_a_missing_or_clashing_column(spark: SparkSession) -> None:
    df = spark.createDataFrame([("{}", 1)], "body string, status int")
    with pytest.raises(ValueError, match="'request' is not a column"):
        luma_spark.audit(df, "request")
    with pytest.raises(ValueError, match=r"\['status'\]"):
        luma_spark.audit(df, "body")


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_logs(tmp_path_factory.mktemp("logs"))


def test_read_jsonl_numbers_the_lines_of_every_file(spark: SparkSession, logs: Path) -> None:
    # Small splits cut a.jsonl in several places and pack files together in one task (the
    # example's test reads with the default splits, a file each).
    conf = {"spark.sql.files.maxPartitionBytes": "2048", "spark.sql.files.openCostInBytes": "0"}
    old = {key: spark.conf.get(key) for key in conf}
    try:
        for key, value in conf.items():
            spark.conf.set(key, value)
        df = luma_spark.read_jsonl(spark, str(logs))
        assert df.rdd.getNumPartitions() > 3
        rows = df.collect()
    finally:
        for key, value in old.items():
            spark.conf.set(key, value)
    got = {(Path(r["file"].removeprefix("file:")).name, r["line"]): bytes(r["value"]) for r in rows}
    assert len(got) == len(rows)
    assert got == lines_of(logs)


def test_the_summary_is_the_cli_summary(spark: SparkSession, logs: Path) -> None:
    verdicts = luma_spark.audit(luma_spark.read_jsonl(spark, str(logs / "*.jsonl")), keep=False)
    summary = luma_spark.summary(verdicts)
    assert summary == batch.Summary.of(batch.verdicts(list(lines_of(logs).values())))
    cli = subprocess.run(
        [sys.executable, "-m", "luma_schema", "check", "--summary-only", str(logs)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert str(summary) + "\n" == cli.stdout


def _example() -> Any:
    spec = importlib.util.spec_from_file_location(
        "spark_audit", ROOT / "examples" / "spark_audit.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_writes_parquet_and_prints_the_summary(
    spark: SparkSession, logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # In this process, on the module's session (the example uses the active one): a second JVM
    # would double the time of these tests.
    example = _example()
    out = tmp_path / "verdicts"
    assert example.main([str(logs / "*.jsonl"), str(out)]) == 1  # some requests are invalid
    printed = capsys.readouterr().out
    table = pq.read_table(out)
    assert table.column_names == ["file", "line", *batch.COLUMNS]
    rows = {
        (Path(r.pop("file").removeprefix("file:")).name, r.pop("line")): r
        for r in table.to_pylist()
    }
    assert rows == {key: expected(line) for key, line in lines_of(logs).items()}
    assert printed == str(batch.Summary.of(table)) + "\n"

    # an existing OUTPUT_DIR is refused unless --overwrite (--json: see the Dask example's test)
    assert example.main([str(logs), str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert example.main([str(tmp_path / "nothing-*.jsonl"), str(tmp_path / "o2")]) == 2
    assert "spark_audit: " in capsys.readouterr().err
