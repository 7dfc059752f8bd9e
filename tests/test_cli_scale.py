"""``luma-schema check`` at scale: --jobs, --summary-only, --only-invalid, --quiet, the progress bar
and the summary, run as a user runs them (a subprocess)."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import luma_schema
from luma_schema._cli.inputs import CHUNK

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "requests.jsonl"
LINES = [line for line in EXAMPLES.read_text().splitlines() if line.strip()]
COUNT = 40_000


def cli(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "luma_schema", "check", *args],
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,
    )


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40,000 mixed requests (6 MB): several runs of lines per process, valid and invalid,
    every example."""
    path = tmp_path_factory.mktemp("cli") / "mixed.jsonl"
    path.write_text("".join(LINES[i % len(LINES)] + "\n" for i in range(COUNT)))
    assert path.stat().st_size > 5 * CHUNK
    return path


class Expected:
    """The summary's counts, computed from ``luma_schema.check`` line by line."""

    def __init__(self, path: Path) -> None:
        self.by_status: Counter[int] = Counter()
        self.by_rule: Counter[str] = Counter()
        self.by_warning: Counter[str] = Counter()
        self.warned = 0
        for line in path.read_bytes().splitlines():
            report = luma_schema.check(line)
            self.by_status[report.status] += 1
            if report.errors:
                self.by_rule[report.errors[0].rule] += 1
            self.warned += bool(report.warnings)
            self.by_warning.update({w.code for w in report.warnings})


def ranked(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def test_the_summary_counts_requests_by_status_rule_and_warning(mixed: Path) -> None:
    expected = Expected(mixed)
    valid = expected.by_status[201]
    assert expected.warned and expected.by_warning  # the examples hold warned requests
    result = cli("--summary-only", "--format", "json", str(mixed))
    assert result.returncode == 1 and result.stderr == ""
    summary = json.loads(result.stdout)
    assert summary == {
        "requests": COUNT,
        "valid": valid,
        "invalid": COUNT - valid,
        "with_warnings": expected.warned,
        "by_status": {str(s): n for s, n in sorted(expected.by_status.items())},
        "by_rule": dict(ranked(expected.by_rule)),
        "by_warning": dict(ranked(expected.by_warning)),
        "input_errors": 0,
        "skipped": 0,
    }
    assert list(summary["by_rule"]) == [rule for rule, _ in ranked(expected.by_rule)]

    text = cli("--summary-only", str(mixed)).stdout.splitlines()
    assert text == [
        f"{COUNT} requests: {valid} valid, {COUNT - valid} invalid, {expected.warned} with warnings",
        "  by status: " + ", ".join(f"{s} {n}" for s, n in sorted(expected.by_status.items())),
        "  by rule: " + ", ".join(f"{rule} {n}" for rule, n in ranked(expected.by_rule)),
        "  by warning: " + ", ".join(f"{code} {n}" for code, n in ranked(expected.by_warning)),
    ]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_jobs_give_the_same_output_in_input_order(mixed: Path, fmt: str) -> None:
    one = cli("--jobs", "1", "--format", fmt, str(mixed))
    two = cli("--jobs", "2", "--format", fmt, str(mixed))
    every_core = cli("--jobs", "0", "--format", fmt, str(mixed))
    assert one.returncode == two.returncode == every_core.returncode == 1
    assert one.stdout == two.stdout == every_core.stdout
    if fmt == "json":
        places = [(r["file"], r["line"]) for r in map(json.loads, one.stdout.splitlines())]
        assert places == [(str(mixed), i) for i in range(1, COUNT + 1)]


def test_only_invalid_prints_only_the_failures(mixed: Path) -> None:
    result = cli("--only-invalid", "--format", "json", str(mixed))
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == COUNT - Expected(mixed).by_status[201]
    assert all(not record["ok"] for record in records)


def test_no_progress_off_a_terminal(mixed: Path) -> None:
    result = cli("--format", "json", str(mixed))
    assert result.stderr == ""


def run_on_a_terminal(*args: str) -> str:
    """Run the CLI with stderr on a pseudo-terminal; what it drew there."""
    master, slave = pty.openpty()
    # A terminal of 100 columns (a fresh pseudo-terminal has none).
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "luma_schema", "check", *args],
        stdout=subprocess.DEVNULL,
        stderr=slave,
    )
    os.close(slave)
    drawn = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        drawn += chunk
    proc.wait(timeout=60)
    os.close(master)
    return drawn.decode("utf-8", "replace")


def test_a_terminal_gets_a_progress_bar_unless_quiet(mixed: Path) -> None:
    drawn = run_on_a_terminal("--summary-only", str(mixed))
    assert f"{COUNT:,} requests" in drawn
    assert run_on_a_terminal("--summary-only", "--quiet", str(mixed)) == ""


def test_jobs_must_be_a_count() -> None:
    result = cli("--jobs", "-1", str(EXAMPLES))
    assert result.returncode == 2 and "--jobs" in result.stderr
    assert cli("--summary-only", "--only-invalid", str(EXAMPLES)).returncode == 2


# Runs the CLI as its child and prints the child's peak RSS in kB (fresh: nothing else ran).
MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_large_file_streams_in_bounded_memory(tmp_path: Path, jobs: str) -> None:
    # 200,000 requests, 120 MB: more than the whole bound, so it cannot be read at once.
    path = tmp_path / "large.jsonl"
    line = json.dumps({"prompt": "p" * 560, "image_ref": [{"url": "https://example.com/a.png"}]})
    with path.open("w") as out:
        for _ in range(200):
            out.write((line + "\n") * 1000)
    assert path.stat().st_size > 120_000_000
    argv = [sys.executable, "-m", "luma_schema", "check", "--summary-only", "--jobs", jobs]
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, *argv, str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    code, peak_kb = map(int, result.stdout.split())
    assert code == 0
    assert peak_kb < 100_000
