from __future__ import annotations

import base64
from typing import Any

import pytest

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
