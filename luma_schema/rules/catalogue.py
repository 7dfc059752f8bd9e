"""A catalogue: a field table, rules in precedence order and warnings, checked when made."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from luma_schema.expr import paths as expr_paths
from luma_schema.expr import (
    reads,
)
from luma_schema.rules.base import Advice, Field, JsonType, Rule, Scope

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
            read_values: frozenset[str]
            if r.scope is Scope.FETCH:
                read_values, read_members = frozenset(), frozenset(r.reads)
            else:
                exprs = (r.predicate(), *r.echo().values())
                read_values, read_members = expr_paths(*exprs), reads(*exprs)[1]
            unknown = (read_values - paths) | (read_members - members)
            if r.scope is Scope.REQUEST and read_members:
                unknown |= read_members
            if unknown:
                raise ValueError(f"{r.id} reads unknown fields {sorted(unknown)}")
        for a in self.advice:
            if a.when is None:
                continue
            exprs = (a.when, *(e for _, e in a.params))
            read_values, read_members = expr_paths(*exprs), reads(*exprs)[1]
            if a.scope is Scope.IMAGE and not read_members <= members:
                unknown_members = sorted(read_members - members)
                raise ValueError(f"{a.id}: image advice reads unknown members {unknown_members}")
            if a.scope is Scope.REQUEST and read_members:
                raise ValueError(f"{a.id}: request advice reads no image member")
            if not read_values <= paths:
                raise ValueError(f"{a.id} reads unknown fields {sorted(read_values - paths)}")

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

    @functools.cached_property
    def paths(self) -> dict[str, Field]:
        """Every field by its dotted path (``video.duration``), objects' members included (made
        once: the engine reads it per request; not to be changed)."""
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

