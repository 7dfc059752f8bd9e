"""``luma-schema check`` on a JSONL file of 1,000,000 mixed requests: requests/s and peak memory,
one process and two.  The file is generated in a temporary directory from the example requests
(valid and invalid, URL and inline images), each line made distinct."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = int(os.environ.get("BENCH_JSONL_REQUESTS", "1000000"))
# Runs the CLI as its child and reports the child's peak RSS (the largest of its processes).
_MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
elapsed = time.perf_counter() - start
print(code, elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def generate(path: Path, n: int) -> None:
    examples = [
        json.loads(line)
        for line in (ROOT / "examples" / "requests.jsonl").read_text().splitlines()
        if line.strip()
    ]
    with path.open("w") as out:
        for i in range(n):
            request = dict(examples[i % len(examples)])
            if isinstance(request.get("prompt"), str) and request["prompt"]:
                request["prompt"] = f"{request['prompt']} #{i}"
            out.write(json.dumps(request) + "\n")


def measure(path: Path, jobs: int, extra: list[str]) -> tuple[float, float]:
    argv = [sys.executable, "-m", "luma_schema", "check", "--quiet", f"--jobs={jobs}", *extra]
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, *argv, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    code, elapsed, rss_kb = result.stdout.split()
    if int(code) not in (0, 1):
        raise RuntimeError(f"luma-schema check exited {code}")
    return float(elapsed), int(rss_kb) / 1024


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "requests.jsonl"
        start = time.perf_counter()
        generate(path, REQUESTS)
        size = path.stat().st_size
        print(
            f"bench_jsonl: {REQUESTS:,} mixed requests, {size / 1e6:,.0f} MB "
            f"(generated in {time.perf_counter() - start:.1f} s), {os.cpu_count()} cores"
        )
        print(f"{'output':<16} {'jobs':>4} {'seconds':>8} {'requests/s':>11} {'peak RSS MB':>12}")
        for label, extra in (("--summary-only", ["--summary-only"]), ("text, all lines", [])):
            for jobs in (1, 2):
                elapsed, rss = measure(path, jobs, extra)
                print(
                    f"{label:<16} {jobs:>4} {elapsed:8.1f} {REQUESTS / elapsed:11,.0f} {rss:12.0f}"
                )


if __name__ == "__main__":
    main()
