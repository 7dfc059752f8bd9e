"""Loopback HTTPS (and HTTP) servers for the fetch and SDK tests: real sockets, nothing leaves
the machine.  Certificates come from a throwaway CA made in the test run (trustme)."""

from __future__ import annotations

import gzip
import http.server
import ipaddress
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
VIDEO_ADVISED = catalog.ADVISED_VIDEO_BYTES
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x08free"
_BLOCK = b"\0" * (1 << 20)
# xn--fa-hia.de is faß.de as browsers map it (UTS 46, nontransitional); fass.de is what the
# older IDNA 2003 mapping made of it.
NAMES = ("img.test", "alt.test", "rebind.test", "xn--fa-hia.de", "fass.de")
# An endless stream stops here at the latest, whatever the client does (bounded test traffic).
SEND_LIMIT = 4 * CAP
_GZIP_HEAD = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03"
_EMPTY_STORED_BLOCK = b"\x00\x00\x00\xff\xff"  # a deflate block that holds nothing


def gzip_member(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


# Endless bodies: (Content-Encoding, what comes first, the block repeated after it).
ENDLESS: dict[str, tuple[str | None, bytes, bytes]] = {
    # A gzip member, then junk that starts no member.
    "gzip-junk": ("gzip", gzip_member(PNG), b"\xa5" * (1 << 16)),
    # A gzip member, then more members of 1 MiB of zeros each.
    "gzip-members": ("gzip", gzip_member(PNG), gzip_member(_BLOCK)),
    # Members that hold nothing (20 bytes each).
    "gzip-empty-members": ("gzip", b"", gzip_member(b"") * 3277),
    # One member that never ends: empty stored blocks, 5 bytes each, that decode to nothing.
    "gzip-stored-blocks": ("gzip", _GZIP_HEAD, _EMPTY_STORED_BLOCK * 13107),
    # A zlib stream, then junk.
    "deflate-junk": ("deflate", zlib.compress(PNG), b"\xa5" * (1 << 16)),
    # Plain bytes, no end.
    "identity": (None, PNG, _BLOCK),
}


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

    def _endless(self, name: str) -> None:
        """Headers, then the named body without end (close-delimited), until the client
        hangs up or ``SEND_LIMIT``; the bytes sent are recorded under ``name``."""
        encoding, first, block = ENDLESS[name]
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        if encoding is not None:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        self._write_until_hangup(name, first, block)

    def _write_until_hangup(self, name: str, first: bytes, block: bytes) -> None:
        sent = 0
        try:
            self.wfile.write(first)
            sent = len(first)
            while sent < SEND_LIMIT and not self.server.stopping.is_set():
                self.wfile.write(block)
                sent += len(block)
        finally:
            self.server.sent[name] = sent

    def _tiny_chunks(self, n: int) -> None:
        """A PNG, then ``n`` chunks of one zero byte each: a valid chunked body."""
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(b"%x\r\n%b\r\n" % (len(PNG), PNG))
        self.wfile.write(b"1\r\n\0\r\n" * n + b"0\r\n\r\n")

    def _informational(self, n: int) -> None:
        """``n`` answers ``100 Continue``, then a PNG."""
        self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n" * n)
        self._send(200, PNG)

    def _video_members(self, total: int) -> None:
        """A video whose gzip body decodes to ``total`` bytes (whole MiB): one small member
        per MiB of zeros, on the wire about 1 KiB each."""
        self._send(
            200,
            self.server.zeros_member() * (total >> 20),
            ctype="video/mp4",
            Content_Encoding="gzip",
        )

    def _declared(self, length: int, ctype: str) -> None:
        """A head declaring ``length`` bytes, a few of them, then nothing until the client
        hangs up (5 s at most)."""
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(MP4)
        self.wfile.flush()
        self.server.stopping.wait(5)
        self.close_connection = True

    def do_GET(self) -> None:
        self.server.requests.append((self.headers.get("Host", ""), self.path))
        self.server.accepts.append(self.headers.get("Accept"))
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        try:
            self._route(path, query)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    def _route(self, path: str, query: dict[str, list[str]]) -> None:
        if path == "/png":
            self._send(200, PNG)
        elif path == "/mp4":
            self._send(200, MP4, ctype="video/mp4")
        elif path == "/video-members":
            self._video_members(int(query["mib"][0]) << 20)
        elif path == "/video-declared":
            self._declared(int(query["length"][0]), "video/mp4")
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
            self.send_header("Content-Type", query.get("type", ["image/png"])[0])
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"\0")
                self.wfile.flush()
                if self.server.stopping.wait(0.1):
                    break
        elif path.startswith("/endless/"):
            self._endless(path.removeprefix("/endless/"))
        elif path == "/tiny-chunks":
            self._tiny_chunks(int(query["n"][0]))
        elif path == "/informational":
            self._informational(int(query["n"][0]))
        elif path == "/gzip-junk":  # one member, then 20 MiB that is no member
            self._send(200, self.server.junk(), Content_Encoding="gzip")
        elif path == "/gzip-then-zeros":  # a PNG member, then a member of 60 MiB of zeros
            self._send(200, self.server.zeros(), Content_Encoding="gzip")
        elif path == "/gzip-two-members":  # a PNG cut in two members
            body = gzip_member(PNG[:20]) + gzip_member(PNG[20:])
            self._send(200, body, Content_Encoding="gzip")
        elif path == "/gzip-zero-padding":  # a member, then zero bytes
            self._send(200, gzip_member(PNG) + b"\0" * 64, Content_Encoding="gzip")
        elif path == "/deflate-png":
            self._send(200, zlib.compress(PNG), Content_Encoding="deflate")
        elif path == "/deflate-two-streams":  # deflate is one stream: a second is junk
            self._send(200, zlib.compress(PNG) + zlib.compress(PNG), Content_Encoding="deflate")
        elif path == "/hold":  # answers once the test lets it (10 s at most)
            self.server.held.append(path)
            self.server.release.wait(10)
            self._send(200, PNG)
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
            # The Location goes out byte for byte as given: UTF-8 text is sent as UTF-8.
            location = query["to"][0].encode("utf-8").decode("latin-1")
            self._send(status, b"", ctype=None, Location=location)
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
        self.accepts: list[str | None] = []  # the Accept header of each request
        self._zeros_member: bytes | None = None
        self.sent: dict[str, int] = {}
        self.held: list[str] = []
        self.release = threading.Event()
        self.stopping = threading.Event()
        self._bomb: bytes | None = None
        self._zeros: bytes | None = None
        self._junk: bytes | None = None
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

    def zeros(self) -> bytes:
        """A gzip member of PNG, then one of 60 MiB of zeros (made once)."""
        if self._zeros is None:
            self._zeros = gzip_member(PNG) + _gzip_zeros(60 << 20)
        return self._zeros

    def zeros_member(self) -> bytes:
        """A gzip member of 1 MiB of zeros (made once)."""
        if self._zeros_member is None:
            self._zeros_member = gzip_member(_BLOCK)
        return self._zeros_member

    def junk(self) -> bytes:
        """A gzip member of PNG, then 20 MiB that start no member (made once)."""
        if self._junk is None:
            self._junk = gzip_member(PNG) + b"\xa5" * (20 << 20)
        return self._junk

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
        self.accepts.clear()
        self.sent.clear()
        self.held.clear()
        self.release.clear()

    def stop(self) -> None:
        self.stopping.set()
        self.release.set()
        self.shutdown()
        self.server_close()


def is_loopback(address: str) -> bool:
    """Whether ``address`` (text, maybe with a scope) is a loopback address, IPv4-mapped too."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


class LoopbackAnswers(dict[str, list[list[str]]]):
    """Scripted resolver answers (host -> one list of addresses per lookup).  A test resolver
    answers loopback addresses or fails: any other address is refused when it is scripted."""

    def __setitem__(self, host: str, script: list[list[str]]) -> None:
        strays = [a for answer in script for a in answer if not is_loopback(a)]
        if strays:
            raise ValueError(f"a test resolver answers loopback addresses only, not {strays}")
        super().__setitem__(host, script)


class Site:
    """The test world: a CA, HTTPS servers on 127.0.0.1 and 127.0.0.2 (same port), an HTTP
    server, and a resolver for the names the certificate covers."""

    def __init__(self) -> None:
        self.ca = trustme.CA()
        cert = self.ca.issue_cert(*NAMES, "127.0.0.1", "127.0.0.2", "::1")
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(tls)
        tls.sni_callback = self._note_server_name
        self.public = Server("127.0.0.1", 0, tls)
        self.port = self.public.port
        self.private = Server("127.0.0.2", self.port, tls)
        self.plain = Server("127.0.0.1", 0, None)
        self.v6: Server | None
        try:
            self.v6 = Server("::1", 0, tls)
        except OSError:
            self.v6 = None
        self.answers = LoopbackAnswers()
        self.lookups: list[str] = []
        self.server_names: list[str | None] = []  # the TLS server name of each handshake

    def _note_server_name(self, sock: Any, name: str | None, ctx: Any) -> None:
        self.server_names.append(name)

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
        """img.test and alt.test: 127.0.0.1, the loopback address the tests' fetchers count as
        public; a scripted name (``answers``, loopback addresses only): each lookup takes the
        next scripted answer (the last one repeats); any other name fails."""
        self.lookups.append(host)
        script = self.answers.get(host)
        if script:
            return script.pop(0) if len(script) > 1 else script[0]
        if host in ("img.test", "alt.test", "xn--fa-hia.de", "fass.de"):
            return ["127.0.0.1"]
        raise OSError("no such host")

    def reset(self) -> None:
        self.answers.clear()
        self.lookups.clear()
        self.server_names.clear()
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
