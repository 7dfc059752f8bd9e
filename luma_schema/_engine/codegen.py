"""Generated Python source: one namespace of constants and named functions per engine, each
module of source registered with ``linecache`` so that tracebacks, debuggers and coverage show
the generated lines (and :func:`luma_schema.engine.generated_source` prints them)."""

from __future__ import annotations

import itertools
import linecache
import threading
from collections.abc import Callable, Iterable
from typing import Any, Final

from luma_schema import expr
from luma_schema.expr import MISSING, Names

__all__ = ["Namespace"]

_LITERALS: Final = (str, int, float, bool, type(None))
_SERIAL: Final = itertools.count()


class Namespace:
    """The globals the generated functions of one engine share, and their sources."""

    def __init__(self, label: str, **names: Any) -> None:
        self.label = label
        self.globals: dict[str, Any] = {"MISSING": MISSING, **names}
        self._constants: dict[tuple[type, Any], str] = {}
        self.sources: dict[str, str] = {}  # function name -> the source that defines it
        self._lock = threading.Lock()

    def constant(self, value: Any) -> str:
        """A name (or a literal) that stands for ``value`` in generated source."""
        if value is MISSING:
            return "MISSING"
        literal = type(value) in _LITERALS and (type(value) is not float or value == value)
        if literal and (type(value) is not str or len(value) <= 200):
            return repr(value)
        try:
            key: tuple[type, Any] = (type(value), value)
            hash(key)
        except TypeError:
            key = (type(value), id(value))
        name = self._constants.get(key)
        if name is None:
            name = self._constants[key] = f"K{len(self._constants)}"
            self.globals[name] = value
        return name

    def bind(self, name: str, value: Any) -> str:
        """Put ``value`` in the namespace under ``name`` (a helper the source calls)."""
        self.globals[name] = value
        return name

    def bind_lazily(self, name: str, make: Callable[[], Callable[..., Any]]) -> str:
        """Put under ``name`` a function that ``make()`` generates (defining it under that
        name, so that later calls go straight to it) when it is first called or shown."""
        self.globals[name] = _Lazy(make)
        return name

    def source_made(self, name: str) -> str | None:
        """The source of the generated function ``name``, made now if it is bound lazily and
        was not made yet (``None``: there is no such function)."""
        lazy = self.globals.get(name)
        if isinstance(lazy, _Lazy):
            lazy.make()
        return self.sources.get(name)

    def bind_value(self, name: str, value: Any) -> Any:
        """Put ``value`` in the namespace under ``name`` and return the value itself."""
        self.globals[name] = value
        return value

    def define(self, source: str, names: Iterable[str]) -> list[Any]:
        """Execute ``source`` (which defines the functions ``names``) in the namespace and return
        those functions, in order."""
        names = list(names)
        filename = f"<luma_schema {self.label} {next(_SERIAL)}>"
        code = compile(source, filename, "exec")
        lines = source.splitlines(keepends=True)
        linecache.cache[filename] = (len(source), None, lines, filename)
        with self._lock:
            exec(code, self.globals)
            for name in names:
                self.sources[name] = source
            return [self.globals[name] for name in names]


class Rendering(Names):
    """The common part of rendering predicates into source: constants and plain calls."""

    def __init__(self, ns: Namespace) -> None:
        self.ns = ns

    def value(self, path: str) -> str:
        raise TypeError(f"{type(self).__name__} reads no request value ({path})")

    def member(self, name: str) -> str:
        raise TypeError(f"{type(self).__name__} reads no reference member ({name})")

    def position(self) -> str:
        raise TypeError(f"{type(self).__name__} has no reference position")

    def constant(self, value: Any) -> str:
        return self.ns.constant(value)

    def call(self, function: str, argument: expr.Expr, rendered: str) -> str:
        helper = self.ns.bind(f"F_{function}", expr.FUNCTIONS[function])
        return f"{helper}({rendered})"


class _Lazy:
    """A generated function made when first called (or shown: ``Namespace.source_made``)."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Callable[..., Any]]) -> None:
        self.make = make

    def __call__(self, *args: Any) -> Any:
        return self.make()(*args)
