"""The mock API and the ASGI helpers, over real HTTP on loopback (uvicorn in a thread, httpx)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from server_support import AUTH, jpeg_size, png_size, running
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import luma_schema
from luma_schema import server
from luma_schema.server import asgi
from luma_schema.server import mock as mock_module

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
PNG_1PX = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgAAACAAAB4iG8MwAAAABJRU5ErkJggg=="
)
URL = {"url": "https://example.com/a.png"}


class Clock:
    """A clock the test moves by hand, so that states change without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def base(clock: Clock) -> Iterator[str]:
    with running(server.create_app(delay=10.0, clock=clock)) as url:
        yield url


@pytest.fixture(scope="module")
def http(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, headers=AUTH, timeout=60) as client:
        yield client


# One request per row of SPEC section 2 that needs no network, with the documented answer.
ROWS: list[tuple[str, Any, int, str]] = [
    ("body_not_object", b"[]", 400, "request body must be a JSON object"),
    ("body_not_object", b'{"prompt": "unterminated', 400, "request body must be a JSON object"),
    ("body_not_object", b'{"prompt":"a","prompt":"b"}', 400, "request body must be a JSON object"),
    ("body_not_object", b"", 400, "request body must be a JSON object"),
    ("wrong_type", {"prompt": 5}, 400, "prompt must be a string"),
    ("wrong_type", {"prompt": "x", "image_ref": [None]}, 400, "image_ref[0] must be an object"),
    ("model_unknown", {"prompt": "x", "model": "uni-2"}, 400, "Unknown model: uni-2"),
    (
        "type_unsupported",
        {"prompt": "x", "type": "video"},
        400,
        "Type 'video' is not supported for model 'uni-1'",
    ),
    ("prompt_missing", {}, 400, "prompt is required"),
    ("prompt_length", {"prompt": ""}, 400, "Prompt must be between 1 and 6000 characters"),
    ("prompt_length", {"prompt": "x" * 6001}, 400, "Prompt must be between 1 and 6000 characters"),
    (
        "aspect_ratio_invalid",
        {"prompt": "x", "aspect_ratio": "4:3"},
        400,
        "Invalid aspect_ratio '4:3'. Valid: 1:1, 1:2, 1:3, 16:9, 2:1, 2:3, 3:1, 3:2, 9:16",
    ),
    (
        "style_invalid",
        {"prompt": "x", "style": "anime"},
        400,
        "Invalid style 'anime'. Valid: auto, manga",
    ),
    (
        "output_format_invalid",
        {"prompt": "x", "output_format": "webp"},
        400,
        "Invalid output_format 'webp'. Valid: jpeg, png",
    ),
    (
        "user_id_length",
        {"prompt": "x", "user_id": "u" * 257},
        400,
        "user_id must be at most 256 characters",
    ),
    (
        "source_required",
        {"type": "image_edit", "prompt": "x"},
        400,
        "source is required for type 'image_edit'",
    ),
    (
        "source_forbidden",
        {"prompt": "x", "source": URL},
        400,
        "source is only valid for type 'image_edit'",
    ),
    (
        "image_ref_edit_max",
        {"type": "image_edit", "prompt": "x", "source": URL, "image_ref": [URL] * 9},
        400,
        "image_edit supports up to 8 reference images (source occupies one slot)",
    ),
    (
        "image_ref_max",
        {"prompt": "x", "image_ref": [URL] * 10},
        400,
        "image supports up to 9 reference images",
    ),
    (
        "url_and_data",
        {
            "type": "image_edit",
            "prompt": "x",
            "source": {**URL, "data": PNG_1PX, "media_type": "image/png"},
        },
        400,
        "source: provide either 'url' or 'data', not both",
    ),
    (
        "url_or_data",
        {"prompt": "x", "image_ref": [{}]},
        400,
        "image_ref[0]: provide either 'url' or 'data', not neither",
    ),
    (
        "media_type_required",
        {"type": "image_edit", "prompt": "x", "source": {"data": PNG_1PX}},
        400,
        "source: 'media_type' is required with 'data'",
    ),
    (
        "manga_portrait",
        {"prompt": "x", "style": "manga", "aspect_ratio": "16:9"},
        422,
        "style 'manga' requires a portrait aspect_ratio (one of 2:3, 9:16, 1:2, 1:3)",
    ),
    (
        "base64_invalid",
        {
            "type": "image_edit",
            "prompt": "x",
            "source": {"data": "iVBORw0KGgoAAAANSUhEUgAAAAUA...", "media_type": "image/png"},
        },
        422,
        "source: invalid base64 data",
    ),
    (
        "not_an_image",
        {"prompt": "x", "image_ref": [{**URL, "media_type": "text/plain"}]},
        422,
        "image_ref[0]: content-type is not an image",
    ),
    (
        "url_not_fetchable",
        {"type": "image_edit", "prompt": "x", "source": {"url": "https://127.0.0.1/a.png"}},
        422,
        "source: failed to fetch URL",
    ),
    (
        "url_not_fetchable",
        {"prompt": "x", "image_ref": [URL, {"url": "http://example.com/a.png"}]},
        422,
        "image_ref[1]: failed to fetch URL",
    ),
]


def _content(payload: Any) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


@pytest.mark.parametrize(("rule", "payload", "status", "detail"), ROWS)
def test_every_row_gets_its_status_and_exact_detail(
    http: httpx.Client, rule: str, payload: Any, status: int, detail: str
) -> None:
    response = http.post("/v1/generations", content=_content(payload))
    assert (response.status_code, response.json()) == (status, {"detail": detail})
    assert response.headers["content-type"] == "application/json"
    assert luma_schema.check(_content(payload)).errors[0].rule == rule


def test_an_image_over_50_mb_is_413_with_its_path(http: httpx.Client) -> None:
    # 17,476,267 groups of four base64 characters decode to 52,428,801 bytes: one too many.
    big = {
        "type": "image_edit",
        "prompt": "x",
        "source": {"data": "AAAA" * 17_476_267, "media_type": "image/png"},
    }
    response = http.post("/v1/generations", content=_content(big))
    assert (response.status_code, response.json()) == (
        413,
        {"detail": "source: image exceeds 50 MB limit"},
    )


def test_the_documented_examples_get_the_cli_verdict(http: httpx.Client) -> None:
    for path in sorted(EXAMPLES.glob("*/*.json")):
        body = path.read_bytes()
        response = http.post("/v1/generations", content=body)
        expected = luma_schema.check(body)
        assert response.status_code == expected.status, path
        if path.parent.name == "valid":
            assert response.status_code == 201
        else:
            assert response.json() == {"detail": expected.detail}, path


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
    clock: Clock,
    extra: dict[str, str],
    media_type: str,
    size: tuple[int, int],
) -> None:
    created = _create(http, {"prompt": "a lighthouse", **extra})
    assert _get(http, created["id"])["state"] == "queued"
    clock.now += 6
    assert _get(http, created["id"])["state"] == "processing"
    clock.now += 6
    done = _get(http, created["id"])
    assert done == {**created, "state": "completed", "output": done["output"]}
    [output] = done["output"]
    assert output["type"] == "image" and output["url"].startswith(str(http.base_url))
    image = httpx.get(output["url"])  # presigned-like: no Authorization needed
    assert image.status_code == 200 and image.headers["content-type"] == media_type
    measure = png_size if media_type == "image/png" else jpeg_size
    assert measure(image.content) == size


FAILURE_CODES = [
    "content_moderated",
    "generation_failed",
    "budget_exhausted",
    "output_not_found",
    "image_too_large",
    "unsupported_format",
    "corrupt_input",
    "invalid_request",
    "rate_limited",
]


@pytest.mark.parametrize("code", FAILURE_CODES)
def test_x_mock_fail_ends_failed_with_that_code(
    http: httpx.Client, clock: Clock, code: str
) -> None:
    created = _create(http, {"prompt": "x"}, **{"X-Mock-Fail": code})
    clock.now += 11
    failed = _get(http, created["id"])
    assert (failed["state"], failed["failure_code"], failed["output"]) == ("failed", code, [])
    assert failed["failure_reason"] == f"Mock failure requested: {code}"


def test_a_prompt_marker_also_fails_the_generation(http: httpx.Client, clock: Clock) -> None:
    created = _create(http, {"prompt": "a cat [mock-fail:rate_limited] on a mat"})
    clock.now += 11
    assert _get(http, created["id"])["failure_code"] == "rate_limited"
    plain = _create(http, {"prompt": "a cat [mock-fail:no_such_code]"})
    clock.now += 11
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
    assert (response.status_code, response.json()) == (404, {"detail": "Generation not found"})


def test_outputs_of_unknown_or_unfinished_generations_are_404(
    http: httpx.Client, clock: Clock
) -> None:
    created = _create(http, {"prompt": "x", "output_format": "jpeg"})
    for name in (f"{created['id']}.jpeg", f"{created['id']}.png", "nope.png"):
        response = http.get(f"/mock/outputs/{name}")
        assert (response.status_code, response.json()) == (404, {"detail": "Generation not found"})


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer luma-api-",
        "Bearer  luma-api-abc",
        "Bearer sk-123",
        "Basic luma-api-abc",
        "Bearer luma-api-a b",
        "luma-api-abc",
    ],
)
def test_without_a_luma_api_key_every_api_call_is_401(base: str, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    with httpx.Client(base_url=base, headers=headers) as client:
        for response in (
            client.post("/v1/generations", json={"prompt": "x"}),
            client.post("/v1/generations", content=b"not json"),
            client.get("/v1/generations/00000000-0000-4000-8000-000000000000"),
        ):
            assert (response.status_code, response.json()) == (
                401,
                {"detail": "Missing or invalid API key"},
            )


def test_the_bearer_scheme_is_case_insensitive(base: str) -> None:
    headers = {"Authorization": "bearer luma-api-abc"}
    response = httpx.post(f"{base}/v1/generations", json={"prompt": "x"}, headers=headers)
    assert response.status_code == 201


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
    assert {r.headers["x-api-version"] for r in responses} == {"2026-04-01"}


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


def _raw(base: str, head: str, body: bytes = b"") -> tuple[int, dict[str, Any]]:
    """Send raw HTTP/1.1 bytes (so headers may lie) and read the status and JSON body."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(head.encode("latin-1") + b"\r\n" + body)
        received = b""
        while b"\r\n\r\n" not in received:
            received += conn.recv(65536)
        header, _, rest = received.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: (\d+)", header)[1])  # type: ignore[index]
        while len(rest) < length:
            rest += conn.recv(65536)
    return int(header.split(b" ")[1]), json.loads(rest)


def test_a_declared_oversized_body_is_413_before_it_is_sent(base: str) -> None:
    head = (
        "POST /v1/generations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer luma-api-x\r\n"
        f"Content-Type: application/json\r\nContent-Length: {630_194_189}\r\n"
    )
    # Nothing of the body is sent: the answer comes from the header alone.
    assert _raw(base, head) == (413, {"detail": "Image exceeds 50 MB size limit"})


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
            {"detail": "Image exceeds 50 MB size limit"},
        )
    assert fits.status_code == 201


def test_fetch_mode_checks_off_the_event_loop_with_the_same_static_answers() -> None:
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
        for _, payload, status, detail in ROWS:
            response = client.post("/v1/generations", content=_content(payload))
            assert (response.status_code, response.json()) == (status, {"detail": detail})


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
        for _, payload, status, detail in ROWS[4:]:
            response = client.post(route, content=_content(payload))
            assert (response.status_code, response.json()) == (status, {"detail": detail})
            assert response.headers["x-api-version"] == "2026-04-01"
            assert UUID.match(response.headers["x-request-id"])


def test_the_helpers_give_the_normalised_request(helpers: str) -> None:
    sent = {"prompt": "x", "image_ref": [URL], "extra": 1}
    expected = {
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
    assert (strict.status_code, strict.json()) == (201, expected)
    assert (lenient.status_code, lenient.json()) == (200, expected)
    too_big = httpx.post(f"{helpers}/lenient", json={"prompt": "x" * 7000})
    assert (too_big.status_code, too_big.json()) == (
        413,
        {"detail": "Image exceeds 50 MB size limit"},
    )


def test_the_request_id_is_in_the_request_state(helpers: str) -> None:
    echoed = httpx.get(f"{helpers}/id", headers={"X-Request-Id": "trace-7"})
    fresh = httpx.get(f"{helpers}/id")
    assert echoed.json() == {"id": "trace-7"} and echoed.headers["x-request-id"] == "trace-7"
    assert fresh.json() == {"id": fresh.headers["x-request-id"]}
    assert UUID.match(fresh.headers["x-request-id"])


def test_another_models_validation_error_is_a_plain_500(helpers: str) -> None:
    response = httpx.post(f"{helpers}/other", json={})
    assert (response.status_code, response.json()) == (500, {"detail": "Internal Server Error"})


def test_an_echo_with_a_lone_surrogate_is_still_json(http: httpx.Client) -> None:
    response = http.post("/v1/generations", content=b'{"prompt": "x", "model": "\\ud800"}')
    assert (response.status_code, response.json()) == (400, {"detail": "Unknown model: \ud800"})


# ---------------------------------------------------------------- luma-schema serve


def test_luma_schema_serve_runs_the_mock() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "luma_schema", "serve", "--port", str(port), "--seed", "5"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/v1/generations", json={"prompt": "x"}, headers=AUTH
                )
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        generation = response.json()
        assert (response.status_code, generation["state"]) == (201, "queued")
        done = httpx.get(f"http://127.0.0.1:{port}/v1/generations/{generation['id']}", headers=AUTH)
        assert done.json()["state"] == "completed"
    finally:
        process.terminate()
        process.wait(30)


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
        fetch=False, delay=0.0, seed=3, clock=lambda: 0.0, max_body_bytes=1, max_generations=1
    )
    for type_ in luma_schema.catalog.TYPES:
        for model in luma_schema.catalog.MODELS:
            job = mock_module._Job(mock.new_id(), type_, model, mock.created_at(), 0.0, "png", None, None)
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


def _asgi_post(app: Any, path: str, body: bytes, headers: dict[str, str] | None = None) -> Any:
    import asyncio

    async def go() -> Any:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            return await client.post(path, content=body, headers={**AUTH, **(headers or {})})

    return asyncio.run(go())


def test_the_direct_post_answers_as_the_routed_endpoint() -> None:
    # At the root, POST /v1/generations skips routing; mounted, the routed endpoint answers.
    from starlette.routing import Mount

    bodies = [p.read_bytes() for p in sorted(EXAMPLES.glob("*/*.json"))]
    bodies += [b'{"prompt": "x [mock-fail:content_moderated]"}', b'{"prompt": "\\ud800"}', b""]
    direct = server.create_app(seed=7)
    mounted = Starlette(routes=[Mount("/api", app=server.create_app(seed=7))])
    for body in bodies:
        for headers in ({}, {"X-Mock-Fail": "nope"}, {"Authorization": "Bearer nope"}):
            a = _asgi_post(direct, "/v1/generations", body, headers)
            b = _asgi_post(mounted, "/api/v1/generations", body, headers)
            assert (a.status_code, a.content) == (b.status_code, b.content), body
            assert a.headers["x-api-version"] == "2026-04-01"
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
    assert (response.status_code, response.json()) == (500, {"detail": "Internal Server Error"})
    assert response.headers["x-api-version"] == "2026-04-01"
    assert UUID.match(response.headers["x-request-id"])
