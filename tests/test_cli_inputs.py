"""What ``luma-schema check`` reads, and that it loses nothing: every line that is not blank, every
file that cannot be read, every path without requests, every entry of a searched directory that
is skipped; long lines kept whole in bounded memory."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import luma_schema
from luma_schema import cli
from luma_schema._cli import inputs

VALID = b'{"prompt": "a"}'


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    """``luma-schema check ARGS`` in this process (as a subprocess would run it, faster)."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["check", *args])
    finally:
        sys.stdin = saved
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def located(stdout: str) -> list[tuple[str, int | None, int]]:
    return [(r["file"], r["line"], r["status"]) for r in map(json.loads, stdout.splitlines())]


# ---------------------------------------------------------------- lines


def test_every_line_that_is_not_json_whitespace_is_a_request(tmp_path: Path) -> None:
    # \x0b, \x0c, NUL and a lone BOM are not JSON whitespace: each line is a request the API
    # refuses.  Spaces, tabs and CRs alone are blank lines.
    lines = [VALID, b"\x0b", b"", b" \t\r", b"\x0c", b"\x00", b"\xef\xbb\xbf", b"\xa0", VALID]
    path = tmp_path / "odd.jsonl"
    path.write_bytes(b"\n".join(lines))
    result = run("--format", "json", str(path))
    expected = [
        (str(path), n, luma_schema.check(line).status)
        for n, line in enumerate(lines, 1)
        if line.strip(b" \t\r\n")
    ]
    assert located(result.stdout) == expected
    assert [n for _, n, _ in expected] == [1, 2, 5, 6, 7, 8, 9]
    summary = run("--summary-only", "--format", "json", str(path)).stdout
    assert json.loads(summary)["requests"] == len(expected)


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("source", ["file", "pipe"])
def test_runs_of_lines_keep_every_line_and_its_number(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    jobs: str,
    source: str,
) -> None:
    # Runs of 64 bytes: lines longer than a run (and than two), CRLF, blank lines, no final
    # newline; read from a file (a long line is read again in one piece) and from a pipe.
    monkeypatch.setattr(inputs, "CHUNK", 64)
    long = json.dumps({"prompt": "x" * 300, "model": "uni-2"})
    lines = [VALID.decode(), "", long, "   ", long + "\r", "\t", '{"prompt": 1}', long, long, "{}"]
    data = "\n".join(lines).encode()
    if source == "file":
        path = tmp_path / "odd.jsonl"
        path.write_bytes(data)
        name, argv = str(path), [str(path)]
    else:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        name, argv = "<stdin>", ["--jsonl", "-"]
    code = cli.main(["check", "--format", "json", "--jobs", jobs, *argv])
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = [(n, text) for n, text in enumerate(lines, 1) if text.strip()]
    assert [(p["file"], p["line"]) for p in printed] == [(name, n) for n, _ in expected]
    for record, (_, text) in zip(printed, expected, strict=True):
        report = luma_schema.check(text)
        assert (record["status"], record["detail"]) == (report.status, report.detail)
    assert code == 1


# ---------------------------------------------------------------- paths without requests


def _with(folder: Path, name: str, text: str, target: str = "file") -> Path:
    (folder / name).write_text(text)
    return folder / name if target == "file" else folder


NO_REQUESTS = {
    "empty directory": (lambda d: d, "no requests (no .json or .jsonl file in it)"),
    "no request files": (
        lambda d: _with(d, "a.txt", VALID.decode(), "dir"),
        "no requests (no .json or .jsonl file in it)",
    ),
    "blank files": (
        lambda d: _with(d, "e.jsonl", "\n  \n", "dir"),
        "no requests (its .json and .jsonl files hold none)",
    ),
    "empty jsonl": (
        lambda d: _with(d, "e.jsonl", ""),
        "no requests (the file holds no line that is not blank)",
    ),
    "blank jsonl": (
        lambda d: _with(d, "b.jsonl", " \n\t\n"),
        "no requests (the file holds no line that is not blank)",
    ),
}


@pytest.mark.parametrize(("make", "why"), NO_REQUESTS.values(), ids=NO_REQUESTS.keys())
def test_a_path_without_requests_exits_2_after_the_others(
    tmp_path: Path, make: Any, why: str
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    target = make(empty)
    good = tmp_path / "good.json"
    good.write_bytes(VALID)
    result = run(str(target), str(good))
    assert result.returncode == 2
    assert result.stderr == f"luma-schema: {target}: {why}\n"
    assert f"{good}: ok (201)" in result.stdout
    assert "1 request: 1 valid, 0 invalid, 0 with warnings" in result.stdout
    assert "  inputs: 1 path not checked (named on stderr)" in result.stdout


def test_empty_stdin_with_jsonl_has_no_requests() -> None:
    result = run("--jsonl", "-", stdin=b"\n\n")
    assert result.returncode == 2 and "<stdin>: no requests" in result.stderr


def test_a_missing_path_is_named_and_the_others_are_checked(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    good = tmp_path / "good.json"
    good.write_bytes(VALID)
    result = run(str(missing), str(good))
    assert result.returncode == 2
    assert result.stderr == f"luma-schema: {missing}: no such file or directory\n"
    assert f"{good}: ok (201)" in result.stdout
    json_summary = json.loads(
        run("--summary-only", "--format", "json", str(missing), str(good)).stdout
    )
    assert (json_summary["requests"], json_summary["input_errors"]) == (1, 1)


# ---------------------------------------------------------------- unreadable files


PROC_MEM = Path("/proc/self/mem")  # reading it at offset 0 is a real EIO from the kernel
needs_proc_mem = pytest.mark.skipif(
    not PROC_MEM.exists(), reason="needs Linux /proc/self/mem (a file whose reading fails with EIO)"
)


@needs_proc_mem
def test_an_unreadable_file_is_an_error_line_and_the_run_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "a.jsonl").write_bytes(VALID + b"\n")
    (folder / "b.jsonl").symlink_to(PROC_MEM)
    (folder / "c.json").write_bytes(b'{"prompt": ""}')
    for jobs in ("1", "2"):
        result = run("--jobs", jobs, str(folder))
        assert result.returncode == 2
        assert result.stderr == f"luma-schema: {folder / 'b.jsonl'}: input/output error\n"
        assert f"{folder / 'a.jsonl'}:1: ok (201)" in result.stdout
        assert f"{folder / 'c.json'}: 400" in result.stdout
        assert "2 requests: 1 valid, 1 invalid, 0 with warnings" in result.stdout
        assert "  inputs: 1 path not checked (named on stderr)" in result.stdout


@needs_proc_mem
def test_a_directory_whose_only_file_fails_is_named_once(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "only.jsonl").symlink_to(PROC_MEM)
    result = run(str(folder))
    assert result.returncode == 2
    assert result.stderr == f"luma-schema: {folder / 'only.jsonl'}: input/output error\n"


def test_a_read_error_in_the_middle_names_the_last_line_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "flaky.jsonl"
    path.write_bytes(VALID + b"\n" + VALID + b"\n" + b'{"prompt": "lost"')
    real_open = open

    class Flaky(io.BufferedReader):
        calls = 0

        def read(self, size: int | None = -1) -> bytes:
            Flaky.calls += 1
            if Flaky.calls > 1:
                raise OSError(5, "Input/output error")
            return super().read(20)  # the first line and a part of the second

    def flaky_open(name: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(name, mode, *args, **kwargs)
        return Flaky(handle.detach()) if str(name) == str(path) else handle

    monkeypatch.setattr(inputs, "open", flaky_open, raising=False)
    other = tmp_path / "other.json"
    other.write_bytes(VALID)
    code = cli.main(["check", str(path), str(other)])
    out, err = capsys.readouterr()
    assert code == 2
    assert err == f"luma-schema: {path}: input/output error (after line 1)\n"
    assert f"{path}:1: ok (201)" in out and f"{other}: ok (201)" in out
    assert "2 requests: 2 valid" in out


# ---------------------------------------------------------------- skipped entries


def test_skipped_entries_of_a_searched_directory_are_named(tmp_path: Path) -> None:
    folder = tmp_path / "requests"
    folder.mkdir()
    (folder / "good.json").write_bytes(VALID)
    (folder / "dangling.json").symlink_to(tmp_path / "gone.json")
    os.mkfifo(folder / "pipe.jsonl")
    (folder / "dir.json").mkdir()
    (folder / "dir.json" / "inner.json").write_bytes(VALID)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "more.json").write_bytes(VALID)
    (folder / "linked").symlink_to(outside)
    (folder / "notes.txt").write_text("not a request file")
    result = run(str(folder))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"luma-schema: {folder / 'dangling.json'}: skipped: a broken symbolic link (no such file or directory)",
        f"luma-schema: {folder / 'dir.json'}: not read as a request: a directory (searched)",
        f"luma-schema: {folder / 'linked'}: skipped: a symbolic link to a directory (not followed)",
        f"luma-schema: {folder / 'pipe.jsonl'}: skipped: a FIFO",
    ]
    assert f"{folder / 'dir.json' / 'inner.json'}: ok (201)" in result.stdout
    assert "2 requests: 2 valid" in result.stdout
    assert "  inputs: 4 entries skipped (named on stderr)" in result.stdout
    summary = json.loads(run("--summary-only", "--format", "json", str(folder)).stdout)
    assert (summary["skipped"], summary["input_errors"]) == (4, 0)


def test_a_fifo_given_by_name_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "requests.jsonl"
    os.mkfifo(fifo)
    proc = subprocess.Popen(
        [sys.executable, "-m", "luma_schema", "check", str(fifo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with fifo.open("wb") as writer:
        writer.write(VALID + b"\n" + VALID + b"\n")
    out, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (0, "")
    assert f"{fifo}:2: ok (201)" in out


# ---------------------------------------------------------------- memory


# Runs the CLI as its child and prints the child's peak RSS in kB (fresh: nothing else ran).
MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_kb(*argv: str, stdin: Path | None = None) -> int:
    with stdin.open("rb") if stdin else open(os.devnull, "rb") as source:
        result = subprocess.run(
            [sys.executable, "-c", MEASURE, sys.executable, "-m", "luma_schema", "check", *argv],
            stdin=source,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
    code, peak = map(int, result.stdout.split())
    assert code == 1
    return peak


@pytest.mark.parametrize("how", ["file", "pipe", "jobs 2"])
def test_a_long_line_is_held_once(tmp_path: Path, how: str) -> None:
    """Peak memory is about 30 MB plus three times the longest line (docs/cli.md): the reader
    holds the line once (a pipe twice for a moment), checking a long prompt costs two more."""
    size = 48 << 20
    path = tmp_path / "long.jsonl"
    with path.open("wb") as out:
        out.write(b'{"prompt": "' + b"p" * size + b'"}\n')
        out.write(b"x" * size + b"\n")  # not JSON: the hint reads it once more
        out.write(VALID + b"\n")
    if how == "file":
        peak = peak_kb(str(path))
    elif how == "pipe":
        peak = peak_kb("--jsonl", "-", stdin=path)
    else:
        peak = peak_kb("--jobs", "2", str(path))
    assert peak < 40_000 + 3 * (size >> 10), peak
