"""What ``luma-schema check`` reads: the requests its paths name, streamed in input order.

A ``.json`` file (or stdin without ``--jsonl``) is one request, a ``.jsonl`` file one request per
line, a directory is searched for both.  Nothing is lost on the way: a path that cannot be read,
or that holds no request, is a :class:`Problem` (an error: the run goes on and exits 2 at the
end), and every entry of a searched directory that looks like a request file but is not read
is named (a skipped :class:`Problem`).  Memory stays bounded: a JSONL file is read in runs of
whole lines of about :data:`CHUNK` bytes, and a longer line is held once, as its own run.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Generator, Iterable, Iterator
from enum import Enum
from pathlib import Path
from typing import IO, Final, NamedTuple

CHUNK: Final = 1 << 20  # JSONL is read, shipped and checked in runs of whole lines of this size
SUFFIXES: Final = (".json", ".jsonl")
STDIN: Final = "<stdin>"
# A line counts as a request when it holds any byte that is not JSON whitespace (RFC 8259 `ws`):
# a line of `\x0b` or `\x0c` is a request, and the API refuses it.
JSON_WHITESPACE: Final = b" \t\r\n"
_CONTENT: Final = re.compile(rb"[^ \t\r\n]")


class Lines(NamedTuple):
    """A run of whole JSONL lines of ``name``, the first of them line ``first``.  A line longer
    than a run is a run of its own, without its newline (so it is never copied to be split)."""

    name: str
    first: int
    data: bytes


class Whole(NamedTuple):
    """One request: a whole ``.json`` file (or stdin without ``--jsonl``)."""

    name: str
    data: bytes


class Problem(NamedTuple):
    """A path that gives no request.  An ``error`` fails the run (exit 2) once the other paths
    are checked; a skipped entry of a searched directory (``error`` false) is only named."""

    name: str
    message: str
    error: bool


Unit = Lines | Whole
Event = Lines | Whole | Problem


class _Found(Enum):
    REQUESTS = "requests"
    NOTHING = "nothing"
    FAILED = "failed"


def holds_request(data: bytes) -> bool:
    """Whether ``data`` holds a byte that is not JSON whitespace (found without a copy)."""
    return _CONTENT.search(data) is not None


def events(targets: Iterable[str], jsonl: bool, stdin: IO[bytes]) -> Iterator[Event]:
    """The units and problems of every target, in order (``-`` is ``stdin``)."""
    for target in targets:
        yield from _target(target, jsonl, stdin)


def _target(target: str, jsonl: bool, stdin: IO[bytes]) -> Iterator[Event]:
    if target == "-":
        if not jsonl:
            yield Whole(STDIN, stdin.read())
            return
        found = yield from _runs(STDIN, stdin)
        if found is _Found.NOTHING:
            yield Problem(STDIN, "no requests (the input holds no line that is not blank)", True)
        return
    try:
        is_dir = stat.S_ISDIR(os.stat(target).st_mode)
    except OSError as exc:
        yield Problem(target, _reason(exc), True)
        return
    if is_dir:
        yield from _directory(target)
        return
    found = yield from _file(target, jsonl or target.endswith(".jsonl"))
    if found is _Found.NOTHING:
        yield Problem(target, "no requests (the file holds no line that is not blank)", True)


def _directory(root: str) -> Iterator[Event]:
    """The request files under ``root``, in path order, each entry that looks like one but is
    not read named as skipped; directories are not followed through symbolic links."""
    entries: list[tuple[Path, str | None]] = []  # (path, why it is skipped or None)
    unreadable: list[Problem] = []

    def failed(exc: OSError) -> None:
        unreadable.append(Problem(str(Path(exc.filename or root)), _reason(exc), True))

    for top, dirs, files in os.walk(root, onerror=failed):
        for name in dirs:
            path = Path(top, name)
            if path.is_symlink():
                entries.append((path, "skipped: a symbolic link to a directory (not followed)"))
            elif name.endswith(SUFFIXES):
                entries.append((path, "not read as a request: a directory (searched)"))
        entries.extend(
            (Path(top, name), _not_regular(Path(top, name)))
            for name in files
            if name.endswith(SUFFIXES)
        )
    yield from unreadable
    results = set()
    for path, skipped in sorted(entries):
        if skipped is not None:
            yield Problem(str(path), skipped, False)
            continue
        name = str(path)
        results.add((yield from _file(name, name.endswith(".jsonl"))))
    if unreadable or results & {_Found.REQUESTS, _Found.FAILED}:
        return  # requests were found, or what was not read is named already
    if not results:
        yield Problem(root, "no requests (no .json or .jsonl file in it)", True)
    else:
        yield Problem(root, "no requests (its .json and .jsonl files hold none)", True)


def _not_regular(path: Path) -> str | None:
    """Why a directory entry named like a request file is skipped, or None to read it."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if path.is_symlink():
            return f"skipped: a broken symbolic link ({_reason(exc)})"
        return f"skipped: {_reason(exc)}"
    if stat.S_ISREG(mode):
        return None
    kind = (
        "a FIFO"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "not a regular file"
    )
    return f"skipped: {kind}"


def _file(name: str, jsonl: bool) -> Generator[Event, None, _Found]:
    try:
        handle = open(name, "rb")  # noqa: SIM115 - closed below, also when the reader stops early
    except OSError as exc:
        yield Problem(name, _reason(exc), True)
        return _Found.FAILED
    with handle:
        if jsonl:
            return (yield from _runs(name, handle))
        try:
            data = handle.read()
        except OSError as exc:
            yield Problem(name, _reason(exc), True)
            return _Found.FAILED
        yield Whole(name, data)
        return _Found.REQUESTS


def _runs(name: str, handle: IO[bytes]) -> Generator[Event, None, _Found]:
    """The lines of ``handle`` in runs of whole lines; returns whether any held a request.  A
    read error ends the file with a problem that says how far it was read."""
    lines = _Lines(name, handle)
    found = False
    try:
        for run in lines:
            found = found or holds_request(run.data)
            yield run
    except OSError as exc:
        where = f" (after line {lines.done})" if lines.done else ""
        yield Problem(name, f"{_reason(exc)}{where}", True)
        return _Found.FAILED
    return _Found.REQUESTS if found else _Found.NOTHING


class _Lines:
    """Iterates a binary stream as runs of whole lines (see :class:`Lines`).  A line longer than
    a run is read again from the file in one piece once its end is found, so it is held once;
    from a pipe it is gathered as it comes (held twice for a moment: gathered, then copied)."""

    def __init__(self, name: str, handle: IO[bytes]) -> None:
        self.name = name
        self.handle = handle
        self.done = 0  # lines read so far
        try:
            self.seekable = stat.S_ISREG(os.fstat(handle.fileno()).st_mode)
        except (OSError, ValueError):  # no file descriptor (an in-memory stream)
            self.seekable = False

    def __iter__(self) -> Iterator[Lines]:
        read = self.handle.read
        pending = b""  # read but not yet in a run: at most the start of one line
        while block := read(CHUNK):
            data = pending + block if pending else block
            last = data.rfind(b"\n")
            if last >= 0:
                pending = data[last + 1 :]
                yield self._run(data if last + 1 == len(data) else data[: last + 1])
                continue
            # A line longer than a block: hand it over without keeping a reference here.
            if self.seekable:
                begin = self.handle.tell() - len(data)
                del data
                pending = yield from self._long_file(begin)
            else:
                box = [bytearray(data)]  # handed over in a box: no name here keeps it alive
                del data
                pending = yield from self._long_pipe(box)
        if pending:
            yield self._run(pending)

    def _run(self, data: bytes) -> Lines:
        run = Lines(self.name, self.done + 1, data)
        self.done += data.count(b"\n") + (not data.endswith(b"\n"))
        return run

    def _long_file(self, begin: int) -> Generator[Lines, None, bytes]:
        """The line that starts at offset ``begin``: its end is found, then it is read in one
        piece and the file is left just after it."""
        handle = self.handle
        size = handle.tell() - begin
        ended = False
        while block := handle.read(CHUNK):
            end = block.find(b"\n")
            if end >= 0:
                size += end
                ended = True
                break
            size += len(block)
        handle.seek(begin)
        line = handle.read(size)  # shorter only if the file shrank meanwhile: what is there
        handle.seek(begin + len(line) + ended)
        yield self._run(line)
        return b""

    def _long_pipe(self, box: list[bytearray]) -> Generator[Lines, None, bytes]:
        """The rest of a line whose start is in ``box``, read from a stream; returns what was
        read past its end."""
        gathered = box.pop()
        read = self.handle.read
        while block := read(CHUNK):
            end = block.find(b"\n")
            if end < 0:
                gathered += block
                continue
            gathered += memoryview(block)[:end]
            line = bytes(gathered)
            del gathered
            yield self._run(line)
            return block[end + 1 :]
        yield self._run(bytes(gathered))
        return b""


def _reason(exc: OSError) -> str:
    """An OSError as the words of a message ("no such file or directory"), never a traceback."""
    text = exc.strerror or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]
