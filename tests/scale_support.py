"""Shared by the Spark and Dask tests: JSONL logs with every way a line can be odd, and the
requests in them as ``luma-schema check`` reads them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from luma_schema import batch

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_LINES = [
    line for line in (ROOT / "examples" / "requests.jsonl").read_text().splitlines() if line
]


def expected(text: Any) -> dict[str, Any]:
    """The verdict row of one text (``batch.verdicts`` is ``check()`` row for row: see
    test_batch.py)."""
    return batch.verdicts([text]).to_pylist()[0]  # type: ignore[no-any-return]


def write_logs(folder: Path) -> Path:
    """Three JSONL files: blank and whitespace lines, CRLF, no final newline, a line that is not
    UTF-8, and a file long enough for small blocks to cut it in many places."""
    big = "".join(line + "\n" for line in EXAMPLE_LINES * 8)
    (folder / "a.jsonl").write_bytes(
        big.encode() + b"\n  \n\t\r\n" + b'{"prompt": "crlf"}\r\n' + b'{"prompt": "\xff"}\n'
    )
    (folder / "b.jsonl").write_bytes(b'{"prompt": "last line without newline"}')
    (folder / "c.jsonl").write_bytes(b"".join(line.encode() + b"\n" for line in EXAMPLE_LINES))
    return folder


def lines_of(folder: Path) -> dict[tuple[str, int], bytes]:
    """(file name, line) -> bytes of every request line, as ``luma-schema check`` splits them."""
    found = {}
    for path in sorted(folder.glob("*.jsonl")):
        for number, line in enumerate(path.read_bytes().split(b"\n"), 1):
            if line and not line.isspace():
                found[(path.name, number)] = line
    return found
