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
GENERATION_ID = "3f0e6c0a-2b0c-4c1e-9a57-1c9d9b0f0a11"
VIDEO = {"model": "ray-3.2", "type": "video", "prompt": "x"}
VIDEO_EDIT = {
    "model": "ray-3.2",
    "type": "video_edit",
    "prompt": "x",
    "source": {"generation_id": GENERATION_ID},
}
REFRAME = {**VIDEO_EDIT, "type": "video_reframe", "aspect_ratio": "9:16"}
LAYERING = {"type": "layering", "source": URL}
POSITION = {"x_norm": 0, "y_norm": 0, "w_norm": 1, "h_norm": 1}


def _video(base: dict[str, Any], **options: Any) -> dict[str, Any]:
    return {**base, "video": options}


def _controls(**controls: Any) -> dict[str, Any]:
    return _video(VIDEO_EDIT, edit={"controls": controls})


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
    # The live API's types and options.
    ("layering_prompt_length", {**LAYERING, "prompt": "x" * 501}),
    ("video_aspect_ratio_invalid", {**VIDEO, "aspect_ratio": "3:1"}),
    ("video_duration_invalid", _video(VIDEO, duration="7s")),
    ("video_resolution_invalid", _video(VIDEO, resolution="4k")),
    ("video_keyframes_count", _video(VIDEO, keyframes=[])),
    ("video_keyframe_index_range", _video(VIDEO, keyframes=[URL], keyframe_indexes=[241])),
    (
        "video_keyframe_indexes_repeated",
        _video(VIDEO, keyframes=[URL, URL], keyframe_indexes=[3, 3]),
    ),
    ("video_edit_keyframes_count", _video(VIDEO_EDIT, edit={"keyframes": [URL] * 65})),
    (
        "video_edit_keyframe_index_range",
        _video(VIDEO_EDIT, edit={"keyframes": [URL], "keyframe_indexes": [-1]}),
    ),
    (
        "video_edit_keyframe_indexes_repeated",
        _video(VIDEO_EDIT, edit={"keyframes": [URL, URL], "keyframe_indexes": [0, 0]}),
    ),
    ("video_edit_strength_invalid", _video(VIDEO_EDIT, edit={"strength": "flex_4"})),
    ("video_blur_range", _controls(depth={"blur": 1.5})),
    ("video_augmentation_range", _controls(normals={"augmentation": -0.1})),
    ("video_sparsity_range", _controls(trajectory={"sparsity": 2})),
    ("video_pose_strength_invalid", _controls(pose={"strength": "loose"})),
    *(
        (
            f"video_source_position_{name}_missing",
            _video(REFRAME, source_position={k: v for k, v in POSITION.items() if k != name}),
        )
        for name in ("h_norm", "w_norm", "x_norm", "y_norm")
    ),
    *(
        (
            f"video_source_position_{name}_range",
            _video(REFRAME, source_position={**POSITION, name: 2.5}),
        )
        for name in ("h_norm", "w_norm")
    ),
    ("layering_resolution_invalid", {**LAYERING, "layering": {"resolution": "4k"}}),
    (
        "reference_ids_alone",
        {**VIDEO_EDIT, "source": {"generation_id": GENERATION_ID, **URL}},
    ),
    ("generation_id_invalid", {**VIDEO_EDIT, "source": {"generation_id": "gen-1"}}),
    ("file_id_invalid", {"prompt": "x", "image_ref": [{"file_id": "file-1"}]}),
    ("video_media_type_required", {**VIDEO_EDIT, "source": {"url": "https://example.com/a.mp4"}}),
    ("video_loop_type", _video(VIDEO_EDIT, loop=True)),
    ("video_loop_duration", _video(VIDEO, loop=True, duration="10s")),
    ("video_loop_hdr", _video(VIDEO, loop=True, hdr=True)),
    ("video_hdr_reframe", _video(REFRAME, hdr=True)),
    ("video_hdr_draft", _video(VIDEO, hdr=True, resolution="360p")),
    ("video_exr_needs_hdr", _video(VIDEO, exr_export=True)),
    ("video_keyframes_type", _video(VIDEO_EDIT, keyframes=[URL], keyframe_indexes=[0])),
    ("video_keyframe_indexes_length", _video(VIDEO, keyframes=[URL, URL], keyframe_indexes=[0])),
    (
        "video_keyframe_index_beyond_5s",
        _video(VIDEO, duration="5s", keyframes=[URL], keyframe_indexes=[121]),
    ),
    ("video_keyframes_start_frame", _video(VIDEO, keyframes=[URL], start_frame=URL)),
    ("video_keyframes_end_frame", _video(VIDEO, keyframes=[URL], end_frame=URL)),
    ("video_keyframes_loop", _video(VIDEO, keyframes=[URL], loop=True)),
    ("video_edit_type", _video(VIDEO, edit={"strength": "flex_1"})),
    (
        "video_edit_keyframe_indexes_length",
        _video(VIDEO_EDIT, edit={"keyframes": [URL], "keyframe_indexes": [0, 1]}),
    ),
    (
        "video_edit_keyframes_start_frame",
        _video(VIDEO_EDIT, edit={"keyframes": [URL]}, start_frame=URL),
    ),
    ("video_source_position_type", _video(VIDEO, source_position=POSITION)),
    (
        "not_an_image_or_video",
        {**VIDEO_EDIT, "source": {"url": "https://example.com/a.mp4", "media_type": "text/plain"}},
    ),
    ("not_an_image", _video(VIDEO, start_frame={**URL, "media_type": "video/mp4"})),
    ("url_not_fetchable", _video(VIDEO, keyframes=[URL, {"url": "http://example.com/b.png"}])),
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


def png_size(data: bytes, alpha: bool = False) -> tuple[int, int]:
    """(width, height) of a well-formed 8-bit RGB PNG (RGBA with ``alpha``): every chunk's CRC
    holds and the image data inflates to exactly one filter byte plus three (four) bytes per
    pixel per row."""
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
    assert (depth, colour) == (8, 6 if alpha else 2)
    assert len(zlib.decompress(idat)) == height * (1 + (4 if alpha else 3) * width)
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


# ---------------------------------------------------------------- MP4 (ISO base media) files

_CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"dinf", b"stbl"})


def boxes(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[bytes, int, int]]:
    """The boxes in ``data[start:end]`` as ``(type, payload start, payload end)``: each size
    at least its header and the boxes exactly filling the range."""
    end = len(data) if end is None else end
    found, pos = [], start
    while pos < end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        assert 8 <= size <= end - pos, (kind, size)
        found.append((kind, pos + 8, pos + size))
        pos += size
    assert pos == end
    return found


def box_tree(data: bytes, start: int = 0, end: int | None = None) -> dict[bytes, Any]:
    """The box structure: a container's children by type (each type once), a leaf's payload."""
    tree: dict[bytes, Any] = {}
    for kind, begin, finish in boxes(data, start, end):
        assert kind not in tree, kind
        tree[kind] = box_tree(data, begin, finish) if kind in _CONTAINERS else data[begin:finish]
    return tree


class _RbspReader:
    """H.264 RBSP bits: ``u(n)`` and ``ue(v)`` (emulation prevention bytes removed first)."""

    def __init__(self, nal: bytes) -> None:
        self.bits = "".join(f"{b:08b}" for b in nal.replace(b"\x00\x00\x03", b"\x00\x00"))
        self.pos = 0

    def u(self, n: int) -> int:
        value = int(self.bits[self.pos : self.pos + n] or "0", 2)
        self.pos += n
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bits[self.pos] == "0":
            zeros += 1
            self.pos += 1
        return self.u(zeros + 1) - 1


def sps_size(sps: bytes) -> tuple[int, int]:
    """(width, height) an H.264 Baseline sequence parameter set NAL unit declares."""
    bits = _RbspReader(sps[1:])
    assert sps[0] & 0x1F == 7
    profile = bits.u(8)
    bits.u(16)  # constraint flags, level
    assert profile in (66, 77, 88)  # no chroma or bit depth fields in these profiles
    bits.ue()  # seq_parameter_set_id
    bits.ue()  # log2_max_frame_num_minus4
    poc = bits.ue()
    assert poc == 2
    bits.ue()  # max_num_ref_frames
    bits.u(1)
    width, height = (bits.ue() + 1) * 16, (bits.ue() + 1) * 16
    assert bits.u(1) == 1  # frame_mbs_only_flag
    bits.u(1)
    if bits.u(1):  # frame cropping, in units of two samples
        left, right, top, bottom = (bits.ue() for _ in range(4))
        width -= 2 * (left + right)
        height -= 2 * (top + bottom)
    return width, height


def mp4_summary(data: bytes) -> dict[str, Any]:
    """What a well-formed single-track H.264 MP4 holds: ``ftyp``, ``moov`` and ``mdat`` boxes
    that fill the file; its sample tables agree (counts, sizes, the one chunk's offset inside
    ``mdat``); every sample is length-prefixed NAL units filling it exactly."""
    top = boxes(data)
    assert [kind for kind, _, _ in top] == [b"ftyp", b"moov", b"mdat"]
    tree = box_tree(data)
    assert tree[b"ftyp"][:4] == b"isom"
    trak = tree[b"moov"][b"trak"]
    mdia, stbl = trak[b"mdia"], trak[b"mdia"][b"minf"][b"stbl"]
    assert mdia[b"hdlr"][8:12] == b"vide"
    _, _, timescale, duration = struct.unpack(">IIII", mdia[b"mdhd"][4:20])
    width, height = (n >> 16 for n in struct.unpack(">II", trak[b"tkhd"][-8:]))
    stsd = stbl[b"stsd"]
    assert struct.unpack(">I", stsd[4:8]) == (1,)
    [(entry, begin, finish)] = boxes(stsd, 8)
    assert entry == b"avc1"
    assert struct.unpack(">HH", stsd[begin + 24 : begin + 28]) == (width, height)
    [(avcc, config, config_end)] = boxes(stsd, begin + 78, finish)
    assert avcc == b"avcC"
    avc = stsd[config:config_end]
    assert avc[0] == 1 and avc[4] == 0xFF and avc[5] == 0xE1
    (sps_length,) = struct.unpack(">H", avc[6:8])
    sps = avc[8 : 8 + sps_length]
    assert avc[8 + sps_length] == 1
    (pps_length,) = struct.unpack(">H", avc[9 + sps_length : 11 + sps_length])
    assert avc[11 + sps_length] & 0x1F == 8 and 11 + sps_length + pps_length == len(avc)
    assert tuple(avc[1:4]) == tuple(sps[1:4])
    [(count, delta)] = [struct.unpack(">II", stbl[b"stts"][8:16])]
    assert struct.unpack(">I", stbl[b"stts"][4:8]) == (1,)
    sample_size, samples = struct.unpack(">II", stbl[b"stsz"][4:12])
    sizes = struct.unpack(f">{samples}I", stbl[b"stsz"][12:])
    assert sample_size == 0 and samples == count and duration == count * delta
    assert struct.unpack(">IIII", stbl[b"stsc"][4:20]) == (1, 1, samples, 1)
    (syncs,) = struct.unpack(">I", stbl[b"stss"][4:8])
    sync = struct.unpack(f">{syncs}I", stbl[b"stss"][8:])
    (chunks, offset) = struct.unpack(">II", stbl[b"stco"][4:12])
    _, mdat_start, mdat_end = top[2]
    assert chunks == 1 and offset == mdat_start and sum(sizes) == mdat_end - mdat_start
    kinds, pos = [], offset
    for size in sizes:
        units, end = [], pos + size
        while pos < end:
            (length,) = struct.unpack(">I", data[pos : pos + 4])
            units.append(data[pos + 4] & 0x1F)
            pos += 4 + length
        assert pos == end
        kinds.append(units)
    return {
        "size": (width, height),
        "sps_size": sps_size(sps),
        "frames": samples,
        "seconds": duration / timescale,
        "fps": timescale / delta,
        "syncs": list(sync),
        "nal_types": kinds,
    }
