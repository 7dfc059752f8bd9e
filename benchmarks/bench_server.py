"""Requests/s through the mock (`luma-schema serve`) vs a bare Starlette endpoint answering a fixed
201, for valid and invalid POSTs.

Both servers run the same way: uvicorn, one worker, 127.0.0.1, access log off, each in its own
process, all pinned to the first core.  The load comes from one more process, pinned to the
second: a raw asyncio HTTP/1.1 client with a fixed number of keep-alive connections (so the client
costs little next to the server).  Each case runs short rounds, alternating servers, and the
median round is reported.

    python benchmarks/bench_server.py          # or: python benchmarks/run.py server
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CONNECTIONS = 16
SECONDS = 2.0
ROUNDS = 9
KINDS = ("bare", "headers", "mock")
AUTH = "Bearer luma-api-bench"
VALID = (ROOT / "examples" / "valid" / "seed_basic_edit.json").read_bytes()
INVALID = json.dumps({"type": "image_edit", "prompt": "Make it winter"}).encode()
FIXED = {
    "id": "00000000-0000-4000-8000-000000000000",
    "type": "image",
    "state": "queued",
    "model": "uni-1",
    "created_at": "2026-04-01T00:00:00Z",
    "output": [],
    "failure_reason": None,
    "failure_code": None,
}


# ---------------------------------------------------------------- the two servers


def _bare_app(read_body: bool = False) -> object:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def create(request: Request) -> JSONResponse:
        if read_body:
            await request.body()
        return JSONResponse(FIXED, status_code=201)

    return Starlette(routes=[Route("/v1/generations", create, methods=["POST"])])


def _pin(cpu: int) -> None:
    """Servers on one core, the load client on the other: less noise from the scheduler."""
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    if len(cpus) >= 2:
        os.sched_setaffinity(0, {sorted(cpus)[cpu]})


def _serve(kind: str, port: int) -> None:
    import uvicorn

    _pin(0)
    options: dict[str, object] = {}
    if kind == "bare":
        app = _bare_app()
    elif kind == "headers":
        from luma_schema.server import RequestIdMiddleware

        # What any endpoint that checks requests does besides checking: read the body, and
        # send the two headers every answer of the API carries.
        app = RequestIdMiddleware(_bare_app(read_body=True))  # type: ignore[arg-type]
    else:
        from luma_schema.server import create_app, uvicorn_protocol

        # As `luma-schema serve` runs it: the deadlines on each connection included.
        app = create_app()
        options["http"] = uvicorn_protocol()
    uvicorn.run(
        app,  # type: ignore[arg-type]
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        **options,  # type: ignore[arg-type]
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start(kind: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, str(port)], env=env, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {kind} server did not start") from None
            time.sleep(0.05)


# ---------------------------------------------------------------- the load client


def _request(port: int, body: bytes) -> bytes:
    head = (
        f"POST /v1/generations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {AUTH}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


async def _load(port: int, body: bytes, seconds: float) -> tuple[float, dict[int, int]]:
    request = _request(port, body)
    statuses: dict[int, int] = {}
    stop = time.perf_counter() + seconds

    async def connection() -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        done = 0
        while time.perf_counter() < stop:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            statuses[status] = statuses.get(status, 0) + 1
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            done += 1
        writer.close()
        return done

    start = time.perf_counter()
    counts = await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    return sum(counts) / (time.perf_counter() - start), statuses


def _client(port: int, which: str) -> None:
    _pin(1)
    body = VALID if which == "valid" else INVALID
    rate, statuses = asyncio.run(_load(port, body, SECONDS))
    print(json.dumps({"rate": rate, "statuses": statuses}))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(pid: int, port: int, which: str) -> tuple[float, float, dict[str, int]]:
    """(wall requests/s, server CPU microseconds per request, statuses) for one round."""
    before = _cpu_seconds(pid)
    out = subprocess.run(
        [sys.executable, __file__, "--load", str(port), which],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = _cpu_seconds(pid) - before
    result = json.loads(out)
    count = sum(result["statuses"].values())
    return result["rate"], cpu / count * 1e6, result["statuses"]


# ---------------------------------------------------------------- the table


def main() -> None:
    servers = {kind: _start(kind) for kind in KINDS}
    try:
        rows = []
        for which in ("valid", "invalid"):
            rates: dict[str, list[float]] = {kind: [] for kind in KINDS}
            cpus: dict[str, list[float]] = {kind: [] for kind in KINDS}
            answers: dict[str, dict[str, int]] = {}
            for _ in range(ROUNDS):
                for kind, (process, port) in servers.items():
                    rate, cpu, statuses = _measure(process.pid, port, which)
                    rates[kind].append(rate)
                    cpus[kind].append(cpu)
                    answers[kind] = statuses
            rate = {k: statistics.median(v) for k, v in rates.items()}
            cpu = {k: statistics.median(v) for k, v in cpus.items()}
            # Throughput lost per core, paired within each round (the rounds of one server
            # run back to back, so a slower spell of the machine touches both alike).
            loss = {
                ref: statistics.median(
                    1 - r / m for r, m in zip(cpus[ref], cpus["mock"], strict=True)
                )
                for ref in ("bare", "headers")
            }
            status = ",".join(sorted(answers["mock"]))
            rows.append((which, rate, cpu, loss, status))
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(30)
    print(
        f"uvicorn, 1 worker, 127.0.0.1; {CONNECTIONS} keep-alive connections from a separate "
        f"process; median of {ROUNDS} rounds of {SECONDS:g} s (overheads: median of the\n"
        "rounds' own ratios).\n"
        "bare: Starlette endpoint answering a fixed 201 Generation; +headers: the same, reading\n"
        "the body, behind RequestIdMiddleware (X-Request-Id, X-API-Version, which the mock must\n"
        "send): all a checking endpoint does but the checking; mock:\n"
        "luma-schema serve's app.  Wall r/s depends on what else runs on the machine; the\n"
        "server's CPU time per request much less: r/s per core = 1 / CPU per request."
    )
    print(
        f"{'POST':<8} {'status':>6} | {'wall r/s: bare':>14} {'+headers':>9} {'mock':>6} | "
        f"{'r/s per core: bare':>18} {'+headers':>9} {'mock':>6} | "
        f"{'overhead vs bare':>16} {'vs +headers':>11}"
    )
    for which, rate, cpu, loss, status in rows:
        core = {k: 1e6 / v for k, v in cpu.items()}
        print(
            f"{which:<8} {status:>6} | {rate['bare']:>14,.0f} {rate['headers']:>9,.0f} "
            f"{rate['mock']:>6,.0f} | {core['bare']:>18,.0f} {core['headers']:>9,.0f} "
            f"{core['mock']:>6,.0f} | {loss['bare'] * 100:>15.1f}% "
            f"{loss['headers'] * 100:>10.1f}%"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        _serve(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1:2] == ["--load"]:
        _client(int(sys.argv[2]), sys.argv[3])
    else:
        main()
