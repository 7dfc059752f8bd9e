"""URL host mapping: ``ada-url`` against the ``idna`` package (and Python's own codec), for
correctness on a table of hosts WHATWG parsers agree on, and for speed.

Every candidate runs inside the same WHATWG host steps (percent-decoding, forbidden code
points, an ASCII name lowercased without any IDNA, the IPv4 parser for a name ending in a
number); only the UTS 46 ToASCII of a non-ASCII name differs:

- ``ada-url``: ``ada_url.idna_to_ascii`` (what ``luma_schema.media.to_ascii`` uses);
- ``idna encode``: ``idna.encode(name, uts46=True, transitional=False)``, the ``idna``
  package's UTS 46 mapping followed by its IDNA 2008 checks;
- ``idna mapping``: ``idna.uts46_remap(name, std3_rules=False, transitional=False)``, then
  Punycode for each non-ASCII label: the mapping alone, with no validity checks;
- ``python codec``: ``name.encode("idna")``, IDNA 2003 (what the library used before).

The table is ``tests/test_idna.py``'s ``WHATWG``.  Speed: the non-ASCII hosts of the table,
mapped one after the other, best of several rounds, in microseconds per host.

``ada_url.idna_to_ascii`` refuses a label longer than 63 characters, which WHATWG accepts
(its URL parser accepts it): the library refuses such a name anyway (no DNS name holds it).
"""

from __future__ import annotations

import ipaddress
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import ada_url
import idna

from luma_schema import media

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_idna import WHATWG

ROUNDS = 20


def _ada(name: str) -> str | None:
    return ada_url.idna_to_ascii(name).decode("ascii") or None


def _idna_encode(name: str) -> str | None:
    try:
        return str(idna.encode(name, uts46=True, transitional=False).decode("ascii"))
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def _idna_mapping(name: str) -> str | None:
    try:
        mapped = idna.uts46_remap(name, std3_rules=False, transitional=False)
        return ".".join(
            label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
            for label in mapped.split(".")
        )
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def _python_codec(name: str) -> str | None:
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return None


CANDIDATES: dict[str, Callable[[str], str | None]] = {
    "ada-url": _ada,
    "idna encode": _idna_encode,
    "idna mapping": _idna_mapping,
    "python codec": _python_codec,
}
FORBIDDEN = set("\x00\t\n\r #/:<>?@[\\]^|%\x7f") | {chr(c) for c in range(0x20)}


def whatwg_host(host: str, to_ascii: Callable[[str], str | None]) -> str | None:
    """The WHATWG host parser for a domain, with ``to_ascii`` for non-ASCII names."""
    try:
        name = urllib.parse.unquote_to_bytes(host).decode("utf-8")
    except UnicodeError:
        return None
    if FORBIDDEN & set(name):
        return None
    mapped = name.lower() if name.isascii() else to_ascii(name)
    if not mapped or FORBIDDEN & set(mapped):
        return None
    v4 = media.parse_ipv4_host(mapped)
    if v4 is False:
        return None
    if v4 is not None:
        return str(ipaddress.IPv4Address(v4))
    return mapped


def main() -> None:
    non_ascii = [host for host, _ in WHATWG if not urllib.parse.unquote(host).isascii()]
    print(f"{len(WHATWG)} hosts, {len(non_ascii)} of them non-ASCII")
    print(f"{'candidate':<14} {'agree':>7} {'wrong':>6} {'us/host':>8} {'vs ada-url':>11}")
    speeds: dict[str, float] = {}
    for label, to_ascii in CANDIDATES.items():
        best = float("inf")
        for _ in range(ROUNDS):
            start = time.perf_counter()
            for host in non_ascii:
                to_ascii(host)
            best = min(best, time.perf_counter() - start)
        speeds[label] = best / len(non_ascii) * 1e6
    for label, to_ascii in CANDIDATES.items():
        wrong = [(h, w) for h, w in WHATWG if whatwg_host(h, to_ascii) != w]
        agree = len(WHATWG) - len(wrong)
        ratio = speeds[label] / speeds["ada-url"]
        print(f"{label:<14} {agree:>7} {len(wrong):>6} {speeds[label]:>8.2f} {ratio:>10.1f}x")
    for label, to_ascii in CANDIDATES.items():
        wrong = [h for h, w in WHATWG if whatwg_host(h, to_ascii) != w]
        print(f"{label} disagrees on: {', '.join(ascii(h) for h in wrong) or 'none'}")


if __name__ == "__main__":
    main()
