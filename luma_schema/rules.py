"""Rule kinds: each constraint of the API is one immutable value of one of these classes.

A rule carries its stable id, its HTTP status and its message template, and states what it
requires once, as a predicate (:mod:`luma_schema.expr`) over the request's type-checked values:
``predicate()`` holds exactly when the request obeys the rule.  ``echo()`` names the values its
message quotes.  A rule never builds paths or statuses itself: the engine adds them.  Every rule
validates its own parameters when it is defined, so a wrong catalogue fails at import.
"""

from __future__ import annotations

import enum
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from luma_schema.expr import (
    MISSING,
    All,
    Any_,
    Attr,
    Call,
    Compare,
    Const,
    Equals,
    Expr,
    Given,
    In,
    Len,
    Member,
    Not,
    Present,
    Value,
    implies,
    reads,
)

__all__ = [
    "MISSING",
    "Advice",
    "AllowedWith",
    "Base64",
    "Catalogue",
    "EitherOf",
    "Expressible",
    "Fetched",
    "Field",
    "HttpStatus",
    "ImageMediaType",
    "JsonBody",
    "JsonType",
    "JsonTypes",
    "Length",
    "MaxBytes",
    "MaxItemsFor",
    "NotBoth",
    "OneOf",
    "OnlyFor",
    "PublicHttpsUrl",
    "Range",
    "Required",
    "RequiredFor",
    "RequiredWith",
    "Rule",
    "Scope",
    "decoded",
]


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
    """The common shape: a stable id, the HTTP status and the message template."""

    id: str
    status: int
    message: str

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

    def predicate(self) -> Expr:
        """What the rule requires: holds exactly when the request obeys it."""
        raise TypeError(f"{type(self).__name__} is applied by the engine, not by a predicate")

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
        return f"{type(self).__name__}({self.id}{', ' if self._args() else ''}{self._args()})"


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


# ---------------------------------------------------------------- request rules


@dataclass(frozen=True, slots=True, repr=False)
class OneOf(Rule):
    """``field`` is one of ``values``; null or absent passes (defaults and nullability are the
    field table's business).  ``listing`` keeps a documented ``Valid:`` list verbatim; it must name
    exactly ``values``.  ``context`` names other fields the message quotes (with their defaults)."""

    field: str = ""
    values: tuple[str, ...] = ()
    listing: str | None = None
    context: tuple[str, ...] = ()

    def _validate(self) -> None:
        if not self.values or len(set(self.values)) != len(self.values):
            raise ValueError(f"{self.id}: values must be distinct and non-empty")
        if self.listing is not None and sorted(self.listing.split(", ")) != sorted(self.values):
            raise ValueError(f"{self.id}: the verbatim listing does not name exactly the values")

    def params(self) -> dict[str, Any]:
        valid = self.listing if self.listing is not None else ", ".join(sorted(self.values))
        return {"field": self.field, "valid": valid}

    def predicate(self) -> Expr:
        value = _field(self.field)
        return implies(Given(value), In(value, frozenset(self.values)))

    def echo(self) -> Mapping[str, Expr]:
        return {"value": _field(self.field), **{name: _field(name) for name in self.context}}

    @property
    def path(self) -> str:
        return self.field

    @property
    def marks(self) -> str:
        return self.field

    def _args(self) -> str:
        return f"{self.field} in {'|'.join(self.values)}"


@dataclass(frozen=True, slots=True, repr=False)
class Required(Rule):
    """``field`` is present (null counts as present: the field table rejects it)."""

    field: str = ""

    def params(self) -> dict[str, Any]:
        return {"field": self.field}

    def predicate(self) -> Expr:
        return Present(_field(self.field))

    @property
    def path(self) -> str:
        return self.field

    @property
    def marks(self) -> str:
        return self.field

    def _args(self) -> str:
        return self.field


@dataclass(frozen=True, slots=True, repr=False)
class Length(Rule):
    """``field`` holds ``min``..``max`` characters, counted in Unicode code points."""

    field: str = ""
    min: int = 0
    max: int = 0

    def _validate(self) -> None:
        if not 0 <= self.min <= self.max:
            raise ValueError(f"{self.id}: need 0 <= min <= max, got {self.min}..{self.max}")

    def params(self) -> dict[str, Any]:
        return {"field": self.field, "min": self.min, "max": self.max}

    def predicate(self) -> Expr:
        value = _field(self.field)
        bounds: list[Expr] = [Compare(Len(value), "<=", self.max)]
        if self.min:
            bounds.insert(0, Compare(Len(value), ">=", self.min))
        return implies(Given(value), All(*bounds))

    @property
    def path(self) -> str:
        return self.field

    @property
    def marks(self) -> str:
        return self.field

    def _args(self) -> str:
        return f"{self.field}, {self.min}..{self.max}"


@dataclass(frozen=True, slots=True, repr=False)
class Range(Rule):
    """The number ``field`` lies in ``min``..``max`` (either bound may be ``None``: unbounded)."""

    field: str = ""
    min: int | float | None = None
    max: int | float | None = None

    def _validate(self) -> None:
        if self.min is None and self.max is None:
            raise ValueError(f"{self.id}: a range needs a bound")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"{self.id}: need min <= max, got {self.min}..{self.max}")

    def params(self) -> dict[str, Any]:
        return {"field": self.field, "min": self.min, "max": self.max}

    def predicate(self) -> Expr:
        value = _field(self.field)
        bounds: list[Expr] = []
        if self.min is not None:
            bounds.append(Compare(value, ">=", self.min))
        if self.max is not None:
            bounds.append(Compare(value, "<=", self.max))
        return implies(Given(value), All(*bounds))

    @property
    def path(self) -> str:
        return self.field

    @property
    def marks(self) -> str:
        return self.field

    def _args(self) -> str:
        low = "" if self.min is None else self.min
        high = "" if self.max is None else self.max
        return f"{self.field}, {low}..{high}"


@dataclass(frozen=True, slots=True, repr=False)
class RequiredFor(Rule):
    """``field`` is given (present and not null) when ``key`` equals ``equals``."""

    field: str = ""
    key: str = ""
    equals: str = ""

    def params(self) -> dict[str, Any]:
        return {"field": self.field, "key": self.key, "equals": self.equals}

    def predicate(self) -> Expr:
        return implies(Equals(_field(self.key), self.equals), Given(_field(self.field)))

    @property
    def path(self) -> str:
        return self.field

    @property
    def marks(self) -> str:
        return self.field

    def _args(self) -> str:
        return f"{self.field} if {self.key}={self.equals}"


@dataclass(frozen=True, slots=True, repr=False)
class OnlyFor(Rule):
    """``field`` may be given only when ``key`` equals ``equals`` (null counts as not given).
    A forbidden image is still an image: the image rules check it too."""

    field: str = ""
    key: str = ""
    equals: str = ""

    def params(self) -> dict[str, Any]:
        return {"field": self.field, "key": self.key, "equals": self.equals}

    def predicate(self) -> Expr:
        return implies(Not(Equals(_field(self.key), self.equals)), Not(Given(_field(self.field))))

    @property
    def path(self) -> str:
        return self.field

    def _args(self) -> str:
        return f"{self.field} only if {self.key}={self.equals}"


@dataclass(frozen=True, slots=True, repr=False)
class MaxItemsFor(Rule):
    """The array ``field`` holds at most ``max`` items when ``key`` equals ``equals``."""

    field: str = ""
    max: int = 0
    key: str = ""
    equals: str = ""

    def _validate(self) -> None:
        if self.max < 0:
            raise ValueError(f"{self.id}: max must be >= 0")

    def params(self) -> dict[str, Any]:
        return {"field": self.field, "max": self.max, "key": self.key, "equals": self.equals}

    def predicate(self) -> Expr:
        items = _field(self.field)
        return implies(
            All(Equals(_field(self.key), self.equals), Given(items)),
            Compare(Len(items), "<=", self.max),
        )

    @property
    def path(self) -> str:
        return self.field

    def _args(self) -> str:
        return f"{self.field} <= {self.max} if {self.key}={self.equals}"


@dataclass(frozen=True, slots=True, repr=False)
class AllowedWith(Rule):
    """When ``key`` equals ``key_equals`` and ``field`` equals ``equals``, a given ``other``
    must be one of ``allowed`` (null leaves the choice to the model, which picks an allowed one)."""

    field: str = ""
    equals: str = ""
    other: str = ""
    allowed: tuple[str, ...] = ()
    key: str = ""
    key_equals: str = ""

    def _validate(self) -> None:
        if not self.allowed:
            raise ValueError(f"{self.id}: allowed must not be empty")

    def params(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "equals": self.equals,
            "other": self.other,
            "allowed": ", ".join(self.allowed),
            "key": self.key,
            "key_equals": self.key_equals,
        }

    def predicate(self) -> Expr:
        other = _field(self.other)
        return implies(
            All(
                Equals(_field(self.key), self.key_equals),
                Equals(_field(self.field), self.equals),
                Given(other),
            ),
            In(other, frozenset(self.allowed)),
        )

    @property
    def path(self) -> str:
        return self.field

    def _args(self) -> str:
        return f"{self.field}={self.equals} needs {self.other} in {'|'.join(self.allowed)}"


# ---------------------------------------------------------------- image rules


@dataclass(frozen=True, slots=True, repr=False)
class NotBoth(Rule):
    """An image gives at most one of ``a`` and ``b``."""

    a: str = ""
    b: str = ""
    scope: ClassVar[Scope] = Scope.IMAGE

    def params(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b}

    def predicate(self) -> Expr:
        return Not(All(Given(Member(self.a)), Given(Member(self.b))))

    @property
    def marks(self) -> str:
        return "image"

    def _args(self) -> str:
        return f"{self.a}, {self.b}"


@dataclass(frozen=True, slots=True, repr=False)
class EitherOf(Rule):
    """An image gives at least one of ``a`` and ``b``."""

    a: str = ""
    b: str = ""
    scope: ClassVar[Scope] = Scope.IMAGE

    def params(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b}

    def predicate(self) -> Expr:
        return Any_(Given(Member(self.a)), Given(Member(self.b)))

    @property
    def marks(self) -> str:
        return "image"

    def _args(self) -> str:
        return f"{self.a} | {self.b}"


@dataclass(frozen=True, slots=True, repr=False)
class RequiredWith(Rule):
    """An image that gives ``with_`` gives ``member`` too."""

    member: str = ""
    with_: str = ""
    scope: ClassVar[Scope] = Scope.IMAGE

    def params(self) -> dict[str, Any]:
        return {"member": self.member, "with_": self.with_}

    def predicate(self) -> Expr:
        return implies(Given(Member(self.with_)), Given(Member(self.member)))

    @property
    def marks(self) -> str:
        return "image"

    def _args(self) -> str:
        return f"{self.member} with {self.with_}"


def decoded(member: str) -> Call:
    """The base64 facts of ``member`` (one decoding, shared by every rule and warning)."""
    return Call("base64", Member(member))


@dataclass(frozen=True, slots=True, repr=False)
class Base64(Rule):
    """``member`` is canonical standard base64 of at least one byte: only ``A-Z a-z 0-9 + /``,
    then at most two ``=`` at the very end, a length that is a multiple of 4."""

    member: str = ""
    scope: ClassVar[Scope] = Scope.IMAGE

    def predicate(self) -> Expr:
        return implies(Given(Member(self.member)), Attr(decoded(self.member), "valid"))

    def _args(self) -> str:
        return self.member


@dataclass(frozen=True, slots=True, repr=False)
class MaxBytes(Rule):
    """An image holds at most ``max`` bytes: decoded ``member`` data (valid base64 only: the size
    is measured on decoded bytes), or a fetched body.  The message states the cap in MB (MiB, as
    the docs count), so ``max`` is a whole number of MiB."""

    member: str = ""
    max: int = 0
    scope: ClassVar[Scope] = Scope.IMAGE

    def _validate(self) -> None:
        if self.max <= 0 or self.max % (1 << 20):
            raise ValueError(f"{self.id}: max must be a positive whole number of MiB")

    def params(self) -> dict[str, Any]:
        return {"member": self.member, "max": self.max, "max_mb": self.max >> 20}

    def predicate(self) -> Expr:
        facts = decoded(self.member)
        return implies(
            All(Given(Member(self.member)), Attr(facts, "valid")),
            Compare(Attr(facts, "size"), "<=", self.max),
        )

    def _args(self) -> str:
        return f"{self.member} <= {self.max} bytes"


@dataclass(frozen=True, slots=True, repr=False)
class ImageMediaType(Rule):
    """A given ``member`` is an image media type: ``image/<subtype>[;params]``."""

    member: str = ""
    scope: ClassVar[Scope] = Scope.IMAGE

    def predicate(self) -> Expr:
        value = Member(self.member)
        return implies(Given(value), Call("image_media_type", value))

    def _args(self) -> str:
        return self.member


@dataclass(frozen=True, slots=True, repr=False)
class PublicHttpsUrl(Rule):
    """A given ``member`` is an https URL whose host is public by the static checks (no network:
    reachability is the fetch rules' business)."""

    member: str = ""
    scope: ClassVar[Scope] = Scope.IMAGE
    expressible: ClassVar[Expressible] = Expressible.APPROXIMATE

    def predicate(self) -> Expr:
        value = Member(self.member)
        return implies(Given(value), Equals(Call("url_problem", value), None))

    def _args(self) -> str:
        return self.member


# ---------------------------------------------------------------- fetch rules (network)


@dataclass(frozen=True, slots=True, repr=False)
class Fetched(Rule):
    """The URL in ``member`` can be fetched: resolved to public addresses, connected, TLS
    verified, answered within ``timeout`` seconds after at most ``max_redirects`` https redirects."""

    member: str = ""
    timeout: float = 0.0
    max_redirects: int = 0
    scope: ClassVar[Scope] = Scope.FETCH
    expressible: ClassVar[Expressible] = Expressible.NO

    def _validate(self) -> None:
        if self.timeout <= 0 or self.max_redirects < 0:
            raise ValueError(f"{self.id}: timeout must be > 0 and max_redirects >= 0")

    def params(self) -> dict[str, Any]:
        return {"member": self.member, "timeout": self.timeout, "max_redirects": self.max_redirects}

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.member,)

    def _args(self) -> str:
        return f"{self.member}, {self.timeout:g}s, {self.max_redirects} redirects"


@dataclass(frozen=True, slots=True, repr=False)
class HttpStatus(Rule):
    """The URL in ``member`` answers a status below ``min_error``."""

    member: str = ""
    min_error: int = 400
    scope: ClassVar[Scope] = Scope.FETCH
    expressible: ClassVar[Expressible] = Expressible.NO
    extra_names: ClassVar[frozenset[str]] = frozenset({"code"})

    def params(self) -> dict[str, Any]:
        return {"member": self.member, "min_error": self.min_error}

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.member,)

    def _args(self) -> str:
        return f"{self.member} < {self.min_error}"


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


def constant(value: Any) -> Expr:
    """A constant a message quotes (an advice parameter)."""
    return Const(value)


# ---------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class Catalogue:
    """An API contract: the field table, the rules in precedence order, and the warnings.  The
    engine, the exporters and the strategies are functions of one; it checks itself when made
    (unique ids, every name a rule reads in the field table, one member table for all media
    references)."""

    fields: tuple[Field, ...]
    rules: tuple[Rule, ...]
    advice: tuple[Advice, ...] = ()
    library_messages: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        ids = [r.id for r in self.rules]
        if len(set(ids)) != len(ids):
            raise ValueError("rule ids must be unique")
        if not set(ids) >= self.library_messages:
            raise ValueError("library_messages names unknown rules")
        for scope in (Scope.BODY, Scope.TYPES):
            if sum(r.scope is scope for r in self.rules) != 1:
                raise ValueError(f"a catalogue has exactly one rule of scope {scope.name}")
        tables = {f.members for f in self.references}
        if len(tables) > 1:
            raise ValueError("every media reference must have the same members")
        paths = set(self.paths)
        members = {m.name for m in self.reference_members}
        for r in self.rules:
            if r.scope in (Scope.BODY, Scope.TYPES):
                continue
            known = members if r.scope in (Scope.IMAGE, Scope.FETCH) else paths
            unknown = set(r.reads) - known
            if unknown:
                raise ValueError(f"{r.id} reads unknown fields {sorted(unknown)}")
        for a in self.advice:
            if a.when is None:
                continue
            values, read_members = reads(a.when, *(e for _, e in a.params))
            if a.scope is Scope.IMAGE and (values or not read_members <= members):
                raise ValueError(f"{a.id}: image advice reads the image's members only")
            if a.scope is Scope.REQUEST and (read_members or not values <= paths):
                raise ValueError(f"{a.id} reads unknown fields {sorted(values - paths)}")

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id (KeyError for an unknown id)."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def advice_by_id(self, advice_id: str) -> Advice:
        """The warning with this id (KeyError for an unknown id)."""
        for a in self.advice:
            if a.id == advice_id:
                return a
        raise KeyError(advice_id)

    @property
    def paths(self) -> dict[str, Field]:
        """Every field by its dotted path (``video.duration``), objects' members included."""
        out: dict[str, Field] = {}

        def add(prefix: str, table: tuple[Field, ...]) -> None:
            for f in table:
                out[prefix + f.name] = f
                if f.members is not None and not f.reference and f.type is JsonType.OBJECT:
                    add(f"{prefix}{f.name}.", f.members)

        add("", self.fields)
        return out

    @property
    def references(self) -> tuple[Field, ...]:
        """The fields that are media references (or arrays of them), in table order."""
        return tuple(f for f in self.paths.values() if f.reference)

    @property
    def reference_members(self) -> tuple[Field, ...]:
        """The members of a media reference."""
        refs = self.references
        return refs[0].members or () if refs else ()

    def extended(
        self,
        fields: tuple[Field, ...] = (),
        rules: tuple[Rule, ...] = (),
        advice: tuple[Advice, ...] = (),
        library_messages: frozenset[str] = frozenset(),
    ) -> Catalogue:
        """This catalogue with more fields, rules (placed just before the first rule of scope
        IMAGE, as request rules) and warnings."""
        at = next(
            (i for i, r in enumerate(self.rules) if r.scope is Scope.IMAGE), len(self.rules)
        )
        ordered = self.rules[:at] + rules + self.rules[at:]
        return Catalogue(
            self.fields + fields,
            ordered,
            self.advice + advice,
            self.library_messages | library_messages,
        )
