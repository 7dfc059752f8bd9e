"""Checking a batch of inputs, as one process or a worker does it: the printed lines of each
request and the counts the summary is made of.

Text output gives each request one line with the status, the server's exact message, the rule
and the path of the first error; then, each on a line of its own that starts with the same
location, every further error, every warning and every hint.  ``--format json`` gives each
request one JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from luma_schema._cli.hints import Hint, hints
from luma_schema._cli.inputs import JSON_WHITESPACE, STDIN, Unit, Whole
from luma_schema.engine import ANSWER_OK, Report, Violation, check, first_answer


class Options(NamedTuple):
    """What checking and printing a batch needs (picklable: every worker gets a copy)."""

    fetch: bool = False
    json: bool = False
    only_failing: bool = False
    printing: bool = True
    strict: bool = False


Answer = tuple[int, str]  # (status, rule of the reported error), or ANSWER_OK


@dataclass(slots=True)
class Tally:
    """How many requests got which answer, how many earned warnings, and how many earned each
    warning code (a request counts once per code)."""

    answers: dict[Answer, int] = field(default_factory=dict)
    warned: int = 0
    codes: dict[str, int] = field(default_factory=dict)

    def add(self, other: Tally) -> None:
        for key, n in other.answers.items():
            self.answers[key] = self.answers.get(key, 0) + n
        self.warned += other.warned
        for code, n in other.codes.items():
            self.codes[code] = self.codes.get(code, 0) + n

    @property
    def requests(self) -> int:
        return sum(self.answers.values())

    @property
    def valid(self) -> int:
        return self.answers.get(ANSWER_OK, 0)


_OK: Final = ANSWER_OK


def check_batch(options: Options, batch: list[Unit]) -> tuple[str, Tally]:
    """Check a batch in input order: its printed text, and its counts.  Blank JSONL lines
    (nothing but JSON whitespace) are not requests; every other line is."""
    lines: list[str] = []
    tally = Tally()
    answers = tally.answers
    codes = tally.codes
    get = answers.get
    fetch = options.fetch
    printing = options.printing
    for unit in batch:
        whole = type(unit) is Whole
        requests = ((0, unit.data),) if whole else enumerate(unit.data.split(b"\n"), unit.first)  # type: ignore[union-attr]
        for number, payload in requests:
            # isspace() is quick and false for any line that starts a JSON value; only a line of
            # spaces is looked at again, since \x0b and \x0c are spaces but not JSON whitespace.
            if number and (
                not payload or (payload.isspace() and not payload.strip(JSON_WHITESPACE))
            ):
                continue
            report = check(payload, fetch)
            key = first_answer(report)
            answers[key] = get(key, 0) + 1
            warnings = report.warnings
            if warnings:
                tally.warned += 1
                for code in {w.code for w in warnings}:
                    codes[code] = codes.get(code, 0) + 1
            if not printing or (
                options.only_failing and key is _OK and not (options.strict and warnings)
            ):
                continue
            found = (
                hints(report, payload, number or 1, whole, unit.name == STDIN)
                if key is not _OK
                else ()
            )
            if options.json:
                record = {"file": unit.name, "line": number or None, **report.as_dict()}
                record["hints"] = [h.as_dict() for h in found]
                lines.append(json.dumps(record, ensure_ascii=False))
            else:
                where = f"{unit.name}:{number}" if number else unit.name
                lines.append(_text(where, report, found))
    return "".join(line + "\n" for line in lines), tally


def _text(where: str, report: Report, found: Sequence[Hint]) -> str:
    if report.ok:
        lines = [f"{where}: ok (201)"]
    else:
        first, *more = report.errors
        lines = [f"{where}: {report.status} {report.detail}  [{_tag(first)}]"]
        lines += [f"{where}: also {e.status} {e.detail}  [{_tag(e)}]" for e in more]
    lines += [f"{where}: warning: {w.message}  [{w.code}]" for w in report.warnings]
    lines += [f"{where}: hint: {h.message}" for h in found]
    return "\n".join(lines)


def _tag(error: Violation) -> str:
    return f"{error.rule} at {error.path}" if error.path else error.rule


# ---------------------------------------------------------------- the summary


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _ranked(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _by_rule(tally: Tally) -> dict[str, int]:
    by_rule: dict[str, int] = {}
    for answer, n in tally.answers.items():
        if answer != _OK:
            by_rule[answer[1]] = by_rule.get(answer[1], 0) + n
    return by_rule


def _by_status(tally: Tally) -> dict[int, int]:
    by_status: dict[int, int] = {}
    for (status, _), n in tally.answers.items():
        by_status[status] = by_status.get(status, 0) + n
    return dict(sorted(by_status.items()))


class Inputs(NamedTuple):
    """Paths that gave no request: ``errors`` fail the run, ``skipped`` entries are named."""

    errors: int = 0
    skipped: int = 0


def summary_text(tally: Tally, inputs: Inputs) -> str:
    requests = tally.requests
    lines = [
        f"{plural(requests, 'request')}: {tally.valid} valid, {requests - tally.valid} invalid, "
        f"{tally.warned} with warnings"
    ]
    if requests:
        lines.append("  by status: " + ", ".join(f"{s} {n}" for s, n in _by_status(tally).items()))
    by_rule = _by_rule(tally)
    if by_rule:
        lines.append("  by rule: " + ", ".join(f"{r} {n}" for r, n in _ranked(by_rule)))
    if tally.codes:
        lines.append("  by warning: " + ", ".join(f"{c} {n}" for c, n in _ranked(tally.codes)))
    if inputs.errors or inputs.skipped:
        parts = []
        if inputs.errors:
            parts.append(f"{plural(inputs.errors, 'path')} not checked")
        if inputs.skipped:
            parts.append(f"{plural(inputs.skipped, 'entry', 'entries')} skipped")
        lines.append("  inputs: " + ", ".join(parts) + " (named on stderr)")
    return "".join(line + "\n" for line in lines)


def summary_json(tally: Tally, inputs: Inputs) -> dict[str, Any]:
    requests = tally.requests
    return {
        "requests": requests,
        "valid": tally.valid,
        "invalid": requests - tally.valid,
        "with_warnings": tally.warned,
        "by_status": {str(s): n for s, n in _by_status(tally).items()},
        "by_rule": dict(_ranked(_by_rule(tally))),
        "by_warning": dict(_ranked(tally.codes)),
        "input_errors": inputs.errors,
        "skipped": inputs.skipped,
    }
