"""The compiled paths: Python source generated from the catalogue's predicates, answering the
requests whose JSON types hold without reading them twice.

- ``accept_<names>(p)``: a request with exactly these top-level names, in this order (the
  ``shape``): its values read by position, absent fields folded in as their defaults; each media
  reference tested in a lane for the members it gives (a reference with only a ``url`` is tested
  for the URL rule alone); then every request rule in order.  The first failing request rule is
  the answer once every reference holds; when a reference fails, ``ordered_<name>`` (the same,
  folded with what the function knows; made when first needed) finds the first.
- ``ordered(p, shape, quiet)``: any shape, every rule in order, references in order: the first
  failure, or acceptance (``quiet``: the caller knows a refusal has no warnings).

Each returns a :class:`Report` or ``None`` when only the diagnosis can answer (a value of the
wrong JSON type after a reference, a whole-valued float in an integer field, an unknown member
holding no JSON value, a long string of a big JSON text).  A value of the wrong JSON type is
answered as the refusal it is when every field before it in the table is read; unknown members
of a reference are ignored (with a warning).  Reports made here are finished by the engine's
diagnosis when their lists are read.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any

from luma_schema._engine.checks import Checks, Locals
from luma_schema._engine.codegen import Namespace
from luma_schema._engine.diagnose import Diagnosis, Step
from luma_schema._engine.lanes import Lanes
from luma_schema._engine.reading import type_test
from luma_schema._input.python import opaque_ok
from luma_schema.expr import (
    MISSING,
    Const,
    Equals,
    Expr,
    In,
    Value,
    fold,
    render,
    walk,
)
from luma_schema.report import Report, Violation
from luma_schema.rules import Catalogue, Field, JsonType, Rule, Scope

__all__ = ["Compiler"]


class Compiler:
    """Generates the compiled paths of one catalogue, in the engine's namespace."""

    def __init__(
        self,
        catalogue: Catalogue,
        diagnosis: Diagnosis,
        ns: Namespace,
        refuse: Callable[[Violation, Any, Any], Report],
        accept: Callable[[Any, Any, bool], Report],
        finisher_for: Callable[[Any], Any],
        wrong_type: Callable[[Any, Violation, Any], Report | None],
    ) -> None:
        self.catalogue = catalogue
        self.ns = ns
        self.steps = diagnosis.steps
        self.fields = catalogue.fields
        self.paths = catalogue.paths
        self.field_names = frozenset(f.name for f in catalogue.fields)
        self.members = catalogue.reference_members
        self.member_names = frozenset(m.name for m in self.members)
        self.types_rule = next(r for r in catalogue.rules if r.scope is Scope.TYPES)
        self.image_advice = tuple(
            a for a in catalogue.advice if a.when is not None and a.scope is Scope.IMAGE
        )
        self.request_advice = tuple(
            a for a in catalogue.advice if a.when is not None and a.scope is Scope.REQUEST
        )
        image_rules = [s.rule for step in self.steps if isinstance(step, tuple) for s in step]
        marked = frozenset(
            s.rule.marks for s in self.steps if not isinstance(s, tuple) and s.rule.marks
        )
        self.lanes = Lanes(catalogue, image_rules, self.image_advice, marked, ns)
        image_exprs = [r.predicate() for r in image_rules]
        image_exprs += [a.when for a in self.image_advice if a.when is not None]
        self.split = self._split(image_exprs)
        self._unsupported = self._check_supported()
        ns.bind("refuse", refuse)
        ns.bind("new", object.__new__)
        ns.bind("Report", Report)
        ns.bind("accepted", accept)
        ns.bind("opaque_ok", opaque_ok)
        ns.bind("finisher_for", finisher_for)
        ns.bind("Violation", Violation)
        ns.bind("FIELD_NAMES", self.field_names)
        ns.bind("MEMBER_NAMES", self.member_names)
        ns.bind("wrong_type", wrong_type)
        if not self._unsupported:
            self.ordered: Callable[..., Report | None] | None = self._ordered()
        else:
            self.ordered = None

    def _split(self, image_exprs: list[Expr]) -> tuple[str, tuple[Any, ...]] | None:
        """The top-level text field the rules' conditions test most, and every value they name
        (its default first): a shape's compiled path branches on it."""
        counts: dict[str, int] = {}
        values: dict[str, set[Any]] = {}
        top = {f.name: f for f in self.fields if f.type is JsonType.STRING}
        exprs = [s.rule.predicate() for s in self.steps if not isinstance(s, tuple)]
        exprs += [a.when for a in self.request_advice if a.when is not None] + image_exprs
        for e in exprs:
            for node in walk(e):
                if (
                    isinstance(node, In | Equals)
                    and isinstance(node.x, Value)
                    and node.x.path in top
                ):
                    named = node.values if isinstance(node, In) else {node.value}
                    counts[node.x.path] = counts.get(node.x.path, 0) + 1
                    values.setdefault(node.x.path, set()).update(named)
        if not counts:
            return None
        path = max(counts, key=lambda p: (counts[p], p))
        default = top[path].default
        ordered = sorted(
            (v for v in values[path] if isinstance(v, str)), key=lambda v: (v != default, v)
        )
        return path, tuple(ordered)

    def _check_supported(self) -> str | None:
        """Why this catalogue cannot be compiled (the diagnosis then answers everything)."""
        for path, f in self.paths.items():
            if f.type is JsonType.ARRAY and f.items is JsonType.OBJECT and not f.reference:
                return f"{path}: arrays of objects other than media references"
            if f.type is JsonType.OBJECT and f.members is None:
                return f"{path}: objects of any members"
        for m in self.members:
            if m.type is not JsonType.STRING or not m.nullable:
                return f"{m.name}: media reference members other than nullable strings"
        return None

    @property
    def compiles(self) -> bool:
        return self._unsupported is None

    # ------------------------------------------------------------ reading the fields

    def _descendants(self, path: str) -> list[str]:
        return [p for p in self.paths if p.startswith(path + ".")]

    def _read(
        self,
        f: Field,
        path: str,
        indent: str,
        lines: list[str],
        missing: bool,
        null: bool,
        wrong: Callable[[str, Field], str] = lambda path, f: "return None",
    ) -> None:
        """Check the JSON type of the value in ``f_<path>`` (it may be ``MISSING`` when
        ``missing``, null when ``null``) and bind the variables of everything inside it; a
        value of the wrong JSON type runs ``wrong(path, f)`` (a statement); one the compiled
        path does not read (an item of the wrong type, an unknown member) returns None."""
        names = Locals(self.ns)
        var = names.value(path)
        allowed = [type_test(f.type, var)]
        if missing:
            allowed.insert(0, f"{var} is MISSING")
        if null and f.nullable:
            allowed.insert(0, f"{var} is None")
        lines.append(f"{indent}if not ({' or '.join(allowed)}): {wrong(path, f)}")
        if f.type is JsonType.ARRAY and not f.reference:
            assert f.items is not None
            guard = f"type({var}) is list" if (missing or f.nullable) else ""
            inner = indent + "    " if guard else indent
            if guard:
                lines.append(f"{indent}if {guard}:")
            lines += [
                f"{inner}for x in {var}:",
                f"{inner}    if not {type_test(f.items, 'x')}: return None",
            ]
        if f.type is not JsonType.OBJECT or f.members is None or f.reference:
            return
        inside = self._descendants(path)
        inner = indent
        if missing or f.nullable:
            lines.append(f"{indent}if {var} is MISSING or {var} is None:")
            lines.append(
                f"{indent}    " + " = ".join(names.value(p) for p in inside) + " = MISSING"
            )
            lines.append(f"{indent}else:")
            inner = indent + "    "
        keys = self.ns.constant(frozenset(m.name for m in f.members))
        lines += [
            f"{inner}for k in {var}:",
            # Keys by their text only; an unknown member is the diagnosis' (a warning).
            f"{inner}    if type(k) is not str or k not in {keys}: return None",
        ]
        for m in f.members:
            child = f"{path}.{m.name}"
            default = self.ns.constant(m.default)
            lines.append(f"{inner}{names.value(child)} = {var}.get({m.name!r}, {default})")
            self._read(m, child, inner, lines, missing=m.default is MISSING, null=True, wrong=wrong)

    # ------------------------------------------------------------ one shape

    def split_for(self, shape: tuple[str, ...]) -> tuple[str, tuple[Any, ...]] | None:
        """The field a shape's function branches on, and its values (``None``: no branches)."""
        split = self.split
        return split if split is not None and split[0] in shape else None

    def _wrong(self, shape: tuple[str, ...], finisher: str) -> Callable[[str, Field], str]:
        """What a shape's prologue does when the value at a path has the wrong JSON type: the
        refusal whose first error that is (the diagnosis lists type errors first, in table
        order), unless a field read earlier may hold a type error the prologue does not read (a
        reference's members are read in its lane) or the test is stricter than the diagnosis' (a
        whole-valued float is an integer).  ``wrong_type`` leaves to the diagnosis a payload that
        is no JSON (too deep, or a value no JSON type names) or whose plain copy has the type."""
        order = list(self.paths)
        rule = self.types_rule

        def statement(path: str, f: Field) -> str:
            if f.type is JsonType.INTEGER:
                return "return None"
            for earlier in order[: order.index(path)]:
                if self.paths[earlier].reference and earlier.split(".")[0] in shape:
                    return "return None"
            detail = rule.render(path, expected=f.type.value)
            violation = self.ns.constant(Violation(rule.id, rule.status, detail, path))
            return f"return wrong_type(p, {violation}, {finisher})"

        return statement

    def _prologue(
        self, shape: tuple[str, ...], finisher: str
    ) -> tuple[list[str], dict[Expr, Any], set[Expr], set[Expr]]:
        """The body that reads a payload of ``shape`` (its JSON types, the variables of every
        field and member) and what that reading proves: known values, given and present leaves."""
        lines: list[str] = [f"    if len(p) != {len(shape)}: return None"]
        known: dict[Expr, Any] = {}
        given: set[Expr] = set()
        present: set[Expr] = set()
        variables = []
        unknown = []
        names_ = Locals(self.ns)
        wrong = self._wrong(shape, finisher)
        table = {f.name: f for f in self.fields}
        for i, key in enumerate(shape):
            if key in table:
                variables.append(names_.value(key))
            else:
                variables.append(f"u{i}")
                unknown.append(f"u{i}")
        if shape:
            lines.append(f"    {', '.join(variables)}{',' if len(shape) == 1 else ''} = p.values()")
        lines.append("    warned = False")
        for f in self.fields:
            value = Value(f.name)
            if f.name not in shape:
                known[value] = list(f.default) if isinstance(f.default, tuple) else f.default
                for child in self._descendants(f.name):
                    known[Value(child)] = MISSING
                continue
            (present if f.nullable else given).add(value)
            self._read(f, f.name, "    ", lines, missing=False, null=True, wrong=wrong)
        # Unknown fields: any JSON value, for a warning.
        for var in unknown:
            lines.append(f"    if not opaque_ok({var}, 2): return None")
        if unknown:
            lines.append("    warned = True")
        return lines, known, given, present

    @staticmethod
    def _bound(lines: list[str]) -> list[str]:
        """The variables a prologue binds that the rules read (its loop variables aside)."""
        tree = ast.parse("def f(p):\n" + "\n".join(lines))
        stored = {
            node.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
        }
        return sorted(stored - {"warned", "x", "k"})

    def shape_source(
        self,
        shape: tuple[str, ...],
        name: str,
        finisher: str,
        branches: tuple[str, str] | None = None,
    ) -> str:
        """The source of ``accept_<names>`` for payloads with exactly the keys ``shape``
        (``finisher``: the name of the finisher of its reports).  A shape with the field of
        :meth:`split_for` reads the payload and hands it to the function of its value, found in
        the table named ``branches[0]`` or made by the function named ``branches[1]`` (see
        :meth:`branch_source`): each type's rules are generated when a request of that type
        first comes."""
        lines = [
            f"def {name}(p):",
            f'    """Keys {shape!r}, in this order: the JSON types, every reference, then every'
            " request rule in order (absent fields folded in as their defaults).  None: the"
            ' diagnosis answers."""',
        ]
        prologue, known, given, present = self._prologue(shape, finisher)
        lines += prologue
        split = self.split_for(shape)
        if split is None:
            shape_const = self.ns.constant(shape)
            names_ = Locals(self.ns)
            self._decide(lines, "    ", known, given, present, names_, finisher, shape_const, name)
            if not any("warned = True" in line for line in lines):
                lines.remove("    warned = False")
            return "\n".join(lines) + "\n"
        assert branches is not None, "a shape with branches needs their table"
        table, make = branches
        var = Locals(self.ns).value(split[0])
        arguments = ", ".join(["p", "warned", *self._bound(prologue)])
        lines += [
            f"    b = {table}.get({var}) if type({var}) is str else None",
            f"    if b is None: b = {make}({var})",
            f"    return b({arguments})",
        ]
        return "\n".join(lines) + "\n"

    def branch_source(
        self, shape: tuple[str, ...], name: str, finisher: str, value: Any | None
    ) -> str:
        """The source of the function a shape's function hands a payload to when the field of
        :meth:`split_for` holds ``value`` (``None``: a value none of the rules names): the
        references, the warnings and the rules, folded with that value known."""
        prologue, known, given, present = self._prologue(shape, finisher)
        split = self.split_for(shape)
        assert split is not None
        if value is not None:
            known = {**known, Value(split[0]): value}
        parameters = ", ".join(["p", "warned", *self._bound(prologue)])
        lines = [
            f"def {name}({parameters}):",
            f'    """Keys {shape!r} with {split[0]} {value!r}: every reference, then every'
            ' request rule in order."""',
        ]
        warned_before = any("warned = True" in line for line in prologue)
        shape_const = self.ns.constant(shape)
        self._decide(
            lines,
            "    ",
            known,
            given,
            present,
            Locals(self.ns),
            finisher,
            shape_const,
            name,
            warned_before=warned_before or None,
        )
        return "\n".join(lines) + "\n"

    def _decide(
        self,
        lines: list[str],
        indent: str,
        known: dict[Expr, Any],
        given: set[Expr],
        present: set[Expr],
        names_: Locals,
        finisher: str,
        shape_const: str,
        name: str,
        warned_before: bool | None = None,
    ) -> None:
        """The references, the request's warnings and its rules, with ``known`` folded in: a
        refusal or an acceptance (the JSON types are read already; ``warned_before``: whether a
        warning may be due from what was read, else seen in ``lines``; ``name``: the function's,
        which names the ``ordered`` of this shape and type its references fall back on)."""
        if warned_before is None:
            warned_before = any("warned = True" in line for line in lines)
        start = len(lines)
        quiet_request = all(
            a.when is not None
            and fold(a.when, known, frozenset(given), frozenset(present)) == Const(False)
            for a in self.request_advice
        )
        ordered = self._lazy_ordered(name, known, frozenset(given), frozenset(present))
        self.lanes.source(indent, lines, known, shape_const, quiet_request, ordered)
        # The request's own warnings, before its rules: a refusal by a request rule then knows
        # whether it has any (its warnings are the references' and these, when these cannot
        # fire whatever the rules mark), and an acceptance knows what it has.
        for a in self.request_advice:
            assert a.when is not None
            when = fold(a.when, known, frozenset(given), frozenset(present))
            if when == Const(True):
                lines.append(f"{indent}warned = True")
            elif when != Const(False):
                lines.append(f"{indent}if {render(when, names_)}: warned = True")
        warns = warned_before or any("warned = True" in line for line in lines[start:])
        quiet = "not warned" if warns else "True"
        for step in self.steps:
            if isinstance(step, tuple):
                continue
            rule = step.rule
            holds = fold(rule.predicate(), known, frozenset(given), frozenset(present))
            if holds == Const(True):
                continue
            violation = self._violation(step, names_, known, given, present, repr(rule.path))
            refusal = f"return refuse({violation}, {finisher}, p, {quiet})"
            if holds == Const(False):
                lines.append(f"{indent}{refusal}")
                return
            lines.append(f"{indent}if not {render(holds, names_)}: {refusal}")
        lines += [
            # Report.accepted, inlined: the commonest answer is made without a call.
            f"{indent}r = new(Report)",
            f"{indent}r._first = None",
            f"{indent}r._warnings = None if warned else ()"
            if warns
            else f"{indent}r._warnings = ()",
            f"{indent}r._finisher = {finisher}",
            f"{indent}r._payload = p",
            f"{indent}return r",
        ]

    def _lazy_ordered(
        self, name: str, known: dict[Expr, Any], given: frozenset[Expr], present: frozenset[Expr]
    ) -> str:
        """The name of the ``ordered`` of the function ``name`` (a shape, or a shape and type),
        generated when a reference of that function first fails: the first error of a request
        that failed a reference (the order decides), folded with what the function knows."""
        ordered_name = f"ordered_{name}"

        def make() -> Callable[..., Report | None]:
            # Defined under that name in the namespace: later calls go straight to it.
            return self._ordered(dict(known), given, present, ordered_name)

        return self.ns.bind_lazily(ordered_name, make)

    def _violation(
        self,
        step: Step,
        names: Locals,
        known: dict[Expr, Any],
        given: set[Expr],
        present: set[Expr],
        path: str,
    ) -> str:
        """An expression for the step's violation at ``path``, its echoes read from ``names``."""
        if step.constant is not None:
            return self.ns.constant(step.constant)
        rule: Rule = step.rule
        echo = ", ".join(
            f"{k}={render(fold(e, known, frozenset(given), frozenset(present)), names)}"
            for k, e in rule.echo().items()
        )
        template = self.ns.constant(step.template)
        return (
            f"Violation({rule.id!r}, {rule.status}, {template}.format(path={path}, {echo}), {path})"
        )

    # ------------------------------------------------------------ any shape, in order

    def _ordered(
        self,
        known: dict[Expr, Any] | None = None,
        given: frozenset[Expr] = frozenset(),
        present: frozenset[Expr] = frozenset(),
        name: str = "ordered",
    ) -> Callable[..., Report | None]:
        """``ordered(p, shape, quiet)``: see the module docstring.  Given what a shape's type
        function knows (``known`` values, ``given`` and ``present`` leaves), the same for that
        shape and type alone, folded with it (named ``name``)."""
        generic = known is None
        known = known or {}
        constants: dict[str, str] = {}
        names_ = Locals(self.ns)
        image_facts: dict[Expr, Any] = {
            Value(p): known[Value(p)] for p in self.lanes.image_value_paths if Value(p) in known
        }
        lines = [
            f"def {name}(p, shape, quiet=False):",
            '    """Any request whose top-level keys are the texts `shape`: the JSON types, then'
            " every rule in order; the first failure, or acceptance.  None: the diagnosis."
            '  quiet: the caller knows a refusal has no warnings."""',
            "    q = dict(zip(shape, p.values()))",
            "    warned = False",
            "    for k in q:",
            "        if k not in FIELD_NAMES:",
            "            if not opaque_ok(q[k], 2): return None",
            "            warned = True",
        ]
        head = len(lines)
        for f in self.fields:
            var = names_.value(f.name)
            default = list(f.default) if isinstance(f.default, tuple) else f.default
            if Value(f.name) in known:
                # Absent from the shape (its default, everything inside it absent), or the
                # value the function is folded with: bound below where something reads it.
                for path in (f.name, *self._descendants(f.name)):
                    constants[names_.value(path)] = self.ns.constant(known[Value(path)])
                continue
            lines.append(f"    {var} = q.get({f.name!r}, MISSING)")
            self._read(f, f.name, "    ", lines, missing=True, null=True)
            if default is not MISSING:
                lines.append(f"    if {var} is MISSING: {var} = {self.ns.constant(default)}")
        # Every reference, in order, its JSON types first; whether the image rules apply to it.
        lines.append("    refs = []")
        for path, f in self.paths.items():
            if not f.reference or Value(path) in known:
                continue  # (absent from the shape: no reference there)
            var = names_.value(path)
            applies = render(fold(self.lanes.applies(path), known, given, present), names_)
            lines.append(f"    if {var} is not MISSING and {var} is not None:")
            if f.type is JsonType.ARRAY:
                lines += [
                    f"        for i, x in enumerate({var}):",
                    "            if not typed_reference(x): return None",
                    f"            if {applies}: refs.append((x, {path!r}, i))",
                ]
            else:
                lines += [
                    f"        if not typed_reference({var}): return None",
                    f"        if {applies}: refs.append(({var}, {path!r}, -1))",
                ]
        shape_finisher = "finisher_for(shape)"
        member_names = [m.name for m in self.members]
        last = max((i for i, s in enumerate(self.steps) if isinstance(s, tuple)), default=-1)
        for index, step in enumerate(self.steps):
            if not isinstance(step, tuple):
                rule = step.rule
                holds_ = fold(rule.predicate(), known, given, present)
                if holds_ == Const(True):
                    continue
                violation = self._violation(
                    step, names_, known, set(given), set(present), repr(rule.path)
                )
                refusal = f"return refuse({violation}, {shape_finisher}, p, quiet)"
                if holds_ == Const(False):
                    lines.append(f"    {refusal}")
                    break
                lines.append(f"    if not {render(holds_, names_)}: {refusal}")
                continue
            lines.append("    for x, pos, i in refs:")
            for m in member_names:
                lines.append(f"        m_{m} = x.get({m!r}, MISSING)")
            lines.append("        path = pos if i < 0 else f'{pos}[{i}]'")
            checks = Checks(Locals(self.ns), "        ", dict(image_facts), set(), set(), True)
            for s in step:
                violation = self._violation(s, checks.names, image_facts, set(), set(), "path")
                if not checks.require(
                    s.rule.predicate(), f"return refuse({violation}, {shape_finisher}, p, quiet)"
                ):
                    break
            else:
                if index == last:
                    for a in self.image_advice:
                        assert a.when is not None
                        checks.when(a.when, "warned = True")
            lines += checks.lines
        else:
            for a in self.request_advice:
                assert a.when is not None
                when = fold(a.when, known, given, present)
                if when != Const(False):
                    lines.append(f"    if {render(when, names_)}: warned = True")
            lines.append(f"    return accepted({shape_finisher}, p, warned)")
        lines.append("")
        if not generic:
            body = "\n".join(lines[1:])
            bound = [f"    {v} = {c}" for v, c in constants.items() if re.search(rf"\b{v}\b", body)]
            lines[head:head] = bound
            (function,) = self.ns.define("\n".join(lines), [name])
            return function  # type: ignore[no-any-return]
        lines += [
            "def typed_reference(x):",
            '    """A media reference whose JSON types hold (known members, each text or null)."""',
            "    if type(x) is not dict: return False",
            "    for k, v in x.items():",
            "        if type(k) is not str or k not in MEMBER_NAMES: return False",
            "        if v is not None and type(v) is not str: return False",
            "    return True",
            "",
        ]
        (function,) = self.ns.define("\n".join(lines), ["ordered"])
        self.ns.bind("ORDERED", function)
        return function  # type: ignore[no-any-return]
