"""examples/fastapi_app.py, served by uvicorn on loopback: the documented answers, via FastAPI."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from server_support import running
from test_server import ROWS, UUID

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fastapi_app.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fastapi_app", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with running(_load().app) as url:
        yield url


@pytest.mark.parametrize(("rule", "payload", "status", "detail"), ROWS)
def test_the_dependency_answers_every_row(
    base: str, rule: str, payload: object, status: int, detail: str
) -> None:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response = httpx.post(f"{base}/v1/generations", content=body)
    assert (response.status_code, response.json()) == (status, {"detail": detail})
    assert response.headers["x-api-version"] == "2026-04-01"
    assert UUID.match(response.headers["x-request-id"])


@pytest.mark.parametrize(
    ("rule", "payload", "status", "detail"), [r for r in ROWS if isinstance(r[1], dict)]
)
def test_the_models_validation_error_gets_the_same_answer(
    base: str, rule: str, payload: object, status: int, detail: str
) -> None:
    response = httpx.post(f"{base}/v1/generations/from-dict", json=payload)
    assert (response.status_code, response.json()) == (status, {"detail": detail})


def test_a_valid_request_arrives_normalised_with_the_request_id_echoed(base: str) -> None:
    sent = {"prompt": "a fox", "style": "manga", "aspect_ratio": "9:16", "unknown": True}
    for path in ("/v1/generations", "/v1/generations/from-dict"):
        response = httpx.post(f"{base}{path}", json=sent, headers={"X-Request-Id": "abc"})
        assert response.status_code == 201 and response.headers["x-request-id"] == "abc"
        assert response.json() == {
            "queued": {
                "type": "image",
                "prompt": "a fox",
                "model": "uni-1",
                "aspect_ratio": "9:16",
                "style": "manga",
                "output_format": None,
                "web_search": False,
                "user_id": None,
                "source": None,
                "image_ref": [],
            }
        }
