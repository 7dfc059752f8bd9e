"""``luma-schema``: check requests from files or stdin, and the other project commands.

Exit status: 0 when every request is valid, 1 when some are not, 2 on a usage or I/O error.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Final, NamedTuple

from luma_schema.engine import ANSWER_OK, Report, check, first_answer

__all__ = ["main"]

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    pass


class _Lines(NamedTuple):
    """A run of whole JSONL lines read from ``name``, the first of them line ``first``."""

    name: str
    first: int
    data: bytes


class _One(NamedTuple):
    """One request: a whole ``.json`` file (or stdin without ``--jsonl``)."""

    name: str
    data: bytes


_Unit = _Lines | _One
_CHUNK = 1 << 20  # JSONL is read, shipped and checked in runs of whole lines of about this size


def _units(target: str, jsonl: bool) -> Iterator[_Unit]:
    """The requests a command-line target names, streamed: whole files and runs of lines."""
    if target == "-":
        stdin = sys.stdin.buffer
        if jsonl:
            yield from _runs("<stdin>", stdin)
        else:
            yield _One("<stdin>", stdin.read())
        return
    path = Path(target)
    if path.is_dir():
        found = sorted(
            p for p in path.rglob("*") if p.suffix in (".json", ".jsonl") and p.is_file()
        )
        for p in found:
            yield from _file(p, p.suffix == ".jsonl")
        return
    if not path.exists():
        raise _UsageError(f"{target}: no such file or directory")
    yield from _file(path, jsonl or path.suffix == ".jsonl")


def _file(path: Path, jsonl: bool) -> Iterator[_Unit]:
    try:
        with path.open("rb") as handle:
            if jsonl:
                yield from _runs(str(path), handle)
            else:
                yield _One(str(path), handle.read())
    except OSError as exc:
        raise _UsageError(f"{path}: {exc.strerror or exc}") from None


def _runs(name: str, handle: IO[bytes]) -> Iterator[_Lines]:
    """The input in runs of whole lines; a line longer than a run is kept whole."""
    first = 1
    pending: list[bytes] = []  # the start of a line that has not ended yet
    while block := handle.read(_CHUNK):
        cut = block.rfind(b"\n") + 1
        if not cut:
            pending.append(block)
            continue
        data = b"".join([*pending, block[:cut]]) if pending else block[:cut]
        pending = [block[cut:]] if cut < len(block) else []
        yield _Lines(name, first, data)
        first += data.count(b"\n")
    if pending:
        yield _Lines(name, first, b"".join(pending))


def _text(where: str, report: Report) -> str:
    if report.ok:
        lines = [f"{where}: ok (201)"]
    else:
        first = report.errors[0]
        at = f" at {first.path}" if first.path else ""
        lines = [f"{where}: {report.status} {report.detail}  [{first.rule}{at}]"]
        lines += [f"    also {e.status} {e.detail}  [{e.rule}]" for e in report.errors[1:]]
    lines += [f"    warning: {w.message}" for w in report.warnings]
    return "\n".join(lines)


class _Options:
    """What a worker needs to check and print a batch (picklable: it goes to every process)."""

    __slots__ = ("fetch", "format", "only_invalid", "print_requests")

    def __init__(self, args: argparse.Namespace) -> None:
        self.fetch: bool = args.fetch
        self.format: str = args.format
        self.only_invalid: bool = args.only_invalid
        self.print_requests: bool = not args.summary_only


_Tally = dict[tuple[int, str], int]  # (status, rule of the reported error or "ok") -> requests


_OK: Final = ANSWER_OK
_GC_THRESHOLD: Final = 50_000  # allocations between collections of the youngest generation


def _check_batch(options: _Options, batch: list[_Unit]) -> tuple[str, _Tally]:
    """Check a batch in input order: its printed lines, and how many requests got which answer."""
    lines: list[str] = []
    tally: _Tally = {}
    fetch = options.fetch
    printing = options.print_requests
    get = tally.get
    for unit in batch:
        # (line number or 0 for a whole file, request text); blank lines are not requests
        requests: Iterable[tuple[int, bytes]] = (
            ((0, unit.data),)
            if isinstance(unit, _One)
            else enumerate(unit.data.split(b"\n"), unit.first)
        )
        for number, payload in requests:
            if number and (not payload or payload.isspace()):
                continue
            report = check(payload, fetch)
            key = first_answer(report)
            tally[key] = get(key, 0) + 1
            if not printing or (options.only_invalid and key is _OK):
                continue
            where = f"{unit.name}:{number}" if number else unit.name
            if options.format == "json":
                record: dict[str, Any] = {"source": where, **report.as_dict()}
                lines.append(json.dumps(record, ensure_ascii=False))
            else:
                lines.append(_text(where, report))
    return "".join(line + "\n" for line in lines), tally


_WORKER_OPTIONS: _Options | None = None


def _init_worker(options: _Options) -> None:
    global _WORKER_OPTIONS
    _WORKER_OPTIONS = options


def _worker(batch: list[_Unit]) -> tuple[str, _Tally]:
    assert _WORKER_OPTIONS is not None
    return _check_batch(_WORKER_OPTIONS, batch)


_BATCH_FILES = 2048  # whole files per unit of work (a run of lines is one unit of its own)


def _batches(targets: Sequence[str], jsonl: bool, progress: _Progress) -> Iterator[list[_Unit]]:
    batch: list[_Unit] = []
    size = 0
    for target in targets:
        for unit in _units(target, jsonl):
            batch.append(unit)
            progress.read += len(unit.data)
            size += len(unit.data)
            if type(unit) is _Lines or len(batch) == _BATCH_FILES or size >= _CHUNK:
                yield batch
                batch, size = [], 0
    if batch:
        yield batch


def _results(
    options: _Options, batches: Iterator[list[_Unit]], jobs: int
) -> Iterator[tuple[str, _Tally]]:
    """Each batch's result, in input order.  With several jobs, at most two batches per process
    are in flight, so memory stays bounded however long the input is."""
    if jobs == 1:
        for batch in batches:
            yield _check_batch(options, batch)
        return
    import collections
    import multiprocessing

    with multiprocessing.Pool(jobs, initializer=_init_worker, initargs=(options,)) as pool:
        pending: collections.deque[Any] = collections.deque()
        for batch in batches:
            pending.append(pool.apply_async(_worker, (batch,)))
            if len(pending) >= 2 * jobs:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


class _Progress:
    """Requests checked and input read, drawn on stderr at most a few times a second: with tqdm
    when it is installed (extra ``cli``), else as one plain line.  Silent unless shown."""

    def __init__(self, total_bytes: int | None, shown: bool) -> None:
        self.read = 0
        self.done = 0
        self.shown = shown
        self._total = total_bytes
        self._bar: Any = None
        self._last = 0.0
        self._start = time.monotonic()
        if shown:
            try:
                tqdm: Any = importlib.import_module("tqdm").tqdm
            except ImportError:
                return
            self._bar = tqdm(total=total_bytes, unit="B", unit_scale=True, file=sys.stderr)

    def update(self, requests: int) -> None:
        self.done += requests
        if not self.shown:
            return
        now = time.monotonic()
        if self._bar is not None:
            self._bar.set_postfix_str(f"{self.done:,} requests", refresh=False)
            self._bar.update(self.read - self._bar.n)
        elif now - self._last >= 0.2:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self.done / max(now - self._start, 1e-9)
        part = f" {100 * self.read / self._total:5.1f}%" if self._total else ""
        sys.stderr.write(f"\r{self.done:,} requests checked{part}  {rate:,.0f}/s ")
        sys.stderr.flush()

    def close(self) -> None:
        if not self.shown:
            return
        if self._bar is not None:
            self._bar.close()
        else:
            self._draw(time.monotonic())
            sys.stderr.write("\n")


def _total_bytes(targets: Sequence[str]) -> int | None:
    total = 0
    for target in targets:
        path = Path(target)
        if target == "-" or not path.is_file():
            return None
        total += path.stat().st_size
    return total


def _summary(tally: _Tally) -> list[str]:
    requests = sum(tally.values())
    valid = sum(n for (status, _), n in tally.items() if status == 201)
    lines = [f"{requests} requests: {valid} valid, {requests - valid} invalid"]
    by_status: dict[int, int] = {}
    by_rule: dict[str, int] = {}
    for (status, rule), n in tally.items():
        by_status[status] = by_status.get(status, 0) + n
        if rule != "ok":
            by_rule[rule] = by_rule.get(rule, 0) + n
    if requests:
        lines.append("  by status: " + ", ".join(f"{s} {n}" for s, n in sorted(by_status.items())))
    if by_rule:
        ranked = sorted(by_rule.items(), key=lambda item: (-item[1], item[0]))
        lines.append("  by rule: " + ", ".join(f"{rule} {n}" for rule, n in ranked))
    return lines


def _summary_json(tally: _Tally) -> dict[str, Any]:
    requests = sum(tally.values())
    valid = sum(n for (status, _), n in tally.items() if status == 201)
    by_status: dict[str, int] = {}
    by_rule: dict[str, int] = {}
    for (status, rule), n in sorted(tally.items()):
        by_status[str(status)] = by_status.get(str(status), 0) + n
        if rule != "ok":
            by_rule[rule] = by_rule.get(rule, 0) + n
    return {
        "requests": requests,
        "valid": valid,
        "invalid": requests - valid,
        "by_status": by_status,
        "by_rule": dict(sorted(by_rule.items(), key=lambda item: (-item[1], item[0]))),
    }


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if jobs < 0:
        raise argparse.ArgumentTypeError("must be 0 (all cores) or more")
    return jobs or os.cpu_count() or 1


def _check_command(args: argparse.Namespace) -> int:
    # A batch of short-lived values that form no cycles: what is loaded is kept out of the
    # collector's sight, and young objects are collected less often (workers inherit both).
    gc.freeze()
    gc.set_threshold(_GC_THRESHOLD, *gc.get_threshold()[1:])
    options = _Options(args)
    out = sys.stdout
    shown = not args.quiet and sys.stderr.isatty()
    progress = _Progress(_total_bytes(args.paths) if shown else None, shown)
    tally: _Tally = {}
    try:
        for text, counts in _results(
            options, _batches(args.paths, args.jsonl, progress), args.jobs
        ):
            if text:
                out.write(text)
            for key, n in counts.items():
                tally[key] = tally.get(key, 0) + n
            progress.update(sum(counts.values()))
    finally:
        progress.close()
    if args.format == "text":
        out.write("".join(line + "\n" for line in _summary(tally)))
    elif args.summary_only:
        out.write(json.dumps(_summary_json(tally)) + "\n")
    invalid = sum(n for (status, _), n in tally.items() if status != 201)
    return EXIT_INVALID if invalid else EXIT_OK


def _generated(args: argparse.Namespace, expected: dict[Path, str]) -> int:
    """Write the generated files, or with ``--check`` compare them: exit 1 and a unified diff
    on stdout when they differ from the catalogue."""
    try:
        if args.check:
            from luma_schema.export.files import drift

            diff = drift(expected)
            if diff:
                sys.stdout.write(diff)
                names = ", ".join(str(p) for p in expected)
                print(
                    f"luma-schema: {names} differ from the catalogue; "
                    f"run `luma-schema {args.command}` to regenerate",
                    file=sys.stderr,
                )
                return EXIT_INVALID
            return EXIT_OK
        from luma_schema.export.files import write

        write(expected)
    except OSError as exc:
        raise _UsageError(f"{exc.filename or ''}: {exc.strerror or exc}") from None
    return EXIT_OK


def _schema_command(args: argparse.Namespace) -> int:
    from luma_schema.export.files import schema_texts

    out = Path(args.out)
    return _generated(args, {out / name: text for name, text in schema_texts().items()})


def _docs_command(args: argparse.Namespace) -> int:
    from luma_schema.export.files import docs_text

    return _generated(args, {Path(args.out): docs_text()})


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"invalid delay: {text!r} (seconds, >= 0)")
    return value


def _serve_command(args: argparse.Namespace) -> int:
    try:
        from luma_schema import server
    except ImportError as exc:
        raise _UsageError(str(exc)) from None
    print(f"luma-schema: mock API on http://{args.host}:{args.port}/v1", file=sys.stderr)
    try:
        server.serve(
            args.host,
            args.port,
            fetch=args.fetch,
            delay=args.delay,
            seed=args.seed,
            api_key=args.api_key,
        )
    except ValueError as exc:  # an api_key the Authorization header cannot carry
        raise _UsageError(str(exc)) from None
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="luma-schema",
        description="Check Luma Agents generation requests against every documented rule.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check_cmd = commands.add_parser(
        "check",
        help="check requests: .json files (one each), .jsonl (one per line), directories, -",
        description="Print the status and exact error the server answers for each request.",
    )
    check_cmd.add_argument("paths", nargs="+", metavar="PATH", help="file, directory or -")
    check_cmd.add_argument("--jsonl", action="store_true", help="read - (and other files) as JSONL")
    check_cmd.add_argument("--format", choices=("text", "json"), default="text")
    check_cmd.add_argument("--fetch", action="store_true", help="also fetch URL images")
    check_cmd.add_argument(
        "--jobs",
        "-j",
        type=_jobs,
        default=1,
        metavar="N",
        help="check in N processes, output in input order (0: one per core; default 1)",
    )
    output = check_cmd.add_mutually_exclusive_group()
    output.add_argument(
        "--only-invalid", action="store_true", help="print only the requests that fail"
    )
    output.add_argument(
        "--summary-only",
        action="store_true",
        help="print only the summary (with --format json: one JSON object)",
    )
    check_cmd.add_argument(
        "--quiet", "-q", action="store_true", help="no progress bar (none is drawn off a terminal)"
    )
    check_cmd.set_defaults(run=_check_command)
    schema_cmd = commands.add_parser(
        "schema",
        help="write the JSON Schemas (request, image, Generation) generated from the rules",
        description="Write generation-request, image and generation .schema.json files; with "
        "--check, exit 1 and print a diff when the files on disk differ.",
    )
    schema_cmd.add_argument("--out", default="schemas", metavar="DIR", help="default: schemas")
    schema_cmd.add_argument("--check", action="store_true", help="compare instead of writing")
    schema_cmd.set_defaults(run=_schema_command)
    docs_cmd = commands.add_parser(
        "docs",
        help="write the Markdown rule and error tables generated from the rules",
        description="Write the fields, validation rules and common errors tables; with "
        "--check, exit 1 and print a diff when the file on disk differs.",
    )
    docs_cmd.add_argument(
        "--out", default="docs/validation.md", metavar="FILE", help="default: docs/validation.md"
    )
    docs_cmd.add_argument("--check", action="store_true", help="compare instead of writing")
    docs_cmd.set_defaults(run=_docs_command)
    serve_cmd = commands.add_parser(
        "serve",
        help="run a mock Luma Agents API (extra 'server')",
        description=(
            "Serve POST /v1/generations with the exact statuses and messages, and generations "
            "that complete with a real image. Failure injection: header 'X-Mock-Fail: CODE' or "
            "'[mock-fail:CODE]' in the prompt (CODE a failure_code)."
        ),
    )
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--fetch", action="store_true", help="also fetch URL images")
    serve_cmd.add_argument(
        "--delay",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="time from queued to completed (default 3, or 0 with --seed)",
    )
    serve_cmd.add_argument(
        "--seed", type=int, default=None, help="deterministic mode: seeded ids, instant completion"
    )
    serve_cmd.add_argument(
        "--api-key",
        default=None,
        metavar="KEY",
        help="accept only 'Authorization: Bearer KEY' (default: the LUMA_SCHEMA_API_KEY "
        "environment variable; unset, any non-empty bearer token)",
    )
    serve_cmd.set_defaults(run=_serve_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        # Echoed values may hold lone surrogates (JSON allows "\\ud800"): never fail to print.
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
        return code
    except _UsageError as exc:
        print(f"luma-schema: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
