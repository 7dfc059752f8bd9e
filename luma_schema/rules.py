"""Rule kinds: each constraint of the API is one immutable value of one of these classes.

A rule carries its stable id, its HTTP status and its message template.  ``check`` looks at the
already type-checked values of one request (or of one image) and returns ``None`` when the rule
holds, or the echo parameters of its message when it does not.  A rule never builds paths or
statuses itself: the engine adds them.  Every rule validates its own parameters when it is defined,
so a wrong catalogue fails at import.
"""

from __future__ import annotations

import enum
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from luma_schema import media

__all__ = [
    "MISSING",
    "Advice",
    "AllowedWith",
    "Base64",
    "EitherOf",
    "Expressible",
    "Fetched",
    "Field",
    "HttpStatus",
    "ImageMediaType",
    "ImageView",
    "JsonBody",
    "JsonType",
    "JsonTypes",
    "Length",
    "MaxBytes",
    "MaxItemsFor",
    "Member",
    "NotBoth",
    "OneOf",
    "OnlyFor",
    "PublicHttpsUrl",
    "Required",
    "RequiredFor",
    "RequiredWith",
    "Rule",
    "Scope",
    "View",
]


class _Missing:
    """The value of a field that is absent from the request (distinct from JSON null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class JsonType(enum.Enum):
    """A JSON type a field may hold; the value is the phrase row 2's message uses."""

    STRING = "a string"
    BOOLEAN = "a boolean"
    ARRAY = "an array"
    OBJECT = "an object"


class Scope(enum.Enum):
    """Where the engine applies a rule."""

    BODY = "body"  # the payload as a whole
    TYPES = "types"  # every field and image member, per the field table
    REQUEST = "request"  # the request's fields
    IMAGE = "image"  # each image: source, then image_ref[0], image_ref[1], ...
    FETCH = "fetch"  # each URL image, only when fetching


class Expressible(enum.Enum):
    """How faithfully JSON Schema can state a rule."""

    EXACT = "exact"
    APPROXIMATE = "approximate"
    NO = "not expressible"


class View(Protocol):
    """What a rule may read: type-checked values, absent ones as ``MISSING``."""

    def get(self, name: str) -> Any: ...


class ImageView(View, Protocol):
    """An image's members, and the base64 facts of one (computed once, shared by the rules)."""

    def base64(self, name: str) -> media.Base64Info: ...


_STATUSES = frozenset({400, 413, 422})


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


@dataclass(frozen=True, slots=True)
class Field:
    """One member of the request body (or of an image): its JSON type, nullability and default."""

    name: str
    type: JsonType
    nullable: bool = False
    default: Any = MISSING
    items: JsonType | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"field name {self.name!r} is not an identifier")
        if (self.items is None) != (self.type is not JsonType.ARRAY):
            raise ValueError(f"{self.name}: items is given exactly for arrays")
        if self.nullable and self.default is not MISSING and self.default is not None:
            raise ValueError(f"{self.name}: a nullable field defaults to null")

    def __repr__(self) -> str:
        null = "|null" if self.nullable else ""
        return f"Field({self.name}: {self.type.name.lower()}{null})"


Member = Field


@dataclass(frozen=True, slots=True, repr=False)
class Rule:
    """The common shape: a stable id, the HTTP status and the message template."""

    id: str
    status: int
    message: str

    scope: ClassVar[Scope] = Scope.REQUEST
    expressible: ClassVar[Expressible] = Expressible.EXACT
    # Names the message may use besides the rule's own parameters.
    echoes: ClassVar[frozenset[str]] = frozenset()

    def __post_init__(self) -> None:
        if not self.id or not self.id.replace("_", "").isalnum() or not self.id.islower():
            raise ValueError(f"rule id {self.id!r} must be lower_snake_case")
        if self.status not in _STATUSES:
            raise ValueError(f"{self.id}: status {self.status} is not one the API answers")
        allowed = set(self.params()) | self._echo_names()
        if self.scope in (Scope.IMAGE, Scope.FETCH, Scope.TYPES):
            allowed.add("path")
        unknown = _placeholders(self.message) - allowed
        if unknown:
            raise ValueError(f"{self.id}: message uses unknown placeholders {sorted(unknown)}")
        self._validate()

    def _validate(self) -> None:
        """Check the kind's own parameters; raises ValueError."""

    def _echo_names(self) -> set[str]:
        return set(self.echoes)

    @property
    def reads(self) -> tuple[str, ...]:
        """The fields (or image members) whose values the rule reads."""
        return ()

    @property
    def marks(self) -> str | None:
        """The field a failure makes invisible to later rules (``"image"``: the whole image)."""
        return None

    def params(self) -> dict[str, Any]:
        """The rule's own parameters, as its message template may use them."""
        return {}

    def render(self, path: str = "", **echo: Any) -> str:
        """The exact message for one violation: parameters first, then the documented echoes."""
        return self.message.format(path=path, **self.params(), **echo)

    def check(self, view: View) -> Mapping[str, Any] | None:
        """``None`` when the rule holds for ``view``, else the message's echo parameters."""
        raise NotImplementedError

    def _args(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id}{', ' if self._args() else ''}{self._args()})"


def _given(value: Any) -> bool:
    return value is not MISSING and value is not None


@dataclass(frozen=True, slots=True, repr=False)
class JsonBody(Rule):
    """The payload is one JSON object (a dict of JSON values, or its UTF-8 JSON text)."""

    scope: ClassVar[Scope] = Scope.BODY

    def check(self, view: View) -> Mapping[str, Any] | None:
        return None if isinstance(view.get(""), dict) else {}


@dataclass(frozen=True, slots=True, repr=False)
class JsonTypes(Rule):
    """Each field and image member holds its declared JSON type; null only where nullable."""

    scope: ClassVar[Scope] = Scope.TYPES
    echoes: ClassVar[frozenset[str]] = frozenset({"expected"})

    def check(self, view: View) -> Mapping[str, Any] | None:
        raise TypeError("JsonTypes is applied by the engine through the field table")


@dataclass(frozen=True, slots=True, repr=False)
class OneOf(Rule):
    """``field`` is one of ``values``; null or absent passes (defaults and nullability are the
    field table's business).  ``listing`` keeps a documented ``Valid:`` list verbatim; it must name
    exactly ``values``.  ``context`` names other fields the message quotes (with their defaults)."""

    field: str = ""
    values: tuple[str, ...] = ()
    listing: str | None = None
    context: tuple[str, ...] = ()

    echoes: ClassVar[frozenset[str]] = frozenset({"value"})

    def _validate(self) -> None:
        if not self.values or len(set(self.values)) != len(self.values):
            raise ValueError(f"{self.id}: values must be distinct and non-empty")
        if self.listing is not None and sorted(self.listing.split(", ")) != sorted(self.values):
            raise ValueError(f"{self.id}: the verbatim listing does not name exactly the values")

    def params(self) -> dict[str, Any]:
        valid = self.listing if self.listing is not None else ", ".join(sorted(self.values))
        return {"field": self.field, "valid": valid}

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.field, *self.context)

    @property
    def marks(self) -> str:
        return self.field

    def check(self, view: View) -> Mapping[str, Any] | None:
        value = view.get(self.field)
        if not _given(value) or value in self.values:
            return None
        return {"value": value, **{name: view.get(name) for name in self.context}}

    def _echo_names(self) -> set[str]:
        return {"value", *self.context}

    def _args(self) -> str:
        return f"{self.field} in {'|'.join(self.values)}"


@dataclass(frozen=True, slots=True, repr=False)
class Required(Rule):
    """``field`` is present (null counts as present: the field table rejects it)."""

    field: str = ""

    def params(self) -> dict[str, Any]:
        return {"field": self.field}

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.field,)

    @property
    def marks(self) -> str:
        return self.field

    def check(self, view: View) -> Mapping[str, Any] | None:
        return {} if view.get(self.field) is MISSING else None

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

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.field,)

    @property
    def marks(self) -> str:
        return self.field

    def check(self, view: View) -> Mapping[str, Any] | None:
        value = view.get(self.field)
        if not _given(value) or self.min <= len(value) <= self.max:
            return None
        return {}

    def _args(self) -> str:
        return f"{self.field}, {self.min}..{self.max}"


@dataclass(frozen=True, slots=True, repr=False)
class RequiredFor(Rule):
    """``field`` is given (present and not null) when ``key`` equals ``equals``."""

    field: str = ""
    key: str = ""
    equals: str = ""

    def params(self) -> dict[str, Any]:
        return {"field": self.field, "key": self.key, "equals": self.equals}

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.key, self.field)

    @property
    def marks(self) -> str:
        return self.field

    def check(self, view: View) -> Mapping[str, Any] | None:
        if view.get(self.key) == self.equals and not _given(view.get(self.field)):
            return {}
        return None

    def _args(self) -> str:
        return f"{self.field} if {self.key}={self.equals}"


@dataclass(frozen=True, slots=True, repr=False)
class OnlyFor(Rule):
    """``field`` may be given only when ``key`` equals ``equals`` (null counts as not given)."""

    field: str = ""
    key: str = ""
    equals: str = ""

    def params(self) -> dict[str, Any]:
        return {"field": self.field, "key": self.key, "equals": self.equals}

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.key, self.field)

    @property
    def marks(self) -> None:
        # A forbidden source is still an image: rows 15-22 check it too (SPEC section 3).
        return None

    def check(self, view: View) -> Mapping[str, Any] | None:
        if view.get(self.key) != self.equals and _given(view.get(self.field)):
            return {}
        return None

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

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.key, self.field)

    @property
    def marks(self) -> None:
        return None

    def check(self, view: View) -> Mapping[str, Any] | None:
        items = view.get(self.field)
        if view.get(self.key) == self.equals and _given(items) and len(items) > self.max:
            return {}
        return None

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

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.key, self.field, self.other)

    @property
    def marks(self) -> None:
        return None

    def check(self, view: View) -> Mapping[str, Any] | None:
        other = view.get(self.other)
        if (
            view.get(self.key) == self.key_equals
            and view.get(self.field) == self.equals
            and _given(other)
            and other not in self.allowed
        ):
            return {}
        return None

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

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.a, self.b)

    @property
    def marks(self) -> str:
        return "image"

    def check(self, view: View) -> Mapping[str, Any] | None:
        return {} if _given(view.get(self.a)) and _given(view.get(self.b)) else None

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

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.a, self.b)

    @property
    def marks(self) -> str:
        return "image"

    def check(self, view: View) -> Mapping[str, Any] | None:
        return None if _given(view.get(self.a)) or _given(view.get(self.b)) else {}

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

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.member, self.with_)

    @property
    def marks(self) -> str:
        return "image"

    def check(self, view: View) -> Mapping[str, Any] | None:
        if _given(view.get(self.with_)) and not _given(view.get(self.member)):
            return {}
        return None

    def _args(self) -> str:
        return f"{self.member} with {self.with_}"


@dataclass(frozen=True, slots=True, repr=False)
class Base64(Rule):
    """``member`` is canonical standard base64 (SPEC section 1) of at least one byte."""

    member: str = ""
    scope: ClassVar[Scope] = Scope.IMAGE
    expressible: ClassVar[Expressible] = Expressible.EXACT

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.member,)

    @property
    def marks(self) -> str:
        return self.member

    def check(self, view: ImageView) -> Mapping[str, Any] | None:  # type: ignore[override]
        if not _given(view.get(self.member)):
            return None
        return None if view.base64(self.member).valid else {}

    def _args(self) -> str:
        return self.member


@dataclass(frozen=True, slots=True, repr=False)
class MaxBytes(Rule):
    """An image holds at most ``max`` bytes: decoded ``member`` data, or a fetched body.  The
    message states the cap in MB (MiB, as the docs count), so ``max`` is a whole number of MiB."""

    member: str = ""
    max: int = 0
    scope: ClassVar[Scope] = Scope.IMAGE
    expressible: ClassVar[Expressible] = Expressible.EXACT

    def _validate(self) -> None:
        if self.max <= 0 or self.max % (1 << 20):
            raise ValueError(f"{self.id}: max must be a positive whole number of MiB")

    def params(self) -> dict[str, Any]:
        return {"member": self.member, "max": self.max, "max_mb": self.max >> 20}

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.member,)

    @property
    def marks(self) -> str:
        return self.member

    def check(self, view: ImageView) -> Mapping[str, Any] | None:  # type: ignore[override]
        if not _given(view.get(self.member)):
            return None
        return {} if view.base64(self.member).size > self.max else None

    def _args(self) -> str:
        return f"{self.member} <= {self.max} bytes"


@dataclass(frozen=True, slots=True, repr=False)
class ImageMediaType(Rule):
    """A given ``member`` is an image media type: ``image/<subtype>[;params]`` (SPEC section 1)."""

    member: str = ""
    scope: ClassVar[Scope] = Scope.IMAGE

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.member,)

    @property
    def marks(self) -> str:
        return self.member

    def check(self, view: View) -> Mapping[str, Any] | None:
        value = view.get(self.member)
        if not _given(value) or media.is_image_media_type(value):
            return None
        return {}

    def _args(self) -> str:
        return self.member


@dataclass(frozen=True, slots=True, repr=False)
class PublicHttpsUrl(Rule):
    """A given ``member`` is an https URL whose host is public by the static checks of SPEC
    section 1 (no network: reachability is the fetch rules' business)."""

    member: str = ""
    scope: ClassVar[Scope] = Scope.IMAGE
    expressible: ClassVar[Expressible] = Expressible.APPROXIMATE

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.member,)

    @property
    def marks(self) -> str:
        return self.member

    def check(self, view: View) -> Mapping[str, Any] | None:
        value = view.get(self.member)
        if not _given(value) or media.url_problem(value) is None:
            return None
        return {}

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

    def check(self, view: View) -> Mapping[str, Any] | None:
        raise TypeError(f"{self.id} needs the network: luma_schema.fetch applies it")

    def _args(self) -> str:
        return f"{self.member}, {self.timeout:g}s, {self.max_redirects} redirects"


@dataclass(frozen=True, slots=True, repr=False)
class HttpStatus(Rule):
    """The URL in ``member`` answers a status below ``min_error``."""

    member: str = ""
    min_error: int = 400
    scope: ClassVar[Scope] = Scope.FETCH
    expressible: ClassVar[Expressible] = Expressible.NO
    echoes: ClassVar[frozenset[str]] = frozenset({"code"})

    def params(self) -> dict[str, Any]:
        return {"member": self.member, "min_error": self.min_error}

    def check(self, view: View) -> Mapping[str, Any] | None:
        raise TypeError(f"{self.id} needs the network: luma_schema.fetch applies it")

    def _args(self) -> str:
        return f"{self.member} < {self.min_error}"


@dataclass(frozen=True, slots=True)
class Advice:
    """A warning (SPEC section 5): never changes the verdict; its text is this library's own and
    quotes no submitted value (``{near}`` is a known field name, ``{found}``/``{named}`` are
    format names from a fixed list)."""

    id: str
    message: str

    def __post_init__(self) -> None:
        allowed = {"path", "near", "found", "named", "limit_mb", "key", "equals"}
        unknown = _placeholders(self.message) - allowed
        if unknown:
            raise ValueError(f"{self.id}: message uses unknown placeholders {sorted(unknown)}")

    def render(self, path: str, **params: Any) -> str:
        return self.message.format(path=path, **params)
