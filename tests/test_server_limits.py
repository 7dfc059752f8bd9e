"""The server's bounds: memory per request (one copy of the body, measured with tracemalloc in
process), the budget of bodies in flight (503), and the deadlines on connections (a real uvicorn
on loopback with short timeouts)."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from server_support import AUTH, closed_by_peer, read_response, running
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import luma_schema
from luma_schema import catalog, server
from luma_schema.engine import request_field
from luma_schema.server import body as body_module
from luma_schema.server import protocol

# A PNG signature, then zeros: base64 of 6 MiB per image, two images, a 16 MiB body.
_IMAGE = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(6 << 20)).decode()
_IMAGES = [{"data": _IMAGE, "media_type": "image/png"}] * 2
VALID = json.dumps({"prompt": "x", "image_ref": _IMAGES}).encode()
# Refused by a rule that needs the whole body read and every image checked.
REFUSED = json.dumps(
    {"prompt": "x", "image_ref": [*_IMAGES[:1], {"data": _IMAGE, "media_type": "text/plain"}]}
).encode()
CHUNK = 65536


async def _post(app: Any, body: bytes, declared: bool, path: str) -> tuple[int, float]:
    """POST ``body`` to ``app`` in 64 KiB messages, as uvicorn delivers it; (status, peak of
    memory allocated meanwhile, as a multiple of the body's size).  Each message is a new
    object, as a server's would be."""
    position = 0

    async def receive() -> dict[str, Any]:
        nonlocal position
        piece = bytes(memoryview(body)[position : position + CHUNK])
        position += CHUNK
        return {"type": "http.request", "body": piece, "more_body": position < len(body)}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"authorization", b"Bearer luma-api-x")]
    if declared:
        headers.append((b"content-length", b"%d" % len(body)))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 50000),
    }
    # Measured inside the running loop: asyncio.run's own set-up and tear-down stay out.
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        await app(scope, receive, send)
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    return sent[0]["status"], peak / len(body)


def _installed_app() -> Starlette:
    async def create(request: Request) -> Response:
        generation = await server.validated_request(request)
        return JSONResponse({"type": generation.type}, status_code=201)

    app = Starlette(routes=[Route(catalog.ENDPOINT, create, methods=["POST"])])
    server.install(app)
    return app


APPS = {"mock": lambda: server.create_app(seed=1), "install": _installed_app}


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
@pytest.mark.parametrize("kind", sorted(APPS))
def test_a_body_is_held_once_while_it_is_read_and_checked(kind: str, declared: bool) -> None:
    # A list of chunks joined at the end peaks at two copies (2.0 here before the change).
    status, peak = asyncio.run(_post(APPS[kind](), REFUSED, declared, catalog.ENDPOINT))
    assert status == luma_schema.check(REFUSED).status == 422
    assert peak < 1.25, peak


def test_an_accepted_body_costs_one_copy_more_than_the_engines_answer() -> None:
    # The mock reads five fields of an accepted request; what that costs is the engine's.
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        report = luma_schema.check(VALID)
        assert [request_field(report, f) for f in ("prompt", "type")] == ["x", "image"]
        engine = (tracemalloc.get_traced_memory()[1] - start) / len(VALID)
    finally:
        tracemalloc.stop()
    del report
    status, peak = asyncio.run(_post(APPS["mock"](), VALID, True, catalog.ENDPOINT))
    assert status == 201
    assert peak < engine + 1.15, (peak, engine)


# ---------------------------------------------------------------- bodies in flight


def _budget_app(kind: str, budget: int) -> Any:
    if kind == "mock":
        return server.create_app(seed=1, max_inflight_bytes=budget)
    app = Starlette(routes=[Route(catalog.ENDPOINT, _echo_type, methods=["POST"])])
    server.install(app, max_inflight_bytes=budget)
    return app


async def _echo_type(request: Request) -> Response:
    generation = await server.validated_request(request)
    return JSONResponse({"type": generation.type}, status_code=201)


def _head(port: int, length: int | None) -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST {catalog.ENDPOINT} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer luma-api-x\r\nX-Request-Id: held\r\n{framing}\r\n\r\n"
    ).encode()


def _body(size: int) -> bytes:
    """A valid request of exactly ``size`` bytes."""
    text = b'{"prompt": "' + b"x" * (size - 14) + b'"}'
    assert len(text) == size
    return text


@pytest.mark.parametrize("kind", ["mock", "install"])
def test_bodies_in_flight_share_a_budget_and_the_overflow_is_503(kind: str) -> None:
    with running(_budget_app(kind, 1000)) as url:
        port = int(url.rpartition(":")[2])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as held:
            # 800 bytes announced and half sent: they hold 800 of the 1000 until the answer.
            held.sendall(_head(port, 800) + _body(800)[:400])
            time.sleep(0.2)
            refused = httpx.post(
                f"{url}{catalog.ENDPOINT}",
                content=_body(300),
                headers={**AUTH, "X-Request-Id": "r"},
            )
            fits = httpx.post(f"{url}{catalog.ENDPOINT}", content=_body(150), headers=AUTH)
            held.sendall(_body(800)[400:])
            status, _, _ = read_response(held)
        after = httpx.post(f"{url}{catalog.ENDPOINT}", content=_body(900), headers=AUTH)
    assert (refused.status_code, refused.json()) == (
        body_module.BUSY_STATUS,
        {"detail": body_module.BUSY},
    )
    assert refused.headers["retry-after"] == body_module.BUSY_RETRY_AFTER
    assert refused.headers["connection"] == "close"
    assert refused.headers["x-request-id"] == "r"
    assert refused.headers["x-api-version"] == catalog.API_VERSION
    assert (fits.status_code, status, after.status_code) == (201, 201, 201)


def test_a_chunked_body_is_refused_when_it_outgrows_the_budget() -> None:
    with running(_budget_app("mock", 1000)) as url:
        port = int(url.rpartition(":")[2])
        with (
            socket.create_connection(("127.0.0.1", port), timeout=30) as held,
            socket.create_connection(("127.0.0.1", port), timeout=30) as grows,
        ):
            held.sendall(_head(port, 800) + b'{"prompt": "')
            time.sleep(0.2)
            grows.sendall(_head(port, None))
            # 5 x 100 bytes: past the 200 left, never past the body cap.  One write: the server
            # may answer and close as soon as the budget is passed, and a later write would
            # meet a closed connection.
            grows.sendall(b"".join(b"64\r\n" + b"x" * 100 + b"\r\n" for _ in range(5)))
            status, headers, body = read_response(grows)
    assert (status, json.loads(body)) == (body_module.BUSY_STATUS, {"detail": body_module.BUSY})
    assert headers["x-api-version"] == catalog.API_VERSION


# ---------------------------------------------------------------- deadlines on connections

TIMEOUT = 0.5


@pytest.fixture(scope="module")
def quick() -> Iterator[server.MockServer]:
    with server.MockServer(seed=1, head_timeout=TIMEOUT, body_timeout=TIMEOUT) as mock:
        yield mock


def _connect(mock: server.MockServer) -> socket.socket:
    host, port = mock.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def _trickle(conn: socket.socket, data: bytes, every: float, stop: threading.Event) -> None:
    for byte in data:
        if stop.wait(every):
            return
        try:
            conn.sendall(bytes([byte]))
        except OSError:
            return


def _timed_answer(conn: socket.socket, data: bytes) -> tuple[float, int, dict[str, str], bytes]:
    """Trickle ``data`` one byte per 50 ms until the server answers; (seconds, answer)."""
    stop = threading.Event()
    sender = threading.Thread(target=_trickle, args=(conn, data, 0.05, stop), daemon=True)
    start = time.monotonic()
    sender.start()
    try:
        status, headers, body = read_response(conn)
        return time.monotonic() - start, status, headers, body
    finally:
        stop.set()
        sender.join()


def test_a_head_trickled_past_the_deadline_is_408_and_the_connection_closes(
    quick: server.MockServer,
) -> None:
    with _connect(quick) as conn:
        head = b"POST /v1/generations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\n" * 9
        seconds, status, headers, body = _timed_answer(conn, head)
        assert (status, json.loads(body)) == (
            408,
            {"detail": protocol.HEAD_LATE.format(seconds=TIMEOUT)},
        )
        assert headers["connection"] == "close"
        assert headers["x-api-version"] == catalog.API_VERSION and headers["x-request-id"]
        assert TIMEOUT <= seconds < TIMEOUT + 2
        assert closed_by_peer(conn, within=2)


def test_a_body_trickled_past_the_deadline_is_408_with_the_request_id(
    quick: server.MockServer,
) -> None:
    with _connect(quick) as conn:
        conn.sendall(
            b"POST /v1/generations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\n"
            b"X-Request-Id: slow-1\r\nContent-Length: 1000\r\n\r\n"
        )
        seconds, status, headers, body = _timed_answer(conn, _body(1000))
        assert (status, json.loads(body)) == (
            408,
            {"detail": protocol.BODY_LATE.format(seconds=TIMEOUT)},
        )
        assert (headers["x-request-id"], headers["connection"]) == ("slow-1", "close")
        assert TIMEOUT <= seconds < TIMEOUT + 2
        assert closed_by_peer(conn, within=2)


def test_idle_connections_close_without_an_answer(quick: server.MockServer) -> None:
    fresh = _connect(quick)
    used = _connect(quick)
    with fresh, used:
        used.sendall(
            b"GET /v1/generations/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\n\r\n"
        )
        assert read_response(used)[0] == 404
        start = time.monotonic()
        for conn in (fresh, used):  # nothing more is sent on either
            conn.settimeout(TIMEOUT + 2)
            assert conn.recv(65536) == b""  # closed, and not a byte of an answer first
        assert time.monotonic() - start < TIMEOUT + 2


def test_many_trickling_clients_are_all_closed_and_others_still_served(
    quick: server.MockServer,
) -> None:
    conns = [_connect(quick) for _ in range(30)]
    stop = threading.Event()
    senders = [
        threading.Thread(target=_trickle, args=(c, b"GET /" + b"x" * 200, 0.1, stop), daemon=True)
        for c in conns
    ]
    try:
        for sender in senders:
            sender.start()
        served = httpx.post(f"{quick.url}/v1/generations", json={"prompt": "x"}, headers=AUTH)
        assert served.status_code == 201
        assert all(closed_by_peer(c, within=TIMEOUT + 3) for c in conns)
    finally:
        stop.set()
        for conn in conns:
            conn.close()


def test_a_request_within_the_deadlines_is_answered(quick: server.MockServer) -> None:
    with _connect(quick) as conn:
        body = _body(100)
        conn.sendall(
            b"POST /v1/generations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\n"
            b"Content-Length: 100\r\n\r\n" + body[:50]
        )
        time.sleep(TIMEOUT / 2)
        conn.sendall(body[50:])
        assert read_response(conn)[0] == 201
        # The next head's deadline runs from the end of this answer: idle time counts.
        time.sleep(TIMEOUT / 4)
        conn.sendall(b"GET /v1/generations/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\n")
        time.sleep(TIMEOUT / 4)
        conn.sendall(b"\r\n")
        assert read_response(conn)[0] == catalog.NOT_FOUND_STATUS


def test_a_busy_connection_outlives_any_one_deadline(quick: server.MockServer) -> None:
    # Each answer starts the next head's deadline afresh: a connection used every third of a
    # deadline stays open for many deadlines.
    with _connect(quick) as conn:
        start = time.monotonic()
        while time.monotonic() - start < 4 * TIMEOUT:
            conn.sendall(
                b"GET /v1/generations/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\n\r\n"
            )
            assert read_response(conn)[0] == catalog.NOT_FOUND_STATUS
            time.sleep(TIMEOUT / 3)
        assert closed_by_peer(conn, within=TIMEOUT + 2)


def test_bytes_that_are_not_http_get_json_with_both_headers(quick: server.MockServer) -> None:
    # uvicorn's own answer here is plain text without the API's headers.
    with _connect(quick) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n")
        status, headers, body = read_response(conn)
        assert (status, json.loads(body)) == (400, {"detail": protocol.MALFORMED})
        assert headers["x-api-version"] == catalog.API_VERSION and headers["x-request-id"]
        assert closed_by_peer(conn, within=2)


def test_deadlines_are_checked_when_set() -> None:
    with pytest.raises(ValueError):
        server.uvicorn_protocol(head_timeout=0)
    with pytest.raises(ValueError):
        server.uvicorn_protocol(body_timeout=float("nan"))
