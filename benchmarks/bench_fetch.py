"""Fetch: ``luma_schema.fetch.Fetcher`` against plain httpx streaming of the same URL.

A loopback HTTPS server (a child process, so that it does not share the client's GIL) serves a
1 MB and a 50 MiB PNG-headed body with a throwaway CA (trustme).  Every peer fetches the same
``https://127.0.0.1:<port>/...`` URL and reads the whole body, counting bytes:

- ``luma_schema``: ``Fetcher.fetch_violations`` (blocking entry: its own event loop and
  connection pool per call, the address vetted, the content type and size checked);
- ``httpx sync``: ``httpx.Client`` + ``client.stream`` + ``iter_bytes``, a new client per fetch;
- ``httpx async``: the same with ``httpx.AsyncClient`` inside ``asyncio.run``;
- ``luma async``: ``Fetcher.afetch_violations`` inside ``asyncio.run``.

Times are the best and the median of interleaved rounds, in milliseconds; the ratio is of the
best times, to ``httpx sync``.  Memory is the tracemalloc
peak while checking the 50 MiB body (the body itself is never held: what is in flight is one
read of at most 64 KiB).
"""

from __future__ import annotations

import asyncio
import gc
import http.server
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from luma_schema import catalog
from luma_schema.fetch import Fetcher

SIZES = {"1 MB": 1_000_000, "50 MiB": catalog.MAX_IMAGE_BYTES}
ROUNDS = {"1 MB": 60, "50 MiB": 7}
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


# ---------------------------------------------------------------- the server (child process)


def serve(cert: str, key: str) -> None:
    """Run the HTTPS server; prints its port, serves until stdin closes."""
    blob = memoryview(PNG_HEAD + b"\0" * (max(SIZES.values()) - len(PNG_HEAD)))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            size = int(self.path.strip("/"))
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            try:
                for start in range(0, size, 1 << 20):
                    self.wfile.write(blob[start : min(start + (1 << 20), size)])
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                self.close_connection = True

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self) -> tuple[Any, Any]:
            sock, addr = self.socket.accept()
            return tls.wrap_socket(sock, server_side=True), addr

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass

    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()


# ---------------------------------------------------------------- the peers


def httpx_sync(ctx: ssl.SSLContext) -> Callable[[str], int]:
    def fetch(url: str) -> int:
        n = 0
        with httpx.Client(verify=ctx) as client, client.stream("GET", url) as response:
            for chunk in response.iter_bytes():
                n += len(chunk)
        return n

    return fetch


def httpx_async(ctx: ssl.SSLContext) -> Callable[[str], int]:
    async def run(url: str) -> int:
        n = 0
        async with httpx.AsyncClient(verify=ctx) as client, client.stream("GET", url) as response:
            async for chunk in response.aiter_bytes():
                n += len(chunk)
        return n

    return lambda url: asyncio.run(run(url))


def luma(ctx: ssl.SSLContext) -> Callable[[str], int]:
    fetcher = Fetcher(verify=ctx, allow_private=["127.0.0.1"], timeout=60)

    def fetch(url: str) -> int:
        errors, _ = fetcher.fetch_violations([("source", url)])
        if errors:
            raise RuntimeError(errors)
        return 1

    return fetch


def luma_async(ctx: ssl.SSLContext) -> Callable[[str], int]:
    fetcher = Fetcher(verify=ctx, allow_private=["127.0.0.1"], timeout=60)

    def fetch(url: str) -> int:
        errors, _ = asyncio.run(fetcher.afetch_violations([("source", url)]))
        if errors:
            raise RuntimeError(errors)
        return 1

    return fetch


def _times_ms(
    peers: dict[str, Callable[[str], int]], url: str, rounds: int
) -> dict[str, list[float]]:
    """Rounds interleave the peers, so that a busy moment of the machine hits them alike."""
    for fetch in peers.values():
        fetch(url)  # warm up
    times: dict[str, list[float]] = {name: [] for name in peers}
    for _ in range(rounds):
        for name, fetch in peers.items():
            gc.collect()
            start = time.perf_counter()
            fetch(url)
            times[name].append((time.perf_counter() - start) * 1000)
    return times


def _peak_mib(fetch: Callable[[str], int], url: str) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        fetch(url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / (1 << 20)


def main() -> None:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    with tempfile.TemporaryDirectory() as tmp:
        cert_file, key_file = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
        cert_file.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
        key_file.write_bytes(cert.private_key_pem.bytes())
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(cert_file), str(key_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        try:
            assert child.stdout is not None
            port = int(child.stdout.readline())
            _run(ca, port)
        finally:
            assert child.stdin is not None
            child.stdin.close()
            child.wait(10)


def _run(ca: Any, port: int) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(ctx)
    peers = {
        "httpx sync": httpx_sync(ctx),
        "luma_schema": luma(ctx),
        "httpx async": httpx_async(ctx),
        "luma async": luma_async(ctx),
    }
    header = f"{'body':<8} {'peer':<12} {'best ms':>9} {'median ms':>10} {'best vs httpx sync':>19}"
    print(header)
    print("-" * len(header))
    for label, size in SIZES.items():
        times = _times_ms(peers, f"https://127.0.0.1:{port}/{size}", ROUNDS[label])
        base = min(times["httpx sync"])
        for name, runs in times.items():
            best, median = min(runs), statistics.median(runs)
            print(f"{label:<8} {name:<12} {best:>9.1f} {median:>10.1f} {best / base:>18.2f}x")
    url = f"https://127.0.0.1:{port}/{SIZES['50 MiB']}"
    print()
    print(f"{'peak traced memory, checking 50 MiB':<36} {'MiB':>6}")
    for name, fetch in peers.items():
        print(f"{name:<36} {_peak_mib(fetch, url):>6.2f}")
    print("(in flight: one TLS read, at most 64 KiB; target: <= 8 MiB above it)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2], sys.argv[3])
    else:
        main()
