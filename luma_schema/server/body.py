"""Reading a request body: a size cap, one copy in memory, and a share of a budget that bounds
the bytes of all bodies held at once.

A body is written into one buffer as it arrives, growing by at most an eighth at a time, and
that buffer becomes the ``bytes`` the engine reads.  So a body of N bytes costs about N bytes
while it is read and checked (a list of chunks joined at the end would cost 2N).
"""

from __future__ import annotations

import io
from typing import Final

from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope

from luma_schema import catalog
from luma_schema.engine import Report, RequestError, Violation
from luma_schema.rules import MaxBytes, MaxItemsFor, OnlyFor, RequiredFor

__all__ = ["BODY_TOO_LARGE", "MAX_BODY_BYTES", "MAX_INFLIGHT_BYTES", "BodyRefused"]

_SIZE_RULE: Final = next(r for r in catalog.RULES if isinstance(r, MaxBytes))


def _max_images() -> int:
    """The most images one valid request holds: a type's ``image_ref`` cap, plus ``source``
    where that type takes one (9 for both types today)."""
    with_source = {
        r.equals
        for r in catalog.RULES
        if isinstance(r, (RequiredFor, OnlyFor)) and r.field in catalog.IMAGE_FIELDS
    }
    return max(
        r.max + (1 if r.equals in with_source else 0)
        for r in catalog.RULES
        if isinstance(r, MaxItemsFor)
    )


def _base64_length(size: int) -> int:
    return 4 * -(-size // 3)


MAX_IMAGES: Final = _max_images()
MAX_BODY_BYTES: Final = MAX_IMAGES * _base64_length(_SIZE_RULE.max) + catalog.BODY_SLACK_BYTES
"""The largest body read: the JSON text of a request holding the most images a valid request can,
each at the size limit in base64, plus :data:`catalog.BODY_SLACK_BYTES` for everything else."""

MAX_INFLIGHT_BYTES: Final = MAX_BODY_BYTES
"""The default budget of bytes of request bodies held at once by one app: one body of the
largest size, or any number of smaller ones that fit together."""

BODY_TOO_LARGE: Final = catalog.BODY_TOO_LARGE.format(**_SIZE_RULE.params())

# The server's own answers about bodies it will not read (not request rules: no rule id).
BUSY_STATUS: Final = 503
BUSY: Final = "Server busy: too many request bodies in flight; retry later"
BUSY_RETRY_AFTER: Final = "1"  # seconds; the official SDK retries a 503 and honours it


def _header(scope: Scope, name: bytes) -> bytes | None:
    """A request header's first value (``name`` in lower case), read from the ASGI scope."""
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None


def _too_large() -> Report:
    violation = Violation(_SIZE_RULE.id, _SIZE_RULE.status, BODY_TOO_LARGE, "")
    return Report(violation.status, violation.detail, (violation,), (), None)


class BodyRefused(Exception):
    """A body the server will not read now: not a verdict on the request, so no rule and no
    :class:`~luma_schema.Report`.  ``to_response()`` is the answer (``503`` with
    ``Retry-After`` when the budget of bodies in flight is spent); the connection is closed
    after it, since the unread body would otherwise have to be drained."""

    def __init__(self, status: int, detail: str, headers: dict[str, str]) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers

    def to_response(self) -> tuple[int, dict[str, str]]:
        return self.status, {"detail": self.detail}


class Budget:
    """Bytes of request bodies held at once by one app.  One event loop reads every body, so a
    plain counter is enough."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError("max_inflight_bytes must be >= 0")
        self.limit = limit
        self.used = 0


class Share:
    """What one request holds of a :class:`Budget`; given back whole by :meth:`release` when the
    request ends (its body is no longer referenced by then)."""

    __slots__ = ("budget", "held")

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.held = 0

    def take(self, size: int) -> None:
        """Hold ``size`` more bytes, or raise :class:`BodyRefused` (503) if they do not fit."""
        budget = self.budget
        if budget.used + size > budget.limit:
            raise BodyRefused(BUSY_STATUS, BUSY, {"Retry-After": BUSY_RETRY_AFTER})
        budget.used += size
        self.held += size

    def release(self) -> None:
        self.budget.used -= self.held
        self.held = 0


SHARE_KEY: Final = "luma_schema.body_share"
"""The scope key of the request's :class:`Share`, put there by ``RequestIdMiddleware``."""


async def read(scope: Scope, receive: Receive, max_bytes: int) -> bytes:
    """The whole body, refused with :class:`RequestError` (413, :data:`BODY_TOO_LARGE`) as soon
    as its ``Content-Length`` or the bytes received exceed ``max_bytes``, and with
    :class:`BodyRefused` when the scope's share of the budget cannot hold it.  Raises
    ``ClientDisconnect`` when the client leaves first."""
    share: Share | None = scope.get(SHARE_KEY)
    value = _header(scope, b"content-length")
    declared = int(value) if value is not None and value.isdigit() else None
    held = 0
    if declared is not None:
        if declared > max_bytes:
            raise RequestError(_too_large())
        if share is not None:
            share.take(declared)  # refused before a byte of the body is read
            held = declared
    message = await receive()
    if message["type"] != "http.request":
        raise ClientDisconnect()
    chunk: bytes = message.get("body", b"")
    if not message.get("more_body", False):  # the whole body in one message: no buffer
        if len(chunk) > max_bytes:
            raise RequestError(_too_large())
        if share is not None and len(chunk) > held:
            share.take(len(chunk) - held)
        return chunk
    # Grown as bytes arrive (by an eighth at a time), never ahead of them: a client that
    # announces a large body and sends nothing holds a share of the budget, not memory.
    # getvalue() hands the buffer over as the bytes, without a copy.
    buffer = io.BytesIO()
    size = 0
    while True:
        if chunk:
            size += len(chunk)
            if size > max_bytes:
                raise RequestError(_too_large())
            if share is not None and size > held:
                share.take(size - held)
                held = size
            buffer.write(chunk)
        if not message.get("more_body", False):
            break
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
    return buffer.getvalue()
