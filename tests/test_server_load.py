"""10,000 mixed valid and invalid requests from 32 concurrent clients against `luma-schema serve`
in its own process: every answer is the documented one, no 5xx, and the server's memory stays
flat (resident set size after a warm-up, read from /proc)."""

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
from server_support import AUTH
from test_server import ROWS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CONCURRENCY = 32
WARM_UP = 2_000
TOTAL = 10_000
# Generations are kept (up to 10,000), so some growth is expected: a few hundred bytes each.
RSS_GROWTH_LIMIT = 24 << 20


def _cases() -> list[tuple[str, str, bytes, dict[str, str], int, str | None]]:
    """(method, path, body, headers, status, detail): the SPEC rows, the valid examples, a
    request without a key and an unknown generation."""
    cases = [
        (
            "POST",
            "/v1/generations",
            p if isinstance(p, bytes) else json.dumps(p).encode(),
            AUTH,
            s,
            d,
        )
        for _, p, s, d in ROWS
    ]
    for path in sorted((EXAMPLES / "valid").glob("*.json")):
        cases += [("POST", "/v1/generations", path.read_bytes(), AUTH, 201, None)] * 3
    cases.append(
        ("POST", "/v1/generations", b'{"prompt": "x"}', {}, 401, "Missing or invalid API key")
    )
    cases.append(("GET", "/v1/generations/nope", b"", AUTH, 404, "Generation not found"))
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
    statuses: Counter[int] = Counter()
    wrong: list[str] = []
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:

        async def worker(start: int) -> None:
            for i in range(start, count, CONCURRENCY):
                method, path, body, headers, status, detail = cases[(offset + i) % len(cases)]
                response = await client.request(method, path, content=body, headers=headers)
                statuses[response.status_code] += 1
                answer = response.json()
                if response.status_code != status or (
                    detail is not None and answer != {"detail": detail}
                ):
                    wrong.append(f"{path} {status} {detail}: {response.status_code} {answer}")

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
