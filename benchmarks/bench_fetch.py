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

Then, hostile peers (``docs/limits.md``):

- nine images of one request against httpx async fetching the same nine (a thread per image
  against one event loop);
- the client CPU (``time.thread_time`` of the fetching thread; the server is another process)
  each endless or hostile body costs until its verdict;
- how long an unrelated request of two images takes while 40 lookups hang in a custom
  resolver, or while 40 images are held by their server, against the same request alone (the
  fetcher shares no threads between requests, so it should take no longer).
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import http.server
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from luma_schema import catalog
from luma_schema.fetch import Fetcher

SIZES = {"1 MB": 1_000_000, "50 MiB": catalog.MAX_IMAGE_BYTES}
ROUNDS = {"1 MB": 60, "50 MiB": 7}
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
HELD_SECONDS = 4.0  # how long /hold answers take
CROWD = 40  # hanging lookups, or held images, in the starvation rounds


def _member(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


# Bodies without end: (Content-Encoding, what comes first, the block repeated after it).
HOSTILE: dict[str, tuple[str | None, bytes, bytes]] = {
    "gzip member, then junk": ("gzip", _member(PNG_HEAD), b"\xa5" * (1 << 16)),
    "gzip members of 1 MiB zeros": ("gzip", b"", _member(b"\0" * (1 << 20))),
    "empty gzip members": ("gzip", b"", _member(b"") * 3277),
    "one endless gzip member": (
        "gzip",
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03",
        b"\x00\x00\x00\xff\xff" * 13107,  # empty stored blocks
    ),
    "deflate stream, then junk": ("deflate", zlib.compress(PNG_HEAD), b"\xa5" * (1 << 16)),
    "plain bytes": (None, PNG_HEAD, b"\0" * (1 << 20)),
    "one-byte chunks": ("chunked", b"", b"1\r\n\0\r\n" * 10923),
    "100 Continue answers": ("raw", b"", b"HTTP/1.1 100 Continue\r\n\r\n" * 2621),
}
SEND_LIMIT = 1 << 30  # the server stops an endless body here, whatever the client does


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
            if self.path.startswith("/hostile/"):
                self._hostile(list(HOSTILE)[int(self.path.rsplit("/", 1)[1])])
                return
            if self.path == "/hold":
                time.sleep(HELD_SECONDS)
                self.path = "/1000"
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

        def _hostile(self, name: str) -> None:
            encoding, first, block = HOSTILE[name]
            self.close_connection = True
            if encoding != "raw":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                if encoding == "chunked":
                    self.send_header("Transfer-Encoding", "chunked")
                elif encoding is not None:
                    self.send_header("Content-Encoding", encoding)
                self.send_header("Connection", "close")
                self.end_headers()
            sent = 0
            try:
                self.wfile.write(first)
                while sent < SEND_LIMIT:
                    self.wfile.write(block)
                    sent += len(block)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                pass

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self) -> tuple[Any, Any]:
            sock, addr = self.socket.accept()
            return tls.wrap_socket(sock, server_side=True), addr

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass

    Server.request_queue_size = 128
    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
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
    cert = ca.issue_cert("127.0.0.1", "img.test")
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
    _nine_images(ctx, port)
    _hostile_cpu(ctx, port)
    _starvation(ctx, port)


def _nine_images(ctx: ssl.SSLContext, port: int, rounds: int = 20) -> None:
    """One request of nine 1 KB images: a thread per image against httpx async (one loop)."""
    urls = [f"https://127.0.0.1:{port}/1000"] * 9
    fetcher = Fetcher(verify=ctx, allow_private=["127.0.0.1"], timeout=60)

    def luma_nine(_: str) -> int:
        errors, _w = fetcher.fetch_violations([(f"image_ref[{i}]", u) for i, u in enumerate(urls)])
        if errors:
            raise RuntimeError(errors)
        return 9

    async def gather_nine() -> int:
        async with httpx.AsyncClient(verify=ctx) as client:

            async def get(url: str) -> int:
                async with client.stream("GET", url) as response:
                    return sum([len(c) async for c in response.aiter_bytes()])

            return sum(await asyncio.gather(*(get(u) for u in urls)))

    peers = {"httpx async": lambda _: asyncio.run(gather_nine()), "luma_schema": luma_nine}
    times = _times_ms(peers, "", rounds)
    base = min(times["httpx async"])
    print()
    print(f"{'9 images of 1 KB':<20} {'best ms':>9} {'median ms':>10} {'best vs httpx async':>20}")
    for name, runs in times.items():
        best, median = min(runs), statistics.median(runs)
        print(f"{name:<20} {best:>9.1f} {median:>10.1f} {best / base:>19.2f}x")


def _hostile_cpu(ctx: ssl.SSLContext, port: int) -> None:
    """Client CPU until the verdict, for each endless body (the server is another process)."""
    fetcher = Fetcher(verify=ctx, allow_private=["127.0.0.1"], timeout=18)
    print()
    print(f"{'endless body':<30} {'answer':>7} {'client CPU s':>13} {'wall s':>7}")
    for i, name in enumerate(HOSTILE):
        url = f"https://127.0.0.1:{port}/hostile/{i}"
        gc.collect()
        cpu, wall = time.thread_time(), time.perf_counter()
        errors, _ = fetcher.fetch_violations([("source", url)])
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        answer = errors[0].status if errors else 201
        print(f"{name:<30} {answer:>7} {cpu:>13.3f} {wall:>7.2f}")
    print("(target: each well under a second of CPU; the 18 s deadline is never what ends them)")


def _starvation(ctx: ssl.SSLContext, port: int) -> None:
    """How long an unrelated image takes alone, while 40 lookups hang in the resolver, and
    while 40 images are held by their server."""
    release = threading.Event()

    def resolve(host: str, port: int) -> list[str]:
        if host == "hang.test":
            release.wait(HELD_SECONDS)
        return ["127.0.0.1"]

    def fetcher(timeout: float) -> Fetcher:
        return Fetcher(verify=ctx, allow_private=["127.0.0.1"], timeout=timeout, resolver=resolve)

    # Two images, by name: each takes a lookup, and they are fetched side by side.
    unrelated = [(f"image_ref[{i}]", f"https://img.test:{port}/1000") for i in range(2)]

    def alone() -> float:
        start = time.perf_counter()
        errors, _ = fetcher(10).fetch_violations(unrelated)
        if errors:
            raise RuntimeError(errors)
        return (time.perf_counter() - start) * 1000

    def with_crowd(targets: list[tuple[str, str]], timeout: float) -> float:
        crowd = threading.Thread(target=fetcher(timeout).fetch_violations, args=(targets,))
        crowd.start()
        time.sleep(0.5)  # the crowd is in flight
        took = alone()
        release.set()
        crowd.join()
        release.clear()
        return took

    base = min(alone() for _ in range(5))
    hung = with_crowd([(f"image_ref[{i}]", "https://hang.test/1000") for i in range(CROWD)], 1.0)
    held_url = f"https://127.0.0.1:{port}/hold"
    held = with_crowd([(f"image_ref[{i}]", held_url) for i in range(CROWD)], 10.0)
    print()
    print(f"{'an unrelated request, 2 images':<36} {'ms':>8} {'vs alone':>9}")
    for label, took in (
        ("alone (best of 5)", base),
        (f"while {CROWD} lookups hang", hung),
        (f"while {CROWD} images are held", held),
    ):
        print(f"{label:<36} {took:>8.1f} {took / base:>8.1f}x")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2], sys.argv[3])
    else:
        main()
