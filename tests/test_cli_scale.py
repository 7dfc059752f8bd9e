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
from luma_schema.cli import _CHUNK

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
    assert path.stat().st_size > 5 * _CHUNK
    return path


def expected_tally(path: Path) -> tuple[Counter[int], Counter[str]]:
    by_status: Counter[int] = Counter()
    by_rule: Counter[str] = Counter()
    for line in path.read_bytes().splitlines():
        report = luma_schema.check(line)
        by_status[report.status] += 1
        if report.errors:
            by_rule[report.errors[0].rule] += 1
    return by_status, by_rule


def test_the_summary_counts_requests_by_status_and_by_rule(mixed: Path) -> None:
    by_status, by_rule = expected_tally(mixed)
    result = cli("--summary-only", "--format", "json", str(mixed))
    assert result.returncode == 1 and result.stderr == ""
    summary = json.loads(result.stdout)
    assert summary["requests"] == COUNT
    assert summary["valid"] == by_status[201]
    assert summary["invalid"] == COUNT - by_status[201]
    assert summary["by_status"] == {str(s): n for s, n in sorted(by_status.items())}
    assert summary["by_rule"] == dict(by_rule)
    assert list(summary["by_rule"].values()) == sorted(by_rule.values(), reverse=True)

    text = cli("--summary-only", str(mixed)).stdout.splitlines()
    assert text[0] == f"{COUNT} requests: {by_status[201]} valid, {COUNT - by_status[201]} invalid"
    assert text[1] == "  by status: " + ", ".join(f"{s} {n}" for s, n in sorted(by_status.items()))
    ranked = sorted(by_rule.items(), key=lambda item: (-item[1], item[0]))
    assert text[2] == "  by rule: " + ", ".join(f"{rule} {n}" for rule, n in ranked)
    assert len(text) == 3


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_jobs_give_the_same_output_in_input_order(mixed: Path, fmt: str) -> None:
    one = cli("--jobs", "1", "--format", fmt, str(mixed))
    two = cli("--jobs", "2", "--format", fmt, str(mixed))
    every_core = cli("--jobs", "0", "--format", fmt, str(mixed))
    assert one.returncode == two.returncode == every_core.returncode == 1
    assert one.stdout == two.stdout == every_core.stdout
    if fmt == "json":
        sources = [json.loads(line)["source"] for line in one.stdout.splitlines()]
        assert sources == [f"{mixed}:{i}" for i in range(1, COUNT + 1)]


def test_only_invalid_prints_only_the_failures(mixed: Path) -> None:
    result = cli("--only-invalid", "--format", "json", str(mixed))
    records = [json.loads(line) for line in result.stdout.splitlines()]
    by_status, _ = expected_tally(mixed)
    assert len(records) == COUNT - by_status[201]
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


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_runs_of_lines_keep_every_line_and_its_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], jobs: str
) -> None:
    # Runs of 64 bytes: lines longer than a run, CRLF, blank lines, no final newline.
    from luma_schema import cli as cli_module

    monkeypatch.setattr(cli_module, "_CHUNK", 64)
    long = json.dumps({"prompt": "x" * 300, "model": "uni-2"})
    lines = [LINES[0], "", long, "   ", LINES[1] + "\r", "\t", LINES[2], long, LINES[3]]
    path = tmp_path / "odd.jsonl"
    path.write_bytes("\n".join(lines).encode())
    code = cli_module.main(["check", "--format", "json", "--jobs", jobs, str(path)])
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = [(f"{path}:{n}", text) for n, text in enumerate(lines, 1) if text.strip()]
    assert [p["source"] for p in printed] == [where for where, _ in expected]
    for record, (_, text) in zip(printed, expected, strict=True):
        report = luma_schema.check(text)
        assert (record["status"], record["detail"]) == (report.status, report.detail)
    assert code == 1
