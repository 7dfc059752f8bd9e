"""Dask on a ``distributed.LocalCluster`` of two worker processes: ``audit`` on a DataFrame column,
``audit_bag``, ``read_jsonl`` numbering the lines of files cut in blocks, Parquet, the summary,
and ``examples/dask_audit.py``.  One cluster for the module."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask.bag as db
import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from distributed import Client, LocalCluster
from scale_support import EXAMPLE_LINES, ROOT, expected, lines_of, write_logs

import luma_schema
from luma_schema import batch
from luma_schema import dask as luma_dask

TEXTS: list[Any] = [*EXAMPLE_LINES, "", "not json", b'{"prompt": "\xff"}', '{"prompt": "é"}', None]


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as connected,
    ):
        yield connected


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_logs(tmp_path_factory.mktemp("logs"))


def test_audit_adds_the_verdicts_of_a_column(client: Client) -> None:
    texts = [t.decode(errors="replace") if isinstance(t, bytes) else t for t in TEXTS]
    frame = pd.DataFrame({"id": range(len(texts)), "body": pd.Series(texts, dtype=object)})
    verdicts = luma_dask.audit(dd.from_pandas(frame, npartitions=3), "body")
    assert verdicts.npartitions == 3
    found = verdicts.compute()
    assert list(found.columns) == ["id", "body", *batch.COLUMNS]
    assert found["id"].tolist() == list(range(len(texts)))
    assert [None if pd.isna(t) else t for t in found["body"]] == texts
    rows = pa.Table.from_pandas(found[list(batch.COLUMNS)], preserve_index=False).to_pylist()
    assert rows == [expected(t) for t in texts]
    assert luma_dask.summary(verdicts) == batch.Summary.of(batch.verdicts(texts))


def test_audit_reads_binary_columns_byte_for_byte(client: Client) -> None:
    raw = [t.encode() if isinstance(t, str) else t for t in TEXTS]
    frame = pd.DataFrame(
        {"id": range(len(raw)), "raw": pd.Series(raw, dtype=pd.ArrowDtype(pa.binary()))}
    )
    verdicts = luma_dask.audit(dd.from_pandas(frame, npartitions=2), "raw", keep=False)
    assert list(verdicts.columns) == ["id", *batch.COLUMNS]
    found = verdicts.compute()
    rows = pa.Table.from_pandas(found[list(batch.COLUMNS)], preserve_index=False).to_pylist()
    assert rows == [expected(t) for t in raw]


def test_audit_names_a_missing_or_clashing_column() -> None:
    frame = dd.from_pandas(pd.DataFrame({"body": ["{}"], "rule": ["x"]}), npartitions=1)
    with pytest.raises(ValueError, match="'request' is not a column"):
        luma_dask.audit(frame, "request")
    with pytest.raises(ValueError, match=r"\['rule'\]"):
        luma_dask.audit(frame, "body")


def test_audit_bag_maps_texts_to_verdict_rows_in_order(client: Client) -> None:
    verdicts = luma_dask.audit_bag(db.from_sequence(TEXTS, npartitions=3))
    assert verdicts.compute() == [expected(t) for t in TEXTS]
    assert luma_dask.summary(verdicts) == batch.Summary.of(batch.verdicts(TEXTS))


def test_a_bag_maps_check_itself(client: Client) -> None:
    # Reports travel between processes: the worker's Report is the one check() makes here.
    texts = TEXTS[:-1]
    reports = db.from_sequence(texts, npartitions=2).map(luma_schema.check).compute()
    assert [r.as_dict() for r in reports] == [luma_schema.check(t).as_dict() for t in texts]
    assert [r.request for r in reports] == [luma_schema.check(t).request for t in texts]


@pytest.mark.parametrize("blocksize", [None, 2048])
def test_read_jsonl_numbers_the_lines_of_every_file(
    client: Client, logs: Path, blocksize: int | None
) -> None:
    frame = luma_dask.read_jsonl(str(logs), blocksize=blocksize)
    if blocksize:
        assert frame.npartitions > 6  # a.jsonl is cut in several blocks
    found = frame.compute()
    assert list(found.columns) == ["file", "line", "value"]
    got = {
        (Path(f).name, n): v
        for f, n, v in zip(found["file"], found["line"], found["value"], strict=True)
    }
    assert len(got) == len(found)
    assert got == lines_of(logs)


def test_read_jsonl_takes_globs_lists_and_names_what_is_missing(logs: Path) -> None:
    everything = lines_of(logs)
    glob = luma_dask.read_jsonl(str(logs / "[ab].jsonl"), blocksize=4096).compute(scheduler="sync")
    assert {(Path(f).name, n) for f, n in zip(glob["file"], glob["line"], strict=True)} == {
        key for key in everything if key[0] in ("a.jsonl", "b.jsonl")
    }
    listed = luma_dask.read_jsonl([str(logs / "c.jsonl")]).compute(scheduler="sync")
    assert listed["file"].tolist() == [str(logs / "c.jsonl")] * len(EXAMPLE_LINES)
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        luma_dask.read_jsonl(str(logs / "nothing-here*.jsonl"))


def test_write_parquet_writes_the_verdicts_schema_that_pandas_reads_back(
    client: Client, logs: Path, tmp_path: Path
) -> None:
    verdicts = luma_dask.audit(luma_dask.read_jsonl(str(logs), blocksize=4096), keep=False)
    out = tmp_path / "verdicts"
    luma_dask.write_parquet(verdicts, str(out))
    files = sorted(out.iterdir())
    assert len(files) == verdicts.npartitions
    for path in files:
        schema = pq.read_schema(path)
        assert schema.metadata is None
        assert schema.names == ["file", "line", *batch.COLUMNS]
        assert schema.remove_metadata().field("warnings").type == pa.list_(pa.string())
    table = pq.read_table(out)
    rows = {(Path(r.pop("file")).name, r.pop("line")): r for r in table.to_pylist()}
    assert rows == {key: expected(line) for key, line in lines_of(logs).items()}
    assert len(pd.read_parquet(out)) == len(rows)  # the warnings' list column included

    with pytest.raises(FileExistsError, match="already exists"):
        luma_dask.write_parquet(verdicts, str(out))
    luma_dask.write_parquet(verdicts.partitions[:1], str(out), overwrite=True)
    assert len(list(out.iterdir())) == 1


def _example() -> Any:
    path = ROOT / "examples" / "dask_audit.py"
    spec = importlib.util.spec_from_file_location("dask_audit", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_writes_parquet_and_prints_the_summary(logs: Path, tmp_path: Path) -> None:
    # As a user runs it: a process of its own, with its own cluster of two workers.
    out = tmp_path / "verdicts"
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "dask_audit.py"), str(logs / "*.jsonl"), str(out)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 1, done.stderr  # some requests are invalid
    table = pq.read_table(out)
    assert table.column_names == ["file", "line", *batch.COLUMNS]
    rows = {(Path(r.pop("file")).name, r.pop("line")): r for r in table.to_pylist()}
    assert rows == {key: expected(line) for key, line in lines_of(logs).items()}
    cli = subprocess.run(
        [sys.executable, "-m", "luma_schema", "check", "--summary-only", str(logs)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout == cli.stdout


def test_the_example_refuses_what_it_cannot_do_and_prints_json(
    client: Client, logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # In this process, on the module's cluster (the example uses the open client).
    example = _example()
    out = tmp_path / "verdicts"
    assert example.main([str(logs), str(out), "--blocksize", "4 KiB", "--json"]) == 1
    table = pq.read_table(out)
    assert json.loads(capsys.readouterr().out) == batch.Summary.of(table).as_dict()
    assert len(list(out.iterdir())) > 3

    assert example.main([str(logs), str(out)]) == 2
    assert "already exists (--overwrite replaces it)" in capsys.readouterr().err
    assert example.main([str(logs / "c.jsonl"), str(out), "--overwrite"]) == 1
    assert capsys.readouterr().out.startswith(f"{len(EXAMPLE_LINES)} requests: ")
    assert example.main([str(tmp_path / "nothing-*.jsonl"), str(tmp_path / "o2")]) == 2
    assert "dask_audit: " in capsys.readouterr().err
