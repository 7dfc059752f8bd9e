"""Shared test machinery: request builders, the meta-schema check of every exported schema, and
the loopback HTTPS site the fetch tests talk to."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from fetch_support import Site
from jsonschema import Draft202012Validator

from luma_schema.export import jsonschema as _jsonschema
from luma_schema.export import openapi as _openapi

URL = "https://example.com/a.png"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
PNG64 = base64.b64encode(PNG).decode()


def edit(**fields: Any) -> dict[str, Any]:
    return {"type": "image_edit", "prompt": "Edit", "source": {"url": URL}, **fields}


def image(**fields: Any) -> dict[str, Any]:
    return {"prompt": "A cat", **fields}


def errors(report: Any) -> list[tuple[str, int, str, str]]:
    return [(e.rule, e.status, e.detail, e.path) for e in report.errors]


@pytest.fixture
def url() -> str:
    return URL


def _checked(build: Callable[..., Any], schemas: Callable[[Any], Iterable[Any]]) -> Any:
    def checked(*args: Any, **kwargs: Any) -> Any:
        document = build(*args, **kwargs)
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


# ---------------------------------------------------------------- a loopback HTTPS site


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    """A loopback HTTPS site with its own CA (tests/fetch_support.py), one per test module."""
    world = Site()
    yield world
    world.stop()


@pytest.fixture
def world(site: Site) -> Iterator[Site]:
    """The module's site, reset for one test; no handler stays held after it."""
    site.reset()
    yield site
    for server in site.servers():
        server.release.set()
