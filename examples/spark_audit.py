"""Audit JSONL request logs with PySpark: which requests the API refuses, and why.

    python examples/spark_audit.py INPUT OUTPUT_DIR [--master URL] [--overwrite] [--json]

INPUT is a JSONL file, a directory of them or a glob (anything ``spark.read.text`` reads, s3a://
and abfss:// included); OUTPUT_DIR gets Parquet with one row per request: ``file``, ``line`` and
the verdict columns of ``luma_schema.batch`` (ok, status, detail, rule, path, warnings).  The
summary printed is ``luma-schema check --summary-only``'s; the exit status is the CLI's (0 every
request valid, 1 some invalid, 2 usage).  Run it with ``python`` (a local Spark, ``local[*]``
unless ``--master``) or with ``spark-submit``, which sets the master.  Needs the ``spark`` extra
(``pip install 'luma-schema[spark]'``) and Java 17 or later.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from pyspark import SparkConf
from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession

from luma_schema import spark as audit_spark
from luma_schema.batch import Summary


def session(master: str | None) -> tuple[SparkSession, bool]:
    """The active session (a notebook's, a test's), or a new one: ``(session, made here)``."""
    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    builder = SparkSession.builder.appName("luma-schema audit")
    master = master or SparkConf().get("spark.master") or "local[*]"
    builder = builder.master(master)
    if master.startswith("local"):
        # A local run listens on loopback only, serves no UI, and its Python workers run this
        # interpreter (the one with luma_schema and pyarrow), not whatever python3 is on PATH:
        # PySpark reads PYSPARK_PYTHON when it starts the context.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = (
            builder.config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false")
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark, True


def audit(spark: SparkSession, source: str, output_dir: str, overwrite: bool = False) -> Summary:
    """Write the verdicts of every request of ``source`` to ``output_dir``; their summary."""
    lines = audit_spark.read_jsonl(spark, source)
    verdicts = audit_spark.audit(lines, "value", keep=False)
    verdicts.write.mode("overwrite" if overwrite else "errorifexists").parquet(output_dir)
    # Counted from what was written (three columns of the Parquet), not by checking again.
    return audit_spark.summary(spark.read.parquet(output_dir).select("status", "rule", "warnings"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="JSONL file, directory or glob")
    parser.add_argument("output_dir", help="where the Parquet of verdicts goes")
    parser.add_argument("--master", help="Spark master (default: spark-submit's, or local[*])")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT_DIR")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    spark, made = session(args.master)
    try:
        summary = audit(spark, args.input, args.output_dir, args.overwrite)
    except AnalysisException as exc:  # no such input, OUTPUT_DIR exists, ...
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"spark_audit: {message}", file=sys.stderr)
        return 2
    finally:
        if made:
            spark.stop()
    print(json.dumps(summary.as_dict()) if args.json else summary)
    return 1 if summary.valid < summary.requests else 0


if __name__ == "__main__":
    sys.exit(main())
