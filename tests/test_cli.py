"""``luma-schema check`` as a user runs it (a subprocess of ``python -m luma_schema``): the
verdict lines, the JSON records, the summary, the exit statuses and the hints."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import luma_schema
from luma_schema import catalog, cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


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
    return subprocess.CompletedProcess(
        ["luma-schema", "check", *args], code, out.getvalue(), err.getvalue()
    )


def run_as_user(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    """``python -m luma_schema ARGS`` in a subprocess."""
    proc = subprocess.run(
        [sys.executable, "-m", "luma_schema", *args], input=stdin, capture_output=True, timeout=120
    )
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
    )


def verdict(where: str, report: luma_schema.Report) -> str:
    """The line the CLI prints first for a request: the server's exact answer."""
    if report.ok:
        return f"{where}: ok (201)"
    first = report.errors[0]
    tag = f"{first.rule} at {first.path}" if first.path else first.rule
    return f"{where}: {report.status} {report.detail}  [{tag}]"


def records(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


# ---------------------------------------------------------------- verdicts and exit statuses


def test_valid_directory_exits_0() -> None:
    result = run(str(EXAMPLES / "valid"))
    assert result.returncode == 0, result.stdout + result.stderr
    count = len(list((EXAMPLES / "valid").glob("*.json")))
    assert f"{count} requests: {count} valid, 0 invalid, 0 with warnings" in result.stdout


def test_each_request_gets_the_servers_exact_answer_first() -> None:
    result = run(str(EXAMPLES / "invalid"))
    assert result.returncode == 1
    printed = result.stdout.splitlines()
    for path in sorted((EXAMPLES / "invalid").glob("*.json")):
        assert verdict(str(path), luma_schema.check(path.read_bytes())) in printed


def test_every_line_of_a_request_carries_its_location_and_path(tmp_path: Path) -> None:
    path = tmp_path / "two.json"
    path.write_text(json.dumps({"prompt": 5, "aspect_ratio": 7, "image_refs": []}))
    report = luma_schema.check(path.read_bytes())
    assert len(report.errors) == 2 and report.warnings
    lines = run(str(path)).stdout.splitlines()
    assert lines[0] == verdict(str(path), report)
    second = report.errors[1]
    assert (
        lines[1]
        == f"{path}: also {second.status} {second.detail}  [{second.rule} at {second.path}]"
    )
    warning = report.warnings[0]
    assert lines[2] == f"{path}: warning: {warning.message}  [{warning.code}]"


def test_json_records_name_their_input_with_keys_no_request_field_has() -> None:
    result = run("--format", "json", str(EXAMPLES / "invalid" / "seed_missing_source.json"))
    assert result.returncode == 1
    (record,) = records(result.stdout)
    path = EXAMPLES / "invalid" / "seed_missing_source.json"
    report = luma_schema.check(path.read_bytes())
    assert record == {"file": str(path), "line": None, **report.as_dict(), "hints": []}
    assert not set(record) & {field.name for field in catalog.FIELDS}


def test_jsonl_records_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_text('{"prompt": "a"}\n\n{"prompt": ""}\nnot json\n')
    result = run("--format", "json", str(path))
    assert result.returncode == 1
    printed = records(result.stdout)
    assert [(r["file"], r["line"]) for r in printed] == [
        (str(path), 1),
        (str(path), 3),
        (str(path), 4),
    ]
    assert [r["status"] for r in printed] == [201, 400, 400]
    assert printed[2]["detail"] == luma_schema.check(b"not json").detail


def test_stdin_as_a_user_pipes_it() -> None:
    assert run_as_user("check", "-", stdin=b'{"prompt": "a cat"}').returncode == 0
    result = run_as_user("check", "--jsonl", "-", stdin=b'{"prompt": "a"}\n{"prompt": 1}\n')
    assert result.returncode == 1
    assert verdict("<stdin>:2", luma_schema.check(b'{"prompt": 1}')) in result.stdout


def test_version() -> None:
    result = run_as_user("--version")
    assert (result.returncode, result.stdout) == (0, f"luma-schema {luma_schema.__version__}\n")


def test_usage_errors_exit_2() -> None:
    result = run_as_user("check")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_fetch_without_the_extra_exits_2_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"prompt": "a", "image_ref": [{"url": "https://example.com/a.png"}]}')
    code = (
        "import sys; sys.modules['httpx'] = None\n"  # as if the extra were not installed
        "from luma_schema.cli import main\n"
        f"sys.exit(main(['check', '--fetch', {str(path)!r}]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    assert "--fetch needs the 'fetch' extra" in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


# ---------------------------------------------------------------- warnings and --strict


WARNED = {"prompt": "a", "image_refs": []}  # valid, with a warning (a near miss of image_ref)


def test_warnings_are_counted_and_fail_the_run_with_strict(tmp_path: Path) -> None:
    path = tmp_path / "warned.jsonl"
    lines = [WARNED, {"prompt": "b"}, {"prompt": "c", "x": 1, "y": 2}, {"prompt": ""}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    reports = [luma_schema.check(line) for line in lines]
    codes: dict[str, int] = {}
    for report in reports:
        for code in {w.code for w in report.warnings}:
            codes[code] = codes.get(code, 0) + 1
    warned = sum(1 for r in reports if r.warnings)
    assert warned == 2 and all(r.ok for r in reports[:3])

    only_warned = tmp_path / "valid-only.jsonl"
    only_warned.write_text(json.dumps(WARNED) + "\n")
    assert run("--summary-only", str(only_warned)).returncode == 0
    assert run("--strict", "--summary-only", str(only_warned)).returncode == 1

    summary = json.loads(run("--summary-only", "--format", "json", str(path)).stdout)
    assert summary["with_warnings"] == warned
    assert summary["by_warning"] == dict(sorted(codes.items(), key=lambda kv: (-kv[1], kv[0])))
    text = run("--summary-only", str(path)).stdout.splitlines()
    assert text[0] == f"4 requests: 3 valid, 1 invalid, {warned} with warnings"
    ranked = ", ".join(f"{c} {n}" for c, n in summary["by_warning"].items())
    assert f"  by warning: {ranked}" in text


def test_only_invalid_with_strict_prints_the_warned_requests(tmp_path: Path) -> None:
    path = tmp_path / "w.jsonl"
    path.write_text(json.dumps(WARNED) + "\n" + json.dumps({"prompt": "b"}) + "\n")
    assert run("--only-invalid", "--format", "json", str(path)).stdout == ""
    printed = records(run("--only-invalid", "--strict", "--format", "json", str(path)).stdout)
    assert [(r["line"], r["ok"], len(r["warnings"])) for r in printed] == [(1, True, 1)]


def test_plurals() -> None:
    one = run("-", stdin=b'{"prompt": "a"}').stdout.splitlines()[-2:]
    assert one[0] == "1 request: 1 valid, 0 invalid, 0 with warnings"
    two = run("--jsonl", "-", stdin=b'{"prompt": "a"}\n{"prompt": "b"}\n').stdout
    assert two.startswith("<stdin>:1: ok (201)\n") and "2 requests: 2 valid" in two


# ---------------------------------------------------------------- hints


def hints_of(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [
        line.split(": hint: ", 1)[1] for line in result.stdout.splitlines() if ": hint: " in line
    ]


def test_a_json_syntax_error_is_located_and_the_verdict_kept(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(b'{\n  "prompt": "a",\n  "model": "uni-1"\n  "style": "auto"\n}\n')
    result = run(str(path))
    assert result.returncode == 1
    assert verdict(str(path), luma_schema.check(path.read_bytes())) in result.stdout.splitlines()
    assert hints_of(result) == ["JSON syntax error at line 4, column 3: expecting ',' delimiter"]


def test_a_jsonl_line_is_located_in_its_file(tmp_path: Path) -> None:
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b'{"prompt": "a"}\n\n{"prompt": "a" "model": 1}\n\x0c\n')
    result = run(str(path))
    assert hints_of(result) == [
        "JSON syntax error at line 3, column 16: expecting ',' delimiter",
        "JSON syntax error at line 4, column 1: expecting value (U+000C is not JSON whitespace)",
    ]


def test_several_values_on_stdin_ask_for_jsonl() -> None:
    result = run("-", stdin=b'{"prompt": "a"}\n{"prompt": "b"}\n')
    assert result.returncode == 1
    assert (
        verdict("<stdin>", luma_schema.check(b'{"prompt": "a"}\n{"prompt": "b"}\n'))
        in result.stdout
    )
    (hint,) = hints_of(result)
    assert hint.endswith("did you mean `--jsonl`?") and "line 2, column 1" in hint


def test_several_values_in_a_json_file_point_to_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "many.json"
    path.write_text('{"prompt": "a"}\n{"prompt": "b"}\n')
    (hint,) = hints_of(run(str(path)))
    assert "several JSON values" in hint and ".jsonl" in hint and "--jsonl" in hint


@pytest.mark.parametrize(
    ("payload", "hint"),
    [
        (
            b'[{"prompt": "a"}]',
            "the JSON value is an array, not an object; for several requests, "
            "write one object per line and pass --jsonl",
        ),
        (b'"a cat"', "the JSON value is a string, not an object"),
        (b"", "the input holds no JSON value"),
        (b'{"prompt": NaN}', "NaN is not a JSON number (JSON numbers are finite)"),
        (
            b'{"prompt": "a\nb"}',
            "JSON syntax error at line 1, column 14: a control character (U+000A) in a string; "
            "escape it",
        ),
        (b'{"prompt": "a", "prompt": "b"}', "an object repeats a member name"),
        (b'{"prompt": "\xe9t\xe9"}', "not UTF-8 text: invalid byte at line 1, column 13"),
        (b"\xff\xfe{\x00}\x00", "the input is UTF-16 text; a request is UTF-8"),
    ],
)
def test_why_a_body_is_not_a_json_object(payload: bytes, hint: str) -> None:
    result = run("-", stdin=payload)
    assert verdict("<stdin>", luma_schema.check(payload)) in result.stdout.splitlines()
    assert hints_of(result) == [hint]


def test_an_http_url_earns_a_hint_and_keeps_its_verdict(tmp_path: Path) -> None:
    request = {
        "prompt": "a",
        "image_ref": [{"url": "https://example.com/a.png"}, {"url": "HTTP://example.com/b.png"}],
    }
    path = tmp_path / "http.json"
    path.write_text(json.dumps(request))
    report = luma_schema.check(request)
    assert not report.ok
    result = run(str(path))
    assert result.returncode == 1
    assert verdict(str(path), report) in result.stdout.splitlines()
    assert hints_of(result) == ["image_ref[1].url: an http:// URL; image URLs must be https://"]
    (record,) = records(run("--format", "json", str(path)).stdout)
    assert record["hints"] == [
        {
            "code": "https_required",
            "message": "image_ref[1].url: an http:// URL; image URLs must be https://",
        }
    ]
    assert {k: record[k] for k in ("ok", "status", "detail")} == {
        k: report.as_dict()[k] for k in ("ok", "status", "detail")
    }


def test_hints_quote_no_submitted_value() -> None:
    secret = "tok_5ecret"
    payloads = [
        f'{{"prompt": "{secret}" "x": 1}}'.encode(),
        f'[{{"prompt": "{secret}"}}]'.encode(),
        f'{{"prompt": "a", "source": {{"url": "http://{secret}.example/a.png"}}}}'.encode(),
    ]
    for payload in payloads:
        result = run("-", stdin=payload)
        assert hints_of(result) and secret not in "".join(hints_of(result))
