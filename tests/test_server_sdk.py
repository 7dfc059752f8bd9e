"""The official luma-agents SDK, sync and async, against the mock the luma_mock fixture (the
project's pytest plugin) starts: over real HTTP on loopback, and in process through the ASGI
app.  Also the style of the SDK's own generated test suite, whose token is "My Auth Token"."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from luma_agents import (
    APIStatusError,
    AsyncLuma,
    AuthenticationError,
    BadRequestError,
    Luma,
    NotFoundError,
    UnprocessableEntityError,
    omit,
)
from luma_agents.types import Generation
from server_support import GENERATION_ID, RULE_CASES, expected, jpeg_size, mp4_summary, png_size
from starlette.testclient import TestClient

from luma_schema import catalog, server

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SEED_EXAMPLES = sorted((EXAMPLES / "valid").glob("*.json"))
SDK_ERRORS = {400: BadRequestError, 422: UnprocessableEntityError, 413: APIStatusError}


@pytest.fixture
def client(luma_mock: server.MockServer) -> Iterator[Luma]:
    with Luma(
        auth_token=luma_mock.api_key, base_url=luma_mock.base_url, max_retries=0, timeout=60
    ) as luma:
        yield luma


def _create(client: Luma, payload: dict[str, Any]) -> Any:
    """``generations.create`` with the payload's fields as keyword arguments; fields the SDK
    does not type still go in the body as they are; an absent prompt stays absent."""
    return client.generations.create(**{"prompt": omit, **payload})


def test_the_fixture_gives_what_the_sdk_needs(luma_mock: server.MockServer) -> None:
    assert luma_mock.base_url == luma_mock.url + "/v1" and luma_mock.url.startswith("http://127.")
    assert luma_mock.env == {
        "LUMA_BASE_URL": luma_mock.base_url,
        "LUMA_AGENTS_API_KEY": luma_mock.api_key,
    }
    assert luma_mock.delay == 3.0


def test_every_valid_example_completes_when_the_clock_is_moved(
    luma_mock: server.MockServer, client: Luma
) -> None:
    luma_mock.clock.freeze()
    for path in SEED_EXAMPLES:
        payload = json.loads(path.read_text())
        created = _create(client, payload)
        assert (created.state, created.type, created.model) == (
            "queued",
            payload.get("type", "image"),
            payload.get("model", "uni-1"),
        )
        luma_mock.clock.advance(luma_mock.delay / 2)
        assert client.generations.get(created.id).state == "processing"
        luma_mock.clock.advance(luma_mock.delay / 2)
        done = client.generations.get(created.id)
        assert done.state == "completed" and done.id == created.id
        kind = payload.get("type", "image")
        # One output, a video for the video types; one PNG per layer for layering.
        assert (len(done.output) == 1) == (kind != "layering"), done.output
        for output in done.output:
            media = httpx.get(output.url)
            if kind in catalog.VIDEO_TYPES:
                assert output.type == "video" and media.headers["content-type"] == "video/mp4"
                assert mp4_summary(media.content)
            elif payload.get("output_format") == "jpeg":
                assert media.headers["content-type"] == "image/jpeg" and jpeg_size(media.content)
            else:
                # A layer is a PNG with its transparency (RGBA), but for the opaque background.
                alpha = output.layer is not None and output.layer.alpha_hint != "none"
                assert media.headers["content-type"] == "image/png"
                assert png_size(media.content, alpha=alpha)


def test_the_sdk_reads_video_and_layering_generations(
    luma_mock: server.MockServer, client: Luma
) -> None:
    luma_mock.clock.freeze()
    video = _create(
        client,
        {
            "prompt": "a slow pan",
            "model": "ray-3.2",
            "type": "video_edit",
            "source": {"generation_id": GENERATION_ID},
            "video": {"edit": {"strength": "flex_2"}},
        },
    )
    layers = _create(
        client, {"prompt": "", "type": "layering", "source": {"generation_id": GENERATION_ID}}
    )
    luma_mock.clock.advance(luma_mock.delay)
    done = client.generations.get(video.id)
    assert (done.state, done.type, done.model) == ("completed", "video_edit", "ray-3.2")
    [output] = done.output or []
    assert output.type == "video" and output.layer is None
    assert mp4_summary(httpx.get(output.url).content)["frames"] > 0
    split = client.generations.get(layers.id)
    assert split.type == "layering" and split.output
    assert [(o.type, o.layer.index if o.layer else None) for o in split.output] == [
        ("image", i) for i in range(len(split.output))
    ]
    assert split.output[-1].layer is not None and split.output[-1].layer.alpha_hint == "none"


def test_a_frozen_clock_holds_the_state_still(luma_mock: server.MockServer, client: Luma) -> None:
    luma_mock.clock.freeze()
    created = client.generations.create(prompt="x")
    assert client.generations.get(created.id).state == "queued"
    luma_mock.clock.resume()
    luma_mock.clock.advance(luma_mock.delay)
    assert client.generations.get(created.id).state == "completed"


def test_failure_injection_reaches_the_sdk(luma_mock: server.MockServer, client: Luma) -> None:
    created = client.generations.create(
        prompt="x", extra_headers={"X-Mock-Fail": "content_moderated"}
    )
    luma_mock.clock.advance(luma_mock.delay)
    failed = client.generations.get(created.id)
    assert (failed.state, failed.failure_code) == ("failed", "content_moderated")


@pytest.mark.parametrize(
    ("rule", "payload"),
    [case for case in RULE_CASES if isinstance(case[1], dict)],
    ids=[rule for rule, payload in RULE_CASES if isinstance(payload, dict)],
)
def test_each_invalid_request_raises_the_sdks_own_class(
    client: Luma, rule: str, payload: dict[str, Any]
) -> None:
    status, body = expected(payload)
    with pytest.raises(APIStatusError) as raised:
        _create(client, payload)
    assert type(raised.value) is SDK_ERRORS[status]
    assert (raised.value.status_code, raised.value.body) == (status, body)


@pytest.mark.luma_mock(seed=1, max_body_bytes=2000)
def test_an_oversized_body_is_an_api_status_error_413(client: Luma) -> None:
    with pytest.raises(APIStatusError) as raised:
        client.generations.create(prompt="x" * 3000)
    assert type(raised.value) is APIStatusError and raised.value.status_code == 413
    assert raised.value.body == {"detail": server.body.BODY_TOO_LARGE}


def test_an_unknown_id_is_the_sdks_not_found(client: Luma) -> None:
    with pytest.raises(NotFoundError) as missing:
        client.generations.get("00000000-0000-4000-8000-000000000000")
    assert missing.value.body == {"detail": catalog.GENERATION_NOT_FOUND}


@pytest.mark.luma_mock(api_key="luma-api-only-this")
def test_a_key_set_by_the_marker_is_the_only_one_accepted(
    luma_mock: server.MockServer, client: Luma
) -> None:
    assert luma_mock.api_key == "luma-api-only-this"
    assert client.generations.create(prompt="x").state == "queued"
    with pytest.raises(AuthenticationError) as refused:
        client.with_options(auth_token="luma-api-other").generations.create(prompt="x")
    assert refused.value.body == {"detail": catalog.UNAUTHORIZED}


def test_the_sdk_reads_the_mock_from_its_environment_variables(
    luma_mock: server.MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in luma_mock.env.items():
        monkeypatch.setenv(name, value)
    with Luma(max_retries=0) as luma:
        assert luma.generations.create(prompt="x").state == "queued"


# ---------------------------------------------------------------- async, and in process


def test_the_async_client_over_http(luma_mock: server.MockServer) -> None:
    async def run() -> tuple[str, str]:
        async with AsyncLuma(
            auth_token=luma_mock.api_key, base_url=luma_mock.base_url, max_retries=0
        ) as luma:
            created = await luma.generations.create(prompt="a lighthouse", output_format="jpeg")
            luma_mock.clock.advance(luma_mock.delay)
            done = await luma.generations.get(created.id)
            with pytest.raises(BadRequestError):
                await luma.generations.create(prompt="")
            return done.state, done.output[0].url

    state, url = asyncio.run(run())
    assert state == "completed" and jpeg_size(httpx.get(url).content)


def test_the_async_client_in_process_through_asgi_transport() -> None:
    app = server.create_app(seed=3)  # no server, no port: the app is called in process

    async def run() -> tuple[str, int]:
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport) as http,
            AsyncLuma(
                auth_token="luma-api-x", base_url="http://mock/v1", http_client=http, max_retries=0
            ) as luma,
        ):
            created = await luma.generations.create(prompt="x")
            done = await luma.generations.get(created.id)
            try:
                await luma.generations.create(prompt="x", style="manga", aspect_ratio="16:9")
            except UnprocessableEntityError as exc:
                return done.state, exc.status_code
            raise AssertionError("manga_portrait was accepted")

    assert asyncio.run(run()) == ("completed", 422)


def test_the_sync_client_in_process_through_a_test_client() -> None:
    with (
        TestClient(server.create_app(seed=4)) as http,
        Luma(
            auth_token="luma-api-x",
            base_url="http://testserver/v1",
            http_client=http,
            max_retries=0,
        ) as luma,
    ):
        created = luma.generations.create(prompt="x")
        assert luma.generations.get(created.id).state == "completed"
        with pytest.raises(BadRequestError):
            luma.generations.create(prompt="x", model="uni-2")  # type: ignore[arg-type]


# ---------------------------------------------------------------- the SDK's generated tests

TOKEN = "My Auth Token"  # what the SDK's generated test suite sends
PROMPT = "A glass of iced coffee on a marble countertop, morning light streaming through a window"


@pytest.fixture
def generated_client(luma_mock: server.MockServer) -> Iterator[Luma]:
    with Luma(base_url=luma_mock.base_url, auth_token=TOKEN, max_retries=0) as luma:
        yield luma


def test_generated_style_calls_are_never_401(generated_client: Luma) -> None:
    generation = generated_client.generations.create(prompt=PROMPT)
    assert isinstance(generation, Generation) and generation.state == "queued"
    raw = generated_client.generations.with_raw_response.create(prompt=PROMPT)
    assert raw.is_closed and raw.http_request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert isinstance(raw.parse(), Generation)
    with generated_client.generations.with_streaming_response.create(prompt=PROMPT) as streamed:
        assert isinstance(streamed.parse(), Generation)
    assert generated_client.generations.get(generation.id).id == generation.id
    # Placeholder values are refused as the API refuses them: the contract's 400, not a 401.
    all_params: dict[str, Any] = {
        "prompt": PROMPT,
        "aspect_ratio": "3:1",
        "image_ref": [{"data": "data", "media_type": "media_type", "url": "url"}],
        "model": "model",
        "output_format": "png",
        "source": {"data": "data", "media_type": "media_type", "url": "url"},
        "style": "auto",
        "type": "image",
        "web_search": True,
    }
    with pytest.raises(BadRequestError) as refused:
        generated_client.generations.create(**all_params)
    assert (refused.value.status_code, refused.value.body) == expected(all_params)
    with pytest.raises(NotFoundError):
        generated_client.generations.get("182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e")


def test_generated_style_async_calls_are_never_401(luma_mock: server.MockServer) -> None:
    async def run() -> Generation:
        async with AsyncLuma(base_url=luma_mock.base_url, auth_token=TOKEN) as luma:
            return await luma.generations.create(prompt=PROMPT)

    assert asyncio.run(run()).state == "queued"


# ---------------------------------------------------------------- the plugin itself


def test_a_fresh_pytest_run_finds_the_fixture_through_the_entry_point(tmp_path: Path) -> None:
    (tmp_path / "test_mock.py").write_text(
        "import httpx, pytest\n"
        "def test_default(luma_mock):\n"
        "    auth = {'Authorization': 'Bearer ' + luma_mock.api_key}\n"
        "    r = httpx.post(luma_mock.base_url + '/generations', json={'prompt': 'x'}, headers=auth)\n"
        "    assert r.status_code == 201\n"
        "@pytest.mark.luma_mock(api_key='luma-api-k')\n"
        "def test_marker(luma_mock):\n"
        "    auth = {'Authorization': 'Bearer other'}\n"
        "    r = httpx.post(luma_mock.base_url + '/generations', json={'prompt': 'x'}, headers=auth)\n"
        "    assert r.status_code == 401\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_loading_the_plugin_imports_no_server_package() -> None:
    code = (
        "import sys, luma_schema.pytest_plugin\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'starlette', 'uvicorn', 'httpx'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "[]", result.stderr
