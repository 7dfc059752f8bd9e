"""``luma-schema check`` as a user runs it: a subprocess of ``python -m luma_schema``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "luma_schema", "check", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
    )
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
    )


def test_valid_directory_exits_0() -> None:
    result = run(str(EXAMPLES / "valid"))
    assert result.returncode == 0, result.stdout + result.stderr
    count = len(list((EXAMPLES / "valid").glob("*.json")))
    assert f"{count} requests: {count} valid, 0 invalid" in result.stdout


def test_invalid_directory_exits_1_and_names_each_file() -> None:
    result = run(str(EXAMPLES / "invalid"))
    assert result.returncode == 1
    for path in (EXAMPLES / "invalid").glob("*.json"):
        assert str(path) in result.stdout
    assert "400 request body must be a JSON object" in result.stdout  # not_json.json is row 1
    assert "source is required for type 'image_edit'" in result.stdout


def test_json_format_one_object_per_request() -> None:
    result = run("--format", "json", str(EXAMPLES / "invalid" / "seed_missing_source.json"))
    assert result.returncode == 1
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["ok"] is False and record["status"] == 400
    assert record["detail"] == "source is required for type 'image_edit'"
    assert record["errors"][0]["rule"] == "source_required"
    assert record["warnings"] == []


def test_jsonl_file_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_text('{"prompt": "a"}\n\n{"prompt": ""}\nnot json\n')
    result = run("--format", "json", str(path))
    assert result.returncode == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["source"] for r in records] == [f"{path}:1", f"{path}:3", f"{path}:4"]
    assert [r["status"] for r in records] == [201, 400, 400]
    assert records[2]["detail"] == "request body must be a JSON object"


def test_stdin() -> None:
    assert run("-", stdin=b'{"prompt": "a cat"}').returncode == 0
    result = run("--jsonl", "-", stdin=b'{"prompt": "a"}\n{"prompt": 1}\n')
    assert result.returncode == 1
    assert "<stdin>:2: 400 prompt must be a string" in result.stdout


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    result = run(str(missing))
    assert result.returncode == 2
    assert "no such file" in result.stderr and str(missing) in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_2() -> None:
    result = run()
    assert result.returncode == 2 and "Traceback" not in result.stderr
