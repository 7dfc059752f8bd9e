"""Emitting the tests of a compiled path one at a time: each folded with what the tests before it
proved (a value shown given is not asked again; a conjunct shown true is dropped), and each
function of a member computed once, just before the first test that needs it, its result kept
for short texts clients repeat (URLs, media types)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from luma_schema import expr
from luma_schema._engine.codegen import Namespace, Rendering
from luma_schema.expr import Call, Const, Expr, fold, render, walk

__all__ = ["Checks", "Locals"]


class Locals(Rendering):
    """Leaves are local variables; calls already computed are their variables."""

    def __init__(self, ns: Namespace, calls: dict[Call, str] | None = None) -> None:
        super().__init__(ns)
        self.calls = calls or {}

    def value(self, path: str) -> str:
        return "f_" + path.replace(".", "__")

    def member(self, name: str) -> str:
        return f"m_{name}"

    def position(self) -> str:
        return "pos"

    def call(self, function: str, argument: Expr, rendered: str) -> str:
        name = self.calls.get(Call(function, argument))
        return name if name is not None else super().call(function, argument, rendered)


def _calls(exprs: Sequence[Expr]) -> list[Call]:
    """The calls in ``exprs``, each once, innermost first."""
    found: list[Call] = []
    for e in exprs:
        for node in reversed(list(walk(e))):
            if isinstance(node, Call) and node not in found:
                found.append(node)
    return found


def _proved(holds: Expr) -> tuple[set[Expr], dict[Expr, bool]]:
    """What a predicate that holds shows: the leaves it finds given (its ``Given``/``NotNull``
    conjuncts) and the truth of its other conjuncts; the tests after it need not ask again."""
    match holds:
        case expr.Given(x) | expr.NotNull(x):
            return {x}, {}
        case expr.All(xs):
            given: set[Expr] = set()
            truths: dict[Expr, bool] = {}
            for x in xs:
                g, t = _proved(x)
                given |= g
                truths.update(t)
            return given, truths
        case expr.Not(x):
            return set(), {x: False}
    return set(), {holds: True}


# Functions whose result is never None: a value computed from a given one is given too.
_NEVER_NONE: Final = frozenset({"base64", "image_media_type", "data_uri", "format_name"})
# Functions of short texts that clients repeat: their results are kept (bounded).
_MEMOISED: Final = frozenset({"url_problem", "image_media_type", "media_format", "media_family"})
_SEEN_MAX: Final = 4096
_SEEN_LENGTH: Final = 2048


def _memoised(function: Callable[[Any], Any], table: dict[str, Any]) -> Callable[[str], Any]:
    def store(text: str) -> Any:
        result = function(text)
        if len(table) >= _SEEN_MAX:
            table.clear()
        if len(text) <= _SEEN_LENGTH:
            table[text] = result
        return result

    return store


class Checks:
    """Emits tests in order, folding each with what the tests before it proved, and computing
    each function of a member once, just before the first test that needs it."""

    def __init__(
        self,
        names: Locals,
        indent: str,
        known: dict[Expr, Any],
        given: set[Expr],
        present: set[Expr],
        maybe_missing: bool,
    ) -> None:
        self.names = names
        self.indent = indent
        self.known = dict(known)
        self.given = set(given)
        self.present = frozenset(present)
        self.maybe_missing = maybe_missing  # leaves may be MISSING as well as None
        self.lines: list[str] = []

    def _seen(self, function: str) -> tuple[str, str]:
        """The names of the table of results kept for ``function`` and of what fills it."""
        table, store = f"SEEN_{function}", f"seen_{function}"
        ns = self.names.ns
        if table not in ns.globals:
            ns.bind(store, _memoised(expr.FUNCTIONS[function], ns.bind_value(table, {})))
        return table, store

    def _fold(self, e: Expr) -> Expr:
        folded = fold(e, self.known, frozenset(self.given), self.present)
        for call in _calls([folded]):
            if call in self.names.calls:
                continue
            argument = render(call.x, self.names)
            helper = self.names.ns.bind(f"F_{call.function}", expr.FUNCTIONS[call.function])
            target = f"c{len(self.names.calls)}"
            computed = f"{helper}({argument})"
            if call.function in _MEMOISED:
                # Seen texts cost one lookup (a client sends the same URLs again and again).
                table, store = self._seen(call.function)
                computed = f"{table}.get({argument}, MISSING)"
            if call.x not in self.given:
                missing = f"{argument} is not MISSING and " if self.maybe_missing else ""
                computed = f"{computed} if {missing}{argument} is not None else None"
            elif call.function in _NEVER_NONE:
                self.given.add(call)
            self.lines.append(f"{self.indent}{target} = {computed}")
            if call.function in _MEMOISED:
                self.lines.append(
                    f"{self.indent}if {target} is MISSING: {target} = {store}({argument})"
                )
            self.names.calls[call] = target
        # Calls just computed are variables now: fold again for what their givenness proves.
        return fold(folded, self.known, frozenset(self.given), self.present)

    def require(self, e: Expr, otherwise: str) -> bool:
        """``if not e: otherwise``; False when ``e`` cannot hold (``otherwise`` then stands
        alone and the tests after it are dead)."""
        holds = self._fold(e)
        if holds == Const(True):
            return True
        if holds == Const(False):
            self.lines.append(f"{self.indent}{otherwise}")
            return False
        self.lines.append(f"{self.indent}if not {render(holds, self.names)}: {otherwise}")
        given, truths = _proved(holds)
        self.given |= given
        self.known.update(truths)
        return True

    def when(self, e: Expr, then: str) -> None:
        """``if e: then``."""
        holds = self._fold(e)
        if holds == Const(False):
            return
        if holds == Const(True):
            self.lines.append(f"{self.indent}{then}")
        else:
            self.lines.append(f"{self.indent}if {render(holds, self.names)}: {then}")
