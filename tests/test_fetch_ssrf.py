"""The fetcher's SSRF matrix: every spelling of a loopback or unspecified address, and every
name that maps to a local one, reached directly or through each kind of redirect, over real
loopback HTTPS.  Only 127.0.0.1 counts as public here; the fetch must fail (row 23) without a
single connection attempt to any other address, and without a lookup of the refused host.

Connection attempts are seen where they start (``socket.create_connection``, which the network
backend uses), so a refused address is caught even where no server listens."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import quote

import pytest
from fetch_support import Site

from luma_schema.fetch import Fetcher

FAILS = ([("url_fetch_failed", 422, "source: failed to fetch URL")], [])

# Each is 127.0.0.2, ::1, 0.0.0.0 (which reaches this machine) or a local name, once parsed and
# mapped as browsers map hosts.
SPELLINGS = [
    "127.0.0.2",
    "127.2",
    "127.0.2",
    "2130706434",
    "0x7f000002",
    "0x7f.0.0.2",
    "0177.0.0.2",
    "0177.0.0.02",
    "127.000.000.002",
    "０x7f.0.0.2",
    "１２７.0.0.2",
    "127。0。0。2",
    "127．0．0．2",
    "%31%32%37.0.0.2",
    "127%2e0%2e0%2e2",
    "①②⑦.0.0.②",
    "0",
    "0x0",
    "0.0.0.0",
    "[::1]",
    "[::]",
    "[0:0:0:0:0:0:0:1]",
    "[::1%25lo]",
    "[::ffff:127.0.0.2]",
    "[::ffff:7f00:2]",
    "[::127.0.0.2]",
    "[64:ff9b::7f00:2]",
    "[2002:7f00:2::]",
    "[::ffff:0.0.0.0]",
    "localhost",
    "LOCALHOST.",
    "ｌｏｃａｌｈｏｓｔ",
    "ⓛⓞⓒⓐⓛⓗⓞⓢⓣ",
    "localhost。",
    "lo%63alhost",
    "img.localhost",
    "img.local",
    "img.internal",
    "img.home.arpa",
    "img",
]
WAYS = {
    "direct": None,
    "redirect": "https://{host}:{port}/png",
    "scheme-relative redirect": "//{host}:{port}/png",
    "backslash redirect": "\\\\{host}:{port}\\png",
}


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The address of every connection attempt."""
    seen: list[str] = []
    real = socket.create_connection

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        seen.append(address[0])
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    return seen


@pytest.mark.parametrize("way", list(WAYS))
@pytest.mark.parametrize("host", SPELLINGS)
def test_no_connection_to_a_local_address(
    site: Site, attempts: list[str], host: str, way: str
) -> None:
    site.reset()
    fetcher = Fetcher(
        timeout=5.0,
        verify=site.client_context(),
        resolver=site.resolve,
        allow_private=["127.0.0.1"],
    )
    url = f"https://{host}:{site.port}/png"
    template = WAYS[way]
    if template is not None:
        location = template.format(host=host, port=site.port)
        url = site.url("/redirect?to=" + quote(location, safe=""))
    errors, warnings = fetcher.fetch_violations([("source", url)])
    assert ([(e.rule, e.status, e.detail) for e in errors], warnings) == FAILS
    # The redirecting server is the only one reached (which also shows the hook sees them).
    assert attempts == ([] if template is None else ["127.0.0.1"])
    assert site.lookups == ([] if template is None else ["img.test"])
    assert site.private.accepted == 0
    assert site.v6 is None or site.v6.accepted == 0
