"""Shared test machinery."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from luma_schema.export import jsonschema as _jsonschema
from luma_schema.export import openapi as _openapi


def _checked(build: Callable[[], Any], schemas: Callable[[Any], Iterable[Any]]) -> Any:
    def checked() -> Any:
        document = build()
        for schema in schemas(document):
            Draft202012Validator.check_schema(schema)
        return document

    return checked


@pytest.fixture(autouse=True)
def _meta_validate_schemas(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every JSON Schema any test obtains from the exporters (directly, through
    ``luma_schema.json_schema()``/``openapi()``, or through the files they write) is checked
    against the Draft 2020-12 meta-schema first."""
    for name in ("json_schema", "image_schema", "generation_schema"):
        monkeypatch.setattr(_jsonschema, name, _checked(getattr(_jsonschema, name), lambda d: [d]))
    monkeypatch.setattr(
        _openapi,
        "openapi",
        _checked(_openapi.openapi, lambda d: d["components"]["schemas"].values()),
    )
    yield
