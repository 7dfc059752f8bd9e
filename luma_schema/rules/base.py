"""The common shape of rules: JSON types, scopes, conditions (``Test``), the field table's
``Field``, ``Rule`` itself, the structural rules and ``Advice`` (warnings)."""

from __future__ import annotations

import enum
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from luma_schema.expr import (
    MISSING,
    All,
    Call,
    Expr,
    Given,
    In,
    Member,
    Not,
    Position,
    Value,
    implies,
    reads,
)


class JsonType(enum.Enum):
    """A JSON type a field may hold; the value is the phrase the wrong-type message uses."""

    STRING = "a string"
    BOOLEAN = "a boolean"
    INTEGER = "an integer"
    NUMBER = "a number"
    ARRAY = "an array"
    OBJECT = "an object"


class Scope(enum.Enum):
    """Where the engine applies a rule."""

    BODY = "body"  # the payload as a whole
    TYPES = "types"  # every field and member, per the field table
    REQUEST = "request"  # the request's fields
    IMAGE = "image"  # each media reference: source, then image_ref[0], image_ref[1], ...
    FETCH = "fetch"  # each URL reference, only when fetching


class Expressible(enum.Enum):
    """How faithfully JSON Schema can state a rule."""

    EXACT = "exact"
    APPROXIMATE = "approximate"
    NO = "not expressible"


_STATUSES = frozenset({400, 413, 422})


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


@dataclass(frozen=True, slots=True)
class Test:
    """A condition on one value: ``path`` a request field (read as it stands: an invalid value is
    simply not one of ``values``), ``"@"`` the position of the reference being checked, or
    ``".member"`` one of its members; given (``values`` empty) or one of ``values``, of
    ``function`` of it when named (a function of :data:`luma_schema.expr.FUNCTIONS`);
    ``negated`` inverts it."""

    path: str
    values: tuple[Any, ...] = ()
    negated: bool = False
    function: str | None = None

    def expr(self, checked: bool = False) -> Expr:
        subject: Expr
        if self.path == "@":
            subject = Position()
        elif self.path.startswith("."):
            subject = Member(self.path[1:])
        else:
            subject = Value(self.path, checked=checked)
        test: Expr
        if self.function is not None:
            called = Call(self.function, subject)
            test = All(Given(subject), In(called, frozenset(self.values)) if self.values else Given(called))
        elif self.values:
            test = In(subject, frozenset(self.values))
        else:
            test = Given(subject)
        return Not(test) if self.negated else test

    def __repr__(self) -> str:
        what = f"{self.function}({self.path})" if self.function else self.path
        said = f" in {'|'.join(map(str, self.values))}" if self.values else " given"
        return f"{'not ' if self.negated else ''}{what}{said}"


@dataclass(frozen=True, slots=True)
class Field:
    """One member of the request body (or of an object in it): its JSON type, nullability and
    default.  An array names its items' type; an object its ``members`` (``None``: any members);
    ``reference``: the object (or each array item) is a media reference, which the rules of
    scope ``IMAGE`` check at its position."""

    name: str
    type: JsonType
    nullable: bool = False
    default: Any = MISSING
    items: JsonType | None = None
    members: tuple[Field, ...] | None = None
    reference: bool = False
    # In the normalised request: always (defaults filled), or only when given (``shown=False``).
    shown: bool = True
    # Where the field is meaningful (a test on the request); elsewhere it is ignored: left out
    # of the normalised request, and its media references get their JSON types checked only.
    applies: Test | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"field name {self.name!r} is not an identifier")
        if (self.items is None) != (self.type is not JsonType.ARRAY):
            raise ValueError(f"{self.name}: items is given exactly for arrays")
        holds_objects = JsonType.OBJECT in (self.type, self.items)
        if self.members is not None and not holds_objects:
            raise ValueError(f"{self.name}: only objects have members")
        if self.reference and self.members is None:
            raise ValueError(f"{self.name}: a media reference names its members")
        if self.nullable and self.default is not MISSING and self.default is not None:
            raise ValueError(f"{self.name}: a nullable field defaults to null")
        if self.members is not None:
            names = [m.name for m in self.members]
            if len(set(names)) != len(names):
                raise ValueError(f"{self.name}: member names must be unique")

    def __repr__(self) -> str:
        null = "|null" if self.nullable else ""
        return f"Field({self.name}: {self.type.name.lower()}{null})"


@dataclass(frozen=True, slots=True, repr=False)
class Rule:
    """The common shape: a stable id, the HTTP status and the message template; ``when`` and
    ``unless`` say where the rule applies (every ``when`` test holds, not every ``unless``
    test does)."""

    id: str
    status: int
    message: str
    when: tuple[Test, ...] = ()
    unless: tuple[Test, ...] = ()

    scope: ClassVar[Scope] = Scope.REQUEST
    expressible: ClassVar[Expressible] = Expressible.EXACT
    # Names the message may use besides the rule's own parameters and its echoes.
    extra_names: ClassVar[frozenset[str]] = frozenset()

    def __post_init__(self) -> None:
        if not self.id or not self.id.replace("_", "").isalnum() or not self.id.islower():
            raise ValueError(f"rule id {self.id!r} must be lower_snake_case")
        if self.status not in _STATUSES:
            raise ValueError(f"{self.id}: status {self.status} is not one the API answers")
        self._validate()
        allowed = set(self.params()) | set(self.echo()) | set(self.extra_names)
        if self.scope in (Scope.IMAGE, Scope.FETCH, Scope.TYPES):
            allowed.add("path")
        unknown = _placeholders(self.message) - allowed
        if unknown:
            raise ValueError(f"{self.id}: message uses unknown placeholders {sorted(unknown)}")
        if "{{" in self.message or "}}" in self.message:
            raise ValueError(f"{self.id}: literal braces in a message are not supported")

    def _validate(self) -> None:
        """Check the kind's own parameters; raises ValueError."""

    def requirement(self) -> Expr:
        """What the kind requires, where the rule applies."""
        raise TypeError(f"{type(self).__name__} is applied by the engine, not by a predicate")

    def predicate(self) -> Expr:
        """What the rule requires: holds exactly when the request obeys it (its kind's
        requirement wherever every ``when`` test holds and not every ``unless`` test does)."""
        own = self.requirement()
        conditions = [t.expr() for t in self.when]
        if self.unless:
            conditions.append(Not(All(*(t.expr() for t in self.unless))))
        return implies(All(*conditions), own) if conditions else own

    def echo(self) -> Mapping[str, Expr]:
        """The submitted values the message quotes, by placeholder name."""
        return {}

    @property
    def path(self) -> str:
        """The path a violation of a request rule concerns (image rules: the image's path)."""
        return ""

    @property
    def reads(self) -> tuple[str, ...]:
        """The fields (or image members) the predicate and the message read, sorted."""
        try:
            values, members = reads(self.predicate(), *self.echo().values())
        except TypeError:
            return ()
        return tuple(sorted(members if self.scope is Scope.IMAGE else values))

    @property
    def marks(self) -> str | None:
        """The value a failure makes invisible to later rules (``"image"``: the whole image)."""
        return None

    def params(self) -> dict[str, Any]:
        """The rule's own parameters, as its message template may use them."""
        return {}

    def render(self, path: str = "", **echo: Any) -> str:
        """The exact message for one violation: parameters first, then the documented echoes."""
        return self.message.format(path=path, **self.params(), **echo)

    def _args(self) -> str:
        return ""

    def __repr__(self) -> str:
        args = self._args()
        if self.when:
            args += f" when {', '.join(map(repr, self.when))}"
        if self.unless:
            args += f" unless {', '.join(map(repr, self.unless))}"
        return f"{type(self).__name__}({self.id}{', ' if args else ''}{args.strip()})"


def _field(name: str) -> Expr:
    return Value(name)


# ---------------------------------------------------------------- structural rules


@dataclass(frozen=True, slots=True, repr=False)
class JsonBody(Rule):
    """The payload is one JSON object (a dict of JSON values, or its UTF-8 JSON text)."""

    scope: ClassVar[Scope] = Scope.BODY


@dataclass(frozen=True, slots=True, repr=False)
class JsonTypes(Rule):
    """Each field and member holds its declared JSON type; null only where nullable."""

    scope: ClassVar[Scope] = Scope.TYPES
    extra_names: ClassVar[frozenset[str]] = frozenset({"expected"})


# ---------------------------------------------------------------- warnings


@dataclass(frozen=True, slots=True)
class Advice:
    """A warning: never changes the verdict.  Its text is this library's own and quotes no
    submitted value (``{near}`` is a known field name, ``{found}``/``{named}`` are format names
    from a fixed list).  ``when`` (a predicate over the request, or over one image for scope
    ``IMAGE``) says when it is given; ``at`` names the field (or image member) it concerns;
    ``params`` are the values its message quotes.  Advice without ``when`` is given by the engine
    itself (unknown names) or by the fetcher and the SDK guard."""

    id: str
    message: str
    scope: Scope = Scope.REQUEST
    when: Expr | None = None
    at: str = ""
    params: tuple[tuple[str, Expr], ...] = ()

    _NAMES: ClassVar[frozenset[str]] = frozenset(
        {"path", "near", "found", "named", "limit_mb", "key", "equals"}
    )

    def __post_init__(self) -> None:
        unknown = _placeholders(self.message) - self._NAMES
        if unknown:
            raise ValueError(f"{self.id}: message uses unknown placeholders {sorted(unknown)}")
        if self.scope not in (Scope.REQUEST, Scope.IMAGE):
            raise ValueError(f"{self.id}: advice is about the request or one image")
        if self.when is not None and self.scope is Scope.REQUEST and not self.at:
            raise ValueError(f"{self.id}: request advice names the field it concerns")

    def render(self, path: str, **params: Any) -> str:
        return self.message.format(path=path, **params)
