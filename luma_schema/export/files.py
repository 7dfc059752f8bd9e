"""The generated files the repository commits (``schemas/``, ``docs/validation.md``): their
exact text, and a drift check that compares them with the catalogue."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any, Final

from luma_schema.export import jsonschema, markdown, typeschema

__all__ = ["DOCS_FILE", "SCHEMA_DIR", "docs_text", "drift", "schema_texts", "write"]

SCHEMA_DIR: Final = Path("schemas")
DOCS_FILE: Final = Path("docs/validation.md")


# Committed schemas are indented by two, with each object or array that fits in this many
# columns on one line: nested conditions stay readable and the files stay short.
_WIDTH: Final = 100


def _format(value: Any, indent: int, column: int) -> str:
    flat = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, dict | list) or not value or column + len(flat) <= _WIDTH:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, list):
        items = [pad + _format(v, indent + 2, len(pad)) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    lines = []
    for key, v in value.items():
        head = f"{pad}{json.dumps(key, ensure_ascii=False)}: "
        lines.append(head + _format(v, indent + 2, len(head)))
    return "{\n" + ",\n".join(lines) + "\n" + " " * indent + "}"


def _dump(document: dict[str, Any]) -> str:
    return _format(document, 0, 0) + "\n"


def schema_texts() -> dict[str, str]:
    """File name → text of each committed schema: the request's validation schema and its types
    schema (for code generators), the image's validation schema, the Generation response."""
    return {
        "generation-request.schema.json": _dump(jsonschema.json_schema()),
        "generation-request.types.schema.json": _dump(typeschema.request_types_schema()),
        "image.schema.json": _dump(jsonschema.image_schema()),
        "generation.schema.json": _dump(jsonschema.generation_schema()),
    }


def docs_text() -> str:
    return markdown.markdown()


def drift(expected: dict[Path, str]) -> str:
    """A unified diff from each file on disk to the text the catalogue gives ("" when all are
    equal); a missing file counts as empty.  Raises OSError when a file cannot be read."""
    parts: list[str] = []
    for path, text in expected.items():
        try:
            current = path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            current = ""
        if current != text:
            parts.extend(
                difflib.unified_diff(
                    current.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    fromfile=f"{path} (on disk)",
                    tofile=f"{path} (from the catalogue)",
                )
            )
            if parts and not parts[-1].endswith("\n"):
                parts[-1] += "\n"
    return "".join(parts)


def write(expected: dict[Path, str]) -> None:
    """Write each file (creating directories); raises OSError."""
    for path, text in expected.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
