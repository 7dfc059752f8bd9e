"""Stopping ``luma-schema`` cleanly: Ctrl-C (SIGINT) or SIGTERM at any moment of a run gives one
line on stderr and the conventional exit, never a traceback, a hang or a process left behind.

The first signal raises (``KeyboardInterrupt``, or :class:`Terminated`) so that a blocking read
or wait ends at once; later ones are ignored while the command cleans up.  Where an exception
cannot travel (a finalizer, a weakref callback), Python only reports it: that report is silenced
and :meth:`StopSignals.check` raises the stop again at the next batch.  Imports of extension
modules run with the signals held (:func:`deferred`): an interrupt inside one can crash it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any, Final, NoReturn

SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


class Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt (not an Exception: nothing may swallow it)."""


class StopSignals:
    """While the block runs, the first Ctrl-C or SIGTERM raises and is remembered in
    ``signal``; the previous handlers come back afterwards.  Signals reach the main thread only,
    so in any other thread this does nothing."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._saved: dict[int, Any] = {}
        self._hook: Any = None

    def __enter__(self) -> StopSignals:
        self.signal = None
        if threading.current_thread() is threading.main_thread():
            for number in SIGNALS:
                self._saved[number] = signal.signal(number, self._stop)
            self._hook, sys.unraisablehook = sys.unraisablehook, self._unraisable
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._saved.items():
            signal.signal(number, handler)
        self._saved.clear()
        if self._hook is not None:
            sys.unraisablehook, self._hook = self._hook, None

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        for number in SIGNALS:  # one stop is enough: the clean-up runs undisturbed
            signal.signal(number, signal.SIG_IGN)
        self.signal = signum
        self.check()

    def check(self) -> None:
        """Raise the stop if one was asked for (again, if it was swallowed on its way)."""
        if self.signal == signal.SIGINT:
            raise KeyboardInterrupt
        if self.signal is not None:
            raise Terminated

    def _unraisable(self, unraisable: Any) -> None:
        if self.signal is not None and isinstance(
            unraisable.exc_value, KeyboardInterrupt | Terminated
        ):
            return  # the stop is remembered: check() raises it where it can travel
        self._hook(unraisable)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done (where the platform can hold them)."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not on POSIX
        yield
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def exit_by_signal(signum: int) -> NoReturn:
    """End the process the way ``signum`` ends it by default, after flushing the output, so
    that a shell, make or xargs sees the interrupt (exit status 128 + signum) and stops too."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    signal.signal(signum, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)  # where the signal does not end the process
