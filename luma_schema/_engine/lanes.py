"""The compiled paths' tests of media references: for each reference position, a lane for each
set of members a reference may give, its rules folded with the members it lacks and what the
shape knows of the request."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, Final

from luma_schema import expr
from luma_schema._engine.checks import Checks, Locals
from luma_schema._engine.codegen import Namespace
from luma_schema._input.python import opaque_ok
from luma_schema.expr import MISSING, All, Const, Expr, Member, Position, Value, fold, render
from luma_schema.rules import Advice, Catalogue, JsonType, Rule

__all__ = ["Lanes"]

# What a reference's lane says, where each shape puts its own statement.
_UNREAD: Final = "$UNREAD$"  # a JSON type the diagnosis must name: return None
_FAILS: Final = "$FAILS$"  # some rule fails, and the order decides which comes first
_FAILS_QUIET: Final = "$FAILS_QUIET$"  # _FAILS, in a lane where no warning of images can fire
_WARNED: Final = "$WARNED$"  # every rule holds, and a warning is due


class Lanes:
    """Generates the tests of the media references of one catalogue, in the engine's namespace
    (``known_members`` is bound there; ``ORDERED``, ``typed_reference`` and ``MEMBER_NAMES`` are
    the compiler's)."""

    def __init__(
        self,
        catalogue: Catalogue,
        rules: list[Rule],
        image_advice: tuple[Advice, ...],
        marked: frozenset[str],
        ns: Namespace,
    ) -> None:
        self.ns = ns
        self.paths = catalogue.paths
        self.members = catalogue.reference_members
        self.rules = rules
        self.image_advice = image_advice
        self.marked = marked  # the request values a request rule's failure hides
        # The request values the image rules and warnings read: a shape that knows them (an
        # absent field is its default) gets lanes folded for them.
        exprs = [r.predicate() for r in rules] + [a.when for a in image_advice if a.when]
        self.image_value_paths = sorted(expr.paths(*exprs))
        self._lane_lines: dict[tuple[Any, ...], list[str]] = {}
        ns.bind("known_members", _known_members(frozenset(m.name for m in self.members)))

    def _hides_itself(self, rule: Rule) -> bool:
        """Whether a reference that fails ``rule`` earns no warning of its own: the rule hides
        it from the rules and warnings after it, and the diagnosis cannot skip the rule (it
        reads no request value a request rule's failure hides)."""
        return rule.marks == "image" and not (expr.paths(rule.predicate()) & self.marked)

    def applies(self, path: str) -> Expr:
        """Where the reference field at ``path`` gets the image rules: its own ``applies`` and
        those of the fields it is inside."""
        tests = [
            f.applies.expr()
            for p, f in self.paths.items()
            if f.applies is not None and (path == p or path.startswith(p + "."))
        ]
        return All(*tests) if tests else Const(True)

    def source(
        self,
        indent: str,
        lines: list[str],
        known: dict[Expr, Any],
        shape_const: str,
        quiet_request: bool,
        ordered: str,
    ) -> None:
        """Every media reference of the request, in order: its lane where the image rules
        apply (a failure: ``ordered`` finds the first error), its JSON types elsewhere.  A
        failure knows its report has no warnings when none was seen so far (``warned``), no
        warning of the request can fire (``quiet_request``), none of its lane's can, and no
        reference comes after it.  ``ordered``: the name of the function that finds the first
        error, called as ``ordered(p, shape, quiet)``."""
        names = Locals(self.ns)
        on_fail = f"return {ordered}(p, {shape_const}, False)"
        positions = [p for p, f in self.paths.items() if f.reference and Value(p) not in known]
        for path, f in self.paths.items():
            if not f.reference or Value(path) in known:
                continue  # (absent from the shape: its default, null or no item)
            var = names.value(path)
            guard = []
            if path.count(".") or f.nullable:
                guard.append(f"{var} is not MISSING and {var} is not None")
            head = indent
            if guard:
                lines.append(f"{indent}if {' and '.join(guard)}:")
                head = indent + "    "
            if f.type is JsonType.ARRAY:
                lines.append(f"{head}for x in {var}:")
            else:
                lines.append(f"{head}x = {var}")
            body = head + ("    " if f.type is JsonType.ARRAY else "")
            applies = fold(self.applies(path), known)
            quiet = "False"
            if quiet_request and positions[-1] == path:  # (the last reference it may hold)
                quiet = (
                    "not warned" if f.type is JsonType.OBJECT else f"not warned and len({var}) == 1"
                )
            lanes = [
                line.replace(_UNREAD, "return None")
                .replace(_FAILS_QUIET, f"return {ordered}(p, {shape_const}, {quiet})")
                .replace(_FAILS, on_fail)
                .replace(_WARNED, "warned = True")
                for line in self._lanes(path, body, known)
            ]
            typed = [f"{body}if not typed_reference(x): return None"]
            if applies == Const(True):
                lines += lanes
            elif applies == Const(False):
                lines += typed
            else:
                lines.append(f"{body}if {render(applies, names)}:")
                lines += ["    " + line for line in lanes]
                lines.append(f"{body}else:")
                lines += ["    " + line for line in typed]

    def _lanes(self, position: str, indent: str, known: dict[Expr, Any]) -> list[str]:
        """The tests of one reference in ``x``, one lane for each set of members it may give:
        the members it lacks are absent, so the rules fold to what is left to test.  The lines
        say ``UNREAD`` (a JSON type the diagnosis must name), ``FAILS`` (some rule fails: the
        order decides which comes first) and ``WARNED`` (some warning is due) where the caller
        puts its own statements; made once per position and what the shape knows of the
        request values the image rules read."""
        facts: dict[Expr, Any] = {
            Value(p): known[Value(p)] for p in self.image_value_paths if Value(p) in known
        }
        key = (position, indent, tuple(sorted(repr(item) for item in facts.items())))
        made = self._lane_lines.get(key)
        if made is not None:
            return made
        names = [m.name for m in self.members]
        f = self.paths[position]
        # The nesting level of a member's value (the request object is 1).
        depth = position.count(".") + 3 + (f.type is JsonType.ARRAY)
        lines = [
            f"{indent}if type(x) is not dict: {_UNREAD}",
            f"{indent}for k in x:",
            # Keys by their text only: a subclass of str may override == and hash.  Unknown
            # members are warned of and otherwise ignored: the lanes read the known ones.
            f"{indent}    if type(k) is not str or k not in MEMBER_NAMES:",
            f"{indent}        x = known_members(x, {depth})",
            f"{indent}        if x is None: {_UNREAD}",
            f"{indent}        {_WARNED}",
            f"{indent}        break",
            f"{indent}n = len(x)",
        ]
        rules = [(r.predicate(), self._hides_itself(r)) for r in self.rules]
        advice = [a.when for a in self.image_advice if a.when is not None]
        keyword = "if"
        lanes = [c for k in range(len(names) + 1) for c in itertools.combinations(names, k)]
        for lane in lanes:
            lane_known: dict[Expr, Any] = {Member(m): MISSING for m in names if m not in lane}
            lane_known[Position()] = position
            lane_known.update(facts)
            present = frozenset(Member(m) for m in lane)
            test = " and ".join([f"n == {len(lane)}", *(f"{m!r} in x" for m in lane)])
            checks = Checks(
                Locals(self.ns), indent + "    ", lane_known, set(), set(present), False
            )
            # Whatever its members hold, may a reference of this lane earn a warning?  (Not
            # when it fails a rule whose failure hides it from its warnings.)
            quiet = all(fold(a, lane_known) == Const(False) for a in advice)
            if all(
                checks.require(r, _FAILS_QUIET if quiet or hides else _FAILS) for r, hides in rules
            ):
                for a in advice:
                    checks.when(a, _WARNED)
            if len(lane) > 2 and checks.lines in (
                [f"{indent}    {_FAILS}"],
                [f"{indent}    {_FAILS_QUIET}"],
            ):
                continue  # (a lane that always fails: the general case below says so)
            lines.append(f"{indent}{keyword} {test}:")
            keyword = "elif"
            for m in lane:
                var = f"m_{m}"
                lines.append(f"{indent}    {var} = x[{m!r}]")
                lines.append(
                    f"{indent}    if {var} is not None and type({var}) is not str: {_UNREAD}"
                )
            lines += checks.lines
        # A reference of other members: known ones, each text or null, fail some rule (no lane
        # above takes them); others are the diagnosis' (an unknown member is a warning).
        lines.append(f"{indent}elif typed_reference(x): {_FAILS}")
        lines.append(f"{indent}else: {_UNREAD}")
        self._lane_lines[key] = lines
        return lines


def _known_members(names: frozenset[str]) -> Callable[[dict[Any, Any], int], dict[str, Any] | None]:
    def known_members(x: dict[Any, Any], depth: int) -> dict[str, Any] | None:
        """The members of reference ``x`` whose names the table knows; ``None`` when a name is
        not text or another member's value is no JSON value within ``MAX_DEPTH`` (``depth``:
        its nesting level): the diagnosis answers those."""
        kept: dict[str, Any] = {}
        for k, v in x.items():
            if type(k) is not str:
                return None
            if k in names:
                kept[k] = v
            elif not opaque_ok(v, depth):
                return None
        return kept

    return known_members
