"""The ``luma-schema`` command's entry point: Ctrl-C and SIGTERM are answered from the first
moment this module runs, before the command line and the engine are imported.

Until :mod:`luma_schema.cli` installs its own handlers, a stop prints one line and ends the
process by the signal, as the command does later; only the interpreter's own start-up, before any
of the package runs, is left to Python's default (a ``KeyboardInterrupt`` traceback).
"""

import os
import signal
import sys
from types import FrameType

from luma_schema._cli import STOP_LINES


def _stopped(signum: int, frame: FrameType | None) -> None:
    try:
        sys.stderr.write(STOP_LINES[signum] + "\n")
        sys.stderr.flush()
    finally:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        os._exit(128 + signum)  # where the signal does not end the process


for _signum in (signal.SIGINT, signal.SIGTERM):
    signal.signal(_signum, _stopped)


def run() -> None:
    """``luma-schema``: :func:`luma_schema.cli.run`, started with the signals already answered."""
    from luma_schema.cli import run as command

    command()
