"""``luma-schema``: check requests from files or stdin, and the other project commands.

Exit status: 0 when every request is valid, 1 when some are not, 2 on a usage or I/O error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from luma_schema.engine import Report, check

__all__ = ["main"]

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    pass


def _requests(target: str, jsonl: bool) -> Iterator[tuple[str, bytes]]:
    """``(where, payload)`` for each request a command-line target names, streamed."""
    if target == "-":
        stdin = sys.stdin.buffer
        if jsonl:
            yield from _lines("<stdin>", stdin)
        else:
            yield "<stdin>", stdin.read()
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


def _file(path: Path, jsonl: bool) -> Iterator[tuple[str, bytes]]:
    try:
        with path.open("rb") as handle:
            if jsonl:
                yield from _lines(str(path), handle)
            else:
                yield str(path), handle.read()
    except OSError as exc:
        raise _UsageError(f"{path}: {exc.strerror or exc}") from None


def _lines(name: str, handle: IO[bytes]) -> Iterator[tuple[str, bytes]]:
    for number, line in enumerate(handle, 1):
        if line.strip():
            yield f"{name}:{number}", line


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


def _check_command(args: argparse.Namespace) -> int:
    valid = invalid = 0
    out = sys.stdout
    for target in args.paths:
        for where, payload in _requests(target, args.jsonl):
            report = check(payload, fetch=args.fetch)
            if report.ok:
                valid += 1
            else:
                invalid += 1
            if args.format == "json":
                record: dict[str, Any] = {"source": where, **report.as_dict()}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            else:
                out.write(_text(where, report) + "\n")
    if args.format == "text":
        out.write(f"{valid + invalid} requests: {valid} valid, {invalid} invalid\n")
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
    server.serve(args.host, args.port, fetch=args.fetch, delay=args.delay, seed=args.seed)
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
    serve_cmd.set_defaults(run=_serve_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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
