"""A pre-flight guard for the official ``luma-agents`` SDK (extra ``sdk``).

``guard(client)`` wraps ``client.generations.create`` of a ``luma_agents.Luma`` or ``AsyncLuma``:
every request is checked by :func:`luma_schema.check` before anything is sent.  A request the
server would refuse raises the exception the SDK raises for that answer from the real server
(``BadRequestError`` for 400, ``UnprocessableEntityError`` for 422, ``APIStatusError`` for 413),
built on a synthetic ``httpx.Response`` carrying ``{"detail": ...}``: ``exc.status_code`` is the
status and ``exc.body["detail"]`` the exact message, so code that handles server errors needs no
change.  A valid request goes through untouched.  Warnings go to :mod:`warnings` as
:class:`GuardWarning`.

What is checked is what the SDK would send: the keyword arguments that are not the SDK's
``omit``/``NOT_GIVEN`` sentinels, with ``extra_body`` merged over them.  The SDK also offers
features beyond this library's contract (types ``video``, ``video_edit``, ``video_reframe``,
``layering``; images given by ``generation_id`` or ``file_id``): such a request is sent unchecked,
with a ``not_checked`` warning.  Other fields the contract does not know (``layering``, ``video``
on an image request) are unknown fields: a warning each, and sent as given.
"""

from __future__ import annotations

import functools
import inspect
import typing
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, TypeVar

try:
    import httpx
    import luma_agents
    from luma_agents.types import generation_create_params, image_ref_param
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "luma_schema.sdk needs the 'sdk' extra: pip install 'luma-schema[sdk]'"
    ) from exc

from luma_schema import catalog, engine
from luma_schema.engine import Notice, Report
from luma_schema.fetch import Fetcher

__all__ = ["GuardWarning", "guard"]

Client = TypeVar("Client", luma_agents.Luma, luma_agents.AsyncLuma)

_MARK: Final = "__luma_schema_guard__"
_NOT_BODY: Final = frozenset({"extra_headers", "extra_query", "extra_body", "timeout"})
_SENTINELS: Final = (luma_agents.Omit, luma_agents.NotGiven)
_IMAGE_MEMBERS: Final = frozenset(m.name for m in catalog.IMAGE_MEMBERS)
_NOT_CHECKED: Final = catalog.ADVICE_BY_ID["not_checked"]


class GuardWarning(UserWarning):
    """A warning about a request (SPEC section 5, or a request sent unchecked)."""


def _sdk_types() -> frozenset[str]:
    """The generation types the SDK documents (read from its own parameter types)."""
    try:
        hints = typing.get_type_hints(generation_create_params.GenerationCreateParams)
        return frozenset(a for a in typing.get_args(hints["type"]) if isinstance(a, str))
    except Exception:  # an SDK without this shape: nothing is out of contract by type
        return frozenset()


def _sdk_members() -> frozenset[str]:
    params = image_ref_param.ImageRefParam
    keys = set(params.__required_keys__) | set(params.__optional_keys__)
    return frozenset(keys)


# What the SDK can express and this library does not model: such requests go unchecked.
_OTHER_TYPES: Final = _sdk_types() - set(catalog.TYPES)
_OTHER_MEMBERS: Final = _sdk_members() - _IMAGE_MEMBERS


def guard(client: Client, *, fetch: bool | Fetcher = False) -> Client:
    """Check every ``client.generations.create(...)`` before it is sent; returns ``client``.

    ``fetch=True`` also fetches URL images (SPEC rows 23, 24, 21, 20) with a default
    :class:`luma_schema.fetch.Fetcher`, or with the one given.  Guarding twice is harmless (the
    first guard's settings stay);
    ``client.with_options(...)`` and ``client.copy(...)`` return guarded clients too, and
    ``client.with_raw_response`` / ``with_streaming_response`` go through the guard."""
    if not isinstance(client, (luma_agents.Luma, luma_agents.AsyncLuma)):
        raise TypeError("guard() takes a luma_agents.Luma or luma_agents.AsyncLuma client")
    fetcher: Fetcher | None = None
    if fetch is True:
        fetcher = Fetcher()
    elif isinstance(fetch, Fetcher):
        fetcher = fetch
    elif fetch is not False:
        raise TypeError("fetch must be True, False or a luma_schema.fetch.Fetcher")
    resources = client.generations
    if getattr(resources.create, _MARK, False):
        return client
    original = resources.create
    signature = inspect.signature(original)
    body_names = frozenset(signature.parameters) - _NOT_BODY
    wrapper: Callable[..., Any]
    if isinstance(client, luma_agents.AsyncLuma):
        wrapper = _async_wrapper(client, original, signature, body_names, fetcher)
    else:
        wrapper = _sync_wrapper(client, original, signature, body_names, fetcher)
    setattr(wrapper, _MARK, True)
    vars(resources)["create"] = wrapper  # an instance attribute over the method
    # Raw and streaming views capture `create` when first built: rebuild them over the guard.
    client.__dict__.pop("with_raw_response", None)
    client.__dict__.pop("with_streaming_response", None)
    copy = client.copy

    @functools.wraps(copy)
    def guarded_copy(*args: Any, **kwargs: Any) -> Any:
        return guard(copy(*args, **kwargs), fetch=fetcher if fetcher is not None else False)

    client.__dict__["copy"] = client.__dict__["with_options"] = guarded_copy
    return client


def _sdk_call_error(signature: inspect.Signature, args: Any, kwargs: Any) -> bool:
    """Whether the SDK itself refuses the call (positional, unknown or missing arguments): then
    it must raise its own TypeError, as without the guard."""
    try:
        signature.bind(*args, **kwargs)
    except TypeError:
        return True
    return False


def _sync_wrapper(
    client: luma_agents.Luma,
    original: Callable[..., Any],
    signature: inspect.Signature,
    body_names: frozenset[str],
    fetcher: Fetcher | None,
) -> Callable[..., Any]:
    @functools.wraps(original)
    def create(*args: Any, **kwargs: Any) -> Any:
        if _sdk_call_error(signature, args, kwargs):
            return original(*args, **kwargs)
        kwargs = _materialise(kwargs)
        payload = _payload(kwargs, body_names)
        if not _out_of_contract(payload):
            report = engine.check(payload, fetch=fetcher) if fetcher is not None else engine.check(payload)
            _verdict(client, report)
        return original(**kwargs)

    return create


def _async_wrapper(
    client: luma_agents.AsyncLuma,
    original: Callable[..., Any],
    signature: inspect.Signature,
    body_names: frozenset[str],
    fetcher: Fetcher | None,
) -> Callable[..., Any]:
    @functools.wraps(original)
    async def create(*args: Any, **kwargs: Any) -> Any:
        if _sdk_call_error(signature, args, kwargs):
            return await original(*args, **kwargs)
        kwargs = _materialise(kwargs)
        payload = _payload(kwargs, body_names)
        if not _out_of_contract(payload):
            if fetcher is not None:
                report = await engine.acheck(payload, fetch=fetcher)
            else:
                report = engine.check(payload)
            _verdict(client, report)
        return await original(**kwargs)

    return create


def _absent(value: Any) -> bool:
    return isinstance(value, _SENTINELS)


def _materialise(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A one-shot iterable ``image_ref`` (a generator, say) becomes a list, so that the guard
    and the SDK see the same items; everything else is passed on as it came."""
    refs = kwargs.get("image_ref")
    if (
        refs is not None
        and not _absent(refs)
        and isinstance(refs, Iterable)
        and not isinstance(refs, (list, tuple, str, bytes, Mapping))
    ):
        return {**kwargs, "image_ref": list(refs)}
    return kwargs


def _strip(value: Any) -> Any:
    """The value as the SDK serialises it: sentinel members of mappings dropped."""
    if isinstance(value, Mapping):
        return {k: _strip(v) for k, v in value.items() if not _absent(v)}
    if isinstance(value, (list, tuple)):
        return [_strip(v) for v in value]
    return value


def _payload(kwargs: Mapping[str, Any], body_names: frozenset[str]) -> dict[str, Any]:
    payload = {
        name: _strip(value)
        for name, value in kwargs.items()
        if name in body_names and not _absent(value)
    }
    extra = kwargs.get("extra_body")
    if isinstance(extra, Mapping):
        payload.update((k, _strip(v)) for k, v in extra.items() if not _absent(v))
    return payload


def _out_of_contract(payload: Mapping[str, Any]) -> bool:
    """Warn and say so when the request uses an SDK feature this library does not model."""
    paths: list[str] = []
    kind = payload.get("type")
    if isinstance(kind, str) and kind in _OTHER_TYPES:
        paths.append("type")
    images: list[tuple[str, Any]] = [("source", payload.get("source"))]
    refs = payload.get("image_ref")
    if isinstance(refs, (list, tuple)):
        images += [(f"image_ref[{i}]", image) for i, image in enumerate(refs)]
    for path, image in images:
        if isinstance(image, Mapping):
            paths += [
                f"{path}.{name}"
                for name in sorted(_OTHER_MEMBERS)
                if name in image and image[name] is not None
            ]
    for path in paths:
        _warn(Notice(_NOT_CHECKED.id, path, _NOT_CHECKED.render(path)))
    return bool(paths)


def _warn(notice: Notice) -> None:
    # stacklevel: _warn, its caller (_verdict or _out_of_contract), create(), the user's line.
    warnings.warn(notice.message, GuardWarning, stacklevel=4)


def _verdict(client: luma_agents.Luma | luma_agents.AsyncLuma, report: Report) -> None:
    for notice in report.warnings:
        _warn(notice)
    if not report.ok:
        raise _status_error(client, report)


def _status_error(
    client: luma_agents.Luma | luma_agents.AsyncLuma, report: Report
) -> luma_agents.APIStatusError:
    """The exception the SDK raises when the server answers ``report``'s status and body."""
    body = {"detail": report.detail}
    request = httpx.Request("POST", client.base_url.join("generations"))
    response = httpx.Response(report.status, request=request, json=body)
    make = getattr(client, "_make_status_error_from_response", None)
    if make is not None:
        error = make(response)
        if isinstance(error, luma_agents.APIStatusError):
            return error
    kinds: dict[int, type[luma_agents.APIStatusError]] = {
        400: luma_agents.BadRequestError,
        422: luma_agents.UnprocessableEntityError,
    }
    kind = kinds.get(report.status, luma_agents.APIStatusError)
    return kind(f"Error code: {report.status} - {body}", response=response, body=body)
