"""The mock's fetch mode (``create_app(fetch=...)``, ``luma-schema serve --fetch``) against a
loopback HTTPS site with a test CA: the fetch step's exact answers, small and large bodies, and
slow images that hold up only their own requests."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from fetch_support import PNG, Site, wait_until
from server_support import AUTH

import luma_schema
from luma_schema import server
from luma_schema.fetch import Fetcher
from luma_schema.server.asgi import _BIG_BODY


@pytest.fixture
def fetcher(world: Site) -> Fetcher:
    """Trusts the test CA; its resolver answers the loopback address, which counts as public."""
    return Fetcher(
        timeout=30.0,
        verify=world.client_context(),
        resolver=world.resolve,
        allow_private=["127.0.0.1"],
    )


@pytest.fixture
def mock(fetcher: Fetcher) -> Iterator[server.MockServer]:
    with server.MockServer(fetch=fetcher, seed=1) as running:
        yield running


def _edit(url: str, source: dict[str, str] | None = None) -> dict[str, Any]:
    source = source or {"data": base64.b64encode(PNG).decode(), "media_type": "image/png"}
    return {"type": "image_edit", "prompt": "x", "source": source, "image_ref": [{"url": url}]}


def _post(mock: server.MockServer, payload: Any, timeout: float = 60) -> httpx.Response:
    body = json.dumps(payload).encode()
    return httpx.post(f"{mock.url}/v1/generations", content=body, headers=AUTH, timeout=timeout)


@pytest.mark.parametrize(
    "path", ["/png", "/status/404", "/html", "/big-length", "/redirect?to=/loop"]
)
def test_the_mock_answers_what_check_with_the_same_fetcher_answers(
    mock: server.MockServer, fetcher: Fetcher, world: Site, path: str
) -> None:
    payload = _edit(world.url(path))
    report = luma_schema.check(payload, fetch=fetcher)
    fetched_by_check = list(world.public.requests)
    world.public.requests.clear()
    response = _post(mock, payload)
    if report.ok:
        assert (response.status_code, response.json()["state"]) == (201, "queued")
    else:
        assert (response.status_code, response.json()) == report.to_response()
    assert world.public.requests == fetched_by_check != []


def test_a_large_body_is_fetched_too(
    mock: server.MockServer, fetcher: Fetcher, world: Site
) -> None:
    """A body over the size checked in the thread pool: its static checks there, then the
    fetch step, with the same answers as a small body."""
    image = {"data": base64.b64encode(PNG + b"\0" * _BIG_BODY).decode(), "media_type": "image/png"}
    failing = _edit(world.url("/status/404"), source=image)
    assert len(json.dumps(failing)) > _BIG_BODY
    response = _post(mock, failing)
    expected = luma_schema.check(failing, fetch=fetcher).to_response()
    assert (response.status_code, response.json()) == expected
    assert response.status_code == 422
    world.public.requests.clear()
    assert _post(mock, _edit(world.url("/png"), source=image)).status_code == 201
    refused = {**_edit(world.url("/png"), source=image), "aspect_ratio": "4:3"}
    assert _post(mock, refused).status_code == 400
    assert [path for _, path in world.public.requests] == ["/png"]


def test_slow_images_do_not_delay_other_requests(mock: server.MockServer, world: Site) -> None:
    """More requests than Starlette's shared thread pool has threads wait on images their
    server holds; meanwhile another request, with no URL image, is answered at once.  (When the
    fetch ran in that pool, the held images took every thread and the other request waited
    for the images to be let go.)"""
    threads = anyio.run(_pool_threads)
    held = threads + 1
    slow = _edit(world.url("/hold"))
    with ThreadPoolExecutor(held) as senders:
        waiting = [senders.submit(_post, mock, slow) for _ in range(held)]
        try:
            assert wait_until(lambda: len(world.public.held) == held, seconds=30)
            other = _post(mock, {"prompt": "x"}, timeout=8)
            refused = _post(mock, {"prompt": ""}, timeout=8)
            assert not any(request.done() for request in waiting)
        finally:
            world.public.release.set()
        assert (other.status_code, refused.status_code) == (201, 400)
        assert [request.result().status_code for request in waiting] == [201] * held


async def _pool_threads() -> int:
    return int(anyio.to_thread.current_default_thread_limiter().total_tokens)
