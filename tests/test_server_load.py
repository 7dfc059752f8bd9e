"""10,000 mixed valid and invalid requests from 32 concurrent keep-alive connections against
`luma-schema serve` in its own process: every answer is the documented one, no 5xx, and the
server's memory stays flat (resident set size after a warm-up, read from /proc).

The load comes from a small asyncio HTTP/1.1 client (server_support.raw_exchange) rather than
httpx, whose per-request cost would make the client, not the server, the bottleneck; the other
server tests use httpx."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_support import AUTH, RULE_CASES, content, expected, raw_exchange, raw_request

from luma_schema import catalog

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CONCURRENCY = 32
WARM_UP = 1_000
TOTAL = 10_000
# The mock keeps generations (up to 10,000; ~5,300 here), a few hundred bytes each: about
# 2-3 MiB.  A leak of 1 KiB per request would add 10 MiB.
RSS_GROWTH_LIMIT = 8 << 20


def _cases() -> list[tuple[str, str, bytes, dict[str, str], int, str | None]]:
    """(method, path, body, headers, status, detail): one request per rule, the valid examples, a
    request without a key and an unknown generation."""
    cases = []
    for _, payload in RULE_CASES:
        status, body = expected(payload)
        cases.append(("POST", "/v1/generations", content(payload), AUTH, status, body["detail"]))
    for path in sorted((EXAMPLES / "valid").glob("*.json")):
        cases += [("POST", "/v1/generations", path.read_bytes(), AUTH, 201, None)] * 3
    cases.append(
        (
            "POST",
            "/v1/generations",
            b'{"prompt": "x"}',
            {},
            catalog.UNAUTHORIZED_STATUS,
            catalog.UNAUTHORIZED,
        )
    )
    cases.append(
        (
            "GET",
            "/v1/generations/nope",
            b"",
            AUTH,
            catalog.NOT_FOUND_STATUS,
            catalog.GENERATION_NOT_FOUND,
        )
    )
    return cases


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "luma_schema", "serve", "--port", str(port), "--seed", "9"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/v1/generations/x", headers=AUTH)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(30)


async def _drive(base: str, count: int, offset: int) -> Counter[int]:
    cases = _cases()
    port = int(base.rpartition(":")[2])
    requests = [raw_request(m, p, b, h, port) for m, p, b, h, _, _ in cases]
    statuses: Counter[int] = Counter()
    wrong: list[str] = []

    async def worker(start: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in range(start, count, CONCURRENCY):
                k = (offset + i) % len(cases)
                status, headers, body = await raw_exchange(reader, writer, requests[k])
                statuses[status] += 1
                _, path, _, _, expected, detail = cases[k]
                answer = json.loads(body)
                if status != expected or (detail is not None and answer != {"detail": detail}):
                    wrong.append(f"{path} {expected} {detail}: {status} {answer}")
                if not headers.get("x-request-id") or headers.get("x-api-version") is None:
                    wrong.append(f"{path}: headers {headers}")
                if headers.get("connection") == "close":
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
        finally:
            writer.close()

    await asyncio.gather(*(worker(start) for start in range(CONCURRENCY)))
    assert not wrong, wrong[:5]
    return statuses


def test_ten_thousand_mixed_requests_no_5xx_and_flat_memory(served: tuple[str, int]) -> None:
    base, pid = served
    asyncio.run(_drive(base, WARM_UP, 0))
    before = _rss(pid)
    statuses = asyncio.run(_drive(base, TOTAL, WARM_UP))
    after = _rss(pid)
    assert sum(statuses.values()) == TOTAL
    assert not [s for s in statuses if s >= 500]
    assert {201, 400, 401, 404, 413, 422} >= set(statuses) >= {201, 400, 401, 404, 422}
    assert after - before < RSS_GROWTH_LIMIT, (before, after)
    print(f"statuses {dict(statuses)}; server RSS {before >> 20} MiB -> {after >> 20} MiB")
