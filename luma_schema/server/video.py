"""A small, valid MP4 for the mock's video outputs, written without a codec library.

The video is H.264 (Constrained Baseline), 24 frames a second: each second starts with an IDR
picture of ``I_PCM`` macroblocks (the samples themselves, no transform to get wrong), and the
other 23 frames are P pictures whose every macroblock is skipped (a copy of the picture before).
So each second is one still colour field, a gradient whose tint derives from the key and moves
on every second.  The file is ISO base media (``ftyp``, ``moov`` before ``mdat``), the H.264
parameter sets in ``avcC``, samples as length-prefixed NAL units; the same arguments give the
same bytes.
"""

from __future__ import annotations

import functools
import re
import struct
import zlib
from typing import Final

__all__ = ["FPS", "MEDIA_TYPE", "frame_size", "output_video"]

MEDIA_TYPE: Final = "video/mp4"
FPS: Final = 24
_SHORT_SIDE: Final = 32
_MB: Final = 16  # a macroblock is 16x16 luma samples, 8x8 of each chroma (4:2:0)
_PROFILE, _CONSTRAINTS, _LEVEL = 66, 0xC0, 30  # Baseline, constraint_set0 and 1: Constrained
_LOG2_MAX_FRAME_NUM: Final = 8
_I_PCM: Final = 25  # mb_type of an I_PCM macroblock in an I slice
_SLICE_P, _SLICE_I = 5, 7  # slice_type, "every slice of the picture is of this type"


class _Bits:
    """An RBSP written bit by bit (H.264 7.2: ``u(n)``, ``ue(v)``, ``se(v)``)."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def u(self, value: int, length: int) -> None:
        self.acc = (self.acc << length) | (value & ((1 << length) - 1))
        self.n += length
        while self.n >= 8:
            self.n -= 8
            self.out.append((self.acc >> self.n) & 0xFF)
        self.acc &= (1 << self.n) - 1

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(0, code.bit_length() - 1)
        self.u(code, code.bit_length())

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def align(self) -> None:
        if self.n:
            self.u(0, 8 - self.n)

    def raw(self, data: bytes) -> None:
        assert self.n == 0, "raw bytes start on a byte boundary"
        self.out += data

    def rbsp(self) -> bytes:
        self.u(1, 1)  # rbsp_stop_one_bit, then zeros to the byte boundary
        self.align()
        return bytes(self.out)


# Emulation prevention (H.264 7.4.1): 00 00 followed by 00..03 gets an 03 between.
_EMULATION: Final = re.compile(b"\x00\x00(?=[\x00-\x03])", re.DOTALL)


def _nal(ref_idc: int, kind: int, rbsp: bytes) -> bytes:
    return bytes([(ref_idc << 5) | kind]) + _EMULATION.sub(b"\x00\x00\x03", rbsp)


def _sps(width: int, height: int) -> bytes:
    mbs_w, mbs_h = -(-width // _MB), -(-height // _MB)
    b = _Bits()
    b.u(_PROFILE, 8)
    b.u(_CONSTRAINTS, 8)
    b.u(_LEVEL, 8)
    b.ue(0)  # seq_parameter_set_id
    b.ue(_LOG2_MAX_FRAME_NUM - 4)
    b.ue(2)  # pic_order_cnt_type 2: output order is decoding order
    b.ue(1)  # max_num_ref_frames
    b.u(0, 1)  # gaps_in_frame_num_value_allowed_flag
    b.ue(mbs_w - 1)
    b.ue(mbs_h - 1)
    b.u(1, 1)  # frame_mbs_only_flag
    b.u(1, 1)  # direct_8x8_inference_flag
    crop_right, crop_bottom = (mbs_w * _MB - width) // 2, (mbs_h * _MB - height) // 2
    cropped = bool(crop_right or crop_bottom)
    b.u(int(cropped), 1)  # frame_cropping_flag (offsets in units of two samples, 4:2:0)
    if cropped:
        for offset in (0, crop_right, 0, crop_bottom):
            b.ue(offset)
    b.u(0, 1)  # vui_parameters_present_flag: the timing is the container's
    return _nal(3, 7, b.rbsp())


def _pps() -> bytes:
    b = _Bits()
    b.ue(0)  # pic_parameter_set_id
    b.ue(0)  # seq_parameter_set_id
    b.u(0, 1)  # entropy_coding_mode_flag: CAVLC
    b.u(0, 1)  # bottom_field_pic_order_in_frame_present_flag
    b.ue(0)  # num_slice_groups_minus1
    b.ue(0)  # num_ref_idx_l0_default_active_minus1
    b.ue(0)  # num_ref_idx_l1_default_active_minus1
    b.u(0, 1)  # weighted_pred_flag
    b.u(0, 2)  # weighted_bipred_idc
    b.se(0)  # pic_init_qp_minus26
    b.se(0)  # pic_init_qs_minus26
    b.se(0)  # chroma_qp_index_offset
    b.u(1, 1)  # deblocking_filter_control_present_flag
    b.u(0, 1)  # constrained_intra_pred_flag
    b.u(0, 1)  # redundant_pic_cnt_present_flag
    return _nal(3, 8, b.rbsp())


def _slice_header(b: _Bits, slice_type: int, frame_num: int, idr_pic_id: int | None) -> None:
    b.ue(0)  # first_mb_in_slice
    b.ue(slice_type)
    b.ue(0)  # pic_parameter_set_id
    b.u(frame_num, _LOG2_MAX_FRAME_NUM)
    if idr_pic_id is not None:
        b.ue(idr_pic_id)
    else:
        b.u(0, 1)  # num_ref_idx_active_override_flag
        b.u(0, 1)  # ref_pic_list_modification_flag_l0
    if idr_pic_id is not None:
        b.u(0, 1)  # no_output_of_prior_pics_flag
        b.u(0, 1)  # long_term_reference_flag
    else:
        b.u(0, 1)  # adaptive_ref_pic_marking_mode_flag
    b.se(0)  # slice_qp_delta
    b.ue(1)  # disable_deblocking_filter_idc: no filtering


def _idr(width: int, height: int, idr_pic_id: int, planes: tuple[bytes, bytes, bytes]) -> bytes:
    """An IDR picture of I_PCM macroblocks from full Y, Cb and Cr planes (padded sizes)."""
    luma, cb, cr = planes
    stride, chroma_stride = -(-width // _MB) * _MB, -(-width // _MB) * _MB // 2
    b = _Bits()
    _slice_header(b, _SLICE_I, 0, idr_pic_id)
    for my in range(-(-height // _MB)):
        for mx in range(-(-width // _MB)):
            b.ue(_I_PCM)
            b.align()  # pcm_alignment_zero_bit
            samples = bytearray()
            for row in range(_MB):
                at = (my * _MB + row) * stride + mx * _MB
                samples += luma[at : at + _MB]
            for plane in (cb, cr):
                for row in range(_MB // 2):
                    at = (my * _MB // 2 + row) * chroma_stride + mx * _MB // 2
                    samples += plane[at : at + _MB // 2]
            b.raw(bytes(samples))
    return _nal(3, 5, b.rbsp())


def _skipped(width: int, height: int, frame_num: int) -> bytes:
    """A P picture whose every macroblock is skipped: the picture before, again."""
    b = _Bits()
    _slice_header(b, _SLICE_P, frame_num, None)
    b.ue(-(-width // _MB) * -(-height // _MB))  # mb_skip_run: all of them
    return _nal(2, 1, b.rbsp())


def _planes(width: int, height: int, tint: int, second: int) -> tuple[bytes, bytes, bytes]:
    """Y, Cb and Cr of one second's picture (sizes padded to whole macroblocks): a diagonal
    luma gradient and a chroma that turns with the seconds.  Samples are 1..254 (PCM samples
    of 0 were not allowed in the first edition of H.264)."""
    w, h = -(-width // _MB) * _MB, -(-height // _MB) * _MB
    span = w + h
    shift = (tint & 0xFF) + 37 * second
    luma = bytes(
        1 + (shift + 253 * (x + y) // span) % 254 for y in range(h) for x in range(w)
    )
    u = 1 + ((tint >> 8) + 53 * second) % 254
    v = 1 + ((tint >> 16) + 91 * second) % 254
    quarter = (w // 2) * (h // 2)
    return luma, bytes([u]) * quarter, bytes([v]) * quarter


# ---------------------------------------------------------------- ISO base media (MP4)


def _box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full(kind: bytes, flags: int, *payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", flags), *payload)  # version 0


_MATRIX: Final = struct.pack(">9i", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _moov(
    width: int,
    height: int,
    sps: bytes,
    pps: bytes,
    sizes: list[int],
    syncs: list[int],
    offset: int,
) -> bytes:
    frames = len(sizes)
    millis = frames * 1000 // FPS
    avcc = _box(
        b"avcC",
        bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1]),
        struct.pack(">H", len(sps)),
        sps,
        b"\x01",
        struct.pack(">H", len(pps)),
        pps,
    )
    name = b"luma-schema mock"
    avc1 = _box(
        b"avc1",
        b"\x00" * 6 + struct.pack(">H", 1),  # reserved, data_reference_index
        b"\x00" * 16,  # pre_defined, reserved
        struct.pack(">HHIIIH", width, height, 0x480000, 0x480000, 0, 1),
        bytes([len(name)]) + name.ljust(31, b"\x00"),  # compressorname
        struct.pack(">Hh", 0x18, -1),  # depth, pre_defined
        avcc,
    )
    stbl = _box(
        b"stbl",
        _full(b"stsd", 0, struct.pack(">I", 1), avc1),
        _full(b"stts", 0, struct.pack(">III", 1, frames, 1)),
        _full(b"stss", 0, struct.pack(f">I{len(syncs)}I", len(syncs), *syncs)),
        _full(b"stsc", 0, struct.pack(">IIII", 1, 1, frames, 1)),
        _full(b"stsz", 0, struct.pack(f">II{frames}I", 0, frames, *sizes)),
        _full(b"stco", 0, struct.pack(">II", 1, offset)),
    )
    minf = _box(
        b"minf",
        _full(b"vmhd", 1, b"\x00" * 8),
        _box(b"dinf", _full(b"dref", 0, struct.pack(">I", 1), _full(b"url ", 1))),
        stbl,
    )
    mdia = _box(
        b"mdia",
        _full(b"mdhd", 0, struct.pack(">IIIIHH", 0, 0, FPS, frames, 0x55C4, 0)),  # "und"
        _full(b"hdlr", 0, b"\x00" * 4, b"vide", b"\x00" * 12, b"VideoHandler\x00"),
        minf,
    )
    tkhd = _full(
        b"tkhd",
        3,  # enabled, in the movie
        struct.pack(">IIIII", 0, 0, 1, 0, millis),
        b"\x00" * 8,
        struct.pack(">hhhH", 0, 0, 0, 0),
        _MATRIX,
        struct.pack(">II", width << 16, height << 16),
    )
    mvhd = _full(
        b"mvhd",
        0,
        struct.pack(">IIIIIH", 0, 0, 1000, millis, 0x10000, 0x100),
        b"\x00" * 10,
        _MATRIX,
        b"\x00" * 24,
        struct.pack(">I", 2),  # next_track_ID
    )
    return _box(b"moov", mvhd, _box(b"trak", tkhd, mdia))


_FTYP: Final = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2avc1mp41")


def frame_size(aspect_ratio: str | None) -> tuple[int, int]:
    """Pixels of the video for an aspect ratio (16:9 when none): the short side 32, both sides
    even (the picture is cropped from whole macroblocks)."""
    w, h = (int(part) for part in (aspect_ratio or "16:9").split(":"))
    scale = _SHORT_SIDE / min(w, h)
    return max(2, round(w * scale / 2) * 2), max(2, round(h * scale / 2) * 2)


@functools.lru_cache(maxsize=32)
def output_video(aspect_ratio: str | None, seconds: int, key: str) -> bytes:
    """An MP4 of ``seconds`` seconds at 24 frames a second, its tint derived from ``key``."""
    width, height = frame_size(aspect_ratio)
    tint = zlib.crc32(key.encode("utf-8"))
    samples: list[bytes] = []
    syncs: list[int] = []
    for second in range(seconds):
        syncs.append(len(samples) + 1)
        picture = _idr(width, height, second % 2, _planes(width, height, tint, second))
        samples.append(picture)
        samples += [_skipped(width, height, n) for n in range(1, FPS)]
    framed = [struct.pack(">I", len(s)) + s for s in samples]
    sizes = [len(s) for s in framed]
    sps, pps = _sps(width, height), _pps()
    # moov's size does not depend on the offset it records: measure it, then write it.
    moov_size = len(_moov(width, height, sps, pps, sizes, syncs, 0))
    offset = len(_FTYP) + moov_size + 8
    moov = _moov(width, height, sps, pps, sizes, syncs, offset)
    return _FTYP + moov + _box(b"mdat", *framed)
