"""The mock API and the ASGI helpers, over real HTTP on loopback (uvicorn in a thread, httpx)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from server_support import (
    AUTH,
    GENERATION_ID,
    PNG_1PX,
    RULE_CASES,
    URL,
    content,
    expected,
    jpeg_size,
    mp4_summary,
    png_size,
    read_response,
    running,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import luma_schema
from luma_schema import catalog, server
from luma_schema.export.jsonschema import generation_schema
from luma_schema.server import asgi
from luma_schema.server import mock as mock_module
from luma_schema.server.body import BODY_TOO_LARGE
from luma_schema.server.run import API_KEY_ENV
from luma_schema.server.video import FPS, frame_size

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
UNAUTHORIZED = (catalog.UNAUTHORIZED_STATUS, {"detail": catalog.UNAUTHORIZED})
NOT_FOUND = (catalog.NOT_FOUND_STATUS, {"detail": catalog.GENERATION_NOT_FOUND})
INTERNAL_ERROR = (catalog.INTERNAL_ERROR_STATUS, {"detail": catalog.INTERNAL_ERROR})


@pytest.fixture(scope="module")
def mock() -> Iterator[server.MockServer]:
    clock = server.MockClock()
    clock.freeze()  # states change only when a test moves the clock
    with server.MockServer(delay=10.0, clock=clock) as running_mock:
        yield running_mock


@pytest.fixture(scope="module")
def base(mock: server.MockServer) -> str:
    return mock.url


@pytest.fixture(scope="module")
def clock(mock: server.MockServer) -> server.MockClock:
    return mock.clock


@pytest.fixture(scope="module")
def http(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, headers=AUTH, timeout=60) as client:
        yield client


@pytest.mark.parametrize(("rule", "payload"), RULE_CASES, ids=[r for r, _ in RULE_CASES])
def test_every_rule_gets_its_status_and_exact_detail(
    http: httpx.Client, rule: str, payload: Any
) -> None:
    response = http.post("/v1/generations", content=content(payload))
    assert (response.status_code, response.json()) == expected(payload)
    assert response.headers["content-type"] == "application/json"
    assert luma_schema.check(content(payload)).errors[0].rule == rule


def test_an_image_over_50_mb_is_413_with_its_path(http: httpx.Client) -> None:
    # 17,476,267 groups of four base64 characters decode to 52,428,801 bytes: one too many.
    big = {
        "type": "image_edit",
        "prompt": "x",
        "source": {"data": "AAAA" * 17_476_267, "media_type": "image/png"},
    }
    response = http.post("/v1/generations", content=content(big))
    assert (response.status_code, response.json()) == expected(big)
    assert response.status_code == 413 and "connection" not in response.headers  # read whole


def test_the_documented_examples_get_the_cli_verdict(http: httpx.Client) -> None:
    for path in sorted(EXAMPLES.glob("*/*.json")):
        body = path.read_bytes()
        response = http.post("/v1/generations", content=body)
        verdict = luma_schema.check(body)
        assert response.status_code == verdict.status, path
        if path.parent.name == "valid":
            assert response.status_code == 201
        else:
            assert response.json() == {"detail": verdict.detail}, path


def test_a_valid_request_is_a_queued_generation(http: httpx.Client) -> None:
    payload = {"type": "image_edit", "prompt": "winter", "model": "uni-1-max", "source": URL}
    response = http.post("/v1/generations", json=payload)
    assert response.status_code == 201
    generation = response.json()
    assert luma_schema.Generation.model_validate(generation)
    assert UUID.match(generation["id"]) and RFC3339.match(generation["created_at"])
    assert {k: v for k, v in generation.items() if k not in ("id", "created_at")} == {
        "type": "image_edit",
        "state": "queued",
        "model": "uni-1-max",
        "output": [],
        "failure_reason": None,
        "failure_code": None,
    }


def _create(http: httpx.Client, payload: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = http.post("/v1/generations", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    generation: dict[str, Any] = response.json()
    return generation


def _get(http: httpx.Client, generation_id: str) -> dict[str, Any]:
    response = http.get(f"/v1/generations/{generation_id}")
    assert response.status_code == 200, response.text
    generation: dict[str, Any] = response.json()
    assert luma_schema.Generation.model_validate(generation)
    return generation


@pytest.mark.parametrize(
    ("extra", "media_type", "size"),
    [
        ({}, "image/png", (64, 64)),
        ({"output_format": "png", "aspect_ratio": "16:9"}, "image/png", (112, 64)),
        ({"output_format": "jpeg"}, "image/jpeg", (64, 64)),
        ({"output_format": "jpeg", "aspect_ratio": "1:3"}, "image/jpeg", (64, 192)),
    ],
)
def test_polling_moves_queued_processing_completed_with_a_real_image(
    http: httpx.Client,
    clock: server.MockClock,
    extra: dict[str, str],
    media_type: str,
    size: tuple[int, int],
) -> None:
    created = _create(http, {"prompt": "a lighthouse", **extra})
    assert _get(http, created["id"])["state"] == "queued"
    clock.advance(6)
    assert _get(http, created["id"])["state"] == "processing"
    clock.advance(6)
    done = _get(http, created["id"])
    assert done == {**created, "state": "completed", "output": done["output"]}
    [output] = done["output"]
    assert output["type"] == "image" and output["url"].startswith(str(http.base_url))
    image = httpx.get(output["url"])  # presigned-like: no Authorization needed
    assert image.status_code == 200 and image.headers["content-type"] == media_type
    measure = png_size if media_type == "image/png" else jpeg_size
    assert measure(image.content) == size


VIDEO = {"model": "ray-3.2", "type": "video", "prompt": "a slow pan"}


def _outputs(http: httpx.Client) -> str:
    return str(http.base_url).rstrip("/") + "/mock/outputs"


SOURCE = {"generation_id": GENERATION_ID}


@pytest.mark.parametrize(
    ("payload", "seconds", "aspect_ratio"),
    [
        (VIDEO, 5, None),
        ({**VIDEO, "aspect_ratio": "9:16", "video": {"duration": "10s"}}, 10, "9:16"),
        (
            {**VIDEO, "video": {"duration": "5s", "keyframes": [URL], "keyframe_indexes": [0]}},
            5,
            None,
        ),
        # A video_edit's length and frame are its source's: the mock's defaults.
        (
            {**VIDEO, "type": "video_edit", "source": SOURCE, "aspect_ratio": "1:1"},
            5,
            None,
        ),
        (
            {**VIDEO, "type": "video_reframe", "source": SOURCE, "aspect_ratio": "21:9"},
            5,
            "21:9",
        ),
    ],
)
def test_a_video_generation_completes_with_one_mp4(
    http: httpx.Client,
    clock: server.MockClock,
    payload: dict[str, Any],
    seconds: int,
    aspect_ratio: str | None,
) -> None:
    created = _create(http, payload)
    assert (created["type"], created["model"], created["output"]) == (
        payload["type"],
        "ray-3.2",
        [],
    )
    clock.advance(11)
    done = _get(http, created["id"])
    assert done == {**created, "state": "completed", "output": done["output"]}
    [output] = done["output"]
    assert output == {
        "type": "video",
        "url": f"{_outputs(http)}/{created['id']}.mp4",
    }
    response = httpx.get(output["url"])
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    summary = mp4_summary(response.content)
    assert summary["frames"] == seconds * FPS and summary["seconds"] == seconds
    assert summary["size"] == frame_size(aspect_ratio)
    assert httpx.get(output["url"]).content == response.content  # the same file each time


def test_a_layering_generation_completes_with_an_image_per_layer(
    http: httpx.Client, clock: server.MockClock
) -> None:
    created = _create(http, {"type": "layering", "source": URL, "layering": {"resolution": "2k"}})
    clock.advance(11)
    done = _get(http, created["id"])
    outputs = done["output"]
    assert len(outputs) >= 2
    layers = [output["layer"] for output in outputs]
    assert [layer["index"] for layer in layers] == list(range(len(outputs)))
    assert all(
        set(layer) == {"index", "label", "description", "alpha_hint"}
        and all(isinstance(layer[k], str) and layer[k] for k in ("label", "description"))
        for layer in layers
    )
    assert [layer["alpha_hint"] for layer in layers][-1] == "none"  # the background is last
    # The exported response schema (and the OpenAPI document built from it) says so: a Layer
    # with exactly these members, valid as given.
    from jsonschema import Draft202012Validator

    schema = generation_schema()
    assert set(schema["$defs"]["Layer"]["required"]) == set(layers[0])
    assert "layer" in schema["$defs"]["GenerationOutput"]["properties"]
    Draft202012Validator(schema).validate(done)
    assert {layer["alpha_hint"] for layer in layers} <= {"soft", "hard", "none"}
    for output in outputs:
        assert output["type"] == "image"
        assert output["url"] == f"{_outputs(http)}/{created['id']}-{output['layer']['index']}.png"
        image = httpx.get(output["url"])
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        opaque = output["layer"]["alpha_hint"] == "none"
        assert png_size(image.content, alpha=not opaque) == (64, 64)
    # The models read it (the layer included).
    generation = luma_schema.Generation.model_validate(done)
    assert [o.layer.index for o in generation.output if o.layer] == list(range(len(outputs)))


def test_outputs_are_named_for_their_kind(http: httpx.Client, clock: server.MockClock) -> None:
    video = _create(http, VIDEO)["id"]
    layers = _create(http, {"type": "layering", "source": URL})["id"]
    image = _create(http, {"prompt": "x"})["id"]
    clock.advance(11)
    for name in (
        f"{video}.png",
        f"{video}-0.mp4",
        f"{layers}.png",
        f"{layers}-9.png",
        f"{layers}-0.mp4",
        f"{image}-0.png",
        f"{image}.mp4",
    ):
        response = http.get(f"/mock/outputs/{name}")
        assert (response.status_code, response.json()) == NOT_FOUND, name


@pytest.mark.parametrize(
    ("payload", "headers"),
    [
        (VIDEO, {"X-Mock-Fail": "corrupt_input"}),
        ({"type": "layering", "source": URL, "prompt": "[mock-fail:corrupt_input]"}, {}),
    ],
)
def test_failure_injection_ends_a_video_or_layering_generation_failed(
    http: httpx.Client, clock: server.MockClock, payload: dict[str, Any], headers: dict[str, str]
) -> None:
    created = _create(http, payload, **headers)
    clock.advance(11)
    failed = _get(http, created["id"])
    assert (failed["state"], failed["failure_code"], failed["output"]) == (
        "failed",
        "corrupt_input",
        [],
    )


@pytest.mark.parametrize("code", catalog.FAILURE_CODES)
def test_x_mock_fail_ends_failed_with_that_code(
    http: httpx.Client, clock: server.MockClock, code: str
) -> None:
    created = _create(http, {"prompt": "x"}, **{"X-Mock-Fail": code})
    clock.advance(11)
    failed = _get(http, created["id"])
    assert (failed["state"], failed["failure_code"], failed["output"]) == ("failed", code, [])
    assert failed["failure_reason"] == catalog.MOCK_FAILURE_REASON.format(code=code)


def test_a_prompt_marker_also_fails_the_generation(
    http: httpx.Client, clock: server.MockClock
) -> None:
    created = _create(http, {"prompt": "a cat [mock-fail:rate_limited] on a mat"})
    clock.advance(11)
    assert _get(http, created["id"])["failure_code"] == "rate_limited"
    plain = _create(http, {"prompt": "a cat [mock-fail:no_such_code]"})
    clock.advance(11)
    assert _get(http, plain["id"])["state"] == "completed"


def test_an_unknown_x_mock_fail_code_is_a_400(http: httpx.Client) -> None:
    response = http.post("/v1/generations", json={"prompt": "x"}, headers={"X-Mock-Fail": "oops"})
    assert (response.status_code, response.json()["detail"]) == (
        400,
        "X-Mock-Fail: must be one of content_moderated, generation_failed, budget_exhausted, "
        "output_not_found, image_too_large, unsupported_format, corrupt_input, "
        "invalid_request, rate_limited",
    )


@pytest.mark.parametrize(
    "generation_id",
    ["00000000-0000-4000-8000-000000000000", "not-a-uuid", "%00", "x" * 300, "..%2F..%2Fetc"],
)
def test_unknown_or_malformed_ids_are_404(http: httpx.Client, generation_id: str) -> None:
    response = http.get(f"/v1/generations/{generation_id}")
    assert (response.status_code, response.json()) == NOT_FOUND


def test_outputs_of_unknown_or_unfinished_generations_are_404(http: httpx.Client) -> None:
    created = _create(http, {"prompt": "x", "output_format": "jpeg"})
    for name in (f"{created['id']}.jpeg", f"{created['id']}.png", "nope.png"):
        response = http.get(f"/mock/outputs/{name}")
        assert (response.status_code, response.json()) == NOT_FOUND


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        b"",
        b"Bearer",
        b"Basic luma-api-abc",
        b"luma-api-abc",
        b"Bearer\tluma-api-abc",
        b"Token luma-api-abc",
        b"Bearer \xe9t\xe9",
    ],
)
def test_a_missing_empty_or_malformed_authorization_is_401(
    base: str, authorization: bytes | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    with httpx.Client(base_url=base, headers=headers) as client:
        for response in (
            client.post("/v1/generations", json={"prompt": "x"}),
            client.post("/v1/generations", content=b"not json"),
            client.get("/v1/generations/00000000-0000-4000-8000-000000000000"),
        ):
            assert (response.status_code, response.json()) == UNAUTHORIZED


@pytest.mark.parametrize(
    "token", ["luma-api-abc", "sk-123", "My Auth Token", "x", "Bearer", "a  b", "luma-api-"]
)
def test_by_default_any_non_empty_bearer_token_is_accepted(base: str, token: str) -> None:
    # As the mock servers of generated client test suites: the official SDK's own tests send
    # "My Auth Token".  The scheme is case-insensitive; spaces may separate it from the token.
    for scheme in ("Bearer ", "bearer ", "BEARER  "):
        with httpx.Client(base_url=base, headers={"Authorization": scheme + token}) as client:
            created = client.post("/v1/generations", json={"prompt": "x"})
            refused = client.post("/v1/generations", json={"prompt": ""})
            unknown = client.get("/v1/generations/00000000-0000-4000-8000-000000000000")
        assert created.status_code == 201
        assert (refused.status_code, refused.json()) == expected({"prompt": ""})
        assert unknown.status_code == catalog.NOT_FOUND_STATUS


def test_with_an_api_key_only_that_key_is_accepted() -> None:
    key = "luma-api-secret"
    with server.MockServer(api_key=key, seed=1) as mock:
        assert mock.api_key == key
        for token, status in [
            (key, 201),
            ("luma-api-secreT", 401),
            ("luma-api-secret2", 401),
            ("luma-api-secre", 401),
            ("My Auth Token", 401),
        ]:
            with httpx.Client(base_url=mock.url, headers={"Authorization": f"Bearer {token}"}) as c:
                created = c.post("/v1/generations", json={"prompt": "x"})
                polled = c.get("/v1/generations/00000000-0000-4000-8000-000000000000")
            assert created.status_code == status, token
            assert polled.status_code == (404 if status == 201 else 401), token
            if status == 401:
                assert (created.status_code, created.json()) == UNAUTHORIZED


@pytest.mark.parametrize("key", ["", " luma-api-x", "luma-api-x ", "luma\napi", "clé"])
def test_a_key_the_authorization_header_cannot_carry_is_refused_at_once(key: str) -> None:
    with pytest.raises(ValueError, match="api_key"):
        server.create_app(api_key=key)


def test_every_response_carries_a_request_id_and_the_api_version(
    http: httpx.Client, base: str
) -> None:
    responses = [
        http.post("/v1/generations", json={"prompt": "x"}),
        http.post("/v1/generations", json={}),
        http.get("/v1/generations/nope"),
        http.get("/nowhere"),
        http.delete("/v1/generations"),
        http.get("/openapi.json"),
        httpx.post(f"{base}/v1/generations", json={"prompt": "x"}),
    ]
    assert [r.status_code for r in responses] == [201, 400, 404, 404, 405, 200, 401]
    ids = [r.headers["x-request-id"] for r in responses]
    assert all(UUID.match(i) for i in ids) and len(set(ids)) == len(ids)
    assert {r.headers["x-api-version"] for r in responses} == {catalog.API_VERSION}


@pytest.mark.parametrize("sent", ["abc-123", "req_01HZ/x:y=z", "r" * 128])
def test_a_client_request_id_is_echoed(http: httpx.Client, sent: str) -> None:
    for response in (
        http.post("/v1/generations", json={"prompt": "x"}, headers={"X-Request-Id": sent}),
        http.post("/v1/generations", json={}, headers={"X-Request-Id": sent}),
    ):
        assert response.headers["x-request-id"] == sent
        assert response.headers.get_list("x-request-id") == [sent]


@pytest.mark.parametrize("sent", ["r" * 129, "has space", "tab\there", "é"])
def test_an_unfit_request_id_is_replaced(http: httpx.Client, sent: str) -> None:
    response = http.get("/v1/generations/x", headers={"X-Request-Id": sent.encode("utf-8")})
    assert UUID.match(response.headers["x-request-id"])


def test_urls_in_answers_come_from_the_listening_socket_not_the_host_header(
    http: httpx.Client, mock: server.MockServer, clock: server.MockClock
) -> None:
    created = _create(http, {"prompt": "x"}, Host="evil.example:666")
    clock.advance(11)
    done = http.get(f"/v1/generations/{created['id']}", headers={"Host": "evil.example"}).json()
    assert done["output"][0]["url"] == f"{mock.url}/mock/outputs/{created['id']}.png"
    for host in ("evil.example", "127.0.0.1:1", "[::1]:2"):
        document = http.get("/openapi.json", headers={"Host": host}).json()
        assert document["servers"][0]["url"] == mock.url
        assert "evil" not in json.dumps(document)


def test_a_given_base_url_is_used_as_it_is() -> None:
    app = server.create_app(seed=1, base_url="https://mock.test/api/")
    created = _asgi(app, "POST", "/v1/generations", b'{"prompt": "x"}').json()
    done = _asgi(app, "GET", f"/v1/generations/{created['id']}", b"").json()
    assert done["output"][0]["url"] == f"https://mock.test/api/mock/outputs/{created['id']}.png"
    document = _asgi(app, "GET", "/openapi.json", b"").json()
    assert document["servers"][0]["url"] == "https://mock.test/api"


def test_a_declared_oversized_body_is_413_before_it_is_sent_and_the_connection_closes(
    base: str,
) -> None:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(
            b"POST /v1/generations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer luma-api-x\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (server.MAX_BODY_BYTES + 1)
        )
        # Nothing of the body is sent: the answer comes from the header alone.
        status, headers, body = read_response(conn)
        assert (status, json.loads(body)) == (413, {"detail": BODY_TOO_LARGE})
        assert headers["connection"] == "close" and conn.recv(1) == b""
        assert headers["x-api-version"] == catalog.API_VERSION
        assert UUID.match(headers["x-request-id"])


def test_the_body_cap_holds_nine_images_at_the_limit_in_base64() -> None:
    # 9 images (8 references + source, or 9 references), each 4*ceil(52,428,800/3) characters,
    # plus 1 MiB for the rest of the JSON text.
    assert server.MAX_BODY_BYTES == 9 * 69_905_068 + 1_048_576 == 630_194_188


@pytest.fixture(scope="module")
def small_cap() -> Iterator[str]:
    with running(server.create_app(seed=1, max_body_bytes=1000)) as url:
        yield url


def test_a_streamed_body_past_the_cap_is_413(small_cap: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"prompt": "'
        for _ in range(40):
            yield b"x" * 100
        yield b'"}'

    with httpx.Client(base_url=small_cap, headers=AUTH) as client:
        streamed = client.post("/v1/generations", content=chunks())
        assert "content-length" not in streamed.request.headers
        declared = client.post("/v1/generations", json={"prompt": "x" * 2000})
        fits = client.post("/v1/generations", json={"prompt": "x" * 900})
    for response in (streamed, declared):
        assert (response.status_code, response.json()) == (
            413,
            {"detail": BODY_TOO_LARGE},
        )
    assert fits.status_code == 201


def test_fetch_mode_gives_the_same_static_answers() -> None:
    with (
        running(server.create_app(fetch=True, seed=2)) as url,
        httpx.Client(base_url=url, headers=AUTH) as client,
    ):
        # No URL image here: with the fetch extra, example.com would really be fetched.
        inline = {
            "type": "image_edit",
            "prompt": "x",
            "source": {"data": PNG_1PX, "media_type": "image/png"},
        }
        assert _create(client, inline)["state"] == "queued"
        for _, payload in RULE_CASES:
            response = client.post("/v1/generations", content=content(payload))
            assert (response.status_code, response.json()) == expected(payload)


def test_a_client_that_leaves_mid_body_does_not_stop_the_server(base: str) -> None:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(
            b"POST /v1/generations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer luma-api-x\r\n"
            b'Content-Length: 1000\r\n\r\n{"prompt": "'
        )
    response = httpx.post(f"{base}/v1/generations", json={"prompt": "x"}, headers=AUTH)
    assert response.status_code == 201


def test_deterministic_mode_repeats_ids_and_completes_at_once() -> None:
    runs = []
    for _ in range(2):
        with (
            running(server.create_app(seed=42)) as url,
            httpx.Client(base_url=url, headers=AUTH) as client,
        ):
            created = [_create(client, {"prompt": f"p{i}"}) for i in range(3)]
            assert all(_get(client, g["id"])["state"] == "completed" for g in created)
            runs.append([(g["id"], g["created_at"]) for g in created])
    assert runs[0] == runs[1]
    assert [t for _, t in runs[0]] == [
        "2026-04-01T00:00:00Z",
        "2026-04-01T00:00:01Z",
        "2026-04-01T00:00:02Z",
    ]
    assert all(UUID.match(i) for i, _ in runs[0]) and len({i for i, _ in runs[0]}) == 3


def test_old_generations_are_forgotten_past_max_generations() -> None:
    with (
        running(server.create_app(seed=3, max_generations=2)) as url,
        httpx.Client(base_url=url, headers=AUTH) as client,
    ):
        ids = [_create(client, {"prompt": "x"})["id"] for _ in range(3)]
        assert client.get(f"/v1/generations/{ids[0]}").status_code == 404
        assert [_get(client, i)["state"] for i in ids[1:]] == ["completed", "completed"]


# ---------------------------------------------------------------- the helpers in another app


class Other(BaseModel):
    n: int


async def _strict(request: Request) -> Response:
    generation = await server.validated_request(request)
    return JSONResponse(generation.to_payload(), status_code=201)


async def _lenient(request: Request) -> Response:
    report = await server.check_request(request, max_bytes=7000)
    if not report.ok:
        return server.error_response(report)
    return JSONResponse(report.request)


async def _pydantic(request: Request) -> Response:
    luma_schema.GenerationRequest.model_validate(json.loads(await request.body()))
    return Response(status_code=204)


async def _request_id(request: Request) -> Response:
    return JSONResponse({"id": request.state.request_id})


async def _other_model(request: Request) -> Response:
    Other.model_validate({"n": "x"})
    return Response(status_code=204)


@pytest.fixture(scope="module")
def helpers() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/strict", _strict, methods=["POST"]),
            Route("/lenient", _lenient, methods=["POST"]),
            Route("/pydantic", _pydantic, methods=["POST"]),
            Route("/other", _other_model, methods=["POST"]),
            Route("/id", _request_id),
        ]
    )
    server.install(app)
    with running(app) as url:
        yield url


@pytest.mark.parametrize("route", ["/strict", "/lenient", "/pydantic"])
def test_the_helpers_give_the_documented_answer(helpers: str, route: str) -> None:
    with httpx.Client(base_url=helpers) as client:
        for _, payload in RULE_CASES:
            if route == "/pydantic" and isinstance(payload, bytes):
                continue  # that route parses with json.loads: only JSON it can read
            response = client.post(route, content=content(payload))
            assert (response.status_code, response.json()) == expected(payload)
            assert response.headers["x-api-version"] == catalog.API_VERSION
            assert UUID.match(response.headers["x-request-id"])


def test_the_helpers_give_the_normalised_request(helpers: str) -> None:
    sent = {"prompt": "x", "image_ref": [URL], "extra": 1}
    normalised = {
        "type": "image",
        "prompt": "x",
        "model": "uni-1",
        "aspect_ratio": None,
        "style": "auto",
        "output_format": None,
        "web_search": False,
        "user_id": None,
        "source": None,
        "image_ref": [{"url": URL["url"], "data": None, "media_type": None}],
    }
    strict = httpx.post(f"{helpers}/strict", json=sent)
    lenient = httpx.post(f"{helpers}/lenient", json=sent)
    assert (strict.status_code, strict.json()) == (201, normalised)
    assert (lenient.status_code, lenient.json()) == (200, normalised)
    too_big = httpx.post(f"{helpers}/lenient", json={"prompt": "x" * 7000})
    assert (too_big.status_code, too_big.json()) == (
        413,
        {"detail": BODY_TOO_LARGE},
    )


def test_the_request_id_is_in_the_request_state(helpers: str) -> None:
    echoed = httpx.get(f"{helpers}/id", headers={"X-Request-Id": "trace-7"})
    fresh = httpx.get(f"{helpers}/id")
    assert echoed.json() == {"id": "trace-7"} and echoed.headers["x-request-id"] == "trace-7"
    assert fresh.json() == {"id": fresh.headers["x-request-id"]}
    assert UUID.match(fresh.headers["x-request-id"])


def test_another_models_validation_error_is_a_plain_500(helpers: str) -> None:
    response = httpx.post(f"{helpers}/other", json={})
    assert (response.status_code, response.json()) == INTERNAL_ERROR


def test_an_echo_with_a_lone_surrogate_is_still_json(http: httpx.Client) -> None:
    body = b'{"prompt": "x", "model": "\\ud800"}'
    response = http.post("/v1/generations", content=body)
    assert (response.status_code, response.json()) == expected(body)
    assert response.json()["detail"].endswith("\ud800")


# ---------------------------------------------------------------- luma-schema serve


@contextmanager
def _serve(*args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``luma-schema serve`` in its own process on a free port; yields its URL once it answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "luma_schema", "serve", "--port", str(port), *args]
    environ = {k: v for k, v in os.environ.items() if k != API_KEY_ENV} | (env or {})
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environ
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/openapi.json")
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(30)


def test_luma_schema_serve_runs_the_mock() -> None:
    with _serve("--seed", "5") as url:
        response = httpx.post(f"{url}/v1/generations", json={"prompt": "x"}, headers=AUTH)
        generation = response.json()
        assert (response.status_code, generation["state"]) == (201, "queued")
        done = httpx.get(f"{url}/v1/generations/{generation['id']}", headers=AUTH)
        assert done.json()["state"] == "completed"
        assert done.json()["output"][0]["url"].startswith(f"{url}/mock/outputs/")


def test_serve_takes_its_key_from_api_key_or_the_environment() -> None:
    def status(url: str, token: str) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.post(
            f"{url}/v1/generations", json={"prompt": "x"}, headers=headers
        ).status_code

    with _serve("--api-key", "luma-api-flag", env={API_KEY_ENV: "luma-api-env"}) as url:
        assert [status(url, t) for t in ("luma-api-flag", "luma-api-env")] == [201, 401]
    with _serve(env={API_KEY_ENV: "luma-api-env"}) as url:
        assert [status(url, t) for t in ("luma-api-env", "My Auth Token")] == [201, 401]


def test_serve_gives_urls_in_answers_under_its_base_url() -> None:
    with _serve("--seed", "1", "--base-url", "https://mock.test/api/") as url:
        created = httpx.post(f"{url}/v1/generations", json={"prompt": "x"}, headers=AUTH).json()
        done = httpx.get(f"{url}/v1/generations/{created['id']}", headers=AUTH).json()
        document = httpx.get(f"{url}/openapi.json").json()
    assert done["output"][0]["url"] == f"https://mock.test/api/mock/outputs/{created['id']}.png"
    assert document["servers"][0]["url"] == "https://mock.test/api"


@pytest.mark.parametrize(
    "base_url",
    [
        "mock.test/api",
        "ftp://mock.test",
        "https://",
        "https://mock.test/?q=1",
        "https://mock.test/#f",
        "https://mock.test:port/",
        "https://mock test/",
        "https://mock.test/\n",
    ],
)
def test_a_base_url_that_is_no_absolute_http_url_is_refused(base_url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        server.create_app(base_url=base_url)


def test_serve_refuses_a_base_url_that_is_no_absolute_http_url() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "luma_schema", "serve", "--base-url", "mock.test:8000"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "base_url must be an absolute" in result.stderr


def test_serve_refuses_a_key_the_header_cannot_carry() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "luma_schema", "serve", "--api-key", " spaced "],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "api_key" in result.stderr


def test_serve_refuses_a_negative_delay() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "luma_schema", "serve", "--delay", "-1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "invalid delay" in result.stderr


def test_a_new_generation_is_written_as_the_generic_serialiser_writes_it() -> None:
    mock = mock_module._Mock(
        fetch=False,
        delay=0.0,
        seed=3,
        clock=lambda: 0.0,
        max_body_bytes=1,
        max_generations=1,
        api_key=None,
        base_url=None,
        max_inflight_bytes=None,
    )
    for type_ in luma_schema.catalog.TYPES:
        for model in luma_schema.catalog.MODELS:
            job = mock_module._Job(
                mock.new_id(), type_, model, mock.created_at(), 0.0, "png", None, None
            )
            expected = asgi._json_bytes(mock.generation(job, "queued", ""))
            assert mock_module._queued_json(job) == expected
            assert json.loads(expected)["state"] == "queued"


def test_request_field_reads_the_normalised_request() -> None:
    from luma_schema.engine import check, request_field

    for body in (
        {"prompt": "a cat"},
        {"prompt": "a cat", "model": "uni-1-max", "output_format": "jpeg", "web_search": True},
        {"type": "image_edit", "prompt": "x", "source": URL, "aspect_ratio": "1:1"},  # warned
        {"prompt": "a cat", "image_ref": [{"data": PNG_1PX, "media_type": "image/png"}]},
    ):
        report = check(body)
        assert report.ok
        for name in ("type", "prompt", "model", "aspect_ratio", "style", "output_format"):
            assert request_field(report, name) == report.request[name], (body, name)  # type: ignore[index]
        assert request_field(report, "web_search") == report.request["web_search"]  # type: ignore[index]
    with pytest.raises(ValueError):
        request_field(check({"prompt": ""}), "prompt")


def _asgi(
    app: Any, method: str, path: str, body: bytes, headers: dict[str, str] | None = None
) -> Any:
    """One request to ``app`` in process (``httpx.ASGITransport``), with a key."""

    async def go() -> Any:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            headers_ = {**AUTH, **(headers or {})}
            return await client.request(method, path, content=body, headers=headers_)

    return asyncio.run(go())


def _asgi_post(app: Any, path: str, body: bytes, headers: dict[str, str] | None = None) -> Any:
    return _asgi(app, "POST", path, body, headers)


def test_the_direct_post_answers_as_the_routed_endpoint() -> None:
    # At the root, POST /v1/generations skips routing; mounted, the routed endpoint answers.
    from starlette.routing import Mount

    bodies = [p.read_bytes() for p in sorted(EXAMPLES.glob("*/*.json"))]
    bodies += [b'{"prompt": "x [mock-fail:content_moderated]"}', b'{"prompt": "\\ud800"}', b""]
    direct = server.create_app(seed=7)
    mounted = Starlette(routes=[Mount("/api", app=server.create_app(seed=7))])
    for body in bodies:
        for headers in ({}, {"X-Mock-Fail": "nope"}, {"Authorization": "Basic nope"}):
            a = _asgi_post(direct, "/v1/generations", body, headers)
            b = _asgi_post(mounted, "/api/v1/generations", body, headers)
            assert (a.status_code, a.content) == (b.status_code, b.content), body
            assert a.headers["x-api-version"] == catalog.API_VERSION
            assert UUID.match(a.headers["x-request-id"])
            assert a.headers["content-type"] == "application/json"
    echoed = _asgi_post(direct, "/v1/generations", bodies[0], {"X-Request-Id": "trace-1"})
    assert echoed.headers["x-request-id"] == "trace-1"


def test_a_failure_in_the_direct_post_is_a_500_with_the_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = server.create_app(seed=1)

    async def broken(*args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(app.mock, "answer", broken)  # type: ignore[attr-defined]
    response = _asgi_post(app, "/v1/generations", b'{"prompt": "a cat"}')
    assert (response.status_code, response.json()) == INTERNAL_ERROR
    assert response.headers["x-api-version"] == catalog.API_VERSION
    assert UUID.match(response.headers["x-request-id"])


def test_the_public_names_resolve() -> None:
    assert server.__all__ == sorted(server.__all__, key=lambda n: (not n.isupper(), n))
    for name in server.__all__:
        assert getattr(server, name) is not None, name
    assert issubclass(server.RawBodyRoute, __import__("fastapi").routing.APIRoute)
    with pytest.raises(AttributeError):
        server.no_such_name  # noqa: B018
