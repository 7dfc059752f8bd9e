"""Running the mock with uvicorn: ``luma-schema serve`` in the foreground, or :class:`MockServer`
on a loopback port in a background thread (what the pytest fixture ``luma_mock`` yields)."""

from __future__ import annotations

import os
import socket
import threading
import time
from types import TracebackType
from typing import Any, Final

from starlette.applications import Starlette

from luma_schema.server.mock import MockClock, create_app
from luma_schema.server.protocol import BODY_TIMEOUT, HEAD_TIMEOUT, IDLE_TIMEOUT, uvicorn_protocol

__all__ = ["API_KEY_ENV", "MockServer", "serve"]

API_KEY_ENV: Final = "LUMA_SCHEMA_API_KEY"
"""The environment variable ``luma-schema serve`` reads its key from when ``--api-key`` is not
given (no key: any non-empty bearer token is accepted)."""

SAMPLE_KEY: Final = "luma-api-mock"
"""The key :class:`MockServer` hands out when it accepts any token."""


def _uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ImportError(
            "luma-schema serve needs the 'server' extra: pip install 'luma-schema[server]'"
        ) from exc
    return uvicorn


def _config(app: Starlette, host: str, port: int, head_timeout: float, body_timeout: float) -> Any:
    uvicorn = _uvicorn()
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=uvicorn_protocol(head_timeout=head_timeout, body_timeout=body_timeout),
        timeout_keep_alive=IDLE_TIMEOUT,
        lifespan="off",
        log_level="warning",
        access_log=False,
    )


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    fetch: bool = False,
    delay: float | None = None,
    seed: int | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    head_timeout: float = HEAD_TIMEOUT,
    body_timeout: float = BODY_TIMEOUT,
) -> None:
    """Run the mock with uvicorn until interrupted (``luma-schema serve``).  ``api_key``: the
    one key accepted; when ``None``, the environment variable :data:`API_KEY_ENV`, and when
    that is unset or empty, any non-empty bearer token."""
    if api_key is None:
        api_key = os.environ.get(API_KEY_ENV) or None
    app = create_app(fetch=fetch, delay=delay, seed=seed, api_key=api_key, base_url=base_url)
    _uvicorn().Server(_config(app, host, port, head_timeout, body_timeout)).run()


class MockServer:
    """The mock served by uvicorn on a free loopback port in a background thread; a context
    manager (``with MockServer() as mock: ...``).

    ``base_url`` is what the official SDK takes (the server's URL with ``/v1``), ``url`` the
    server's root, ``api_key`` a key it accepts, ``env`` the SDK's environment variables for
    both, ``clock`` the :class:`MockClock` its generations are timed by (``advance``,
    ``freeze``, ``resume``), ``app`` the ASGI app itself (for ``httpx.ASGITransport``).
    ``api_key``: when given, the only key accepted; else any non-empty bearer token is.  Other
    keywords go to :func:`create_app`."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        clock: MockClock | None = None,
        host: str = "127.0.0.1",
        head_timeout: float = HEAD_TIMEOUT,
        body_timeout: float = BODY_TIMEOUT,
        **options: Any,
    ) -> None:
        self.clock = MockClock() if clock is None else clock
        self.app = create_app(api_key=api_key, clock=self.clock, **options)
        self.api_key = SAMPLE_KEY if api_key is None else api_key
        self._host = host
        self._timeouts = (head_timeout, body_timeout)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.url = ""

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    @property
    def delay(self) -> float:
        """Seconds from ``queued`` to ``completed`` on :attr:`clock`."""
        delay: float = self.app.mock.delay  # type: ignore[attr-defined]
        return delay

    @property
    def env(self) -> dict[str, str]:
        """``LUMA_BASE_URL`` and ``LUMA_AGENTS_API_KEY``, as the official SDK reads them."""
        return {"LUMA_BASE_URL": self.base_url, "LUMA_AGENTS_API_KEY": self.api_key}

    def start(self) -> MockServer:
        if self._thread is not None:
            raise RuntimeError("the mock server is running already")
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, 0))
        port = sock.getsockname()[1]
        config = _config(self.app, self._host, port, *self._timeouts)
        server = _uvicorn().Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="luma-mock"
        )
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError("the mock server did not start")
            time.sleep(0.005)
        self._server, self._thread, self._socket = server, thread, sock
        host = f"[{self._host}]" if family == socket.AF_INET6 else self._host
        self.url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(30)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
