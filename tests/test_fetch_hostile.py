"""luma_schema.fetch against hostile peers, over real loopback HTTPS: content codings that do not
end where they should, bodies without end, answers that never finish their headers, redirects
whose ``Location`` a URL parser would have cleaned up, and peers or resolvers that hang.

Each case asserts the answer and that the fetch stopped (the server saw the client hang up long
before its own send limit).  The CPU each costs is measured in ``benchmarks/bench_fetch.py``."""

from __future__ import annotations

import asyncio
import gc
import threading
import tracemalloc
from typing import Any
from urllib.parse import quote

import pytest
from fetch_support import CAP, Site, wait_until

from luma_schema.fetch import Fetcher

FAILED = "source: failed to fetch URL"
TOO_LARGE = "source: image exceeds 50 MB limit"
FAILS = ([("url_fetch_failed", 422, FAILED)], [])
IS_TOO_LARGE = ([("image_too_large", 413, TOO_LARGE)], [])
# What a hung-up stream may still have pushed into the socket buffers of both ends.
BUFFERS = 32 << 20


@pytest.fixture
def fetcher(world: Site) -> Fetcher:
    return Fetcher(
        timeout=30.0,
        verify=world.client_context(),
        resolver=world.resolve,
        allow_private=["127.0.0.1"],
    )


def one(fetcher: Fetcher, url: str) -> tuple[list[tuple[str, int, str]], list[str]]:
    errors, warnings = fetcher.fetch_violations([("source", url)])
    return [(e.rule, e.status, e.detail) for e in errors], [w.code for w in warnings]


def sent(world: Site, name: str) -> int:
    """Bytes the server managed to send of an endless body before the client hung up."""
    assert wait_until(lambda: name in world.public.sent, 10)
    return world.public.sent[name]


# ---------------------------------------------------------------- content codings


def test_a_gzip_member_followed_by_junk_fails(fetcher: Fetcher, world: Site) -> None:
    assert one(fetcher, world.url("/gzip-junk")) == FAILS


def test_a_gzip_member_followed_by_endless_junk_fails_at_once(
    fetcher: Fetcher, world: Site
) -> None:
    assert one(fetcher, world.url("/endless/gzip-junk")) == FAILS
    assert sent(world, "gzip-junk") < BUFFERS


def test_every_gzip_member_counts_toward_the_cap(fetcher: Fetcher, world: Site) -> None:
    # A small PNG member, then a member of 60 MiB of zeros: 413, not a pass on the first.
    assert one(fetcher, world.url("/gzip-then-zeros")) == IS_TOO_LARGE


def test_endless_gzip_members_end_at_the_cap(fetcher: Fetcher, world: Site) -> None:
    assert one(fetcher, world.url("/endless/gzip-members")) == IS_TOO_LARGE
    # 1 MiB of zeros is about 1 KiB as a member: the client stopped near 50 members.
    assert sent(world, "gzip-members") < BUFFERS


def test_a_png_in_two_gzip_members_passes(fetcher: Fetcher, world: Site) -> None:
    # Both members are decoded: the format is sniffed and no member is refused.
    assert one(fetcher, world.url("/gzip-two-members")) == ([], [])


def test_zero_padding_after_a_gzip_member_fails(fetcher: Fetcher, world: Site) -> None:
    assert one(fetcher, world.url("/gzip-zero-padding")) == FAILS


def test_endless_empty_gzip_members_fail(fetcher: Fetcher, world: Site) -> None:
    # They decode to nothing, so the cap never comes: the member limit ends them.
    assert one(fetcher, world.url("/endless/gzip-empty-members")) == FAILS
    assert sent(world, "gzip-empty-members") < BUFFERS


def test_a_gzip_member_that_never_ends_fails(fetcher: Fetcher, world: Site) -> None:
    # Empty stored blocks decode to nothing: the bytes read from the connection end it.
    assert one(fetcher, world.url("/endless/gzip-stored-blocks")) == FAILS
    assert sent(world, "gzip-stored-blocks") < (64 << 20) + BUFFERS


def test_deflate_is_one_stream(fetcher: Fetcher, world: Site) -> None:
    assert one(fetcher, world.url("/deflate-png")) == ([], [])
    assert one(fetcher, world.url("/deflate-two-streams")) == FAILS
    assert one(fetcher, world.url("/endless/deflate-junk")) == FAILS
    assert sent(world, "deflate-junk") < BUFFERS


def test_an_endless_plain_body_ends_at_the_cap(fetcher: Fetcher, world: Site) -> None:
    assert one(fetcher, world.url("/endless/identity")) == IS_TOO_LARGE
    assert sent(world, "identity") < CAP + BUFFERS


# ---------------------------------------------------------------- work per image


def test_a_body_in_many_tiny_chunks_fails(fetcher: Fetcher, world: Site) -> None:
    # Each chunk costs a parser step however small it is, so a piece counts as 4 KiB at
    # least: 20,000 one-byte chunks (20 KB of image) are over the 64 MiB of work.
    assert one(fetcher, world.url("/tiny-chunks?n=20000")) == FAILS
    assert one(fetcher, world.url("/tiny-chunks?n=1000")) == ([], [])


def test_many_informational_answers_fail(fetcher: Fetcher, world: Site) -> None:
    # 100 Continue after 100 Continue before the answer: a response head holds 128 KiB at most.
    assert one(fetcher, world.url("/informational?n=6000")) == FAILS
    assert one(fetcher, world.url("/informational?n=10")) == ([], [])


@pytest.mark.parametrize(
    "path", ["/gzip-junk", "/endless/gzip-junk", "/gzip-then-zeros", "/endless/gzip-members"]
)
def test_hostile_codings_hold_little_memory(fetcher: Fetcher, world: Site, path: str) -> None:
    world.public.zeros()  # made before measuring: the server shares this process
    world.public.junk()
    gc.collect()
    tracemalloc.start()
    try:
        errors, _ = fetcher.fetch_violations([("source", world.url(path))])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(errors) == 1
    # The server's own blocks are traced too; piling up the junk would take 20 MiB or more.
    assert peak < 8 << 20


# ---------------------------------------------------------------- redirects as sent


def redirect(world: Site, location: str) -> str:
    return world.url("/redirect?to=" + quote(location, safe=""))


@pytest.mark.parametrize(
    "location",
    [
        "https://img\t.test:{port}/png",  # urljoin drops the TAB: img.test
        "/p\tng",
        "//img\t.test:{port}/png",
        "/png\xa0",  # str.strip drops the no-break space at the end
        "https://img.test:{port}/png\u2003",
    ],
)
def test_a_location_a_parser_would_clean_is_refused(
    fetcher: Fetcher, world: Site, location: str
) -> None:
    """The Location is checked as the server sent it: cleaned up first, each would pass."""
    assert one(fetcher, redirect(world, location.format(port=world.port))) == FAILS
    assert len(world.public.requests) == 1  # the redirect only
    assert world.lookups == ["img.test"]


@pytest.mark.parametrize(
    "location", ["https://img.test:{port}/png", "/png", "//img.test:{port}/png", "png"]
)
def test_the_same_locations_without_the_junk_are_followed(
    fetcher: Fetcher, world: Site, location: str
) -> None:
    assert one(fetcher, redirect(world, location.format(port=world.port))) == ([], [])
    assert world.public.requests[-1] == (f"img.test:{world.port}", "/png")


def test_a_location_with_a_non_https_scheme_is_refused(fetcher: Fetcher, world: Site) -> None:
    for location in (f"http://img.test:{world.plain.port}/png", "ftp://img.test/png"):
        assert one(fetcher, redirect(world, location)) == FAILS
    assert world.plain.accepted == 0


def test_a_relative_location_is_resolved_as_browsers_do(fetcher: Fetcher, world: Site) -> None:
    # A backslash is a slash in an https URL: \\alt.test:port\png names another host.
    location = f"\\\\alt.test:{world.port}\\png"
    assert one(fetcher, redirect(world, location)) == ([], [])
    assert world.public.requests[-1] == (f"alt.test:{world.port}", "/png")


def test_a_relative_location_to_a_private_host_is_refused(fetcher: Fetcher, world: Site) -> None:
    # 2130706434 and 127.0.2 are 127.0.0.2 (only 127.0.0.1 counts as public here).
    for location in (f"//2130706434:{world.port}/png", f"\\\\127.0.2:{world.port}/png"):
        assert one(fetcher, redirect(world, location)) == FAILS
    assert world.private.accepted == 0


# ---------------------------------------------------------------- nothing shared


def test_a_hanging_resolver_does_not_starve_other_lookups(world: Site) -> None:
    """Lookups of a name the resolver never answers in time fail at their deadline; those
    still hanging hold their own threads only, so a later lookup of another name is answered
    at once (with a shared pool of 32 threads, the 40 hung lookups would hold them all)."""
    hang = threading.Event()

    def resolve(host: str, port: int) -> list[str]:
        if host == "slow.test":
            hang.wait(10)
        return world.resolve(host, port)

    fetcher = Fetcher(
        timeout=0.5, verify=world.client_context(), resolver=resolve, allow_private=["127.0.0.1"]
    )
    try:
        slow = [(f"image_ref[{i}]", world.url("/png", host="slow.test")) for i in range(40)]
        errors, _ = fetcher.fetch_violations(slow)
        assert [e.rule for e in errors] == ["url_fetch_failed"] * 40
        fetcher.timeout = 5.0
        assert one(fetcher, world.url("/png")) == ([], [])
    finally:
        hang.set()


def test_slow_peers_do_not_starve_other_requests(world: Site) -> None:
    """40 images held by their server, then an unrelated request: it is answered while they
    are still held (with a shared pool of 32 threads it would queue behind them)."""
    fetcher = Fetcher(
        timeout=10.0,
        verify=world.client_context(),
        resolver=world.resolve,
        allow_private=["127.0.0.1"],
    )

    async def main() -> tuple[Any, Any, int]:
        held = asyncio.ensure_future(
            fetcher.afetch_violations([(f"image_ref[{i}]", world.url("/hold")) for i in range(40)])
        )
        for _ in range(500):  # every held image reached the server
            if len(world.public.held) == 40:
                break
            await asyncio.sleep(0.01)
        reached = len(world.public.held)
        other = await fetcher.afetch_violations([("source", world.url("/png"))])
        still_held = not held.done()
        world.public.release.set()
        return other, (still_held, await held), reached

    other, (still_held, held), reached = asyncio.run(main())
    assert reached == 40
    assert other == ([], [])
    assert still_held
    assert held == ([], [])
