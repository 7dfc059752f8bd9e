"""The fetch step as the engine takes it (no network: a fetcher that records what it is handed).
Only a request that passed every static rule is fetched; its URL references go to the fetcher in
order, each with its path and the media families its position takes (from the catalogue's
media-family rules); what the fetcher finds comes after the static answer's warnings; a request
without URL references is not fetched at all."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import Any

import pytest

import luma_schema
from luma_schema import Notice, Violation, catalog
from luma_schema.engine import Engine, acheck
from luma_schema.rules import MediaFamily

GEN = "123e4567-e89b-12d3-a456-426614174000"
PNG64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgAAACAAAB4iG8MwAAAABJRU5ErkJggg=="
A, B, C = (f"https://example.com/{n}.png" for n in "abc")
Target = tuple[str, str, tuple[str, ...]]  # (path, url, media families), as the fetcher gets it


class Recorder:
    """A fetcher that answers ``found`` and keeps the targets it was handed."""

    def __init__(self, found: tuple[list[Violation], list[Notice]] = ([], [])) -> None:
        self.found = found
        self.calls: list[list[Target]] = []

    def fetch_violations(self, targets: Sequence[Target]) -> tuple[list[Violation], list[Notice]]:
        self.calls.append(list(targets))
        return list(self.found[0]), list(self.found[1])

    async def afetch_violations(
        self, targets: Sequence[Target]
    ) -> tuple[list[Violation], list[Notice]]:
        return self.fetch_violations(targets)


def both_ways(payload: Any, fetcher: Recorder) -> list[luma_schema.Report]:
    """The answer of ``check(fetch=...)`` and of ``acheck``."""
    return [luma_schema.check(payload, fetch=fetcher), asyncio.run(acheck(payload, fetcher))]


# What a video edit's source may be, as the catalogue's media-family rule says.
VIDEO = tuple(
    sorted(
        next(r for r in catalog.RULES if isinstance(r, MediaFamily) and r.member == "media_type").families
    )
)
assert "video" in VIDEO


@pytest.mark.parametrize(
    ("payload", "targets"),
    [
        (
            {
                "type": "image_edit",
                "prompt": "x",
                "source": {"url": A},
                "image_ref": [{"data": PNG64, "media_type": "image/png"}, {"url": B}, {"url": C}],
            },
            [("source", A, ("image",)), ("image_ref[1]", B, ("image",)), ("image_ref[2]", C, ("image",))],
        ),
        ({"prompt": "x", "image_ref": [{"generation_id": GEN}, {"url": B}]}, [("image_ref[1]", B, ("image",))]),
        (
            {"model": "ray-3.2", "type": "video_edit", "prompt": "x", "source": {"url": A, "media_type": "video/mp4"}},
            [("source", A, VIDEO)],
        ),
        (
            {
                "model": "ray-3.2",
                "type": "video",
                "prompt": "x",
                "video": {"keyframes": [{"url": A}, {"url": B}], "keyframe_indexes": [0, 10]},
            },
            [("video.keyframes[0]", A, ("image",)), ("video.keyframes[1]", B, ("image",))],
        ),
    ],
    ids=["edit", "refs", "video_edit", "keyframes"],
)
def test_the_url_references_of_an_accepted_request_are_fetched_in_order(
    payload: dict[str, Any], targets: list[Target]
) -> None:
    fetcher = Recorder()
    for report in both_ways(payload, fetcher):
        assert report.ok and report.request == luma_schema.check(payload).request
    assert fetcher.calls == [targets, targets]


def test_what_the_fetcher_finds_follows_the_static_answer() -> None:
    payload = {"type": "image_edit", "prompt": "x", "source": {"url": A}, "style": "manga", "extra": 1}
    static = luma_schema.check(payload)
    assert static.ok and static.warnings
    error = Violation("url_http_error", 422, "source: URL returned HTTP 404", "source")
    notice = Notice("not_an_image_signature", "source", "source: unknown bytes")
    for report in both_ways(payload, Recorder(([error], [notice]))):
        assert (report.ok, report.status, report.detail) == (False, 422, error.detail)
        assert report.errors == (error,) and report.request is None
        assert report.warnings == (*static.warnings, notice)
    for report in both_ways(payload, Recorder(([], [notice]))):
        assert report.ok and report.request == static.request
        assert report.warnings == (*static.warnings, notice)


@pytest.mark.parametrize(
    "payload",
    [
        {"prompt": "x"},  # no reference
        {"prompt": "x", "image_ref": [{"data": PNG64, "media_type": "image/png"}, {"file_id": GEN}]},
        {"type": "image_edit", "prompt": "", "source": {"url": A}},  # refused: not fetched
        {"type": "image", "prompt": "x", "source": {"url": A}},
        b"[]",
    ],
    ids=["prompt", "no_url", "refused", "forbidden", "not_json"],
)
def test_a_request_refused_or_without_urls_is_not_fetched(payload: Any) -> None:
    fetcher = Recorder(([Violation("url_http_error", 422, "never", "source")], []))
    for report in both_ways(payload, fetcher):
        static = luma_schema.check(payload)
        assert (report.status, report.detail, report.errors, report.warnings) == (
            static.status,
            static.detail,
            static.errors,
            static.warnings,
        )
    assert fetcher.calls == []


def test_fetch_false_is_the_static_answer() -> None:
    payload = {"type": "image_edit", "prompt": "x", "source": {"url": A}}
    static = luma_schema.check(payload)
    engine = Engine(catalog.CATALOGUE)
    for report in (engine.check(payload, fetch=False), asyncio.run(engine.acheck(payload, False))):
        assert (report.ok, report.warnings, report.request) == (True, static.warnings, static.request)


def test_without_the_fetch_extra_each_url_gets_a_not_fetched_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As if the extra were not installed: importing luma_schema.fetch fails.
    monkeypatch.setitem(sys.modules, "luma_schema.fetch", None)
    monkeypatch.delattr(luma_schema, "fetch", raising=False)
    payload = {"type": "image_edit", "prompt": "x", "source": {"url": A}, "image_ref": [{"url": B}]}
    static = luma_schema.check(payload)
    engine = Engine(catalog.CATALOGUE)
    for report in (engine.check(payload, fetch=True), asyncio.run(engine.acheck(payload, True))):
        assert report.ok and report.request == static.request
        added = report.warnings[len(static.warnings) :]
        assert report.warnings[: len(static.warnings)] == static.warnings
        assert [(w.code, w.path) for w in added] == [("not_fetched", "source.url"), ("not_fetched", "image_ref[0].url")]
        assert added[0].message == catalog.ADVICE_BY_ID["not_fetched"].render("source.url")
