"""luma_schema.fetch where a position takes videos too (the source of video_edit and
video_reframe): a video/* answer passes, has no cap, earns a warning past 200 MB and is counted
no further; an image there keeps the image rules; other answers are refused with the rule that
names both families.  Real loopback HTTPS servers, as in test_fetch.py.

Expected messages are the library's strings, written out here."""

from __future__ import annotations

import asyncio

import pytest
from fetch_support import CAP, Site

from luma_schema.fetch import Fetcher, Target

VIDEO_OR_IMAGE = ("image", "video")
NOT_MEDIA = "source: content-type is not an image or a video"


@pytest.fixture
def fetcher(world: Site) -> Fetcher:
    return Fetcher(
        timeout=10.0,
        verify=world.client_context(),
        resolver=world.resolve,
        allow_private=["127.0.0.1"],
    )


def at_video_source(
    fetcher: Fetcher, url: str
) -> tuple[list[tuple[str, int, str]], list[tuple[str, str, str]]]:
    errors, warnings = fetcher.fetch_violations([Target("source", url, VIDEO_OR_IMAGE)])
    return [(e.rule, e.status, e.detail) for e in errors], [
        (w.code, w.path, w.message) for w in warnings
    ]


def test_a_video_passes_where_videos_are_taken(fetcher: Fetcher, world: Site) -> None:
    assert at_video_source(fetcher, world.url("/mp4")) == ([], [])
    assert world.public.accepts == ["image/*, video/*"]


def test_an_image_passes_there_too_with_the_image_rules(fetcher: Fetcher, world: Site) -> None:
    assert at_video_source(fetcher, world.url("/png")) == ([], [])
    errors, _ = at_video_source(fetcher, world.url("/big-length"))
    assert errors == [("image_too_large", 413, "source: image exceeds 50 MB limit")]


@pytest.mark.parametrize("path", ["/html", "/no-type"])
def test_neither_an_image_nor_a_video_is_422(fetcher: Fetcher, world: Site, path: str) -> None:
    assert at_video_source(fetcher, world.url(path)) == (
        [("not_an_image_or_video", 422, NOT_MEDIA)],
        [],
    )


def test_a_video_at_an_image_position_is_not_an_image(fetcher: Fetcher, world: Site) -> None:
    for target in (("video.start_frame", world.url("/mp4")), Target("source", world.url("/mp4"))):
        errors, _ = fetcher.fetch_violations([target])
        assert [(e.rule, e.detail) for e in errors] == [
            ("not_an_image", f"{target[0]}: content-type is not an image")
        ]
    assert world.public.accepts == ["image/*", "image/*"]


def test_a_video_past_200_mb_warns_and_is_counted_no_further(fetcher: Fetcher, world: Site) -> None:
    """Bodies that decode to 200 MiB (no warning) and 201 MiB (a warning): counted as
    decoded, as images are; nothing refuses a video for its size."""
    errors, warnings = fetcher.fetch_violations(
        [
            Target("source", world.url("/video-members?mib=200"), VIDEO_OR_IMAGE),
            Target("image_ref[0]", world.url("/video-members?mib=201"), VIDEO_OR_IMAGE),
        ]
    )
    assert errors == []
    assert [(w.code, w.path, w.message) for w in warnings] == [
        ("video_large", "image_ref[0].url", "image_ref[0].url: decoded video is over 200 MB")
    ]


def test_a_declared_length_past_200_mb_warns_without_reading(fetcher: Fetcher, world: Site) -> None:
    url = world.url(f"/video-declared?length={(200 << 20) + 1}")
    assert at_video_source(fetcher, url) == (
        [],
        [("video_large", "source.url", "source.url: decoded video is over 200 MB")],
    )
    # Declared above the image cap but not past 200 MB: read, and it ends short: no error.
    fetcher.timeout = 1.0
    assert at_video_source(fetcher, world.url(f"/video-declared?length={CAP + 1}")) == ([], [])


def test_nothing_after_a_videos_head_fails_the_fetch(fetcher: Fetcher, world: Site) -> None:
    fetcher.timeout = 1.0  # the body needs 10 s: an image's fetch fails (test_fetch.py)
    assert at_video_source(fetcher, world.url("/slow?type=video/mp4")) == ([], [])
    assert at_video_source(fetcher, world.url("/slow"))[0] == [
        ("url_fetch_failed", 422, "source: failed to fetch URL")
    ]


def test_the_rules_before_the_body_hold_for_videos(fetcher: Fetcher, world: Site) -> None:
    assert at_video_source(fetcher, world.url("/status/404"))[0] == [
        ("url_http_error", 422, "source: failed to fetch URL (HTTP 404)")
    ]
    assert at_video_source(fetcher, world.url("/loop"))[0] == [
        ("url_fetch_failed", 422, "source: failed to fetch URL")
    ]


def test_the_async_entry_takes_targets(fetcher: Fetcher, world: Site) -> None:
    errors, warnings = asyncio.run(
        fetcher.afetch_violations(
            [
                Target("source", world.url("/html"), VIDEO_OR_IMAGE),
                ("image_ref[0]", world.url("/mp4")),
            ]
        )
    )
    assert [(e.rule, e.path) for e in errors] == [
        ("not_an_image_or_video", "source"),
        ("not_an_image", "image_ref[0]"),
    ]
    assert warnings == []
