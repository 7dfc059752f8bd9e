"""The URL fetch behind ``check(fetch=True)``: url_fetch_failed, url_http_error, not_an_image
and image_too_large, in that order, once every static rule holds (docs/contract.md).

Extra ``fetch`` (httpx, httpcore; ada-url comes with the core).  Each URL image is fetched the
way a careful server fetches it, without ever reaching an address it should not:

- https only; every hop passes the static URL checks again, a redirect's
  ``Location`` as the server sent it (nothing stripped first);
- the host is mapped as browsers map it (:func:`luma_schema.media.url_host`: UTS 46,
  nontransitional), and that one mapped name is what is vetted, resolved, named in TLS (SNI and
  certificate) and sent as ``Host``;
- the host is resolved once per hop and every address it resolves to must be public
  (:func:`luma_schema.media.is_public_ip`); the connection then goes to a vetted address and nowhere
  else: the network backend never resolves a name, so a second DNS answer (rebinding) is never
  consulted, while TLS is still verified for the URL's own host name (SNI and certificate);
- at most ``max_redirects`` redirects (each re-vetted; https to http refused), ``timeout`` seconds
  in all per image, DNS included;
- an ``image/*`` content type, a status below 400, and at most ``MAX_IMAGE_BYTES`` after content
  decoding (every gzip member counted; anything else after the encoded data fails), counted
  while streaming: nothing of the body is kept but its first bytes;
- where the position takes videos too (a :class:`Target` whose ``families`` name ``video``:
  the ``source`` of ``video_edit`` and ``video_reframe``), a ``video/*`` answer as well
  (``not_an_image_or_video`` otherwise); a video has no cap: its body is counted, on a best
  effort, up to ``ADVISED_VIDEO_BYTES`` (a ``video_large`` warning past it), and nothing after
  its response head can fail the fetch;
- work bounded per image whatever the peer sends: bytes read from the connections (a small
  read or body piece counting as 4 KiB), the size of each response head, gzip members (see
  ``docs/limits.md``).

Every limit and message of the API comes from the catalogue's rule objects.  Images of one
request are fetched concurrently, each in a thread of its own, and each name lookup runs in a
thread of its own too: nothing is shared between requests, so a slow peer or a resolver that
hangs holds up only the image that asked (blocking sockets with deadlines: TLS on a blocking
socket is twice as fast as through an event loop); results come back in the order of the references.  Entry points:
:meth:`Fetcher.fetch_violations` (blocking) and :meth:`Fetcher.afetch_violations` (async: it
awaits the threads, the event loop never blocks); ``luma_schema.check(payload, fetch=fetcher)``
and ``luma_schema.engine.acheck`` run them for a request.  This module depends on the report
types only: the engine calls it, never the other way round.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
import urllib.parse
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple, TypeVar

try:
    import ada_url
    import httpcore
    import httpx
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "luma_schema.fetch needs the 'fetch' extra: pip install 'luma-schema[fetch]'"
    ) from exc

from luma_schema import catalog, media
from luma_schema.report import Notice, Violation
from luma_schema.rules import Rule

__all__ = [
    "Fetcher",
    "Resolver",
    "Target",
    "afetch_violations",
    "default_fetcher",
    "fetch_violations",
]

_log = logging.getLogger(__name__)

_FAILED: Final = catalog.rule("url_fetch_failed")
_HTTP_ERROR: Final = catalog.rule("url_http_error")
_NOT_IMAGE: Final = catalog.rule("not_an_image")
_NOT_MEDIA: Final = catalog.rule("not_an_image_or_video")
_TOO_LARGE: Final = catalog.rule("image_too_large")
_TIMEOUT: Final[float] = _FAILED.params()["timeout"]
_MAX_REDIRECTS: Final[int] = _FAILED.params()["max_redirects"]
_MIN_ERROR: Final[int] = _HTTP_ERROR.params()["min_error"]
_MAX_BYTES: Final[int] = _TOO_LARGE.params()["max"]
# Video media have no cap: past this size a warning, and the fetch stops counting.
_VIDEO_BYTES: Final = catalog.ADVISED_VIDEO_BYTES

_REDIRECTS: Final = frozenset(catalog.FETCH_REDIRECT_STATUSES)
_NO_BODY: Final = frozenset(catalog.FETCH_NO_BODY_STATUSES)
_HEAD_BYTES: Final = 16
_PIECE: Final = 1 << 16  # largest decoded piece held at once when inflating
# Work per image, whatever the peer sends (docs/limits.md says why each is what it is).
# Bytes read from the connections, all hops, after TLS, where a read or a body piece (a chunk)
# of fewer than _SMALL bytes counts as _SMALL: each costs a parser step whatever its size.
_WORK_MAX: Final = 64 << 20
# Where a video may answer: the same room for heads, framing and encoding past the counted size.
_WORK_MAX_VIDEO: Final = _VIDEO_BYTES + _WORK_MAX - _MAX_BYTES
_SMALL: Final = 4 << 10
_RESPONSE_HEAD_MAX: Final = 128 << 10  # read before a response's head (1xx included) is done
_MEMBERS_MAX: Final = 1024  # gzip members of one body
_AUTHORITY_END: Final = re.compile(r"[/?#\\]")
_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_PATH_SAFE: Final = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "#\\")

Resolver = Callable[[str, int], Awaitable[Sequence[str]] | Sequence[str]]
"""``resolver(host, port)``: the addresses (text) a host name resolves to; sync or async."""

_IMAGE: Final = ("image",)


class Target(NamedTuple):
    """One URL reference to fetch: its path in the request (``source``, ``video.keyframes[2]``),
    its URL, and the media families its position takes: ``("image",)``, or
    ``("image", "video")`` for the ``source`` of ``video_edit`` and ``video_reframe``.  A plain
    ``(path, url)`` pair is an image position."""

    path: str
    url: str
    families: tuple[str, ...] = _IMAGE


def _as_target(target: Sequence[Any]) -> Target:
    return target if isinstance(target, Target) else Target(*target)


class _Failed(Exception):
    """One image's fetch failed with ``rule`` (echo ``code`` for the HTTP status rule)."""

    def __init__(self, rule: Rule, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.rule = rule
        self.code = code


@dataclass(slots=True)
class _Work:
    """What one image's fetch has cost so far (all hops); bounded by ``limit`` (``_WORK_MAX``,
    or ``_WORK_MAX_VIDEO`` where a video may answer), and each response head by
    ``_RESPONSE_HEAD_MAX``: past either, the fetch fails (url_fetch_failed)."""

    limit: int = _WORK_MAX
    spent: int = 0
    head: int = 0  # bytes read in this hop before its response head was complete
    in_body: bool = False

    def read(self, n: int) -> None:
        self.spent += max(n, _SMALL)
        if not self.in_body:
            self.head += n
            if self.head > _RESPONSE_HEAD_MAX:
                raise _Failed(_FAILED, "response head too large")
        if self.spent > self.limit:
            raise _Failed(_FAILED, "too much work for one image")

    def piece(self, n: int) -> None:
        """A body piece of ``n`` bytes, as the HTTP parser gave it (its bytes were read)."""
        if n < _SMALL:
            self.spent += _SMALL - n
            if self.spent > self.limit:
                raise _Failed(_FAILED, "too much work for one image")

    def next_hop(self) -> None:
        self.head = 0
        self.in_body = False


@dataclass(frozen=True, slots=True)
class _Pin:
    """The vetted addresses for the one origin the current thread may connect to, the
    image's deadline (``time.monotonic()``) and its work so far."""

    host: str
    port: int
    addresses: tuple[str, ...]
    deadline: float
    work: _Work


_PIN: Final[contextvars.ContextVar[_Pin | None]] = contextvars.ContextVar(
    "luma_schema_fetch_pin", default=None
)


def _bounded(timeout: float | None, expired: type[Exception]) -> float:
    """``timeout`` cut to what is left of the current image's deadline."""
    pin = _PIN.get()
    if pin is None:
        raise expired("no deadline")
    left = pin.deadline - time.monotonic()
    if left <= 0:
        raise expired("deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A stream whose every operation ends by the deadline of the image being fetched."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))
        pin = _PIN.get()
        if pin is not None:  # always set while fetching; counted here, before any parsing
            pin.work.read(len(data))
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        limit = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, limit))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects only to the addresses vetted for the requested origin; never resolves a name.

    httpcore asks for ``(host, port)`` of the URL; the answer comes from the thread's pin, set
    just before the request.  TLS is then started by httpcore with ``server_hostname`` = the URL
    host, so the certificate is verified for the name, whatever address was connected."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        pin = _PIN.get()
        if pin is None or pin.host != host or pin.port != port:
            raise httpcore.ConnectError("no vetted address for this origin")
        error: Exception = httpcore.ConnectError("no address")
        for address in pin.addresses:
            try:
                stream = self._inner.connect_tcp(
                    address,
                    port,
                    timeout=_bounded(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
                continue
            return _DeadlineStream(stream)
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("only TCP connections to vetted addresses")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True, slots=True)
class _Hop:
    """One request of a redirect chain: the mapped host, the port and the request target."""

    host: str  # IDNA/ASCII name, or an IP address without brackets
    port: int
    target: str  # path and query, ASCII
    literal: bool

    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}{self.target}"

    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == 443 else f"{host}:{self.port}"


@dataclass(slots=True)
class _Body:
    """What a fetched body was: its family (``image`` or ``video``, by its content type), its
    size after content decoding (a video's counted up to ``_VIDEO_BYTES`` and a little past:
    ``over`` then), and its first bytes."""

    family: str = "image"
    size: int = 0
    head: bytes = b""
    over: bool = False


class _Enough(Exception):
    """A video has been counted past ``_VIDEO_BYTES``: reading stops."""


_DEFAULT_SSL: ssl.SSLContext | None = None
_T = TypeVar("_T")


def _default_ssl_context() -> ssl.SSLContext:
    global _DEFAULT_SSL
    if _DEFAULT_SSL is None:
        _DEFAULT_SSL = httpx.create_ssl_context()
    return _DEFAULT_SSL


def _in_thread(name: str, work: Callable[..., _T], *args: Any) -> concurrent.futures.Future[_T]:
    """``work(*args)`` in a new daemon thread of its own.  No pool: a thread held by a slow
    peer or a hanging resolver is never one that another request waits for, and a resolver that
    never returns does not hold up the interpreter's exit (pool threads are joined at exit)."""
    future: concurrent.futures.Future[_T] = concurrent.futures.Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            result = work(*args)
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


class Fetcher:
    """Fetches URL images with the fetch rules (see the module doc).

    ``timeout``: seconds in all per image, DNS included (default: the catalogue's 18).
    ``resolver``: how host names become addresses, ``resolver(host, port) -> addresses``, sync
    or async (default: the system resolver, ``socket.getaddrinfo``); ``host`` is the name as
    mapped for the URL (ASCII: ``xn--fa-hia.de`` for ``faß.de``), without a trailing dot.  Each
    lookup runs in a thread of its own and is abandoned at the image's deadline.

    **Test only** (never in production):
    ``verify``: an :class:`ssl.SSLContext` to trust instead of the default roots (certifi), e.g.
    one trusting a test CA; it must verify certificates.  ``allow_private``: addresses or networks
    (``"127.0.0.1"``, ``"127.0.0.0/8"``) that count as public, so that a test can reach a
    loopback server; every other non-public address is still refused.

    The I/O is blocking (sockets with deadlines) in threads of the request's own:
    :meth:`afetch_violations` awaits them, so the event loop never blocks.  An image abandoned
    by a cancelled caller still ends by its deadline.  A lookup still running at its image's
    deadline is abandoned (the image fails) and its thread ends when the resolver returns.
    """

    __slots__ = ("_allowed", "_resolver", "_ssl", "timeout")

    def __init__(
        self,
        *,
        timeout: float | None = None,
        resolver: Resolver | None = None,
        verify: ssl.SSLContext | None = None,
        allow_private: Iterable[str] = (),
    ) -> None:
        self.timeout: float = _TIMEOUT if timeout is None else float(timeout)
        if not self.timeout > 0:
            raise ValueError("timeout must be a positive number of seconds")
        if verify is not None and not isinstance(verify, ssl.SSLContext):
            raise TypeError("verify must be an ssl.SSLContext (test only) or None")
        if verify is not None and verify.verify_mode != ssl.CERT_REQUIRED:
            raise ValueError("verify must verify certificates (CERT_REQUIRED)")
        self._ssl = verify
        self._resolver = resolver
        self._allowed = tuple(ipaddress.ip_network(net, strict=False) for net in allow_private)

    def __repr__(self) -> str:
        extra = ", test TLS roots" if self._ssl is not None else ""
        extra += f", allow_private={[str(n) for n in self._allowed]}" if self._allowed else ""
        return f"Fetcher(timeout={self.timeout:g}{extra})"

    # ------------------------------------------------------------ entry points

    def fetch_violations(
        self, targets: Sequence[tuple[str, str] | tuple[str, str, tuple[str, ...]]]
    ) -> tuple[list[Violation], list[Notice]]:
        """Blocking: fetch every target (a :class:`Target`, or an image's ``(path, url)``),
        concurrently, and return the fetch rules' 24, 21 (or its sibling for a position that
        takes videos too), 20, in that order per reference, references in the order given, and
        the warnings.  Never raises for a bad URL or an unreachable host."""
        found = [_as_target(t) for t in targets]
        if not found:
            return [], []
        deadline = time.monotonic() + self.timeout
        with self._pool() as pool:
            if len(found) == 1:
                results = [self._one(pool, found[0], deadline)]
            else:
                futures = [
                    _in_thread("luma-schema-fetch", self._one, pool, target, deadline)
                    for target in found
                ]
                results = [future.result() for future in futures]
        return _report(found, results)

    async def afetch_violations(
        self, targets: Sequence[tuple[str, str] | tuple[str, str, tuple[str, ...]]]
    ) -> tuple[list[Violation], list[Notice]]:
        """:meth:`fetch_violations` for async code: awaits the worker threads."""
        found = [_as_target(t) for t in targets]
        if not found:
            return [], []
        deadline = time.monotonic() + self.timeout
        with self._pool() as pool:
            futures = [
                asyncio.wrap_future(
                    _in_thread("luma-schema-fetch", self._one, pool, target, deadline)
                )
                for target in found
            ]
            results = await asyncio.gather(*futures)
        return _report(found, results)

    # ------------------------------------------------------------ one image

    def _pool(self) -> httpcore.ConnectionPool:
        return httpcore.ConnectionPool(
            ssl_context=self._ssl or _default_ssl_context(),
            network_backend=_PinnedBackend(),
            max_connections=None,
            retries=0,
        )

    def _one(
        self, pool: httpcore.ConnectionPool, target: Target, deadline: float
    ) -> _Body | _Failed:
        try:
            return self._follow(pool, target.url, target.families, deadline)
        except _Failed as failed:
            _log.debug("fetch failed (%s): %s", failed.rule.id, failed)
            return failed
        except (
            Exception
        ) as exc:  # network, TLS, protocol, timeout: all url_fetch_failed; never a crash
            _log.debug("fetch failed: %s", type(exc).__name__)
            return _Failed(_FAILED, type(exc).__name__)

    def _follow(
        self, pool: httpcore.ConnectionPool, url: str, families: tuple[str, ...], deadline: float
    ) -> _Body:
        work = _Work(_WORK_MAX_VIDEO if "video" in families else _WORK_MAX)
        for redirects in range(_MAX_REDIRECTS + 1):
            hop = self._vet(url)
            addresses = self._resolve(hop, deadline)
            work.next_hop()
            token = _PIN.set(_Pin(hop.host, hop.port, addresses, deadline, work))
            try:
                answer = self._request(pool, hop, work, families, last=redirects == _MAX_REDIRECTS)
            finally:
                _PIN.reset(token)
            if isinstance(answer, _Body):
                return answer
            url = _next_url(url, answer)
        raise _Failed(_FAILED, "too many redirects")  # pragma: no cover - _request raises first

    def _vet(self, url: str) -> _Hop:
        """The static URL checks (again, for every hop)."""
        parsed = media.url_host(url)
        if isinstance(parsed, str):
            raise _Failed(_FAILED, parsed)
        host, port = parsed
        literal = host.startswith("[") or type(media.parse_ipv4_host(host)) is int
        if literal:
            host = host.strip("[]")
            if not self._is_allowed(host):
                raise _Failed(_FAILED, "non-public address")
        else:
            problem = media.url_problem(url)
            if problem is not None:
                raise _Failed(_FAILED, problem)
        return _Hop(host, port or 443, _target(url), literal)

    def _is_allowed(self, address: str) -> bool:
        if media.is_public_ip(address):
            return True
        if not self._allowed:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self._allowed)

    def _lookup(self, host: str, port: int) -> list[str]:
        if self._resolver is None:
            infos = socket.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
            return [str(info[4][0]) for info in infos]
        answer = self._resolver(host, port)
        if inspect.isawaitable(answer):
            return list(asyncio.run(_awaited(answer)))
        return list(answer)

    def _resolve(self, hop: _Hop, deadline: float) -> tuple[str, ...]:
        if hop.literal:
            return (hop.host,)
        left = deadline - time.monotonic()
        if left <= 0:
            raise _Failed(_FAILED, "timeout")
        lookup = _in_thread("luma-schema-dns", self._lookup, hop.host, hop.port)
        try:
            found = lookup.result(timeout=left)
        except concurrent.futures.TimeoutError:
            raise _Failed(_FAILED, "DNS timeout") from None
        except Exception as exc:
            raise _Failed(_FAILED, "DNS failure") from exc
        addresses = tuple(dict.fromkeys(a.split("%", 1)[0] for a in found))
        if not addresses:
            raise _Failed(_FAILED, "no address")
        # Every answer must be public: a name that also points inward is refused whole.
        if not all(self._is_allowed(a) for a in addresses):
            raise _Failed(_FAILED, "resolves to a non-public address")
        return addresses

    def _request(
        self,
        pool: httpcore.ConnectionPool,
        hop: _Hop,
        work: _Work,
        families: tuple[str, ...],
        last: bool,
    ) -> _Body | str:
        """The body's facts, or the Location of a redirect to follow; raises _Failed."""
        url = httpcore.URL(
            scheme=b"https", host=hop.host.encode("ascii"), port=hop.port, target=hop.target
        )
        headers = [
            (b"Host", hop.host_header().encode("ascii")),
            (b"Accept", b"image/*, video/*" if "video" in families else b"image/*"),
            (b"Accept-Encoding", b"identity"),
        ]
        # Each operation's timeout is cut to the image's deadline by _DeadlineStream.
        timeouts = {"connect": self.timeout, "read": self.timeout, "write": self.timeout}
        extensions = {"timeout": {**timeouts, "pool": self.timeout}}
        with pool.stream("GET", url, headers=headers, extensions=extensions) as response:
            work.in_body = True
            status = response.status
            fields = _headers(response.headers)
            if status in _REDIRECTS and "location" in fields:
                if last:
                    raise _Failed(_FAILED, "too many redirects")
                return fields["location"]
            if status >= _MIN_ERROR:
                raise _Failed(_HTTP_ERROR, "HTTP error", code=status)
            if not 200 <= status < 300 or status in _NO_BODY:
                raise _Failed(_FAILED, f"HTTP {status}")
            family = media.media_family(fields.get("content-type", ""))
            if family not in families:
                rule = _NOT_IMAGE if families == _IMAGE else _NOT_MEDIA
                raise _Failed(rule, "not a media type of this position")
            encoding = fields.get("content-encoding", "").strip().lower() or "identity"
            length = fields.get("content-length", "")
            declared = int(length) if encoding == "identity" and length.isdigit() else None
            if family == "video":
                return _read_video(response, encoding, declared, work)
            if declared is not None and declared > _MAX_BYTES:
                raise _Failed(_TOO_LARGE, "declared too large")
            return _read(response, encoding, work, _Body())


async def _awaited(answer: Awaitable[Sequence[str]]) -> Sequence[str]:
    return await answer


def _report(
    targets: list[Target], results: list[_Body | _Failed]
) -> tuple[list[Violation], list[Notice]]:
    errors: list[Violation] = []
    warnings: list[Notice] = []
    for (path, _, _), result in zip(targets, results, strict=True):
        if isinstance(result, _Failed):
            echo = {"code": result.code} if result.code is not None else {}
            detail = result.rule.render(path, **echo)
            errors.append(Violation(result.rule.id, result.rule.status, detail, path))
        else:
            warnings.extend(_advice(f"{path}.url", result))
    return errors, warnings


def _read_video(
    response: httpcore.Response, encoding: str, declared: int | None, work: _Work
) -> _Body:
    """A video's size, counted on a best effort: it has no cap, so no status depends on its
    body.  A declared length past ``_VIDEO_BYTES`` is taken as it is; otherwise the body is
    counted until it passes ``_VIDEO_BYTES``, ends, or fails (cut off, the deadline, a broken
    coding: what was counted stands)."""
    body = _Body(family="video")
    if declared is not None and declared > _VIDEO_BYTES:
        body.size, body.over = declared, True
        return body
    try:
        return _read(response, encoding, work, body)
    except _Enough:
        body.over = True
    except Exception as exc:  # the head was a video's: the rest cannot refuse the request
        _log.debug("video body not counted to its end: %s", type(exc).__name__)
    return body


def _read(response: httpcore.Response, encoding: str, work: _Work, body: _Body) -> _Body:
    """Count the body's bytes after content decoding; keep only the first few.

    ``gzip``: every member counts (a gzip body is a series of members, RFC 1952), at most
    ``_MEMBERS_MAX`` of them; ``deflate``: one stream.  Bytes after the encoded data that do not
    start another gzip member fail the fetch at once.  Each input byte is handed to zlib once
    (never re-appended behind a finished member), so the work is linear in the bytes read."""
    if encoding in ("gzip", "x-gzip", "deflate"):
        inflater: Any = zlib.decompressobj(wbits=47)  # gzip or zlib, by the header
    elif encoding == "identity":
        inflater = None
    else:
        raise _Failed(_FAILED, "unsupported content encoding")
    members = 1
    for chunk in response.iter_stream():
        work.piece(len(chunk))
        if inflater is None:
            _count(body, chunk)
            continue
        data = chunk
        while True:
            if inflater.eof and data:  # bytes after the end of a member
                if encoding == "deflate":
                    raise _Failed(_FAILED, "data after the deflate stream")
                members += 1
                if members > _MEMBERS_MAX:
                    raise _Failed(_FAILED, "too many gzip members")
                inflater = zlib.decompressobj(wbits=31)  # only another gzip member may follow
            try:
                piece = inflater.decompress(data, _PIECE)
            except zlib.error:
                raise _Failed(_FAILED, "corrupt content encoding") from None
            _count(body, piece)
            data = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
            if not data and (inflater.eof or len(piece) < _PIECE):
                break
    if inflater is not None and not inflater.eof:
        raise _Failed(_FAILED, "truncated content encoding")
    return body


def _count(body: _Body, piece: bytes) -> None:
    if len(body.head) < _HEAD_BYTES:
        body.head += piece[: _HEAD_BYTES - len(body.head)]
    body.size += len(piece)
    if body.family == "image":
        if body.size > _MAX_BYTES:
            raise _Failed(_TOO_LARGE, "too large")
    elif body.size > _VIDEO_BYTES:
        raise _Enough


def _headers(raw: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    # Duplicates: the first Location/Content-Type wins; an ambiguous length is no length.
    fields: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        # Location as sent (h11 already dropped the spaces around it), read as UTF-8 as
        # browsers read it; nothing else is stripped from it.
        text = _location_text(value) if key == "location" else value.decode("latin-1").strip()
        if key == "content-length" and key in fields and fields[key] != text:
            fields[key] = ""
        fields.setdefault(key, text)
    return fields


def _location_text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:  # each byte a character: the static checks then refuse it
        return value.decode("latin-1")


def _next_url(url: str, location: str) -> str:
    """The URL a redirect leads to.  ``location`` passes the static checks as the server sent
    it: no whitespace or control character anywhere (the URL parsers' silent removal of TAB,
    CR and LF never gets the chance to turn a refused URL into another one), and an absolute
    URL (one with a scheme) is checked whole, as is.  A relative reference is then resolved
    as browsers resolve it (WHATWG URL: a backslash is a slash, ``//host`` a new host);
    :meth:`Fetcher._vet` checks the result as it checks every hop."""
    if media.has_bad_url_character(location):
        raise _Failed(_FAILED, "whitespace or control character in Location")
    if _SCHEME.match(location):
        problem = media.url_problem(location)
        if problem is not None:
            raise _Failed(_FAILED, f"redirect: {problem}")
        return location
    try:
        return ada_url.join_url(url, location)
    except ValueError:
        raise _Failed(_FAILED, "bad Location") from None


def _target(url: str) -> str:
    """The request target (path and query) of a URL that passed ``media.url_host``."""
    rest = url.split("://", 1)[1]
    end = _AUTHORITY_END.search(rest)
    target = rest[end.start() :] if end else ""
    target = target.split("#", 1)[0].replace("\\", "/")
    if not target.startswith("/"):
        target = "/" + target
    return urllib.parse.quote(target, safe=_PATH_SAFE)


def _advice(path: str, body: _Body) -> list[Notice]:
    if body.family == "video":
        if not body.over:
            return []
        limit_mb = _VIDEO_BYTES >> 20
        return [Notice("video_large", path, _ADVICE["video_large"].render(path, limit_mb=limit_mb))]
    notices = []
    if media.sniff_format(body.head) is None:
        notices.append(Notice("format_unknown", path, _ADVICE["format_unknown"].render(path)))
    if body.size > catalog.ADVISED_IMAGE_BYTES:
        limit_mb = catalog.ADVISED_IMAGE_BYTES >> 20
        message = _ADVICE["image_large"].render(path, limit_mb=limit_mb)
        notices.append(Notice("image_large", path, message))
    return notices


_ADVICE: Final = catalog.ADVICE_BY_ID


_DEFAULT: Fetcher | None = None


def default_fetcher() -> Fetcher:
    """The fetcher ``check(payload, fetch=True)`` uses: the defaults, made once."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Fetcher()
    return _DEFAULT


def fetch_violations(
    targets: Sequence[tuple[str, str] | tuple[str, str, tuple[str, ...]]],
) -> tuple[list[Violation], list[Notice]]:
    """What ``check(fetch=True)`` calls: :meth:`Fetcher.fetch_violations` with the defaults."""
    return default_fetcher().fetch_violations(targets)


async def afetch_violations(
    targets: Sequence[tuple[str, str] | tuple[str, str, tuple[str, ...]]],
) -> tuple[list[Violation], list[Notice]]:
    """:func:`fetch_violations` for async code (the mock server's ``--fetch``)."""
    return await default_fetcher().afetch_violations(targets)
