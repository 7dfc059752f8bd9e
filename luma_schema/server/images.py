"""Small, valid PNG and JPEG images for the mock's outputs (and the RGBA layers of a layering
output), written without an imaging library."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import Final

__all__ = ["LAYERS", "MEDIA_TYPES", "layer_image", "output_image"]

Pixel = Callable[[int, int], tuple[int, ...]]


def _png(width: int, height: int, pixel: Pixel, alpha: bool = False) -> bytes:
    """8-bit RGB, or RGBA with ``alpha`` (``pixel`` then gives four components)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + bytes(c for x in range(width) for c in pixel(x, y)) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 6 if alpha else 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class _Bits:
    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, value: int, length: int) -> None:
        self.acc = (self.acc << length) | (value & ((1 << length) - 1))
        self.n += length
        while self.n >= 8:
            self.n -= 8
            byte = (self.acc >> self.n) & 0xFF
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0)  # byte stuffing
        self.acc &= (1 << self.n) - 1

    def flush(self) -> bytes:
        if self.n:
            self.put((1 << (8 - self.n)) - 1, 8 - self.n)  # pad with one bits
        return bytes(self.out)


def _jpeg(width: int, height: int, pixel: Pixel) -> bytes:
    """A baseline JFIF image: YCbCr, no subsampling, each 8x8 block one colour (sampled at its
    centre), so only DC coefficients are coded.  ``width`` and ``height`` are multiples of 8."""

    def segment(marker: int, data: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(data) + 2) + data

    quant = 8  # DC of a flat block is 8 * (value - 128); quantised, value - 128
    dc_lengths = bytes([0, 0, 0, 12] + [0] * 12)  # categories 0..11, four-bit codes
    header = (
        b"\xff\xd8"
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + segment(0xDB, b"\x00" + bytes([quant] * 64))
        + segment(
            0xC0,
            struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00",
        )
        + segment(0xC4, b"\x00" + dc_lengths + bytes(range(12)))
        + segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")  # AC: only EOB, code 0
        + segment(0xDA, b"\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00")
    )
    bits = _Bits()
    predictors = [0, 0, 0]
    for by in range(height // 8):
        for bx in range(width // 8):
            r, g, b = pixel(bx * 8 + 4, by * 8 + 4)[:3]
            ycc = (
                0.299 * r + 0.587 * g + 0.114 * b,
                128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
                128 + 0.5 * r - 0.418688 * g - 0.081312 * b,
            )
            for component, value in enumerate(ycc):
                dc = max(0, min(255, round(value))) - 128
                diff = dc - predictors[component]
                predictors[component] = dc
                category = abs(diff).bit_length()
                bits.put(category, 4)
                if category:
                    bits.put(diff if diff > 0 else diff + (1 << category) - 1, category)
                bits.put(0, 1)  # EOB
    return header + bits.flush() + b"\xff\xd9"


_ENCODERS: Final = {"png": _png, "jpeg": _jpeg}
MEDIA_TYPES: Final = {"png": "image/png", "jpeg": "image/jpeg"}
_SHORT_SIDE: Final = 64


def _size(aspect_ratio: str | None) -> tuple[int, int]:
    """Output pixels for an aspect ratio: the short side 64, both sides multiples of 8."""
    if aspect_ratio is None:
        return _SHORT_SIDE, _SHORT_SIDE
    w, h = (int(part) for part in aspect_ratio.split(":"))
    scale = _SHORT_SIDE / min(w, h)
    return max(8, round(w * scale / 8) * 8), max(8, round(h * scale / 8) * 8)


def output_image(output_format: str, aspect_ratio: str | None, key: str) -> bytes:
    """A small, valid image in ``output_format``: a gradient whose colours derive from ``key``."""
    width, height = _size(aspect_ratio)
    tint = zlib.crc32(key.encode("utf-8"))
    r0, g0, b0 = tint & 0xFF, (tint >> 8) & 0xFF, (tint >> 16) & 0xFF

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        return (r0 + 255 * x // width) % 256, (g0 + 255 * y // height) % 256, b0

    return _ENCODERS[output_format](width, height, pixel)


# The layers of a layering output, front to back; the last is the background (lib: the mock's).
LAYERS: Final = (
    ("subject", "The main subject of the source image, cut out", "soft"),
    ("object", "An object standing in front of the background", "hard"),
    ("background", "The background, with the layers in front of it removed", "none"),
)


def layer_image(index: int, key: str) -> bytes:
    """Layer ``index`` of :data:`LAYERS` as a 64x64 PNG: RGBA with its shape in the alpha
    channel (a disc with a soft edge, a hard-edged rectangle), the background opaque RGB."""
    size = _SHORT_SIDE
    tint = zlib.crc32(f"{key}/{index}".encode())
    colour = (tint & 0xFF, (tint >> 8) & 0xFF, (tint >> 16) & 0xFF)
    alpha_hint = LAYERS[index][2]
    if alpha_hint == "none":
        return _png(size, size, lambda x, y: (colour[0], (colour[1] + 2 * y) % 256, colour[2]))

    def shape(x: int, y: int) -> tuple[int, int, int, int]:
        if alpha_hint == "soft":
            distance = ((x - size / 2) ** 2 + (y - size / 2) ** 2) ** 0.5
            alpha = max(0, min(255, round((size / 3 - distance) * 32)))
        else:
            alpha = 255 if size // 8 <= x < size // 2 and size // 2 <= y < size - size // 8 else 0
        return (*colour, alpha)

    return _png(size, size, shape, alpha=True)
