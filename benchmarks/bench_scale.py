"""Scale: the columnar entry against the CLI's inner loop, row for row, then one generated JSONL
file of 1,000,000 mixed requests audited four ways: ``luma-schema check --jobs 2``, the batch
entry in one process, ``examples/spark_audit.py`` on Spark ``local[2]`` and
``examples/dask_audit.py`` on a Dask LocalCluster of two workers.

Each audit runs as its own process tree; its wall time and the peak of the summed RSS of the
tree (sampled every 0.1 s: pages shared between processes count once per process) are measured,
once on the big file and once on a file of 23 lines, whose time is the engine's fixed cost
(start-up, planning, shutdown).  Then the start-up of the engine in a fresh Python worker.
``BENCH_SCALE_REQUESTS`` sets the size of the file.
"""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

REQUESTS = int(os.environ.get("BENCH_SCALE_REQUESTS", "1000000"))
LOOP_ROWS = 100_000  # rows of the in-process comparison


# ---------------------------------------------------------------- the row loop, in this process


def _loops(path: Path) -> None:
    import pyarrow as pa

    from luma_schema import batch
    from luma_schema._cli.batch import Options, check_batch
    from luma_schema._cli.inputs import Lines

    lines = [line for line in path.read_bytes().split(b"\n")[:LOOP_ROWS] if line]
    column = pa.array(lines, pa.binary())
    unit = Lines(str(path), 1, b"\n".join(lines))
    # The CLI's inner loop as `check --summary-only` runs it, and as `--format json` runs it.
    quiet, printing = Options(printing=False), Options(json=True)
    short = ("ok", "status", "detail", "rule")
    peers: dict[str, Callable[[], Any]] = {
        "CLI loop, --summary-only": lambda: check_batch(quiet, [unit]),
        "batch.verdicts, ok status detail rule": lambda: batch.verdicts(column, columns=short),
        "batch.verdicts, + path": lambda: batch.verdicts(column, columns=(*short, "path")),
        "batch.verdicts, + warnings": lambda: batch.verdicts(column, columns=(*short, "warnings")),
        "batch.verdicts, all columns": lambda: batch.verdicts(column),
        "CLI loop, --format json": lambda: check_batch(printing, [unit]),
    }
    times: dict[str, list[float]] = {name: [] for name in peers}
    gc.collect()
    for _ in range(5):  # peers take turns, CPU time of this process
        for name, run in peers.items():
            start = time.process_time()
            run()
            times[name].append(time.process_time() - start)
    base = min(times["CLI loop, --summary-only"])
    print(f"row loop, one process, {len(lines):,} rows of the file (best of 5, CPU time)")
    print(f"{'peer':<40} {'µs/row':>7} {'rows/s':>9} {'ratio':>6}")
    for name, spent in times.items():
        best = min(spent)
        print(
            f"{name:<40} {best / len(lines) * 1e6:7.2f} {len(lines) / best:9,.0f} "
            f"{best / base:5.2f}x"
        )
    print()


# ---------------------------------------------------------------- the audits, each a process tree


def _measure(argv: list[str]) -> tuple[int, float, float, float]:
    """(exit code, wall seconds, peak summed RSS of the process tree in MB, CPU seconds of the
    tree).  Both are sampled every 0.1 s over every process of the tree (a JVM and its Python
    workers, a Dask cluster's nannies and workers): a process's last CPU reading counts."""
    import psutil

    start = time.perf_counter()
    child = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=_ENV
    )
    root = psutil.Process(child.pid)
    peak = 0
    cpu: dict[int, float] = {}
    while child.poll() is None:
        total = 0
        try:
            for process in [root, *root.children(recursive=True)]:
                with process.oneshot():
                    total += process.memory_info().rss
                    times = process.cpu_times()
                    cpu[process.pid] = times.user + times.system
        except psutil.Error:  # a process ended while being read
            pass
        peak = max(peak, total)
        time.sleep(0.1)
    return child.returncode, time.perf_counter() - start, peak / 1e6, sum(cpu.values())


_ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYSPARK_PYTHON": sys.executable}


def _audits(big: Path, tiny: Path, out: Path) -> None:
    python = sys.executable
    runs: dict[str, Callable[[Path, Path], list[str]]] = {
        "CLI --jobs 2 --summary-only": lambda src, _: [
            *(python, "-m", "luma_schema", "check", "--quiet", "--jobs", "2", "--summary-only"),
            str(src),
        ],
        "batch.verdicts, one process": lambda src, dst: [
            python,
            __file__,
            "--batch",
            str(src),
            str(dst),
        ],
        "Spark local[2] (example)": lambda src, dst: [
            *(python, str(ROOT / "examples" / "spark_audit.py"), str(src), str(dst)),
            *("--master", "local[2]"),
        ],
        "Dask 2 workers (example)": lambda src, dst: [
            *(python, str(ROOT / "examples" / "dask_audit.py"), str(src), str(dst)),
            *("--workers", "2"),
        ],
    }
    have_java = shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))
    print(f"audits of one file, {REQUESTS:,} requests ({big.stat().st_size / 1e6:,.0f} MB)")
    print(
        f"{'peer':<30} {'seconds':>8} {'requests/s':>11} {'peak MB':>8} {'fixed s':>8} "
        f"{'CPU s':>7} {'fixed CPU s':>11} {'req/CPU s past fixed':>21} {'Parquet MB':>10}"
    )
    for index, (name, argv) in enumerate(runs.items()):
        if name.startswith("Spark") and not have_java:
            print(f"{name:<30} skipped: no Java (install a JDK 17+ or set JAVA_HOME)")
            continue
        code_tiny, fixed, _, fixed_cpu = _measure(argv(tiny, out / f"{index}-tiny"))
        code, elapsed, peak, cpu = _measure(argv(big, out / f"{index}-big"))
        if code not in (0, 1) or code_tiny not in (0, 1):
            print(f"{name:<30} failed: exit {code} (tiny file: {code_tiny})")
            continue
        rate = REQUESTS / elapsed
        per_cpu = REQUESTS / (cpu - fixed_cpu) if cpu > fixed_cpu else float("nan")
        written = sum(f.stat().st_size for f in (out / f"{index}-big").rglob("*") if f.is_file())
        parquet = f"{written / 1e6:10.1f}" if written else f"{'-':>10}"
        print(
            f"{name:<30} {elapsed:8.1f} {rate:11,.0f} {peak:8,.0f} {fixed:8.1f} "
            f"{cpu:7.1f} {fixed_cpu:11.1f} {per_cpu:21,.0f} {parquet}"
        )
    print()


def batch_audit(source: Path, output: Path) -> None:
    """The batch entry in one process, as a script would use it: blocks of whole lines, their
    verdicts with the file and line, one Parquet file, the CLI's summary."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from luma_schema import batch

    output.mkdir(parents=True)
    summary = batch.Summary()
    schema = pa.schema([("file", pa.string()), ("line", pa.int64()), *batch.SCHEMA])
    with source.open("rb") as handle, pq.ParquetWriter(output / "part-0.parquet", schema) as out:
        first = 1
        while block := handle.readlines(1 << 24):
            numbers: list[int] = []
            values: list[bytes] = []
            for number, line in enumerate(block, first):
                if not line.isspace():  # blank lines are no requests, as in the CLI
                    numbers.append(number)
                    values.append(line[:-1] if line.endswith(b"\n") else line)
            first += len(block)
            table = batch.verdicts(pa.array(values, pa.binary()))
            summary += batch.Summary.of(table)
            names = pa.array([str(source)] * len(numbers), pa.string())
            lines = pa.array(numbers, pa.int64())
            out.write_table(pa.Table.from_arrays([names, lines, *table.columns], schema=schema))
    print(summary)


# ---------------------------------------------------------------- start-up of a worker

_STARTUP = """
import json, sys, time
start = time.perf_counter()
import pyarrow
from luma_schema import batch
imported = time.perf_counter()
lines = [l for l in open(sys.argv[1], 'rb').read().split(b'\\n') if l.strip()]
batch.verdicts(lines)
first = time.perf_counter()
batch.verdicts(lines)
again = time.perf_counter()
print(json.dumps([imported - start, first - imported, again - first, len(lines)]))
"""


def _startup(tiny: Path) -> None:
    import json

    runs = []
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", _STARTUP, str(tiny)],
            capture_output=True,
            text=True,
            check=True,
            env=_ENV,
        )
        runs.append(json.loads(done.stdout))
    imported, first, again, n = (min(run[i] for run in runs) for i in range(4))
    print(
        f"start-up of a fresh worker (best of 3): import pyarrow + luma_schema.batch "
        f"{imported * 1e3:.0f} ms; first verdicts of the {n} example requests (each shape "
        f"compiled) {first * 1e3:.0f} ms, then {again * 1e3:.1f} ms"
    )


def main() -> None:
    from bench_jsonl import generate

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        big, tiny = folder / "requests.jsonl", folder / "tiny.jsonl"
        start = time.perf_counter()
        generate(big, REQUESTS)
        generate(tiny, 23)
        print(
            f"bench_scale: {REQUESTS:,} mixed requests (generated in "
            f"{time.perf_counter() - start:.1f} s), {os.cpu_count()} cores, load average "
            f"{os.getloadavg()[0]:.1f} at the start"
        )
        _loops(big)
        _audits(big, tiny, folder)
        _startup(tiny)
        print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--batch"]:
        batch_audit(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
