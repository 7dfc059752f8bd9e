"""Python payloads, read without trusting them: a plain copy made of exact built-in types.

A dict handed to ``check()`` may hold anything: subclasses of ``str`` or ``dict`` whose ``__eq__``,
``__hash__``, ``__iter__`` or ``keys`` lie or raise, a ``__class__`` property, cycles, objects that
are no JSON value at all.  :func:`plain` reads it through the base classes' own methods only, so no
override ever runs, and marks what is not a JSON value with :data:`ALIEN` (where the engine then
decides: a type error in a known field, else not JSON).  Iterative, so depth costs no stack.
"""

from __future__ import annotations

import math
from typing import Any, Final

from luma_schema import media
from luma_schema.catalog import MAX_DEPTH

__all__ = ["ALIEN", "TooDeep", "depth_ok", "exact", "opaque_ok", "plain"]


class _Alien:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ALIEN"


ALIEN: Final = _Alien()  # stands in a plain copy for any value that is not a JSON value


class TooDeep(Exception):
    """The value nests arrays and objects deeper than ``MAX_DEPTH``: not accepted as JSON."""


_LEAVE: Final = object()
_SCALARS: Final = (str, bool, int, type(None))


def plain(value: Any, depth: int = 1) -> Any:
    """A copy of ``value`` made only of exact built-in types (``str``, ``int``, ``float``,
    ``bool``, ``None``, ``dict``, ``list``; a tuple becomes a list), read through the base classes'
    own methods.  A value that is not a JSON value (a set, NaN, a cycle, a dict with a non-string
    key or two keys of the same text, any other object) becomes :data:`ALIEN`; numbers keep their
    values.  Shared sub-values are copied once.  ``depth`` is the nesting level of ``value``
    itself (the request object is 1); raises :class:`TooDeep` past ``MAX_DEPTH``."""
    memo: dict[int, Any] = {}
    on_path: set[int] = set()
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, int]] = [(value, root, 0, depth)]
    while stack:
        node, parent, key, level = stack.pop()
        if parent is _LEAVE:
            on_path.discard(key)
            continue
        out = _scalar(node)
        if out is _CONTAINER:
            ident = id(node)
            if ident in on_path:
                out = ALIEN
            elif ident in memo:
                out = memo[ident]
            else:
                if level > MAX_DEPTH:
                    raise TooDeep
                out = _container(node, ident, level, memo, stack)
                if out is not ALIEN:
                    on_path.add(ident)
        parent[key] = out
    return root[0]


_CONTAINER: Final = object()


def _scalar(node: Any) -> Any:
    """The plain copy of a scalar, ``ALIEN``, or ``_CONTAINER`` for a dict, list or tuple."""
    kind = type(node)
    if node is None or kind is str or kind is bool or kind is int or kind is media.Blob:
        return node
    if kind is float:
        return node if math.isfinite(node) else ALIEN
    if issubclass(kind, (dict, list, tuple)):
        return _CONTAINER
    if issubclass(kind, str):
        return str.__str__(node)
    if issubclass(kind, int):
        return int.__int__(node)
    if issubclass(kind, float):
        copy = float.__float__(node)
        return copy if math.isfinite(copy) else ALIEN
    return ALIEN


def _container(
    node: Any, ident: int, level: int, memo: dict[int, Any], stack: list[tuple[Any, Any, Any, int]]
) -> Any:
    out: Any
    if isinstance(node, dict):
        items = list(dict.items(node))
        out = {}
        for k, _ in items:
            if not issubclass(type(k), str):
                return ALIEN
            out[str.__str__(k)] = None  # keys first: the copy keeps the payload's order
        if len(out) != len(items):
            return ALIEN  # two keys of the same text
        children: list[tuple[Any, Any]] = [(str.__str__(k), v) for k, v in items]
    else:
        items = list(list.__iter__(node) if isinstance(node, list) else tuple.__iter__(node))
        out = [None] * len(items)
        children = list(enumerate(items))
    memo[ident] = out
    stack.append((None, _LEAVE, ident, 0))
    stack.extend((child, out, k, level + 1) for k, child in children)
    return out


def has_alien(value: Any) -> bool:
    """Whether a plain copy holds ``ALIEN`` anywhere."""
    stack = [value]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if node is ALIEN:
            return True
        if type(node) is dict or type(node) is list:
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.extend(node.values() if type(node) is dict else node)
    return False


def opaque_ok(value: Any, depth: int) -> bool:
    """Whether ``value`` (at nesting ``depth``) is a JSON value within ``MAX_DEPTH``: what the
    full diagnosis would read of it without finding it not JSON.  Scalars cost a type test."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is float:
        return math.isfinite(value)
    if exact(value, depth):
        return True  # (the common case: no copy made)
    try:
        return not has_alien(plain(value, depth))
    except TooDeep:
        return False


def exact(value: Any, depth: int = 1) -> bool:
    """Whether ``value`` is made only of exact built-in JSON types (text keys, finite floats)
    nesting within ``MAX_DEPTH``: its plain copy would equal it, so it can be read as it is.
    A container met twice (shared, or a cycle) is left to :func:`plain`: not exact."""
    if not _exact_leaf(value):
        return False
    stack = [(value, depth)] if type(value) is dict or type(value) is list else []
    seen: set[int] = set()
    while stack:
        node, level = stack.pop()
        if level > MAX_DEPTH or id(node) in seen:
            return False
        seen.add(id(node))
        if type(node) is dict:
            for k in node:
                if type(k) is not str:
                    return False
            children: Any = node.values()
        else:
            children = node
        for child in children:
            kind = type(child)
            if kind is dict or kind is list:
                stack.append((child, level + 1))
            elif not (kind is str or kind is int or kind is bool or child is None) and (
                not _exact_leaf(child)
            ):
                return False
    return True


def _exact_leaf(value: Any) -> bool:
    """Whether a value that is no container is an exact JSON scalar (or a container: True)."""
    kind = type(value)
    if kind is float:
        return math.isfinite(value)
    return (
        kind is dict
        or kind is list
        or kind is str
        or kind is int
        or kind is bool
        or value is None
        or kind is media.Blob
    )


def depth_ok(value: Any, depth: int = 1) -> bool:
    """Whether parsed JSON (exact built-ins, no cycles) nests within ``MAX_DEPTH``."""
    stack = [(value, depth)]
    while stack:
        node, level = stack.pop()
        kind = type(node)
        if kind is dict or kind is list:
            if level > MAX_DEPTH:
                return False
            children = node.values() if kind is dict else node
            stack.extend((child, level + 1) for child in children if type(child) in (dict, list))
    return True
