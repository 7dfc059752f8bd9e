"""Helpers for the server tests: a real uvicorn on a free loopback port, one request per rule
with the engine's answer, raw HTTP exchanges, and image checks."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

import luma_schema

API_KEY = "luma-api-test"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
PNG_1PX = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgAAACAAAB4iG8MwAAAABJRU5ErkJggg=="
)
URL = {"url": "https://example.com/a.png"}
EDIT = {"type": "image_edit", "prompt": "x"}

# One request breaking each rule that needs no network (and a few more forms of row 1): the
# payloads are inputs; the answers they must get are the engine's (``expected``).
RULE_CASES: list[tuple[str, Any]] = [
    ("body_not_object", b"[]"),
    ("body_not_object", b'{"prompt": "unterminated'),
    ("body_not_object", b'{"prompt":"a","prompt":"b"}'),
    ("body_not_object", b""),
    ("body_not_object", b'{"prompt": NaN}'),
    ("wrong_type", {"prompt": 5}),
    ("wrong_type", {"prompt": "x", "image_ref": [None]}),
    ("model_unknown", {"prompt": "x", "model": "uni-2"}),
    ("type_unsupported", {"prompt": "x", "type": "video"}),
    ("prompt_missing", {}),
    ("prompt_length", {"prompt": ""}),
    ("prompt_length", {"prompt": "x" * 6001}),
    ("aspect_ratio_invalid", {"prompt": "x", "aspect_ratio": "4:3"}),
    ("style_invalid", {"prompt": "x", "style": "anime"}),
    ("output_format_invalid", {"prompt": "x", "output_format": "webp"}),
    ("user_id_length", {"prompt": "x", "user_id": "u" * 257}),
    ("source_required", EDIT),
    ("source_forbidden", {"prompt": "x", "source": URL}),
    ("image_ref_edit_max", {**EDIT, "source": URL, "image_ref": [URL] * 9}),
    ("image_ref_max", {"prompt": "x", "image_ref": [URL] * 10}),
    ("url_and_data", {**EDIT, "source": {**URL, "data": PNG_1PX, "media_type": "image/png"}}),
    ("url_or_data", {"prompt": "x", "image_ref": [{}]}),
    ("media_type_required", {**EDIT, "source": {"data": PNG_1PX}}),
    ("manga_portrait", {"prompt": "x", "style": "manga", "aspect_ratio": "16:9"}),
    (
        "base64_invalid",
        {**EDIT, "source": {"data": "iVBORw0KGgoAAAANSUhEUgAAAAUA...", "media_type": "image/png"}},
    ),
    ("not_an_image", {"prompt": "x", "image_ref": [{**URL, "media_type": "text/plain"}]}),
    ("url_not_fetchable", {**EDIT, "source": {"url": "https://127.0.0.1/a.png"}}),
    ("url_not_fetchable", {"prompt": "x", "image_ref": [URL, {"url": "http://example.com/a"}]}),
]


def content(payload: Any) -> bytes:
    """The bytes sent for a payload: bytes as they are, anything else as JSON."""
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


def expected(payload: Any) -> tuple[int, dict[str, str]]:
    """The API's answer to a refused payload, as the engine gives it."""
    report = luma_schema.check(content(payload))
    assert not report.ok
    return report.to_response()


@contextmanager
def running(app: Any, **config: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free 127.0.0.1 port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    options = {"log_level": "warning", "lifespan": "off", "access_log": False, **config}
    server = uvicorn.Server(uvicorn.Config(app, **options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a well-formed 8-bit RGB PNG: every chunk's CRC holds and the image
    data inflates to exactly one filter byte plus three bytes per pixel per row."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, idat = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append((kind, body))
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    width, height, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
    assert (depth, colour) == (8, 2)
    assert len(zlib.decompress(idat)) == height * (1 + 3 * width)
    return width, height


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a baseline JPEG: SOI, well-formed segments up to SOS, a SOF0 frame
    with three components, Huffman and quantisation tables, entropy data, then EOI."""
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    pos, seen, size = 2, set(), None
    while True:
        assert data[pos] == 0xFF
        marker = data[pos + 1]
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segment = data[pos + 4 : pos + 2 + length]
        seen.add(marker)
        if marker == 0xC0:
            precision, height, width, components = struct.unpack(">BHHB", segment[:6])
            assert (precision, components) == (8, 3)
            size = (width, height)
        pos += 2 + length
        if marker == 0xDA:
            break
    assert {0xDB, 0xC4, 0xC0} <= seen and size is not None
    entropy = data[pos:-2]
    assert entropy and b"\xff" not in entropy.replace(b"\xff\x00", b"")
    return size


def read_response(conn: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length from a blocking socket."""
    received = b""
    while b"\r\n\r\n" not in received:
        more = conn.recv(65536)
        if not more:
            raise ConnectionError(f"closed before a response: {received!r}")
        received += more
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        more = conn.recv(65536)
        if not more:
            break
        body += more
    return int(lines[0].split(" ")[1]), headers, body[:length]


def closed_by_peer(conn: socket.socket, within: float) -> bool:
    """Whether the peer closes ``conn`` within ``within`` seconds (bytes before that are read
    and dropped)."""
    conn.settimeout(within)
    try:
        while conn.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


async def raw_exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, dict[str, str], bytes]:
    """Send one HTTP/1.1 request on a keep-alive connection; (status, headers, body)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


def raw_request(method: str, path: str, body: bytes, headers: dict[str, str], port: int) -> bytes:
    """The bytes of one HTTP/1.1 request with a Content-Length."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
