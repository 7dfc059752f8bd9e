"""The mock's MP4: its box structure and H.264 parameter sets as a parser reads them, the
sample tables agreeing with the samples, the same bytes for the same arguments; and, where
PyAV (FFmpeg) is installed, decoded frame by frame."""

from __future__ import annotations

import io
import zlib

import av
import numpy as np
import pytest
from server_support import mp4_summary

from luma_schema import catalog
from luma_schema.server import video


@pytest.mark.parametrize("aspect_ratio", [None, *catalog.VIDEO_ASPECT_RATIOS])
def test_the_frame_has_the_aspect_ratio_and_a_short_side_of_32(aspect_ratio: str | None) -> None:
    width, height = video.frame_size(aspect_ratio)
    w, h = (int(n) for n in (aspect_ratio or "16:9").split(":"))
    assert min(width, height) == 32 and width % 2 == height % 2 == 0
    assert abs(width / height - w / h) < 0.05


@pytest.mark.parametrize(("aspect_ratio", "seconds"), [(None, 5), ("21:9", 10), ("3:4", 1)])
def test_the_video_is_a_well_formed_mp4_of_that_length(
    aspect_ratio: str | None, seconds: int
) -> None:
    data = video.output_video(aspect_ratio, seconds, "key")
    summary = mp4_summary(data)
    assert summary["size"] == summary["sps_size"] == video.frame_size(aspect_ratio)
    assert summary["frames"] == seconds * video.FPS
    assert (summary["seconds"], summary["fps"]) == (seconds, video.FPS)
    # Each second opens with an IDR picture (NAL type 5), a sync sample; the rest are P (1).
    starts = [1 + video.FPS * s for s in range(seconds)]
    assert summary["syncs"] == starts
    assert summary["nal_types"] == [
        [5] if n + 1 in starts else [1] for n in range(summary["frames"])
    ]
    assert len(data) < 64_000  # small: a few KB a second


def test_the_same_arguments_give_the_same_bytes() -> None:
    one = video.output_video("16:9", 5, "a")
    video.output_video.cache_clear()
    assert video.output_video("16:9", 5, "a") == one
    assert video.output_video("16:9", 5, "b") != one


def test_no_start_code_appears_inside_a_nal_unit() -> None:
    """Emulation prevention: a decoder that scans for start codes finds none in the data."""
    data = video.output_video("1:1", 2, "emulation")
    for size_prefixed in _samples(data):
        assert b"\x00\x00\x00" not in size_prefixed[4:]
        assert b"\x00\x00\x01" not in size_prefixed[4:] and b"\x00\x00\x02" not in size_prefixed[4:]


def _samples(data: bytes) -> list[bytes]:
    mdat = data.index(b"mdat") + 4
    out, pos = [], mdat
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        out.append(data[pos : pos + 4 + length])
        pos += 4 + length
    return out


def test_ffmpeg_decodes_every_frame_to_the_pictures_written() -> None:
    width, height = video.frame_size("16:9")
    with av.open(io.BytesIO(video.output_video("16:9", 2, "k"))) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", width, height)
        frames = list(container.decode(video=0))
    assert len(frames) == 2 * video.FPS
    padded = -(-width // 16) * 16
    tint = zlib.crc32(b"k")
    for n, frame in enumerate(frames):
        planes = frame.to_ndarray(format="yuv420p")
        luma, _, _ = video._planes(width, height, tint, n // video.FPS)
        written = np.frombuffer(luma, dtype=np.uint8).reshape(-1, padded)[:height, :width]
        assert (planes[:height] == written).all(), n
