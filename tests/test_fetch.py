"""luma_schema.fetch against real loopback servers (HTTPS with a test CA, and plain HTTP).

Expected messages are SPEC section 2's strings, written out here."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import ssl
import subprocess
import sys
import threading
import tracemalloc
import urllib.parse
from typing import Any

import pytest
from fetch_support import Site

import luma_schema
from luma_schema import cli, engine, fetch, media
from luma_schema.fetch import Fetcher

FAILED = "source: failed to fetch URL"
NOT_IMAGE = "source: content-type is not an image"
TOO_LARGE = "source: image exceeds 50 MB limit"


@pytest.fixture
def fetcher(world: Site) -> Fetcher:
    """Trusts the test CA and counts 127.0.0.1 (only) as public."""
    return Fetcher(
        timeout=5.0,
        verify=world.client_context(),
        resolver=world.resolve,
        allow_private=["127.0.0.1"],
    )


def one(fetcher: Fetcher, url: str) -> tuple[list[tuple[str, int, str]], list[str]]:
    errors, warnings = fetcher.fetch_violations([("source", url)])
    return [(e.rule, e.status, e.detail) for e in errors], [w.code for w in warnings]


# ---------------------------------------------------------------- answers


def test_small_png_passes(fetcher: Fetcher, world: Site) -> None:
    assert one(fetcher, world.url("/png")) == ([], [])
    assert world.public.requests == [(f"img.test:{world.port}", "/png")]


def test_image_content_type_with_parameters_passes(fetcher: Fetcher, world: Site) -> None:
    assert one(fetcher, world.url("/png-params")) == ([], [])


def test_unknown_bytes_pass_with_a_warning(fetcher: Fetcher, world: Site) -> None:
    errors, warnings = fetcher.fetch_violations([("image_ref[0]", world.url("/text-bytes"))])
    assert errors == []
    assert [(w.code, w.path, w.message) for w in warnings] == [
        (
            "format_unknown",
            "image_ref[0].url",
            "image_ref[0].url: decoded bytes are not PNG, JPEG, WebP or GIF",
        )
    ]


def test_exactly_the_cap_passes(fetcher: Fetcher, world: Site) -> None:
    fetcher.timeout = 30.0
    assert one(fetcher, world.url("/exact")) == ([], ["image_large"])


@pytest.mark.parametrize("path", ["/big-length", "/big-chunked", "/big-close"])
def test_one_byte_over_the_cap_is_413(fetcher: Fetcher, world: Site, path: str) -> None:
    fetcher.timeout = 30.0
    assert one(fetcher, world.url(path)) == ([("image_too_large", 413, TOO_LARGE)], [])


def test_a_gzip_body_is_counted_decoded(fetcher: Fetcher, world: Site) -> None:
    assert one(fetcher, world.url("/gzip-png")) == ([], [])
    fetcher.timeout = 30.0
    assert one(fetcher, world.url("/gzip-bomb")) == ([("image_too_large", 413, TOO_LARGE)], [])


def test_an_empty_content_encoding_is_identity(fetcher: Fetcher, world: Site) -> None:
    assert one(fetcher, world.url("/empty-encoding")) == ([], [])


def test_an_unknown_content_encoding_fails(fetcher: Fetcher, world: Site) -> None:
    assert one(fetcher, world.url("/brotli")) == ([("url_fetch_failed", 422, FAILED)], [])


def test_a_slow_body_times_out(fetcher: Fetcher, world: Site) -> None:
    fetcher.timeout = 1.0  # the body needs 10 s
    assert one(fetcher, world.url("/slow")) == ([("url_fetch_failed", 422, FAILED)], [])


@pytest.mark.parametrize("path", ["/html", "/no-type"])
def test_a_non_image_content_type_is_422(fetcher: Fetcher, world: Site, path: str) -> None:
    assert one(fetcher, world.url(path)) == ([("not_an_image", 422, NOT_IMAGE)], [])


@pytest.mark.parametrize("code", [400, 403, 404, 410, 429, 500, 503])
def test_an_http_error_names_its_status(fetcher: Fetcher, world: Site, code: int) -> None:
    detail = f"source: failed to fetch URL (HTTP {code})"
    assert one(fetcher, world.url(f"/status/{code}")) == ([("url_http_error", 422, detail)], [])


@pytest.mark.parametrize("code", [204, 205, 304, 300])
def test_answers_without_an_image_fail(fetcher: Fetcher, world: Site, code: int) -> None:
    assert one(fetcher, world.url(f"/status/{code}")) == ([("url_fetch_failed", 422, FAILED)], [])


# ---------------------------------------------------------------- redirects


def test_five_redirects_are_followed(fetcher: Fetcher, world: Site) -> None:
    assert one(fetcher, world.url("/chain/5")) == ([], [])
    assert [path for _, path in world.public.requests] == [f"/chain/{n}" for n in range(5, -1, -1)]


def test_a_sixth_redirect_fails(fetcher: Fetcher, world: Site) -> None:
    assert one(fetcher, world.url("/chain/6")) == ([("url_fetch_failed", 422, FAILED)], [])
    assert len(world.public.requests) == 6


def test_a_redirect_loop_fails(fetcher: Fetcher, world: Site) -> None:
    assert one(fetcher, world.url("/loop")) == ([("url_fetch_failed", 422, FAILED)], [])
    assert len(world.public.requests) == 6


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_every_redirect_status_is_followed(fetcher: Fetcher, world: Site, status: int) -> None:
    url = world.url(f"/redirect?status={status}&to=/png")
    assert one(fetcher, url) == ([], [])


def test_a_redirect_to_another_trusted_name_is_followed(fetcher: Fetcher, world: Site) -> None:
    target = world.url("/png", host="alt.test")
    assert one(fetcher, world.url(f"/redirect?to={target}")) == ([], [])
    assert world.public.requests[-1] == (f"alt.test:{world.port}", "/png")


def test_a_redirect_to_http_is_refused(fetcher: Fetcher, world: Site) -> None:
    target = f"http://img.test:{world.plain.port}/png"
    assert one(fetcher, world.url(f"/redirect?to={target}")) == (
        [("url_fetch_failed", 422, FAILED)],
        [],
    )
    assert world.plain.accepted == 0


@pytest.mark.parametrize(
    "target",
    ["https://127.0.0.2:{port}/png", "https://2130706434:{port}/png", "https://[::1]:{port}/png"],
)
def test_a_redirect_to_a_private_address_is_refused(
    fetcher: Fetcher, world: Site, target: str
) -> None:
    url = world.url(f"/redirect?to={target.format(port=world.port)}")
    assert one(fetcher, url) == ([("url_fetch_failed", 422, FAILED)], [])
    assert world.private.accepted == 0
    assert world.v6 is None or world.v6.accepted == 0


def test_a_redirect_to_a_name_resolving_privately_is_refused(fetcher: Fetcher, world: Site) -> None:
    world.answers["rebind.test"] = [["127.0.0.2"]]
    url = world.url(f"/redirect?to={world.url('/png', host='rebind.test')}")
    assert one(fetcher, url) == ([("url_fetch_failed", 422, FAILED)], [])
    assert world.private.accepted == 0


def test_an_allowed_ipv6_literal_is_fetched_with_a_bracketed_host(world: Site) -> None:
    v6 = Fetcher(timeout=5.0, verify=world.client_context(), allow_private=["::1"])
    port = world.v6.port if world.v6 is not None else world.port
    errors, _ = v6.fetch_violations([("source", f"https://[::1]:{port}/png")])
    if world.v6 is not None:
        assert errors == []
        assert world.v6.requests == [(f"[::1]:{port}", "/png")]
    else:  # no IPv6 loopback here: the connection itself fails
        assert [e.rule for e in errors] == ["url_fetch_failed"]


# ---------------------------------------------------------------- TLS


def test_tls_is_verified_for_the_url_host(fetcher: Fetcher, world: Site) -> None:
    # wrong.test resolves to the server, whose certificate does not name it.
    world.answers["wrong.test"] = [["127.0.0.1"]]
    assert one(fetcher, world.url("/png", host="wrong.test")) == (
        [("url_fetch_failed", 422, FAILED)],
        [],
    )
    assert world.public.requests == []


def test_an_international_host_is_mapped_once_for_lookup_tls_and_host(
    fetcher: Fetcher, world: Site
) -> None:
    """faß.de is xn--fa-hia.de as browsers map it (UTS 46, nontransitional); the older IDNA
    2003 mapping made it fass.de, another registered domain.  The resolver, the TLS server name
    (and the certificate check) and the Host header all get the one mapped name."""
    assert one(fetcher, f"https://faß.de:{world.port}/png") == ([], [])
    assert world.lookups == ["xn--fa-hia.de"]
    assert world.server_names == ["xn--fa-hia.de"]
    assert world.public.requests == [(f"xn--fa-hia.de:{world.port}", "/png")]


def test_a_redirect_to_an_international_host_is_mapped_the_same(
    fetcher: Fetcher, world: Site
) -> None:
    # The Location goes out as UTF-8 bytes, as browsers read it.
    location = urllib.parse.quote(f"https://faß.de:{world.port}/png", safe="")
    assert one(fetcher, world.url(f"/redirect?to={location}")) == ([], [])
    assert world.lookups == ["img.test", "xn--fa-hia.de"]
    assert world.server_names == ["img.test", "xn--fa-hia.de"]
    assert world.public.requests[-1] == (f"xn--fa-hia.de:{world.port}", "/png")


def test_the_default_roots_do_not_trust_the_test_ca(world: Site) -> None:
    untrusting = Fetcher(timeout=1.0, resolver=world.resolve, allow_private=["127.0.0.1"])
    assert one(untrusting, world.url("/png")) == ([("url_fetch_failed", 422, FAILED)], [])
    assert world.public.requests == []


# ---------------------------------------------------------------- SSRF

STATIC_FORMS = [
    "127.0.0.1",
    "127.1",
    "127.0.1",
    "2130706433",
    "0x7f000001",
    "0x7f.0.0.1",
    "0177.0.0.1",
    "0177.0.0.01",
    "127.0.0.2",
    "０x7f.0.0.1",
    "0.0.0.0",
    "0",
    "[::1]",
    "[::]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::127.0.0.1]",
    "[64:ff9b::7f00:1]",
    "[2002:7f00:1::]",
    "[0:0:0:0:0:ffff:127.0.0.2]",
    "localhost",
    "LOCALHOST.",
    "img.localhost",
    "img.local",
    "img.internal",
    "img.home.arpa",
    "img",
]


@pytest.mark.parametrize("host", STATIC_FORMS)
def test_non_public_url_hosts_are_refused_without_a_connection(world: Site, host: str) -> None:
    strict = Fetcher(timeout=1.0, verify=world.client_context(), resolver=world.resolve)
    url = f"https://{host}:{world.port}/png"
    assert one(strict, url) == ([("url_fetch_failed", 422, FAILED)], [])
    payload = {"prompt": "p", "type": "image_edit", "source": {"url": url}}
    report = luma_schema.check(payload, fetch=strict)
    assert (report.status, report.detail) == (422, FAILED)
    assert world.seen() == 0
    assert world.lookups == []


# What a test resolver answers: loopback addresses only (or nothing, or a failed lookup).
# Without allow_private none of them is public.
RESOLVED_LOOPBACK = [
    ["127.0.0.1"],
    ["127.0.0.2"],
    ["127.255.255.254"],
    ["::1"],
    ["::1%lo"],
    ["::ffff:127.0.0.1"],  # 127.0.0.1 written as an IPv4-mapped IPv6 address
    ["127.0.0.1", "::1"],
    [],
]


@pytest.mark.parametrize("answer", RESOLVED_LOOPBACK)
def test_names_resolving_to_non_public_addresses_are_refused(
    world: Site, answer: list[str]
) -> None:
    strict = Fetcher(timeout=1.0, verify=world.client_context(), resolver=world.resolve)
    world.answers["rebind.test"] = [answer]
    assert one(strict, world.url("/png", host="rebind.test")) == (
        [("url_fetch_failed", 422, FAILED)],
        [],
    )
    assert world.lookups == ["rebind.test"]
    assert world.seen() == 0


@pytest.mark.parametrize("answer", [["127.0.0.1", "127.0.0.2"], ["127.0.0.2", "127.0.0.1"]])
def test_a_name_with_one_address_that_is_not_public_is_refused_whole(
    fetcher: Fetcher, world: Site, answer: list[str]
) -> None:
    # The fetcher counts 127.0.0.1 as public, 127.0.0.2 not: in either order, no connection.
    world.answers["rebind.test"] = [answer]
    assert one(fetcher, world.url("/png", host="rebind.test")) == (
        [("url_fetch_failed", 422, FAILED)],
        [],
    )
    assert world.seen() == 0


# Which resolved addresses count as public, as text (no resolver answers these: a test resolver
# answers loopback addresses only, and nothing is sent to any of them).
NOT_PUBLIC = [
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "fe80::1%lo",
    "fd00::1",
    "::ffff:10.0.0.1",
    "64:ff9b::a00:1",
    "2002:a00:1::",
    "not an address",
]
PUBLIC = ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "::ffff:93.184.216.34"]


def test_resolved_addresses_are_public_only_outside_every_special_range() -> None:
    assert [a for a in NOT_PUBLIC if media.is_public_ip(a)] == []
    assert [a for a in PUBLIC if not media.is_public_ip(a)] == []


def test_allowing_one_loopback_address_allows_no_other(fetcher: Fetcher, world: Site) -> None:
    for host in ("127.0.0.2", "[::1]", "localhost", "[::ffff:127.0.0.1]"):
        url = f"https://{host}:{world.port}/png"
        assert one(fetcher, url) == ([("url_fetch_failed", 422, FAILED)], [])
    assert world.seen() == 0


def test_dns_rebinding_cannot_reach_the_private_address(fetcher: Fetcher, world: Site) -> None:
    # First answer public (the vetted one), every later one private.
    world.answers["rebind.test"] = [["127.0.0.1"], ["127.0.0.2"]]
    for _ in range(2):
        assert one(fetcher, world.url("/png", host="rebind.test")) == ([], [])
        world.answers["rebind.test"] = [["127.0.0.1"], ["127.0.0.2"]]
    assert world.private.accepted == 0
    assert len(world.public.requests) == 2
    assert world.lookups == ["rebind.test", "rebind.test"]


def test_private_first_answer_is_refused_before_any_connection(
    fetcher: Fetcher, world: Site
) -> None:
    world.answers["rebind.test"] = [["127.0.0.2"], ["127.0.0.1"]]
    assert one(fetcher, world.url("/png", host="rebind.test")) == (
        [("url_fetch_failed", 422, FAILED)],
        [],
    )
    assert world.seen() == 0


def test_the_system_resolver_is_asked_once_per_hop(
    world: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the default resolver, a rebinding getaddrinfo answers public once, then private:
    the fetch reaches only the public server, whatever anyone asks later."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.test":
            asked.append(host)
            host = "127.0.0.1" if len(asked) == 1 else "127.0.0.2"
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    system = Fetcher(timeout=5.0, verify=world.client_context(), allow_private=["127.0.0.1"])
    assert one(system, world.url("/png", host="rebind.test")) == ([], [])
    assert asked == ["rebind.test"]
    assert world.private.accepted == 0
    assert world.public.requests == [(f"rebind.test:{world.port}", "/png")]


# ---------------------------------------------------------------- several images


def test_images_come_back_in_spec_order(fetcher: Fetcher, world: Site) -> None:
    targets = [
        ("source", world.url("/status/404")),
        ("image_ref[0]", world.url("/png")),
        ("image_ref[1]", world.url("/html")),
        ("image_ref[2]", world.url("/text-bytes")),
    ]
    errors, warnings = fetcher.fetch_violations(targets)
    assert [(e.path, e.rule, e.detail) for e in errors] == [
        ("source", "url_http_error", "source: failed to fetch URL (HTTP 404)"),
        ("image_ref[1]", "not_an_image", "image_ref[1]: content-type is not an image"),
    ]
    assert [(w.path, w.code) for w in warnings] == [("image_ref[2].url", "format_unknown")]


def test_images_are_fetched_concurrently(fetcher: Fetcher, world: Site) -> None:
    # Each answer waits until both requests have arrived: fetched one after the other, the
    # first would wait past the fetcher's timeout.
    barrier = threading.Barrier(2, timeout=10)
    world.public.barrier = barrier  # type: ignore[attr-defined]
    try:
        targets = [("source", world.url("/barrier")), ("image_ref[0]", world.url("/barrier"))]
        assert fetcher.fetch_violations(targets) == ([], [])
    finally:
        del world.public.barrier  # type: ignore[attr-defined]


# ---------------------------------------------------------------- entry points


def test_check_with_fetch_uses_the_fetch_hook(
    fetcher: Fetcher, world: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch, "_DEFAULT", fetcher)

    payload = {
        "prompt": "p",
        "type": "image_edit",
        "source": {"url": world.url("/png")},
        "image_ref": [{"url": world.url("/status/500")}, {"url": world.url("/html")}],
    }
    report = luma_schema.check(payload, fetch=True)
    assert (report.status, report.detail) == (422, "image_ref[0]: failed to fetch URL (HTTP 500)")
    assert [e.detail for e in report.errors] == [
        "image_ref[0]: failed to fetch URL (HTTP 500)",
        "image_ref[1]: content-type is not an image",
    ]
    assert [(e.rule, e.status) for e in luma_schema.check(payload, fetch=fetcher).errors] == [
        (e.rule, e.status) for e in report.errors
    ]
    assert asyncio.run(engine.acheck(payload)).as_dict() == report.as_dict()
    assert luma_schema.check(payload).ok


def test_a_valid_request_stays_valid_with_fetch(
    fetcher: Fetcher, world: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch, "_DEFAULT", fetcher)

    payload = {"prompt": "p", "image_ref": [{"url": world.url("/png"), "x": 1}]}
    report = luma_schema.check(payload, fetch=True)
    assert report.ok
    assert report.request is not None
    assert report.request["image_ref"][0]["url"] == world.url("/png")
    assert [w.code for w in report.warnings] == ["unknown_member"]


def test_static_errors_win_and_nothing_is_fetched(
    fetcher: Fetcher, world: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch, "_DEFAULT", fetcher)

    payload = {"prompt": "", "source": {"url": world.url("/png")}}
    report = luma_schema.check(payload, fetch=True)
    assert report.detail == "Prompt must be between 1 and 6000 characters"
    assert world.seen() == 0


def test_cli_fetch(
    fetcher: Fetcher,
    world: Site,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(fetch, "_DEFAULT", fetcher)

    request = tmp_path / "r.json"
    payload = {"prompt": "p", "type": "image_edit", "source": {"url": world.url("/html")}}
    request.write_text(json.dumps(payload))
    assert cli.main(["check", str(request)]) == 0
    assert cli.main(["check", "--fetch", str(request)]) == 1
    assert "422 source: content-type is not an image" in capsys.readouterr().out


def test_the_sync_entry_works_inside_a_running_loop(fetcher: Fetcher, world: Site) -> None:
    async def main() -> Any:
        return fetcher.fetch_violations([("source", world.url("/status/404"))])

    errors, _ = asyncio.run(main())
    assert [e.detail for e in errors] == ["source: failed to fetch URL (HTTP 404)"]


def test_the_async_entry(fetcher: Fetcher, world: Site) -> None:
    errors, warnings = asyncio.run(fetcher.afetch_violations([("source", world.url("/html"))]))
    assert ([e.detail for e in errors], warnings) == ([NOT_IMAGE], [])
    assert asyncio.run(fetcher.afetch_violations([])) == ([], [])


def test_a_resolver_may_be_async(world: Site) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    fetcher = Fetcher(
        timeout=5.0, verify=world.client_context(), resolver=resolve, allow_private=["127.0.0.1"]
    )
    assert one(fetcher, world.url("/png", host="alt.test")) == ([], [])


def test_a_failing_resolver_is_a_fetch_failure(world: Site) -> None:
    def resolve(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    fetcher = Fetcher(timeout=1.0, verify=world.client_context(), resolver=resolve)
    assert one(fetcher, world.url("/png")) == ([("url_fetch_failed", 422, FAILED)], [])


def test_fetcher_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        Fetcher(timeout=0)
    unverified = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    with pytest.raises(ValueError):
        Fetcher(verify=unverified)
    with pytest.raises(TypeError):
        Fetcher(verify=False)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Fetcher(allow_private=["not an address"])
    assert "test TLS roots" in repr(Fetcher(verify=ssl.create_default_context()))


# ---------------------------------------------------------------- memory


@pytest.mark.parametrize("path", ["/big-chunked", "/gzip-bomb"])
def test_checking_a_big_body_holds_little_memory(fetcher: Fetcher, world: Site, path: str) -> None:
    fetcher.timeout = 30.0
    world.public.bomb()  # made before measuring: the server shares this process
    gc.collect()
    tracemalloc.start()
    try:
        errors, _ = fetcher.fetch_violations([("source", world.url(path))])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [e.rule for e in errors] == ["image_too_large"]
    # The server thread's own 1 MiB blocks are counted too; a fetcher keeping the body would
    # need 50 MiB.
    assert peak < 8 << 20


# ---------------------------------------------------------------- without the extra


def test_without_httpx_the_engine_warns_and_the_module_names_the_extra() -> None:
    code = """
import sys
sys.modules["httpcore"] = None
import luma_schema
report = luma_schema.check({"prompt": "p", "image_ref": [{"url": "https://img.test/a.png"}]}, fetch=True)
print(report.ok, [w.code for w in report.warnings])
try:
    import luma_schema.fetch
except ImportError as exc:
    print(exc)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    assert out[0] == "True ['not_fetched']"
    assert "'fetch' extra" in out[1]


def test_the_core_import_loads_no_extra() -> None:
    code = """
import sys
import luma_schema
luma_schema.check({"prompt": "x"})
print(sorted(m for m in ("httpx", "httpcore", "luma_agents", "ada_url", "idna") if m in sys.modules))
from luma_schema import fetch, sdk
print(callable(fetch.Fetcher), callable(sdk.guard))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    assert out == ["[]", "True True"]


def test_the_async_entry_does_not_block_the_event_loop(fetcher: Fetcher, world: Site) -> None:
    # Two separate awaits, each answered only once both requests are in: a blocking await
    # would hold the second one back until the first had timed out.
    barrier = threading.Barrier(2, timeout=10)
    world.public.barrier = barrier  # type: ignore[attr-defined]

    async def main() -> list[Any]:
        one = fetcher.afetch_violations([("source", world.url("/barrier"))])
        two = fetcher.afetch_violations([("source", world.url("/barrier"))])
        return list(await asyncio.gather(one, two))

    try:
        assert asyncio.run(main()) == [([], []), ([], [])]
    finally:
        del world.public.barrier  # type: ignore[attr-defined]
