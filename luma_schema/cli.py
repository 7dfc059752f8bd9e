"""``luma-schema``: check requests from files or stdin, and the other project commands.

Exit status of ``check``: 0 when every request is valid, 1 when some are not (or, with
``--strict``, earned warnings), 2 when a path could not be read or held no request (the other
paths are checked first) or on a usage error, 3 when luma-schema itself failed (an internal
error: a bug, reported with its traceback), 130 on Ctrl-C and 143 on SIGTERM.

Only what starting up needs is imported here: the engine loads once the command runs, after
Ctrl-C is taken care of.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from luma_schema import __version__
from luma_schema._cli import STOP_LINES
from luma_schema._cli.stopping import StopSignals, Terminated, deferred, exit_by_signal

if TYPE_CHECKING:
    from luma_schema._cli.batch import Options, Tally
    from luma_schema._cli.inputs import Event, Problem, Unit

__all__ = ["main"]

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_TERMINATED = 128 + signal.SIGINT, 128 + signal.SIGTERM

_GC_THRESHOLD: Final = 50_000  # allocations between collections of the youngest generation
_BATCH_FILES: Final = 2048  # whole files per unit of work (a run of lines is one unit of its own)
_FETCH_EXTRA: Final = (
    "--fetch needs the 'fetch' extra (httpx): pip install 'luma-schema[fetch]', "
    "or pip install -e '.[fetch]' in a clone"
)


class _UsageError(Exception):
    pass


# ---------------------------------------------------------------- check


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
            import importlib

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

    def note(self, line: str) -> None:
        """Print a line on stderr without breaking the bar."""
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)
            return
        if self.shown:
            sys.stderr.write("\r\x1b[K")
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

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


def _batches(
    events: Iterator[Event], progress: _Progress, noted: Callable[[Problem], None]
) -> Iterator[list[Unit]]:
    """Units in batches: a run of lines alone, whole files up to a count or a size.  No
    reference to a batch is kept here once it is handed on (a long line is held once)."""
    from luma_schema._cli.inputs import CHUNK, Lines, Problem

    batch: list[Unit] = []
    size = 0
    for event in events:
        if isinstance(event, Problem):
            noted(event)
            continue
        batch.append(event)
        progress.read += len(event.data)
        size += len(event.data)
        full = type(event) is Lines or len(batch) == _BATCH_FILES or size >= CHUNK
        del event
        if full:
            ready, batch, size = [batch], [], 0
            yield ready.pop()
    if batch:
        yield batch


def _in_process(options: Options, batches: Iterator[list[Unit]]) -> Iterator[tuple[str, Tally]]:
    from luma_schema._cli.batch import check_batch

    for batch in batches:
        result = check_batch(options, batch)
        del batch
        yield result


def _needs_fetch() -> None:
    try:
        import luma_schema.fetch  # noqa: F401
    except ImportError:
        raise _UsageError(_FETCH_EXTRA) from None


def _check_command(args: argparse.Namespace) -> int:
    stops: StopSignals = args.stops
    if args.fetch:
        with deferred():
            _needs_fetch()
    with deferred():  # an interrupt inside an extension module's start-up can crash it
        import contextlib
        import gc
        import io
        import json

        from luma_schema._cli.batch import Inputs, Options, Tally, summary_json, summary_text
        from luma_schema._cli.inputs import events
        from luma_schema._cli.pool import Pool

    options = Options(
        fetch=args.fetch,
        json=args.format == "json",
        only_failing=args.only_invalid,
        printing=not args.summary_only,
        strict=args.strict,
    )
    out = sys.stdout
    shown = not args.quiet and sys.stderr.isatty()
    tally = Tally()
    counted = {True: 0, False: 0}  # problems: errors, skipped entries

    # A batch of short-lived values that form no cycles: what is loaded is kept out of the
    # collector's sight, and young objects are collected less often (workers inherit both).
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(_GC_THRESHOLD, *threshold[1:])
    try:
        with contextlib.ExitStack() as stack:
            pool = None
            if args.jobs > 1:
                with deferred():  # no stop between starting the workers and owning them
                    pool = stack.enter_context(Pool(args.jobs, options))
            # The bar starts after the workers: its thread is never forked.
            progress = _Progress(_total_bytes(args.paths) if shown else None, shown)
            stack.callback(progress.close)

            def noted(problem: Problem) -> None:
                counted[problem.error] += 1
                progress.note(f"luma-schema: {problem.name}: {problem.message}")

            stdin = sys.stdin.buffer if "-" in args.paths else io.BytesIO()  # read only for "-"
            batches = _batches(events(args.paths, args.jsonl, stdin), progress, noted)
            results = pool.results(batches) if pool else _in_process(options, batches)
            for text, counts in results:
                stops.check()
                if text:
                    out.write(text)
                tally.add(counts)
                progress.update(counts.requests)
            stops.check()
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()
    inputs = Inputs(errors=counted[True], skipped=counted[False])
    if not options.json:
        out.write(summary_text(tally, inputs))
    elif args.summary_only:
        out.write(json.dumps(summary_json(tally, inputs)) + "\n")
    if inputs.errors:
        return EXIT_USAGE
    failing = tally.requests - tally.valid + (tally.warned if args.strict else 0)
    return EXIT_INVALID if failing else EXIT_OK


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if jobs < 0:
        raise argparse.ArgumentTypeError("must be 0 (all cores) or more")
    return jobs or os.cpu_count() or 1


# ---------------------------------------------------------------- schema, docs, serve


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
    under = f" (URLs in answers under {args.base_url})" if args.base_url else ""
    print(f"luma-schema: mock API on http://{args.host}:{args.port}/v1{under}", file=sys.stderr)
    try:
        server.serve(
            args.host,
            args.port,
            fetch=args.fetch,
            delay=args.delay,
            seed=args.seed,
            api_key=args.api_key,
            base_url=args.base_url,
        )
    except ValueError as exc:  # an api_key the Authorization header cannot carry, a bad URL
        raise _UsageError(str(exc)) from None
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="luma-schema",
        description="Check Luma Agents generation requests against every documented rule.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check_cmd = commands.add_parser(
        "check",
        help="check requests: .json files (one each), .jsonl (one per line), directories, -",
        description="Print the status and exact error the server answers for each request, "
        "then a summary.  Exit status: 0 all valid, 1 some invalid (or, with --strict, warned), "
        "2 a path not read or without requests (the others are checked first), 3 an internal "
        "error, 130 on Ctrl-C.",
    )
    check_cmd.add_argument("paths", nargs="+", metavar="PATH", help="file, directory or -")
    check_cmd.add_argument("--jsonl", action="store_true", help="read - (and other files) as JSONL")
    check_cmd.add_argument("--format", choices=("text", "json"), default="text")
    check_cmd.add_argument(
        "--fetch", action="store_true", help="also fetch URL images (extra 'fetch')"
    )
    check_cmd.add_argument(
        "--strict", action="store_true", help="warnings fail the run too (exit 1)"
    )
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
        "--only-invalid",
        action="store_true",
        help="print only the requests that fail (with --strict: and those with warnings)",
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
    serve_cmd.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help="the public URL of the mock (behind a proxy or a port mapping): output image URLs "
        "and the OpenAPI servers entry are given under it (default: the listening address)",
    )
    serve_cmd.set_defaults(run=_serve_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        # Echoed values may hold lone surrogates (JSON allows "\\ud800"): never fail to print.
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    with StopSignals() as stops:
        try:
            args = _parser().parse_args(argv)
            args.stops = stops
            code: int = args.run(args)
            return code
        except _UsageError as exc:
            print(f"luma-schema: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except BrokenPipeError:
            # The reader went away (`| head`): nothing more can be said, and nothing may be
            # written at exit either.
            _silence_stdout()
            return EXIT_OK
        except KeyboardInterrupt:
            print(STOP_LINES[signal.SIGINT], file=sys.stderr)
            return EXIT_INTERRUPTED
        except Terminated:
            print(STOP_LINES[signal.SIGTERM], file=sys.stderr)
            return EXIT_TERMINATED
        except Exception as exc:
            from luma_schema._cli.pool import WorkerFailed

            if isinstance(exc, WorkerFailed) and not exc.bug:
                print(f"luma-schema: {exc}", file=sys.stderr)
                return EXIT_INTERNAL
            import traceback

            detail = str(exc) if isinstance(exc, WorkerFailed) else traceback.format_exc()
            print(
                f"luma-schema: internal error (a bug in luma-schema, not in the input):\n{detail}",
                file=sys.stderr,
                end="" if detail.endswith("\n") else "\n",
            )
            return EXIT_INTERNAL


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (a test's capture)
        pass


def run() -> None:
    """The ``luma-schema`` command: :func:`main`, then a process that ends as a stopped one does
    (Ctrl-C ends it by SIGINT, which a shell shows as exit status 130; SIGTERM by SIGTERM)."""
    code = main()
    if code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
        exit_by_signal(code - 128)
    sys.exit(code)


if __name__ == "__main__":
    run()
