"""Worker processes for ``luma-schema check --jobs N``: batches out, results back in input order,
and a stop that leaves nothing behind.

Each worker has a pipe of its own for batches and one for results; batches go out in turn, at
most two per worker in flight (one when it is large), and results are read in the order the
batches went out, so the output is what one process prints.  The parent runs no thread, and a
worker ignores Ctrl-C (a terminal sends it to the whole process group): only the parent stops,
then kills every worker and waits for it.  Each worker holds only its own pipe ends, so a worker
whose parent died sees its pipe close and ends too.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import threading
import traceback
from collections import deque
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from types import TracebackType
from typing import Any, Final

from luma_schema._cli.batch import Options, Tally, check_batch
from luma_schema._cli.inputs import CHUNK, Lines, Unit, Whole
from luma_schema._cli.stopping import SIGNALS, deferred

_LARGE: Final = 4 * CHUNK  # a batch this large goes to a worker only once it is idle
_GRACE: Final = 5.0  # seconds a worker has to end once its batch pipe is closed


class WorkerFailed(Exception):
    """A worker ended without giving its answer (killed, out of memory), or met an internal
    error (``bug``: the message holds its traceback)."""

    def __init__(self, message: str, bug: bool = False) -> None:
        super().__init__(message)
        self.bug = bug


class _Worker:
    __slots__ = ("batches", "pending", "process", "results")

    def __init__(self, process: Any, batches: Connection, results: Connection) -> None:
        self.process = process
        self.batches = batches  # the parent's end: it sends
        self.results = results  # the parent's end: it receives
        self.pending = 0  # batches sent whose results are not read yet


class Pool:
    """``jobs`` worker processes that check batches with ``options``; use it as a context
    manager: leaving the block normally lets them end, any exception kills them."""

    def __init__(self, jobs: int, options: Options) -> None:
        forking = "fork" in multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if forking else "spawn")
        self._workers: list[_Worker] = []
        try:
            with deferred():  # a worker is never born with the parent's Ctrl-C handler
                for _ in range(jobs):
                    self._workers.append(self._start(context, options, forking))
        except BaseException:  # Ctrl-C held during the starts is raised as the block ends
            with deferred():
                self._kill()
            raise

    def _start(self, context: BaseContext, options: Options, forking: bool) -> _Worker:
        batches_out, batches_in = context.Pipe(duplex=False)  # (receiving end, sending end)
        results_in, results_out = context.Pipe(duplex=False)
        # A forked child inherits every open end: it closes all but its own two.
        foreign = [end for w in self._workers for end in (w.batches, w.results)] if forking else []
        process = context.Process(  # type: ignore[attr-defined]
            target=_serve,
            args=(batches_out, results_out, options, [batches_in, results_in, *foreign]),
            name="luma-schema check worker",
            daemon=True,
        )
        process.start()
        batches_out.close()
        results_out.close()
        return _Worker(process, batches_in, results_in)

    def results(self, batches: Iterable[list[Unit]]) -> Iterator[tuple[str, Tally]]:
        """Each batch's printed text and counts, in input order."""
        order: deque[_Worker] = deque()
        workers = self._workers
        turn = 0
        for batch in batches:
            worker = workers[turn]
            turn = (turn + 1) % len(workers)
            if worker.pending and sum(len(unit.data) for unit in batch) > _LARGE:
                while worker.pending:  # results are read in order: up to this worker's last
                    yield self._receive(order.popleft())
            self._send(worker, batch)
            del batch  # a long line is held by the worker alone from here on
            order.append(worker)
            if len(order) >= 2 * len(workers):
                yield self._receive(order.popleft())
        while order:
            yield self._receive(order.popleft())

    def _send(self, worker: _Worker, batch: list[Unit]) -> None:
        try:
            worker.batches.send([(u.name, u.first if type(u) is Lines else 0) for u in batch])
            for unit in batch:
                worker.batches.send_bytes(unit.data)
        except OSError:
            raise WorkerFailed(self._ended(worker)) from None
        worker.pending += 1

    def _receive(self, worker: _Worker) -> tuple[str, Tally]:
        try:
            kind, value = worker.results.recv()
        except (EOFError, OSError):
            raise WorkerFailed(self._ended(worker)) from None
        worker.pending -= 1
        if kind == "failed":
            raise WorkerFailed(f"internal error in a worker process:\n{value}", bug=True)
        return value  # type: ignore[no-any-return]

    @staticmethod
    def _ended(worker: _Worker) -> str:
        worker.process.join(_GRACE)
        code = worker.process.exitcode
        how = (
            "is still running"
            if code is None
            else f"was killed by signal {-code}"
            if code < 0
            else f"exited with status {code}"
        )
        return f"a worker process ended before giving its results (it {how})"

    def __enter__(self) -> Pool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        with deferred():
            if kind is None:
                self._close()
            else:
                self._kill()

    def _close(self) -> None:
        """Let every worker end (its batch pipe closes), and wait for it."""
        for worker in self._workers:
            worker.batches.close()
        for worker in self._workers:
            worker.process.join(_GRACE)
        self._kill()  # any worker still there (it never is, short of a bug)

    def _kill(self) -> None:
        for worker in self._workers:
            if worker.process.exitcode is None:
                worker.process.kill()
        for worker in self._workers:
            worker.process.join()
            worker.batches.close()
            worker.results.close()


def _serve(
    batches: Connection, results: Connection, options: Options, foreign: list[Connection]
) -> None:
    """A worker's life: check each batch that comes, send back its result, end when the batch
    pipe closes (or the parent is gone)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent alone answers Ctrl-C
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
    for end in foreign:
        end.close()
    # A thread takes batches off the pipe while the worker checks: the parent never blocks
    # sending a batch while this worker blocks sending a result the parent is not reading yet.
    inbox: queue.SimpleQueue[list[Unit] | None] = queue.SimpleQueue()
    threading.Thread(target=_take, args=(batches, inbox), daemon=True).start()
    while (batch := inbox.get()) is not None:
        try:
            answer: tuple[str, Any] = ("done", check_batch(options, batch))
        except Exception:
            answer = ("failed", traceback.format_exc())
        del batch
        try:
            results.send(answer)
        except OSError:  # the parent is gone
            return


def _take(batches: Connection, inbox: queue.SimpleQueue[list[Unit] | None]) -> None:
    try:
        while True:
            header: list[tuple[str, int]] = batches.recv()
            inbox.put(
                [
                    Lines(name, first, batches.recv_bytes())
                    if first
                    else Whole(name, batches.recv_bytes())
                    for name, first in header
                ]
            )
    except (EOFError, OSError):
        inbox.put(None)
