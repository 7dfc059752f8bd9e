"""The full diagnosis: every violation of a request in precedence order, with its skipping, and
every warning.  It is the engine's reference answer; the compiled paths answer first when they
can, and the diagnosis completes their reports when the rest is read.

Each rule's predicate is rendered once into a named function (``holds_<rule id>``): request rules
read the request's values, image rules also one reference's members.  The order is the
catalogue's: request rules one by one, and each run of consecutive image rules over every
reference (references outer, rules inner).  Skipping: a rule whose predicate reads a value that
failed its JSON type or was marked by a failed rule is not evaluated; a rule whose message quotes
such a value is evaluated (its failure still marks) but not reported; an image that failed its
JSON types or a rule marking ``"image"`` gets no further image rules and no image warnings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from luma_schema import expr
from luma_schema._engine.codegen import Namespace, Rendering
from luma_schema._engine.reading import Reader, Reading, Ref
from luma_schema.expr import MISSING, Expr, reads, render
from luma_schema.report import Notice, Violation
from luma_schema.rules import Advice, Catalogue, Rule, Scope

__all__ = ["Diagnosis", "Step", "steps"]


def _memo(memo: dict[Any, Any], key: Any, function: Callable[[Any], Any], argument: Any) -> Any:
    try:
        return memo[key]
    except KeyError:
        result = memo[key] = function(argument)
        return result


class _RequestNames(Rendering):
    def value(self, path: str) -> str:
        return f"v[{path!r}]"


class _ImageNames(_RequestNames):
    def member(self, name: str) -> str:
        return f"m[{name!r}]"

    def position(self) -> str:
        return "pos"

    def call(self, function: str, argument: Expr, rendered: str) -> str:
        # Once per reference, whichever rule or warning asks first.
        helper = self.ns.bind(f"F_{function}", expr.FUNCTIONS[function])
        # Keyed by its text: a str caches its hash, an expression tree would hash itself anew.
        key = self.ns.constant(repr(expr.Call(function, argument)))
        return f"memo_(memo, {key}, {helper}, {rendered})"


class _Escaped(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def template(rule: Rule) -> str:
    """The rule's message with its own parameters filled in, once; ``{path}`` and the echoes
    stay placeholders for the one ``format`` a violation costs."""
    params = {
        name: str(value).replace("{", "{{").replace("}", "}}")
        for name, value in rule.params().items()
    }
    return rule.message.format_map(_Escaped(params))


@dataclass(frozen=True, slots=True)
class Step:
    """What applying one rule needs, made once per engine."""

    rule: Rule
    holds: Callable[..., bool]
    echo: Callable[..., dict[str, Any]] | None
    predicate_reads: frozenset[str]  # request paths the predicate reads
    echo_reads: frozenset[str]  # request paths the message quotes
    template: str
    constant: Violation | None  # a request rule that quotes nothing: its one violation

    def violation(self, path: str, echo: Mapping[str, Any]) -> Violation:
        if self.constant is not None:
            return self.constant
        rule = self.rule
        return Violation(rule.id, rule.status, self.template.format(path=path, **echo), path)


@dataclass(frozen=True, slots=True)
class _AdviceStep:
    advice: Advice
    when: Callable[..., bool]
    params: Callable[..., dict[str, Any]]
    reads: frozenset[str]


# What a diagnosis applies: its steps, the index of the last group of image rules, and the
# request's and the images' warnings.
_Plan = tuple[
    tuple[Step | tuple[Step, ...], ...], int, tuple[_AdviceStep, ...], tuple[_AdviceStep, ...]
]
_PLANS_MAX: Final = 1024  # plans kept per diagnosis (by type and given top-level fields)


def steps(rules: tuple[Rule, ...]) -> tuple[Rule | tuple[Rule, ...], ...]:
    """The rules the diagnosis applies, in order, each run of consecutive image rules grouped:
    a group runs over every reference (references outer, rules inner) at its place."""
    out: list[Rule | tuple[Rule, ...]] = []
    group: list[Rule] = []
    for rule in rules:
        if rule.scope in (Scope.BODY, Scope.TYPES, Scope.FETCH):
            continue
        if rule.scope is Scope.IMAGE:
            group.append(rule)
            continue
        if group:
            out.append(tuple(group))
            group = []
        out.append(rule)
    if group:
        out.append(tuple(group))
    return tuple(out)


class Diagnosis:
    """The full diagnosis of one catalogue."""

    def __init__(self, catalogue: Catalogue, ns: Namespace) -> None:
        self.reader = Reader(catalogue)
        ns.bind("memo_", _memo)
        self._ns = ns
        order = steps(catalogue.rules)
        made = self._functions(catalogue)
        self.steps: tuple[Step | tuple[Step, ...], ...] = tuple(
            tuple(made[r.id] for r in step) if isinstance(step, tuple) else made[step.id]
            for step in order
        )
        self.last_group = max(
            (i for i, s in enumerate(self.steps) if isinstance(s, tuple)), default=-1
        )
        self.image_advice = tuple(
            self._advice(a) for a in catalogue.advice if a.when and a.scope is Scope.IMAGE
        )
        self.field_tests = tuple(self._applies(catalogue).items())
        self.request_advice = tuple(
            self._advice(a) for a in catalogue.advice if a.when and a.scope is Scope.REQUEST
        )
        self._all: _Plan = (self.steps, self.last_group, self.request_advice, self.image_advice)
        self._split: tuple[str, frozenset[Any]] | None = None
        self._plans: dict[Any, _Plan] = {}
        self._top = frozenset(f.name for f in catalogue.fields)
        # What an absent top-level field reads as (its default; everything inside it absent).
        self._absent: dict[str, dict[Expr, Any]] = {}
        for f in catalogue.fields:
            known: dict[Expr, Any] = {
                expr.Value(f.name): list(f.default) if isinstance(f.default, tuple) else f.default
            }
            known.update((expr.Value(p), MISSING) for p in self.reader.descendants[f.name])
            self._absent[f.name] = known

    def plan_by(self, split: tuple[str, tuple[Any, ...]] | None) -> None:
        """Apply, for a request whose ``split`` field (its type) holds a value the rules name,
        only the rules and warnings that value and the request's absent top-level fields leave
        to test: a rule that holds whatever the rest of the request is, once they are known,
        cannot fail or mark (planned per value and set of given fields, on first use; past
        ``_PLANS_MAX`` of those, per value alone)."""
        self._split = None if split is None else (split[0], frozenset(split[1]))
        self._plans.clear()

    def _plan(self, values: dict[str, Any], bad: set[str], body: dict[str, Any]) -> _Plan:
        split = self._split
        if split is None:
            return self._all
        path, named = split
        value = values.get(path)
        if path in bad or type(value) is not str or value not in named:
            return self._all
        given = frozenset(body.keys() & self._top)
        plan = self._plans.get((value, given))
        if plan is None:
            if len(self._plans) >= _PLANS_MAX:
                given = self._top  # (nothing known absent: the plan of the value alone)
                plan = self._plans.get((value, given))
            if plan is None:
                plan = self._plans[(value, given)] = self._planned(path, value, given)
        return plan

    def _planned(self, path: str, value: Any, given: frozenset[str]) -> _Plan:
        known: dict[Expr, Any] = {}
        for name, absent in self._absent.items():
            if name not in given:
                known.update(absent)
        known[expr.Value(path)] = value
        none: frozenset[Expr] = frozenset()

        def may_fail(step: Step) -> bool:
            return expr.fold(step.rule.predicate(), known, none, none) != expr.Const(True)

        def may_warn(step: _AdviceStep) -> bool:
            assert step.advice.when is not None
            return expr.fold(step.advice.when, known, none, none) != expr.Const(False)

        planned: list[Step | tuple[Step, ...]] = []
        for step in self.steps:
            if isinstance(step, tuple):
                planned.append(tuple(s for s in step if may_fail(s)))  # kept, even empty
            elif may_fail(step):
                planned.append(step)
        last = max((i for i, s in enumerate(planned) if isinstance(s, tuple)), default=-1)
        return (
            tuple(planned),
            last,
            tuple(a for a in self.request_advice if may_warn(a)),
            tuple(a for a in self.image_advice if may_warn(a)),
        )

    # ------------------------------------------------------------ made once

    def _functions(self, catalogue: Catalogue) -> dict[str, Step]:
        lines: list[str] = []
        names: list[str] = []
        rules = [r for r in catalogue.rules if r.scope in (Scope.REQUEST, Scope.IMAGE)]
        for rule in rules:
            image = rule.scope is Scope.IMAGE
            names_ = _ImageNames(self._ns) if image else _RequestNames(self._ns)
            args = "m, v, pos, memo" if image else "v"
            holds = f"holds_{rule.id}"
            lines += [f"def {holds}({args}):", f"    return {render(rule.predicate(), names_)}", ""]
            names.append(holds)
            if rule.echo():
                items = ", ".join(f"{k!r}: {render(e, names_)}" for k, e in rule.echo().items())
                lines += [f"def echo_{rule.id}({args}):", f"    return {{{items}}}", ""]
                names.append(f"echo_{rule.id}")
        functions = dict(zip(names, self._ns.define("\n".join(lines), names), strict=True))
        made = {}
        for rule in rules:
            predicate_values, _ = reads(rule.predicate())
            echo_values, _ = reads(*rule.echo().values())
            text = template(rule)
            constant = None
            if rule.scope is Scope.REQUEST and not rule.echo():
                constant = Violation(rule.id, rule.status, text.format(path=rule.path), rule.path)
            made[rule.id] = Step(
                rule,
                functions[f"holds_{rule.id}"],
                functions.get(f"echo_{rule.id}"),
                predicate_values,
                echo_values,
                text,
                constant,
            )
        return made

    def _advice(self, advice: Advice) -> _AdviceStep:
        assert advice.when is not None
        image = advice.scope is Scope.IMAGE
        names_ = _ImageNames(self._ns) if image else _RequestNames(self._ns)
        args = "m, v, pos, memo" if image else "v"
        items = ", ".join(f"{k!r}: {render(e, names_)}" for k, e in advice.params)
        source = "\n".join(
            [
                f"def when_{advice.id}({args}):",
                f"    return {render(advice.when, names_)}",
                "",
                f"def params_{advice.id}({args}):",
                f"    return {{{items}}}",
                "",
            ]
        )
        when, params = self._ns.define(source, [f"when_{advice.id}", f"params_{advice.id}"])
        values, _ = reads(advice.when, *(e for _, e in advice.params))
        return _AdviceStep(advice, when, params, values)

    def _applies(self, catalogue: Catalogue) -> dict[str, Callable[..., bool]]:
        """``applies_<path>(v)`` for each field that is meaningful only where a test holds."""
        tests = {path: f.applies for path, f in catalogue.paths.items() if f.applies is not None}
        names = {path: "applies_" + path.replace(".", "__") for path in tests}
        source = "\n".join(
            f"def {names[path]}(v):\n    return {render(test.expr(), _RequestNames(self._ns))}\n"
            for path, test in tests.items()
        )
        functions = self._ns.define(source, names.values()) if tests else []
        return dict(zip(tests, functions, strict=True))

    def applies(self, position: str, values: dict[str, Any]) -> bool:
        """Whether the field at ``position`` (and each field it is inside) is meaningful for
        the request: a reference inside an ignored field gets its JSON types checked only."""
        for path, test in self.field_tests:
            if (position == path or position.startswith(path + ".")) and not test(values):
                return False
        return True

    # ------------------------------------------------------------ per request

    def run(self, body: dict[str, Any]) -> Reading:
        """Read ``body`` (a plain dict) and apply every rule and warning: ``errors`` and
        ``warnings`` of the result are the full lists (the fetch rules aside)."""
        reading = self.reader.read(body)
        values = reading.values
        bad = reading.bad
        errors = reading.errors
        refs = [ref for ref in reading.refs if not ref.bad and self.applies(ref.position, values)]
        plan, last, request_advice, image_advice = self._plan(values, bad, body)
        for index, step in enumerate(plan):
            if isinstance(step, tuple):
                for ref in refs:
                    self._image(step, ref, reading)
                    if index == last:
                        self._image_advice(ref, reading, image_advice)
                continue
            if bad and not bad.isdisjoint(step.predicate_reads):
                continue  # it reads a value that is not there to read
            if step.holds(values):
                continue
            if not bad or bad.isdisjoint(step.echo_reads):
                echo = step.echo(values) if step.echo is not None else {}
                errors.append(step.violation(step.rule.path, echo))
            marks = step.rule.marks
            if marks:
                bad.add(marks)
        for advice in request_advice:
            if bad and not bad.isdisjoint(advice.reads):
                continue
            if advice.when(values):
                self._warn(reading, advice, advice.advice.at, advice.params(values))
        return reading

    def _image(self, group: tuple[Step, ...], ref: Ref, reading: Reading) -> None:
        bad = reading.bad
        for step in group:
            if ref.bad:
                return
            if bad and not bad.isdisjoint(step.predicate_reads):
                continue
            args = (ref.members, reading.values, ref.position, ref.memo)
            if step.holds(*args):
                continue
            if not bad or bad.isdisjoint(step.echo_reads):
                echo = step.echo(*args) if step.echo is not None else {}
                reading.errors.append(step.violation(ref.path, echo))
            if step.rule.marks == "image":
                ref.bad = True

    def _image_advice(
        self, ref: Ref, reading: Reading, image_advice: tuple[_AdviceStep, ...]
    ) -> None:
        if ref.bad:
            return
        bad = reading.bad
        args = (ref.members, reading.values, ref.position, ref.memo)
        for advice in image_advice:
            if bad and not bad.isdisjoint(advice.reads):
                continue
            if advice.when(*args):
                path = f"{ref.path}.{advice.advice.at}"
                self._warn(reading, advice, path, advice.params(*args))

    @staticmethod
    def _warn(reading: Reading, step: _AdviceStep, path: str, params: dict[str, Any]) -> None:
        message = step.advice.render(path, **params)
        reading.warnings.append(Notice(step.advice.id, path, message))
