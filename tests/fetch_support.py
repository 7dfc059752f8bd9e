"""Loopback HTTPS (and HTTP) servers for the fetch and SDK tests: real sockets, nothing leaves
the machine.  Certificates come from a throwaway CA made in the test run (trustme)."""

from __future__ import annotations

import gzip
import http.server
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

from luma_schema import catalog

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)
CAP = catalog.MAX_IMAGE_BYTES
_BLOCK = b"\0" * (1 << 20)
NAMES = ("img.test", "alt.test", "rebind.test")


def _gzip_zeros(n: int) -> bytes:
    out = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [out.compress(b"\0" * (1 << 20)) for _ in range(n >> 20)]
    parts.append(out.compress(b"\0" * (n & ((1 << 20) - 1))))
    parts.append(out.flush())
    return b"".join(parts)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(
        self, status: int, body: bytes = b"", ctype: str | None = "image/png", **hdr: str
    ) -> None:
        self.send_response(status)
        if ctype is not None:
            self.send_header("Content-Type", ctype)
        for name, value in hdr.items():
            self.send_header(name.replace("_", "-"), value)
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _stream(self, total: int, chunked: bool, close: bool = False) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif close:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(total))
        self.end_headers()
        sent = 0
        first = True
        while sent < total:
            block = _BLOCK[: min(len(_BLOCK), total - sent)]
            if first:
                block = PNG[:16] + block[16:]
                first = False
            if chunked:
                self.wfile.write(b"%x\r\n%b\r\n" % (len(block), block))
            else:
                self.wfile.write(block)
            sent += len(block)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def do_GET(self) -> None:
        self.server.requests.append((self.headers.get("Host", ""), self.path))
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        try:
            self._route(path, query)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    def _route(self, path: str, query: dict[str, list[str]]) -> None:
        if path == "/png":
            self._send(200, PNG)
        elif path == "/png-params":
            self._send(200, PNG, ctype="IMAGE/PNG; charset=binary")
        elif path == "/text-bytes":
            self._send(200, b"hello, not an image at all", ctype="image/png")
        elif path == "/exact":
            self._stream(CAP, chunked=False)
        elif path == "/big-length":
            self._stream(CAP + 1, chunked=False)
        elif path == "/big-chunked":
            self._stream(CAP + 1, chunked=True)
        elif path == "/big-close":
            self._stream(CAP + 1, chunked=False, close=True)
        elif path == "/large":
            self._stream(5 << 20, chunked=True)
        elif path == "/slow":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"\0")
                self.wfile.flush()
                if self.server.stopping.wait(0.1):
                    break
        elif path == "/barrier":
            self.server.barrier.wait()  # type: ignore[attr-defined]
            self._send(200, PNG)
        elif path == "/html":
            self._send(200, b"<html></html>", ctype="text/html; charset=utf-8")
        elif path == "/no-type":
            self._send(200, PNG, ctype=None)
        elif path.startswith("/status/"):
            self._send(int(path.rsplit("/", 1)[1]), b"", ctype="text/plain")
        elif path == "/redirect":
            status = int(query.get("status", ["302"])[0])
            self._send(status, b"", ctype=None, Location=query["to"][0])
        elif path.startswith("/chain/"):
            n = int(path.rsplit("/", 1)[1])
            if n == 0:
                self._send(200, PNG)
            else:
                self._send(302, b"", ctype=None, Location=f"/chain/{n - 1}")
        elif path == "/loop":
            self._send(302, b"", ctype=None, Location="/loop")
        elif path == "/gzip-png":
            self._send(200, gzip.compress(PNG), Content_Encoding="gzip")
        elif path == "/gzip-bomb":
            self._send(200, self.server.bomb(), Content_Encoding="gzip")
        elif path == "/empty-encoding":
            self._send(200, PNG, Content_Encoding="")
        elif path == "/brotli":
            self._send(200, PNG, Content_Encoding="br")
        else:
            self._send(404, b"", ctype="text/plain")


class Server(http.server.ThreadingHTTPServer):
    """A threaded HTTP/1.1 server on one loopback address; TLS when given a context.  It counts
    every TCP connection it accepts and records every request (Host header, path)."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _Handler)
        self.tls = tls
        self.accepted = 0
        self.requests: list[tuple[str, str]] = []
        self.stopping = threading.Event()
        self._bomb: bytes | None = None
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def bomb(self) -> bytes:
        if self._bomb is None:
            self._bomb = _gzip_zeros(CAP + (1 << 20))
        return self._bomb

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = self.socket.accept()
        self.accepted += 1
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            try:
                request.settimeout(5)
                request.do_handshake()
            except (OSError, ssl.SSLError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass

    def reset(self) -> None:
        self.accepted = 0
        self.requests.clear()

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


class Site:
    """The test world: a CA, HTTPS servers on 127.0.0.1 and 127.0.0.2 (same port), an HTTP
    server, and a resolver for the names the certificate covers."""

    def __init__(self) -> None:
        self.ca = trustme.CA()
        cert = self.ca.issue_cert(*NAMES, "127.0.0.1", "127.0.0.2", "::1")
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(tls)
        self.public = Server("127.0.0.1", 0, tls)
        self.port = self.public.port
        self.private = Server("127.0.0.2", self.port, tls)
        self.plain = Server("127.0.0.1", 0, None)
        self.v6: Server | None
        try:
            self.v6 = Server("::1", 0, tls)
        except OSError:
            self.v6 = None
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def servers(self) -> list[Server]:
        return [s for s in (self.public, self.private, self.plain, self.v6) if s is not None]

    def client_context(self) -> ssl.SSLContext:
        """Trusts the test CA only (and verifies host names, as any client context)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.ca.configure_trust(ctx)
        return ctx

    def url(self, path: str, host: str = "img.test") -> str:
        return f"https://{host}:{self.port}{path}"

    def resolve(self, host: str, port: int) -> list[str]:
        """img.test and alt.test: the public loopback; rebind.test: each lookup takes the next
        scripted answer (the last one repeats)."""
        self.lookups.append(host)
        script = self.answers.get(host)
        if script:
            return script.pop(0) if len(script) > 1 else script[0]
        if host in ("img.test", "alt.test"):
            return ["127.0.0.1"]
        raise OSError("no such host")

    def reset(self) -> None:
        self.answers.clear()
        self.lookups.clear()
        for server in self.servers():
            server.reset()

    def seen(self) -> int:
        return sum(s.accepted for s in self.servers())

    def stop(self) -> None:
        for server in self.servers():
            server.stop()


def wait_until(predicate: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
