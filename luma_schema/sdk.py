"""A pre-flight guard for the official ``luma-agents`` SDK (extra ``sdk``), in its httpx transport.

The guard is an httpx transport (:class:`GuardTransport`, :class:`AsyncGuardTransport`) placed in
front of the one that does the I/O.  Every ``POST .../generations`` it is handed is checked by
:func:`luma_schema.check` on the exact bytes the SDK serialised, before anything is sent.  A request
the server would refuse is answered by the transport itself with the server's answer: the status
and ``{"detail": ...}``.  The SDK then raises for it what it raises for that answer from the real
server, by its own choice of class (``BadRequestError`` for 400, ``UnprocessableEntityError`` for
422, ``APIStatusError`` for 413), without retrying (``x-should-retry: false``), and no connection
is opened.  A valid request is passed on untouched; any other request (a poll, a file upload) is
passed on unread.  Warnings go to :mod:`warnings` as :class:`GuardWarning`, attributed to the
caller's line.

Every type, field, member and value of the catalogue is checked, the video types, ``layering``
and references by ``generation_id`` or ``file_id`` among them.  What an installed SDK types and
the catalogue does not know (a field, a member or an enum value added to the API since: the
difference of :func:`sdk_surface` and :func:`catalogue_surface`, read once at import) cannot be
checked: a request that uses it is sent unchecked, with a ``not_checked`` warning naming it.
Other fields the contract does not know are unknown fields: a warning each, and sent as given.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import json
import typing
import warnings
from collections.abc import Mapping
from typing import Any, Final, TypeVar

try:
    import httpx
    import luma_agents
    from luma_agents.types import generation_create_params
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "luma_schema.sdk needs the 'sdk' extra: pip install 'luma-schema[sdk]'"
    ) from exc

from luma_schema import catalog, engine
from luma_schema.engine import Notice, Report
from luma_schema.fetch import Fetcher
from luma_schema.rules import Field, OneOf, OneOfFor

__all__ = ["AsyncGuardTransport", "GuardTransport", "GuardWarning", "guard"]

Client = TypeVar("Client", luma_agents.Luma, luma_agents.AsyncLuma)

_ENDPOINT: Final = catalog.ENDPOINT.rsplit("/", 1)[-1]  # "generations"
_NOT_CHECKED: Final = catalog.ADVICE_BY_ID["not_checked"]
# Marks an answer the guard gave (the SDK's exception carries it in `exc.response.headers`).
GUARD_HEADER: Final = "X-Luma-Schema-Guard"
# Frames of these packages stand between the caller and the transport: warnings skip them.
_INNER_PACKAGES: Final = frozenset({"luma_schema", "luma_agents", "httpx", "httpcore", "anyio"})


class GuardWarning(UserWarning):
    """A warning about a request (one of the report's warnings, or a request sent unchecked)."""


# ---------------------------------------------------------------- what the SDK can say beyond us


@dataclasses.dataclass(frozen=True, slots=True)
class Surface:
    """What a request can say, as a field table: the members of each object (by dotted path:
    ``""`` the request, ``"video.edit"``, ``"image_ref"`` for each of its items) and the closed
    set of values of each enumerated field (``"video.duration"``)."""

    members: Mapping[str, frozenset[str]]
    values: Mapping[str, frozenset[str]]

    def beyond(self, other: Surface) -> Surface:
        """What this surface has that ``other`` lacks: members, and values of fields ``other``
        has (inside a member ``other`` lacks, everything is new: that member says it)."""
        members = {
            path: names - other.members.get(path, frozenset())
            for path, names in self.members.items()
            if path in other.members and names - other.members[path]
        }
        values = {
            path: found - other.values.get(path, frozenset())
            for path, found in self.values.items()
            if _known(path, other) and found - other.values.get(path, frozenset())
        }
        return Surface(members, values)


def _known(path: str, surface: Surface) -> bool:
    """Whether the field at ``path`` is in ``surface``'s tables."""
    table, _, name = path.rpartition(".")
    return name in surface.members.get(table, frozenset())


def catalogue_surface() -> Surface:
    """The catalogue's surface: its field table (media references included) and the values of
    its ``OneOf`` rules (every model's, for a field whose values depend on the model)."""
    members: dict[str, frozenset[str]] = {}

    def table(prefix: str, fields: tuple[Field, ...]) -> None:
        members[prefix] = frozenset(f.name for f in fields)
        for f in fields:
            if f.members is not None:
                table(f"{prefix}{'.' if prefix else ''}{f.name}", f.members)

    table("", catalog.FIELDS)
    values: dict[str, set[str]] = {}
    for rule in catalog.RULES:
        if isinstance(rule, OneOf | OneOfFor):
            values.setdefault(rule.field, set()).update(rule.values)
    return Surface(members, {path: frozenset(v) for path, v in values.items()})


def sdk_surface(params: Any = None) -> Surface:
    """The surface the installed SDK's request type (``GenerationCreateParams``, or ``params``)
    types: every TypedDict reached through it, its keys and its ``Literal`` values.  An SDK
    whose types cannot be read has none."""
    members: dict[str, set[str]] = {}
    values: dict[str, set[str]] = {}

    def walk(hint: Any, path: str, seen: frozenset[Any]) -> None:
        origin = typing.get_origin(hint)
        if origin is typing.Literal:
            values.setdefault(path, set()).update(
                a for a in typing.get_args(hint) if isinstance(a, str)
            )
            return
        if _is_typed_dict(hint):
            if hint in seen:
                return
            hints = typing.get_type_hints(hint)
            members.setdefault(path, set()).update(hints)
            for name, member in hints.items():
                walk(member, f"{path}{'.' if path else ''}{name}", seen | {hint})
            return
        for arg in typing.get_args(hint):  # Optional[X], Iterable[X], Required[X], unions
            walk(arg, path, seen)

    try:
        walk(
            params if params is not None else generation_create_params.GenerationCreateParams,
            "",
            frozenset(),
        )
    except Exception:  # an SDK whose types cannot be read: nothing is beyond the contract
        return Surface({}, {})
    return Surface(
        {path: frozenset(names) for path, names in members.items()},
        {path: frozenset(v) for path, v in values.items()},
    )


def _is_typed_dict(hint: Any) -> bool:
    return isinstance(hint, type) and all(
        isinstance(getattr(hint, name, None), frozenset) for name in _TYPED_DICT_KEYS
    )


_TYPED_DICT_KEYS: Final = ("__required_keys__", "__optional_keys__")
# What the installed SDK can express and the catalogue does not know (a field, a member, a
# value it added since): a request using any of it is sent unchecked, with a warning.
_BEYOND: Final = sdk_surface().beyond(catalogue_surface())
# Each of those names and values can only be in a JSON text as itself, or with a \u escape.
_BEYOND_NAMES: Final = tuple(
    json.dumps(n).encode()
    for n in sorted({*itertools.chain(*_BEYOND.members.values(), *_BEYOND.values.values())})
)


def _out_of_contract(body: bytes) -> list[str]:
    """The paths of what ``body`` says that the SDK types and the catalogue does not know."""
    if not _BEYOND_NAMES or (
        not any(name in body for name in _BEYOND_NAMES) and b"\\u" not in body
    ):
        return []  # none of the names can be there: no need to parse the body twice
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return []
    paths: list[str] = []
    for table, names in _BEYOND.members.items():
        for where, value in _at(payload, table):
            if isinstance(value, dict):
                prefix = f"{where}." if where else ""
                paths += [f"{prefix}{n}" for n in sorted(names) if value.get(n) is not None]
    for field, values in _BEYOND.values.items():
        paths += [
            where
            for where, value in _at(payload, field)
            if isinstance(value, str) and value in values
        ]
    return paths


def _at(payload: Any, path: str) -> list[tuple[str, Any]]:
    """The values at a dotted ``path`` of ``payload`` with their concrete paths (each item of an
    array on the way: ``video.keyframes[2]``)."""
    found: list[tuple[str, Any]] = [("", payload)]
    for name in path.split(".") if path else ():
        step: list[tuple[str, Any]] = []
        for where, value in found:
            if not isinstance(value, dict) or name not in value:
                continue
            here, item = f"{where}.{name}" if where else name, value[name]
            if isinstance(item, list):
                step += [(f"{here}[{i}]", one) for i, one in enumerate(item)]
            else:
                step.append((here, item))
        found = step
    return found


# ---------------------------------------------------------------- the check of one request


def _guarded(request: httpx.Request) -> bool:
    """Whether ``request`` creates a generation (``POST <base>/generations``)."""
    return request.method == "POST" and request.url.path.rstrip("/").endswith("/" + _ENDPOINT)


def _unchecked(request: httpx.Request, body: bytes) -> bool:
    """Warn and say so when the request is beyond this contract."""
    coding = request.headers.get("content-encoding", "identity").strip().lower()
    paths = ["Content-Encoding"] if coding != "identity" else _out_of_contract(body)
    for path in paths:
        _warn(Notice(_NOT_CHECKED.id, path, _NOT_CHECKED.render(path)))
    return bool(paths)


def _answer(request: httpx.Request, report: Report) -> httpx.Response | None:
    """The server's answer to a refused request (``None`` when it is accepted); warnings go out."""
    for notice in report.warnings:
        _warn(notice)
    if report.ok:
        return None
    status, body = report.to_response()
    headers = {"x-should-retry": "false", GUARD_HEADER: "refused"}
    return httpx.Response(status, json=body, headers=headers, request=request)


def _warn(notice: Notice) -> None:
    warnings.warn(notice.message, GuardWarning, stacklevel=_caller_level())


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside the guard, the SDK and its I/O stack."""
    level, frame = 1, inspect.currentframe()
    while frame is not None:
        package = str(frame.f_globals.get("__name__", "")).partition(".")[0]
        if level > 1 and package not in _INNER_PACKAGES:
            return level - 1
        frame, level = frame.f_back, level + 1
    return 1


def _fetcher(fetch: bool | Fetcher) -> Fetcher | None:
    if fetch is True:
        return Fetcher()
    if isinstance(fetch, Fetcher):
        return fetch
    if fetch is False:
        return None
    raise TypeError("fetch must be True, False or a luma_schema.fetch.Fetcher")


# ---------------------------------------------------------------- the transports


class GuardTransport(httpx.BaseTransport):
    """An httpx transport that answers requests the API would refuse and passes the others to
    ``transport`` (default: a new :class:`httpx.HTTPTransport`).  ``fetch``: as :func:`guard`.

    For a client built from scratch, with public names only::

        Luma(http_client=luma_agents.DefaultHttpxClient(transport=GuardTransport()))
    """

    def __init__(
        self, transport: httpx.BaseTransport | None = None, *, fetch: bool | Fetcher = False
    ) -> None:
        self.transport = transport if transport is not None else httpx.HTTPTransport()
        self.fetcher = _fetcher(fetch)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if _guarded(request):
            body = request.read()
            if not _unchecked(request, body):
                fetcher = self.fetcher
                report = engine.check(body, fetch=fetcher or False)
                refusal = _answer(request, report)
                if refusal is not None:
                    return refusal
        return self.transport.handle_request(request)

    def close(self) -> None:
        self.transport.close()


class AsyncGuardTransport(httpx.AsyncBaseTransport):
    """:class:`GuardTransport` for ``AsyncLuma`` (default transport: :class:`httpx.AsyncHTTPTransport`);
    URL images are fetched without blocking the event loop."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        fetch: bool | Fetcher = False,
    ) -> None:
        self.transport = transport if transport is not None else httpx.AsyncHTTPTransport()
        self.fetcher = _fetcher(fetch)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if _guarded(request):
            body = await request.aread()
            if not _unchecked(request, body):
                fetcher = self.fetcher
                report = (
                    engine.check(body) if fetcher is None else await engine.acheck(body, fetcher)
                )
                refusal = _answer(request, report)
                if refusal is not None:
                    return refusal
        return await self.transport.handle_async_request(request)

    async def aclose(self) -> None:
        await self.transport.aclose()


# ---------------------------------------------------------------- guarding a client


def guard(client: Client, *, fetch: bool | Fetcher = False) -> Client:
    """Guard every generation request ``client`` sends; returns ``client``.

    The transports of the client's httpx client are wrapped in place (:class:`GuardTransport`, or
    :class:`AsyncGuardTransport` for ``AsyncLuma``), so whatever shares that httpx client is
    guarded too: ``with_raw_response``, ``with_streaming_response``, and the clients
    ``with_options()`` and ``copy()`` return (unless given an ``http_client`` of their own).
    ``fetch=True`` also fetches URL images (as ``check(payload, fetch=True)``) with a default
    :class:`luma_schema.fetch.Fetcher`, or with the one given.  Guarding twice is harmless (the
    first guard's settings stay).

    The SDK keeps its httpx client in ``client._client`` and httpx keeps a client's transports in
    ``_transport`` and ``_mounts`` (proxies): these are the attributes this function reads.  A
    client built with ``http_client=...(transport=GuardTransport())`` needs none of them."""
    if not isinstance(client, (luma_agents.Luma, luma_agents.AsyncLuma)):
        raise TypeError("guard() takes a luma_agents.Luma or luma_agents.AsyncLuma client")
    fetcher = _fetcher(fetch)
    http = getattr(client, "_client", None)
    given: bool | Fetcher = fetcher if fetcher is not None else False
    kind: type[httpx.Client | httpx.AsyncClient]
    guard_kind: type[GuardTransport | AsyncGuardTransport]
    if isinstance(client, luma_agents.AsyncLuma):
        kind, guard_kind = httpx.AsyncClient, AsyncGuardTransport
    else:
        kind, guard_kind = httpx.Client, GuardTransport
    transports = _transports(http)
    if not isinstance(http, kind) or transports is None:
        raise TypeError(
            "guard() cannot reach this client's httpx transport; build the client with "
            "http_client=luma_agents.DefaultHttpxClient(transport=GuardTransport()) "
            "(DefaultAsyncHttpxClient and AsyncGuardTransport for AsyncLuma)"
        )
    base, mounts = transports

    def wrap(inner: Any) -> Any:
        # A transport guarded already keeps its guard (and its settings).
        if inner is None or isinstance(inner, guard_kind):
            return inner
        return guard_kind(inner, fetch=given)

    http._transport = wrap(base)
    http._mounts = {pattern: wrap(inner) for pattern, inner in mounts.items()}
    return client


def _transports(http: Any) -> tuple[Any, Mapping[Any, Any]] | None:
    base, mounts = getattr(http, "_transport", None), getattr(http, "_mounts", None)
    if base is None or not isinstance(mounts, dict):
        return None
    return base, mounts
