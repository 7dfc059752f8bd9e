"""Image payload checks that need no network: base64, media types, magic bytes, URL hosts.

Everything here works in bounded memory: base64 is checked in fixed-size chunks and its decoded
size is computed from its length, never by decoding it.  Which addresses are public comes from this
module's own copy of the IANA special-purpose registries, not from the running Python's
``ipaddress`` flags (they change between versions).
"""

from __future__ import annotations

import binascii
import functools
import ipaddress
import re
import urllib.parse
from collections.abc import Iterator
from typing import Final, NamedTuple

__all__ = [
    "Base64Info",
    "Blob",
    "base64_info",
    "format_name",
    "has_bad_url_character",
    "has_data_uri_prefix",
    "head_bytes",
    "is_image_media_type",
    "is_public_ip",
    "is_public_ipv4",
    "is_public_ipv6",
    "media_format",
    "parse_ipv4_host",
    "sniff_data",
    "sniff_format",
    "to_ascii",
    "url_host",
    "url_problem",
]

_CHUNK: Final = 1 << 20
_B64_ALPHABET: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_PADDING: Final = (b"", b"=", b"==")


class Blob:
    """A large JSON string kept as a slice of the payload it came in, so that checking a 50 MiB
    image sent as JSON text does not copy it.  Only ever holds printable ASCII without ``\\``."""

    __slots__ = ("_buf", "_end", "_start")

    def __init__(self, buf: bytes | str, start: int, end: int) -> None:
        self._buf = buf
        self._start = start
        self._end = end

    def __len__(self) -> int:
        return self._end - self._start

    def __repr__(self) -> str:
        return f"Blob({len(self)} characters)"

    def chunks(self, size: int = _CHUNK) -> Iterator[bytes]:
        """The ASCII bytes of the string, ``size`` at a time."""
        buf = self._buf
        for i in range(self._start, self._end, size):
            chunk = buf[i : min(i + size, self._end)]
            yield chunk.encode("ascii") if isinstance(chunk, str) else chunk

    def prefix(self, n: int) -> str:
        piece = self._buf[self._start : min(self._start + n, self._end)]
        return piece if isinstance(piece, str) else piece.decode("ascii")

    def suffix(self, n: int) -> str:
        piece = self._buf[max(self._end - n, self._start) : self._end]
        return piece if isinstance(piece, str) else piece.decode("ascii")

    def text(self) -> str:
        """The string itself (a copy: use only when the value must be handed out)."""
        piece = self._buf[self._start : self._end]
        return piece if isinstance(piece, str) else piece.decode("ascii")


def _chunks(value: str | Blob) -> Iterator[bytes]:
    if isinstance(value, Blob):
        yield from value.chunks()
        return
    for i in range(0, len(value), _CHUNK):
        yield value[i : i + _CHUNK].encode("ascii")


def _ends(value: str | Blob, n: int) -> tuple[str, str]:
    if isinstance(value, Blob):
        return value.prefix(n), value.suffix(n)
    return value[:n], value[-n:]


class Base64Info(NamedTuple):
    """What the engine needs to know of a ``data`` string: whether it is valid base64, its
    decoded size (0 when invalid) and its first decoded bytes, as far as its start decodes (for
    sniffing the format: a truncated string still shows its signature)."""

    valid: bool
    size: int = 0
    head: bytes = b""


# What Base64Info(...) does, without the Python-level __new__ of a NamedTuple.
_new_info: Final = tuple.__new__


def _invalid(value: str | Blob) -> Base64Info:
    return Base64Info(False, 0, head_bytes(value))


_DECODE_WHOLE: Final = 1 << 16  # shorter text is decoded in one C call: the decoded size is small


def base64_info(value: str | Blob) -> Base64Info:
    """Standard base64, canonical length: only ``A-Z a-z 0-9 + /``, then at most two ``=`` at the
    very end, a length that is a multiple of 4, at least one decoded byte.  Non-zero pad bits are
    accepted.  Memory use is bounded by one chunk, whatever the length."""
    n = len(value)
    if n == 0 or n % 4:
        return _invalid(value)
    if type(value) is str:
        if n <= _DECODE_WHOLE:
            # binascii's strict mode refuses exactly what the rule refuses (tests hold the two
            # readers together); what it decodes gives the size and the head at once.
            # (It takes any run of padding after whole quanta: "AAAA====" is refused here.)
            if value[-3:] == "===":
                return _invalid(value)
            try:
                decoded = binascii.a2b_base64(value, strict_mode=True)
            except (binascii.Error, ValueError):  # ValueError: a character that is not ASCII
                return _invalid(value)
            info: Base64Info = _new_info(Base64Info, (True, len(decoded), decoded[:16]))
            return info
        if not value.isascii():
            return _invalid(value)
    if type(value) is str and n <= _CHUNK:  # one chunk: one pass, no generator
        pad = 2 if value.endswith("==") else 1 if value.endswith("=") else 0
        if value.encode("ascii").translate(None, _B64_ALPHABET) != _PADDING[pad]:
            return _invalid(value)  # something besides the alphabet and the padding at the end
        return Base64Info(True, n // 4 * 3 - pad, head_bytes(value))
    last = _ends(value, 4)[1]
    pad = 2 if last.endswith("==") else 1 if last.endswith("=") else 0
    body_end = n - pad
    seen = 0
    for chunk in _chunks(value):
        stop = min(len(chunk), body_end - seen)
        if stop > 0 and chunk[:stop].translate(None, _B64_ALPHABET):
            return _invalid(value)
        seen += len(chunk)
    return Base64Info(True, n // 4 * 3 - pad, head_bytes(value))


def has_data_uri_prefix(value: str | Blob) -> bool:
    """Whether base64 text starts with ``data:`` in any case (a data URI sent whole).  A Blob is
    base64 text only, so it never does."""
    return isinstance(value, str) and value[:1] in ("d", "D") and value[:5].lower() == "data:"


# ---------------------------------------------------------------- formats and media types

_FORMATS: Final = (
    ("png", (b"\x89PNG\r\n\x1a\n",)),
    ("jpeg", (b"\xff\xd8\xff",)),
    ("gif", (b"GIF87a", b"GIF89a")),
)
_MEDIA_FORMATS: Final = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/pjpeg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
_MEDIA_TYPE: Final = re.compile(
    r"[iI][mM][aA][gG][eE]/[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]*(?:;[^\x00-\x1f\x7f]*)?\Z"
)


def head_bytes(value: str | Blob, n: int = 16) -> bytes:
    """The first ``n`` decoded bytes of base64 text, as far as its start decodes (even when the
    whole is invalid, such as a truncated string); ``b""`` when the start does not decode."""
    start = value.prefix(24) if isinstance(value, Blob) else value[:24]
    start = start[: len(start) // 4 * 4]
    try:
        return binascii.a2b_base64(start, strict_mode=True)[:n]
    except (binascii.Error, ValueError):
        return b""


def sniff_format(head: bytes) -> str | None:
    """``png``, ``jpeg``, ``gif`` or ``webp`` by magic bytes; ``None`` for anything else."""
    for name, magics in _FORMATS:
        if head.startswith(magics):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def is_image_media_type(value: str) -> bool:
    """``image/`` (any case) and a subtype of RFC 6838 characters, optional parameters after
    ``;``, no surrounding whitespace.  ``image/*`` and ``image/`` are not image media types."""
    return _MEDIA_TYPE.match(value) is not None and not value[-1].isspace()


def sniff_data(info: Base64Info) -> str | None:
    """The format base64 data shows in its first decoded bytes (see :func:`sniff_format`)."""
    return sniff_format(info.head)


_FORMAT_NAMES: Final = {"png": "PNG", "jpeg": "JPEG", "gif": "GIF", "webp": "WebP"}


def format_name(format: str | None) -> str:
    """How messages name a format (``None``: a format outside the four sniffed ones)."""
    return _FORMAT_NAMES[format] if format is not None else "another format"


def media_format(value: str) -> str | None:
    """The format a media type names, by its essence (``image/png; q=1`` names ``png``)."""
    return _MEDIA_FORMATS.get(value.split(";", 1)[0].strip().lower())


# ---------------------------------------------------------------- public addresses


def _nets4(*blocks: str) -> tuple[tuple[int, int], ...]:
    out = []
    for block in blocks:
        net = ipaddress.IPv4Network(block)
        out.append((int(net.network_address), int(net.netmask)))
    return tuple(out)


def _nets6(*blocks: str) -> tuple[tuple[int, int], ...]:
    out = []
    for block in blocks:
        net = ipaddress.IPv6Network(block)
        out.append((int(net.network_address), int(net.netmask)))
    return tuple(out)


# IANA IPv4 Special-Purpose Address Registry: every block not marked globally reachable, taken
# whole (192.0.0.0/24 included: a fetcher has no business with its two anycast exceptions), plus
# the deprecated 6to4 relay anycast block, multicast and the reserved 240/4 (with broadcast).
NON_PUBLIC_V4: Final = _nets4(
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
)

# IPv6 addresses that embed an IPv4 address are judged by it: IPv4-mapped, IPv4-translated (SIIT),
# IPv4-compatible (which covers :: and ::1), NAT64.  6to4 (2002::/16) embeds it after the prefix.
_EMBEDDED_V4_LOW32: Final = _nets6("::ffff:0:0/96", "::ffff:0:0:0/96", "::/96", "64:ff9b::/96")
_SIX_TO_FOUR: Final = _nets6("2002::/16")[0]
# Only global unicast (2000::/3) can be public; inside it, the registry's blocks that are not
# globally reachable (IETF protocol assignments, documentation, the newer documentation prefix).
_GLOBAL_UNICAST: Final = _nets6("2000::/3")[0]
NON_PUBLIC_V6: Final = _nets6("2001::/23", "2001:db8::/32", "3fff::/20")
# Listed for documentation and tests: all of these fall outside 2000::/3 and so are not public.
OUTSIDE_GLOBAL_UNICAST_V6: Final = (
    "::/128",
    "::1/128",
    "64:ff9b:1::/48",
    "100::/64",
    "5f00::/16",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
)


def _in(addr: int, nets: tuple[tuple[int, int], ...]) -> bool:
    return any(addr & mask == net for net, mask in nets)


def is_public_ipv4(addr: int) -> bool:
    """Whether a 32-bit IPv4 address is outside every non-public block of the registry."""
    return not _in(addr, NON_PUBLIC_V4)


def is_public_ipv6(addr: int) -> bool:
    """Whether a 128-bit IPv6 address is public; embedded IPv4 addresses decide for their host."""
    if _in(addr, _EMBEDDED_V4_LOW32):
        return is_public_ipv4(addr & 0xFFFFFFFF)
    net, mask = _SIX_TO_FOUR
    if addr & mask == net:
        return is_public_ipv4((addr >> 80) & 0xFFFFFFFF)
    net, mask = _GLOBAL_UNICAST
    return addr & mask == net and not _in(addr, NON_PUBLIC_V6)


def is_public_ip(address: ipaddress.IPv4Address | ipaddress.IPv6Address | str) -> bool:
    """Whether an address (object or text) is public; text that is no address is not public."""
    if isinstance(address, str):
        try:
            address = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
    if address.version == 4:
        return is_public_ipv4(int(address))
    return is_public_ipv6(int(address))


# ---------------------------------------------------------------- URLs

_BAD_URL_CHAR: Final = re.compile(r"[\x00-\x20\x7f-\x9f\s]")
_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_AUTHORITY_END: Final = re.compile(r"[/?#\\]")
_FORBIDDEN_HOST: Final = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")
_NUMBER_LABEL: Final = re.compile(r"[0-9]+\Z|0[xX][0-9A-Fa-f]*\Z")
_PORT: Final = re.compile(r"[0-9]*\Z")
_NOT_PUBLIC_SUFFIXES: Final = (".localhost", ".local", ".internal", ".home.arpa")
_CACHE_LIMIT: Final = 2048


def parse_ipv4_host(host: str) -> int | bool | None:
    """WHATWG's IPv4 parser: the address as an int, ``None`` when ``host`` does not end in a
    number (so it is a domain), ``False`` when it does but is no valid IPv4 address."""
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if not _NUMBER_LABEL.match(parts[-1]):
        return None
    if len(parts) > 4:
        return False
    numbers = []
    for part in parts:
        if not part:
            return False
        if part[:2] in ("0x", "0X"):
            digits, radix = part[2:] or "0", 16
        elif len(part) > 1 and part[0] == "0":
            digits, radix = part[1:], 8
        else:
            digits, radix = part, 10
        if not digits.isascii():
            return False
        try:
            numbers.append(int(digits, radix))
        except ValueError:
            return False
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        return False
    addr = numbers[-1]
    for i, n in enumerate(numbers[:-1]):
        addr += n << (8 * (3 - i))
    return addr


def has_bad_url_character(text: str) -> bool:
    """Whether ``text`` holds whitespace or a control character, which no URL may hold (the
    first static check, made on the text as given, before any parser could drop them)."""
    return _BAD_URL_CHAR.search(text) is not None


def url_host(url: str) -> tuple[str, int | None] | str:
    """``(host, port)`` of an https URL after the static checks (docs/contract.md, Images); else a short
    reason.  The host is mapped as browsers map it (the WHATWG URL host parser): percent-decoded
    as UTF-8; an ASCII name is lowercased; any other goes through UTS 46 ToASCII, nontransitional
    (:func:`to_ascii`); a name ending in a number must be an IPv4 address (any WHATWG spelling),
    given back in dotted form; an IPv6 literal comes back bracketed and compressed.  A trailing
    dot is dropped from the name given back (the same DNS name).  Whatever connects to the host
    (resolver, TLS server name, ``Host`` header) must use this mapped host."""
    if _BAD_URL_CHAR.search(url):
        return "whitespace or control character"
    scheme = _SCHEME.match(url)
    if scheme is None or scheme.group(1).lower() != "https":
        return "not https"
    rest = url[scheme.end() :]
    if not rest.startswith("//"):
        return "no authority"
    rest = rest[2:]
    end = _AUTHORITY_END.search(rest)
    authority = rest[: end.start()] if end else rest
    if "@" in authority:
        return "user info"
    if authority.startswith("["):
        close = authority.find("]")
        if close < 0:
            return "unclosed IPv6 literal"
        host, after = authority[1:close], authority[close + 1 :]
        if after and not after.startswith(":"):
            return "junk after IPv6 literal"
        port_text = after[1:] if after else None
        try:
            literal = ipaddress.IPv6Address(host) if "%" not in host else None
        except ValueError:
            literal = None
        if literal is None:
            return "bad IPv6 literal"
        host = f"[{literal.compressed}]"
    else:
        host, sep, port_text = authority.rpartition(":")
        if not sep:
            host, port_text = authority, ""
        literal = None
    port: int | None = None
    if port_text:  # an empty port is no port, as in WHATWG URLs
        digits = port_text.lstrip("0")
        if not _PORT.match(port_text) or len(digits) > 5 or not 1 <= int(digits or "0") <= 65535:
            return "bad port"
        port = int(digits)
    if literal is not None:
        return host, port
    if not host:
        return "empty host"
    try:
        host = urllib.parse.unquote_to_bytes(host).decode("utf-8")
    except UnicodeError:  # undecodable escapes, or a lone surrogate that cannot be encoded
        return "bad percent-encoding"
    # Checked before the mapping too: no ASCII character is mapped away, and the mapping
    # library never sees a NUL or a space.
    if _FORBIDDEN_HOST.search(host):
        return "forbidden host character"
    if host.isascii():  # WHATWG: an ASCII domain is lowercased, whatever its xn-- labels hold
        host = host.lower()
    else:
        host = to_ascii(host)
        if not host:
            return "not IDNA"
        if _FORBIDDEN_HOST.search(host):  # fullwidth solidus and the like map to ASCII
            return "forbidden host character"
    v4 = parse_ipv4_host(host)
    if v4 is False:
        return "bad IPv4 address"
    if v4 is not None:
        return str(ipaddress.IPv4Address(v4)), port
    # DNS limits (lib): a name that breaks them cannot be looked up, so it is not fetchable.
    name = host[:-1] if host.endswith(".") else host
    for label in name.split("."):
        if not label:
            return "empty label"
        if len(label) > 63:
            return "label too long"
    if len(name) > 253:
        return "host too long"
    return name, port


def to_ascii(domain: str) -> str:
    """UTS 46 ToASCII as the WHATWG URL standard runs it for a non-ASCII domain
    (nontransitional: ``faß.de`` is ``xn--fa-hia.de``; CheckBidi and CheckJoiners on; no STD3
    rules, no DNS length check); ``""`` when it fails.  The mapping comes from ``ada-url``,
    imported on the first non-ASCII host (ASCII hosts never need it)."""
    from ada_url import idna_to_ascii

    try:
        return idna_to_ascii(domain).decode("ascii")
    except (UnicodeError, ValueError):  # a result that is not ASCII is no domain either
        return ""


def _url_problem(url: str) -> str | None:
    parsed = url_host(url)
    if isinstance(parsed, str):
        return parsed
    host = parsed[0]
    if host.startswith("["):
        return None if is_public_ipv6(int(ipaddress.IPv6Address(host[1:-1]))) else "private"
    v4 = parse_ipv4_host(host)
    if isinstance(v4, int) and not isinstance(v4, bool):
        return None if is_public_ipv4(v4) else "private"
    if host == "localhost" or host.endswith(_NOT_PUBLIC_SUFFIXES):
        return "local name"
    if "." not in host:
        return "single-label name"
    return None


_url_problem_cached = functools.lru_cache(maxsize=4096)(_url_problem)


def url_problem(url: str) -> str | None:
    """``None`` when ``url`` passes every static check (docs/contract.md, Images: https, no user info,
    valid port, a host that is a public literal address or a public-looking name); else a short
    reason, for logs and tests only (it is never part of an API message)."""
    return _url_problem_cached(url) if len(url) <= _CACHE_LIMIT else _url_problem(url)
