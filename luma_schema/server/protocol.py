"""Deadlines on connections for uvicorn: a request's head and its body must each arrive within a
set time, so that idle or trickling clients cannot hold connections open.

uvicorn itself closes a connection idle between requests after ``timeout_keep_alive`` seconds,
but each byte received restarts that timer, and nothing bounds the time to receive a head or a
body.  :func:`uvicorn_protocol` wraps uvicorn's own HTTP/1.1 protocol class with one timer per
connection:

- from the moment a connection opens, or a response ends, until the next request's head is in:
  ``head_timeout`` seconds;
- from the moment the head is in until the body is (or the app starts answering):
  ``body_timeout`` seconds.

When a timer runs out while a request was partly received, the client gets ``408`` and
``{"detail": ...}``; a connection that received nothing is closed without a word (a client
reusing it at that moment would otherwise read an answer to a request it never sent).  Either
way the connection is closed.  uvicorn's answer to bytes that are not HTTP (``400 Invalid
HTTP request received.``, plain text) is replaced by the same JSON answer with the API's two
headers.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from luma_schema.server.asgi import _REQUEST_ID_KEY, _VERSION_HEADER, _json_bytes, _new_request_id

__all__ = ["BODY_TIMEOUT", "HEAD_TIMEOUT", "IDLE_TIMEOUT", "uvicorn_protocol"]

HEAD_TIMEOUT: Final = 10.0
"""Seconds for a request's head to arrive whole, from the connection's start or the previous
response's end."""
BODY_TIMEOUT: Final = 60.0
"""Seconds for a request's body to arrive whole once its head is in (a body of the largest size,
630 MB, needs about 10 MB/s)."""
IDLE_TIMEOUT: Final = 5
"""uvicorn's ``timeout_keep_alive``: seconds a connection may sit idle between requests."""

# The server's own answers about connections (lib): not request rules.
HEAD_LATE: Final = "Request headers not received within {seconds:g} s"
BODY_LATE: Final = "Request body not received within {seconds:g} s"
MALFORMED: Final = "Invalid HTTP request"


def _answer(status: int, reason: bytes, detail: str, request_id: bytes) -> bytes:
    """A whole HTTP/1.1 response that closes the connection, written outside uvicorn's state
    machine (the connection is closed right after it)."""
    body = _json_bytes({"detail": detail})
    head = [
        b"HTTP/1.1 %d %s" % (status, reason),
        b"content-type: application/json",
        b"content-length: %d" % len(body),
        b"connection: close",
        _REQUEST_ID_KEY + b": " + request_id,
        _VERSION_HEADER[0] + b": " + _VERSION_HEADER[1],
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def uvicorn_protocol(
    *,
    head_timeout: float = HEAD_TIMEOUT,
    body_timeout: float = BODY_TIMEOUT,
    base: type[asyncio.Protocol] | None = None,
) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class (``base``, by default the one uvicorn picks itself) with
    deadlines on each request's head and body.  Pass it as ``uvicorn.Config(http=...)`` or
    ``uvicorn.run(app, http=...)``."""
    if not (head_timeout > 0 and body_timeout > 0):
        raise ValueError("head_timeout and body_timeout must be > 0")
    if base is None:
        from uvicorn.protocols.http.auto import AutoHTTPProtocol

        base = AutoHTTPProtocol
    head_late = HEAD_LATE.format(seconds=head_timeout)
    body_late = BODY_LATE.format(seconds=body_timeout)

    class Deadlines(base):  # type: ignore[valid-type, misc]
        """One timer per connection; see the module's docstring."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._luma_timer: asyncio.TimerHandle | None = None
            self._luma_deadline: float | None = None
            self._luma_loop = asyncio.get_running_loop()  # protocols are made in the loop
            self._luma_head = True  # waiting for a head (else for a body)
            self._luma_partial = False  # bytes of a head have come since the timer started
            self._luma_scope: Scope | None = None
            self._luma_transport: asyncio.Transport | None = None
            # uvicorn's protocols call self.app for each request: ours marks its start and end.
            self.app = self._luma_wrap(self.app)  # type: ignore[has-type]

        def _luma_wrap(self, inner: ASGIApp) -> ASGIApp:
            async def app(scope: Scope, receive: Receive, send: Send) -> None:
                if scope["type"] != "http":
                    await inner(scope, receive, send)
                    return
                self._luma_scope = scope
                self._luma_arm(body_timeout, head=False)

                async def receive_body() -> Message:
                    message = await receive()
                    if not message.get("more_body", False):  # all in, or the client left
                        self._luma_disarm()
                    return message

                async def send_answer(message: Message) -> None:
                    if message["type"] == "http.response.start":
                        self._luma_disarm()  # answering without (all of) the body
                    await send(message)

                try:
                    await inner(scope, receive_body, send_answer)
                finally:
                    self._luma_scope = None
                    transport = self._luma_transport
                    if transport is not None and not transport.is_closing():
                        self._luma_arm(head_timeout, head=True)

            return app

        def _luma_arm(self, seconds: float, *, head: bool) -> None:
            # One deadline per connection; a timer is scheduled only when none is pending
            # for an earlier time, so a busy keep-alive connection does not make and cancel
            # two timers a request (a pending timer that finds a later deadline waits again).
            self._luma_head, self._luma_partial = head, False
            deadline = self._luma_loop.time() + seconds
            self._luma_deadline = deadline
            timer = self._luma_timer
            if timer is None or timer.when() > deadline:
                if timer is not None:
                    timer.cancel()
                self._luma_timer = self._luma_loop.call_at(deadline, self._luma_due)

        def _luma_disarm(self) -> None:
            self._luma_deadline = None

        def _luma_due(self) -> None:
            self._luma_timer = None
            deadline = self._luma_deadline
            if deadline is None:
                return
            if self._luma_loop.time() < deadline:
                self._luma_timer = self._luma_loop.call_at(deadline, self._luma_due)
                return
            self._luma_deadline = None
            self._luma_expire()

        def _luma_expire(self) -> None:
            transport = self._luma_transport
            if transport is None or transport.is_closing():
                return
            if not self._luma_head:
                state = (self._luma_scope or {}).get("state") or {}
                known = state.get("request_id")
                request_id = known.encode("latin-1") if known else _new_request_id()
                transport.write(_answer(408, b"Request Timeout", body_late, request_id))
            elif self._luma_partial:
                transport.write(_answer(408, b"Request Timeout", head_late, _new_request_id()))
            transport.close()

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            assert isinstance(transport, asyncio.Transport)
            self._luma_transport = transport
            self._luma_arm(head_timeout, head=True)

        def connection_lost(self, exc: Exception | None) -> None:
            self._luma_disarm()
            if self._luma_timer is not None:
                self._luma_timer.cancel()
                self._luma_timer = None
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._luma_head and self._luma_deadline is not None:
                self._luma_partial = True
            super().data_received(data)

        def send_400_response(self, msg: str) -> None:
            # uvicorn's answer to bytes that are not HTTP: plain text without the API's headers.
            self._luma_disarm()
            transport = self._luma_transport
            if transport is not None and not transport.is_closing():
                transport.write(_answer(400, b"Bad Request", MALFORMED, _new_request_id()))
                transport.close()

    Deadlines.__name__ = Deadlines.__qualname__ = f"Deadlines{base.__name__}"
    return Deadlines
