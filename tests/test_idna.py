"""URL hosts are mapped as browsers map them: the WHATWG URL host parser, whose domains go through
UTS 46 ToASCII, nontransitional (IDNA 2008 era), not Python's ``idna`` codec (IDNA 2003).

``WHATWG`` holds hosts on which WHATWG parsers agree (ada 2 in Node 20 and ada 3 in the
``ada-url`` package, checked by hand when the table was written): the host ``new URL("https://"
+ host + "/").hostname`` gives, or ``None`` where the URL fails to parse.  The library then adds
its DNS limits (no empty label, labels of at most 63 and names of at most 253 characters) and
drops a trailing dot from the name it resolves."""

from __future__ import annotations

import subprocess
import sys

import pytest

import luma_schema
from luma_schema import media

WHATWG: list[tuple[str, str | None]] = [
    # Deviation characters: nontransitional, so kept (IDNA 2003 made ß "ss" and ς "σ").
    ("faß.de", "xn--fa-hia.de"),
    ("FASS.de", "fass.de"),
    ("ßß.example", "xn--zcaa.example"),
    ("βόλος.com", "xn--nxasmm1c.com"),
    ("ΒΌΛΟΣ.com", "xn--nxasmq6b.com"),  # a capital sigma is a medial one
    ("ς.gr", "xn--3xa.gr"),
    ("\u0dc1\u0dca\u200d\u0dbb\u0dd3.lk", "xn--10cl1a0b660p.lk"),  # ZWJ after a virama
    ("\u0646\u0627\u0645\u0647\u200c\u0627\u06cc.ir", "xn--mgba3gch31f060k.ir"),  # ZWNJ, joining
    ("a\u200cb.example", None),  # a joiner with no context to join
    ("\u200d.example", None),
    # Emoji and symbols: valid in UTS 46, though not in IDNA 2008.
    ("💩.la", "xn--ls8h.la"),
    ("☕.example", "xn--53h.example"),
    ("i❤.ws", "xn--i-7iq.ws"),
    ("≠.com", "xn--1ch.com"),
    # Fullwidth and compatibility forms, other full stops.
    ("ｅｘａｍｐｌｅ.com", "example.com"),
    ("ＥＸＡＭＰＬＥ．ｃｏｍ", "example.com"),
    ("example。com", "example.com"),
    ("example｡com", "example.com"),
    ("a。b．c", "a.b.c"),
    ("ﬁ.com", "fi.com"),
    ("℡.com", "tel.com"),
    ("㍱.com", "hpa.com"),
    ("Ⅻ.example", "xii.example"),
    ("⑷.com", "(4).com"),
    ("⒈.com", None),
    ("a\u00adb.com", "ab.com"),  # a soft hyphen is ignored
    ("ａ／ｂ.com", None),  # a fullwidth solidus maps to "/", a forbidden host character
    ("０ｘ７ｆ.0.0.1", "127.0.0.1"),  # then an IPv4 address
    ("１２７.0.0.1", "127.0.0.1"),
    # Case: Turkish dotted I, titlecase digraphs.
    ("İ.com", "xn--i-9bb.com"),
    ("İstanbul.tr", "xn--istanbul-o0e.tr"),
    ("ıstanbul.tr", "xn--stanbul-qfb.tr"),
    ("ǅ.com", "xn--d-toa.com"),
    ("ǆemal.hr", "xn--demal-uib.hr"),
    # Bidi rules (CheckBidi).
    ("يa.com", None),
    ("\u064a.com", "xn--mhb.com"),
    ("1.\u064a", "1.xn--mhb"),
    ("\u064a.1", None),  # ends in a number, so it must be an IPv4 address, and is not
    ("אב.il", "xn--4dbc.il"),
    ("אa.il", None),
    # Combining marks: composed (NFC), never first.
    ("a\u0300.com", "xn--0ca.com"),
    ("\u0300a.com", None),
    # Middle dots: UTS 46 does not apply IDNA 2008's context rules.
    ("l·l.cat", "xn--ll-0ea.cat"),
    ("a·l.cat", "xn--al-0ea.cat"),
    # Punycode: ASCII forms stay (lowercased); in a non-ASCII name, each label is checked.
    ("xn--nxasmm1c.com", "xn--nxasmm1c.com"),
    ("xn--ls8h.la", "xn--ls8h.la"),
    ("XN--BCHER-KVA.DE", "xn--bcher-kva.de"),
    ("bücher.de", "xn--bcher-kva.de"),
    ("xn--zca.ß", "xn--zca.xn--zca"),
    ("xn--a.ß", None),
    ("xn--tešla.com", None),
    ("\ufffd.com", None),
    # Trailing dots.
    ("faß.de.", "xn--fa-hia.de."),
    ("img.test.", "img.test."),
    # Labels WHATWG allows (no STD3 rules, no DNS length check).
    ("-x.com", "-x.com"),
    ("a†--.com", "xn--a---kp0a.com"),
    ("a_b.com", "a_b.com"),
    ("x..ß", "x..xn--zca"),
    ("x" + "0123456789" * 6 + "†.com", "xn--x" + "0123456789" * 6 + "-6963b.com"),
    # Percent-decoding comes first (as UTF-8).
    ("fa%C3%9F.de", "xn--fa-hia.de"),
    ("%F0%9F%92%A9.la", "xn--ls8h.la"),
    ("a%ffb.com", None),
    # Scripts.
    ("日本語.jp", "xn--wgv71a119e.jp"),
    ("россия.рф", "xn--h1alffa9f.xn--p1ai"),
    ("中国.中国", "xn--fiqs8s.xn--fiqs8s"),
    ("한국.kr", "xn--3e0b707e.kr"),
]


def expected(whatwg: str | None) -> str | None:
    """What ``url_host`` gives for a host WHATWG maps to ``whatwg``: the library's DNS limits
    refuse more, and the name given back has no trailing dot."""
    if whatwg is None:
        return None
    name = whatwg.removesuffix(".")
    labels = name.split(".")
    if "" in labels or any(len(label) > 63 for label in labels) or len(name) > 253:
        return None
    return name


@pytest.mark.parametrize(("host", "whatwg"), WHATWG)
def test_hosts_are_mapped_as_browsers_map_them(host: str, whatwg: str | None) -> None:
    found = media.url_host(f"https://{host}:8443/x")
    want = expected(whatwg)
    if want is None:
        assert isinstance(found, str)  # a reason: not fetchable
    else:
        assert found == (want, 8443)


def test_the_table_covers_the_library_limits() -> None:
    # The table holds hosts WHATWG accepts that DNS cannot take: the library refuses them.
    refused = [h for h, w in WHATWG if w is not None and expected(w) is None]
    assert refused == ["x..ß", "x" + "0123456789" * 6 + "†.com"]


@pytest.mark.parametrize("host", ["xn--a.com", "xn--1ug.example", "xn--zn7c.com", "XN--A.COM"])
def test_an_ascii_name_is_kept_whatever_its_punycode_holds(host: str) -> None:
    # WHATWG URL (2026): an ASCII domain is lowercased, not checked as IDNA, for web
    # compatibility.  (Parsers written before the change, such as Node 20's, refuse these.)
    assert media.url_host(f"https://{host}/") == (host.lower(), None)


def test_the_old_idna_2003_mapping_is_gone() -> None:
    assert media.url_host("https://faß.de/x") == ("xn--fa-hia.de", None)
    assert media.url_host("https://βόλος.com/x") == ("xn--nxasmm1c.com", None)
    assert "fass.de" not in str(media.url_host("https://faß.de/x"))


@pytest.mark.parametrize(
    "url",
    [
        "https://ｌｏｃａｌｈｏｓｔ/a.png",
        "https://LOCALHOST。/a.png",
        "https://ımg.local/a.png",
        "https://127。0。0。1/a.png",
        "https://%31%32%37.0.0.1/a.png",
        "https://①②⑦.0.0.1/a.png",
        "https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/a.png",
    ],
)
def test_mapped_hosts_are_vetted_as_mapped(url: str) -> None:
    report = luma_schema.check({"prompt": "p", "type": "image_edit", "source": {"url": url}})
    assert report.errors[0].rule == "url_not_fetchable"


@pytest.mark.parametrize("url", ["https://faß.de/a.png", "https://💩.la/a.png"])
def test_mapped_public_names_pass(url: str) -> None:
    assert luma_schema.check({"prompt": "p", "type": "image_edit", "source": {"url": url}}).ok


def test_the_mapping_library_is_imported_for_non_ascii_hosts_only() -> None:
    code = """
import sys
import luma_schema
def edit(url):
    return luma_schema.check({"prompt": "p", "type": "image_edit", "source": {"url": url}}).ok
print(edit("https://example.com/a.png"), edit("https://xn--fa-hia.de/a.png"), "ada_url" in sys.modules)
print(edit("https://faß.de/a.png"), "ada_url" in sys.modules)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    assert out == ["True True False", "True True"]
