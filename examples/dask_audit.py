"""Audit JSONL request logs with Dask: which requests the API refuses, and why.

    python examples/dask_audit.py INPUT OUTPUT_DIR [--scheduler ADDRESS] [--workers N]
                                  [--blocksize BYTES] [--overwrite] [--json]

INPUT is a JSONL file, a directory of them or a glob (local, or any fsspec URL: s3://, gs://...);
OUTPUT_DIR gets Parquet with one row per request: ``file``, ``line`` and the verdict columns of
``luma_schema.batch`` (ok, status, detail, rule, path, warnings).  The summary printed is
``luma-schema check --summary-only``'s; the exit status is the CLI's (0 every request valid, 1
some invalid, 2 usage).  Without ``--scheduler`` it starts a local cluster of ``--workers``
single-threaded processes (default 2) on 127.0.0.1, with no dashboard (or uses the Dask
client already open in the process, a notebook's say).  Needs the ``dask`` extra
(``pip install 'luma-schema[dask]'``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import dask.dataframe as dd
from dask.utils import parse_bytes
from distributed import Client, LocalCluster, default_client

from luma_schema import dask as audit_dask
from luma_schema.batch import Summary


def audit(source: str, output_dir: str, blocksize: int | None, overwrite: bool) -> Summary:
    """Write the verdicts of every request of ``source`` to ``output_dir``; their summary."""
    lines = audit_dask.read_jsonl(source, blocksize=blocksize)
    verdicts = audit_dask.audit(lines, "value", keep=False)
    audit_dask.write_parquet(verdicts, output_dir, overwrite=overwrite)
    # Counted from what was written (three columns of the Parquet), not by checking again.
    written = dd.read_parquet(
        output_dir, columns=["status", "rule", "warnings"], dtype_backend="pyarrow"
    )
    return audit_dask.summary(written)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="JSONL file, directory or glob")
    parser.add_argument("output_dir", help="where the Parquet of verdicts goes")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes")
    parser.add_argument("--blocksize", type=parse_bytes, help="bytes per partition (auto)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT_DIR")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    cluster: LocalCluster | None = None
    client: Client | None = None
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        try:
            default_client()  # a notebook's or a test's: used as it is
        except ValueError:
            cluster = LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                host="127.0.0.1",
                dashboard_address=None,
            )
            client = Client(cluster)
    try:
        summary = audit(args.input, args.output_dir, args.blocksize, args.overwrite)
    except (FileNotFoundError, FileExistsError) as exc:
        hint = " (--overwrite replaces it)" if isinstance(exc, FileExistsError) else ""
        print(f"dask_audit: {exc}{hint}", file=sys.stderr)
        return 2
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    print(json.dumps(summary.as_dict()) if args.json else summary)
    return 1 if summary.valid < summary.requests else 0


if __name__ == "__main__":
    sys.exit(main())
