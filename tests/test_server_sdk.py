"""The official luma-agents SDK against the mock, over real HTTP on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from luma_agents import APIStatusError, BadRequestError, Luma, UnprocessableEntityError, omit
from server_support import API_KEY, jpeg_size, png_size, running
from test_server import ROWS

from luma_schema import server

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SEED_EXAMPLES = sorted((EXAMPLES / "valid").glob("*.json"))


@pytest.fixture(scope="module")
def client() -> Iterator[Luma]:
    with (
        running(server.create_app(delay=0.3)) as base,
        Luma(auth_token=API_KEY, base_url=f"{base}/v1", max_retries=0, timeout=60) as luma,
    ):
        yield luma


def _create(client: Luma, payload: dict[str, Any]) -> Any:
    """``generations.create`` with the payload's fields as keyword arguments; fields the SDK
    does not type still go in the body as they are; an absent prompt stays absent."""
    return client.generations.create(**{"prompt": omit, **payload})


def _poll(client: Luma, generation_id: str) -> Any:
    deadline = time.monotonic() + 60
    states = []
    while True:
        generation = client.generations.get(generation_id)
        states.append(generation.state)
        if generation.state in ("completed", "failed"):
            return generation, states
        assert time.monotonic() < deadline, states
        time.sleep(0.05)


@pytest.mark.parametrize("path", SEED_EXAMPLES, ids=lambda p: p.stem)
def test_every_valid_example_is_a_generation_that_completes(client: Luma, path: Path) -> None:
    payload = json.loads(path.read_text())
    created = _create(client, payload)
    assert (created.state, created.type, created.model) == (
        "queued",
        payload.get("type", "image"),
        payload.get("model", "uni-1"),
    )
    done, states = _poll(client, created.id)
    assert done.state == "completed" and done.id == created.id
    assert set(states) <= {"queued", "processing", "completed"}
    [output] = done.output
    image = httpx.get(output.url)
    if payload.get("output_format") == "jpeg":
        assert image.headers["content-type"] == "image/jpeg" and jpeg_size(image.content)
    else:
        assert image.headers["content-type"] == "image/png" and png_size(image.content)


def test_failure_injection_reaches_the_sdk(client: Luma) -> None:
    created = client.generations.create(
        prompt="x", extra_headers={"X-Mock-Fail": "content_moderated"}
    )
    failed, _ = _poll(client, created.id)
    assert (failed.state, failed.failure_code) == ("failed", "content_moderated")


SDK_ERRORS = {400: BadRequestError, 422: UnprocessableEntityError, 413: APIStatusError}


@pytest.mark.parametrize(
    ("rule", "payload", "status", "detail"),
    [row for row in ROWS if isinstance(row[1], dict)],
    ids=lambda v: v if isinstance(v, str) and v.isidentifier() else "",
)
def test_each_invalid_request_raises_the_sdks_own_class(
    client: Luma, rule: str, payload: dict[str, Any], status: int, detail: str
) -> None:
    with pytest.raises(APIStatusError) as raised:
        _create(client, payload)
    assert type(raised.value) is SDK_ERRORS[status]
    assert raised.value.status_code == status
    assert raised.value.body == {"detail": detail}


def test_an_oversized_body_is_an_api_status_error_413() -> None:
    with (
        running(server.create_app(seed=1, max_body_bytes=2000)) as base,
        Luma(auth_token=API_KEY, base_url=f"{base}/v1", max_retries=0) as luma,
        pytest.raises(APIStatusError) as raised,
    ):
        luma.generations.create(prompt="x" * 3000)
    assert type(raised.value) is APIStatusError and raised.value.status_code == 413
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["detail"] == "Image exceeds 50 MB size limit"


def test_a_bad_key_and_an_unknown_id_raise_the_sdks_classes(client: Luma) -> None:
    from luma_agents import AuthenticationError, NotFoundError

    with pytest.raises(NotFoundError) as missing:
        client.generations.get("00000000-0000-4000-8000-000000000000")
    assert missing.value.body == {"detail": "Generation not found"}
    with pytest.raises(AuthenticationError) as refused:
        client.with_options(auth_token="sk-nope").generations.create(prompt="x")
    assert refused.value.body == {"detail": "Missing or invalid API key"}
