"""Rule kinds that read one media reference at a time (scope ``IMAGE``), and the fetch rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from luma_schema.expr import (
    All,
    Any_,
    Attr,
    Call,
    Compare,
    Equals,
    Expr,
    Given,
    In,
    Member,
    Not,
    implies,
)
from luma_schema.rules.base import Expressible, Rule, Scope

# ---------------------------------------------------------------- image rules


@dataclass(frozen=True, slots=True, repr=False)
class NotBoth(Rule):
    """An image gives at most one of ``a`` and ``b``."""

    a: str = ""
    b: str = ""
    scope: ClassVar[Scope] = Scope.IMAGE

    def params(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b}

    def requirement(self) -> Expr:
        return Not(All(Given(Member(self.a)), Given(Member(self.b))))

    @property
    def marks(self) -> str:
        return "image"

    def _args(self) -> str:
        return f"{self.a}, {self.b}"


@dataclass(frozen=True, slots=True, repr=False)
class EitherOf(Rule):
    """An image gives at least one of ``a``, ``b`` and ``others`` (the message names ``a`` and
    ``b``, the documented pair)."""

    a: str = ""
    b: str = ""
    others: tuple[str, ...] = ()
    scope: ClassVar[Scope] = Scope.IMAGE

    def params(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b}

    def requirement(self) -> Expr:
        return Any_(*(Given(Member(m)) for m in (self.a, self.b, *self.others)))

    @property
    def marks(self) -> str:
        return "image"

    def _args(self) -> str:
        return " | ".join((self.a, self.b, *self.others))


@dataclass(frozen=True, slots=True, repr=False)
class RequiredWith(Rule):
    """An image that gives ``with_`` gives ``member`` too."""

    member: str = ""
    with_: str = ""
    scope: ClassVar[Scope] = Scope.IMAGE

    def params(self) -> dict[str, Any]:
        return {"member": self.member, "with_": self.with_}

    def requirement(self) -> Expr:
        return implies(Given(Member(self.with_)), Given(Member(self.member)))

    @property
    def marks(self) -> str:
        return "image"

    def _args(self) -> str:
        return f"{self.member} with {self.with_}"


@dataclass(frozen=True, slots=True, repr=False)
class Alone(Rule):
    """An image that gives one of ``keys`` gives no other of ``among``."""

    keys: tuple[str, ...] = ()
    among: tuple[str, ...] = ()
    scope: ClassVar[Scope] = Scope.IMAGE

    def _validate(self) -> None:
        if not self.keys or not set(self.keys) <= set(self.among):
            raise ValueError(f"{self.id}: keys must be some of among")

    def params(self) -> dict[str, Any]:
        return {"keys": self.keys, "among": self.among}

    def requirement(self) -> Expr:
        return All(
            *(
                implies(
                    Given(Member(k)), Not(Any_(*(Given(Member(o)) for o in self.among if o != k)))
                )
                for k in self.keys
            )
        )

    @property
    def marks(self) -> str:
        return "image"

    def _args(self) -> str:
        return f"{'|'.join(self.keys)} alone among {'|'.join(self.among)}"


@dataclass(frozen=True, slots=True, repr=False)
class Uuid(Rule):
    """A given ``member`` is a UUID as Python's ``uuid.UUID()`` reads one (hyphens or none, any
    case, braces, ``urn:uuid:``), as a pydantic ``UUID`` field does."""

    member: str = ""
    scope: ClassVar[Scope] = Scope.IMAGE

    def params(self) -> dict[str, Any]:
        return {"member": self.member}

    def requirement(self) -> Expr:
        value = Member(self.member)
        return implies(Given(value), Call("uuid", value))

    def _args(self) -> str:
        return self.member


def decoded(member: str) -> Call:
    """The base64 facts of ``member`` (one decoding, shared by every rule and warning)."""
    return Call("base64", Member(member))


@dataclass(frozen=True, slots=True, repr=False)
class Base64(Rule):
    """``member`` is canonical standard base64 of at least one byte: only ``A-Z a-z 0-9 + /``,
    then at most two ``=`` at the very end, a length that is a multiple of 4."""

    member: str = ""
    scope: ClassVar[Scope] = Scope.IMAGE

    def requirement(self) -> Expr:
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

    def requirement(self) -> Expr:
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

    def requirement(self) -> Expr:
        value = Member(self.member)
        return implies(Given(value), Call("image_media_type", value))

    def _args(self) -> str:
        return self.member


@dataclass(frozen=True, slots=True, repr=False)
class MediaFamily(Rule):
    """A given ``member`` is a media type of one of ``families`` (``image``, ``video``):
    ``<family>/<subtype>[;params]``."""

    member: str = ""
    families: tuple[str, ...] = ()
    scope: ClassVar[Scope] = Scope.IMAGE

    def _validate(self) -> None:
        if not self.families or not set(self.families) <= {"image", "video"}:
            raise ValueError(f"{self.id}: families are image and video")

    def requirement(self) -> Expr:
        value = Member(self.member)
        return implies(Given(value), In(Call("media_family", value), frozenset(self.families)))

    def _args(self) -> str:
        return f"{self.member} in {'|'.join(self.families)}"


@dataclass(frozen=True, slots=True, repr=False)
class PublicHttpsUrl(Rule):
    """A given ``member`` is an https URL whose host is public by the static checks (no network:
    reachability is the fetch rules' business)."""

    member: str = ""
    scope: ClassVar[Scope] = Scope.IMAGE
    expressible: ClassVar[Expressible] = Expressible.APPROXIMATE

    def requirement(self) -> Expr:
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


