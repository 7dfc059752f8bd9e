"""Exporters: what ``json_schema()``, ``openapi()`` and the Markdown docs cost, cold (built from
the catalogue) and cached (the per-request cost for a docs server: a fresh copy, parsed from the
cached JSON text), beside pydantic's ``model_json_schema()`` of a plain model and ``json.dumps`` of the
result.  Microseconds per call, best of several runs.
"""

from __future__ import annotations

import json
import timeit
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

import luma_schema
from luma_schema.export import jsonschema as exporter
from luma_schema.export import markdown, openapi


class _PlainRequest(BaseModel):
    """A request model as a user would write it with pydantic alone (types and defaults only)."""

    type: str = "image"
    prompt: str
    model: str = "uni-1"
    aspect_ratio: str | None = None
    style: str = "auto"
    output_format: str | None = None
    web_search: bool = False
    user_id: str | None = None
    source: dict[str, str | None] | None = None
    image_ref: list[dict[str, str | None]] = []


def _best(fn: Callable[[], Any], number: int, repeat: int = 5) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def _cold(clear: Callable[[], None], build: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        clear()
        return build()

    return run


def _clear_schema() -> None:
    exporter._text.cache_clear()
    exporter._request.cache_clear()
    exporter._image.cache_clear()
    exporter._generation.cache_clear()


def _clear_openapi() -> None:
    _clear_schema()
    openapi._text.cache_clear()
    openapi._document.cache_clear()


def main() -> None:
    schema = luma_schema.json_schema()
    document = luma_schema.openapi()
    rows = [
        ("json_schema() cold", _best(_cold(_clear_schema, luma_schema.json_schema), 20)),
        ("json_schema() cached", _best(luma_schema.json_schema, 500)),
        ("openapi() cold", _best(_cold(_clear_openapi, luma_schema.openapi), 10)),
        ("openapi() cached", _best(luma_schema.openapi, 200)),
        ("markdown docs cold", _best(_cold(markdown.markdown.cache_clear, markdown.markdown), 20)),
        ("markdown docs cached", _best(markdown.markdown, 10000)),
        ("peer: pydantic model_json_schema()", _best(_PlainRequest.model_json_schema, 200)),
        ("json.dumps(json_schema())", _best(lambda: json.dumps(schema), 500)),
        ("json.dumps(openapi())", _best(lambda: json.dumps(document), 200)),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'operation':<{width}}  {'µs/call':>10}")
    for name, micros in rows:
        print(f"{name:<{width}}  {micros:>10.1f}")
    print(
        f"sizes: json_schema {len(json.dumps(schema)):,} bytes, openapi "
        f"{len(json.dumps(document)):,} bytes"
    )


if __name__ == "__main__":
    main()
