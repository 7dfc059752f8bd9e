"""The request's rules as Markdown: a fields table, a "Validation rules" table and a "Common
validation errors" table in the published guide's shape (Mistake | HTTP code | Error), generated
from the catalogue.  Every rule kind has a function that says, in words, what breaks it; a kind
without one fails at import, as in the JSON Schema exporter."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Final

from luma_schema import catalog
from luma_schema.export import jsonschema
from luma_schema.rules import (
    MISSING,
    AllowedWith,
    Base64,
    EitherOf,
    Expressible,
    Fetched,
    Field,
    HttpStatus,
    ImageMediaType,
    JsonBody,
    JsonType,
    JsonTypes,
    Length,
    MaxBytes,
    MaxItemsFor,
    NotBoth,
    OneOf,
    OnlyFor,
    PublicHttpsUrl,
    Range,
    Required,
    RequiredFor,
    RequiredWith,
    Rule,
    Scope,
)

__all__ = ["LIBRARY_MARK", "markdown"]

# The image path the examples use; an image_ref item reads `image_ref[i]` instead.
_EXAMPLE_IMAGE: Final = catalog.IMAGE_FIELDS[0]
LIBRARY_MARK: Final = "(library wording)"


def _bounds(low: Any, high: Any) -> str:
    if low is None:
        return f"at most {high}"
    if high is None:
        return f"at least {low}"
    return f"{low}–{high}"


def _code(text: Any) -> str:
    return f"`{text}`"


def _json(value: Any) -> str:
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, tuple):
        return "`[]`" if not value else _code(list(value))
    return _code(value)


def _other_values(key: str, equals: str) -> list[str]:
    """The values of ``key`` (from its OneOf rule) other than ``equals``."""
    for rule in catalog.RULES:
        if isinstance(rule, OneOf) and rule.field == key:
            return [v for v in rule.values if v != equals]
    return []


def _member(rule: Rule, name: str) -> str:
    return _code(f"{_EXAMPLE_IMAGE}.{name}")


# ---------------------------------------------------------------- what breaks each kind

_Mistake = Callable[[Any], str]
MISTAKES: Final[Mapping[type[Rule], _Mistake]] = {
    JsonBody: lambda r: "Body is not a JSON object (or not valid JSON)",
    JsonTypes: lambda r: (
        "A field, image or image member of the wrong JSON type (or `null` where not allowed)"
    ),
    OneOf: lambda r: f"{_code(r.field)} not one of " + ", ".join(_code(v) for v in r.values),
    Required: lambda r: f"Missing {_code(r.field)}",
    Length: lambda r: (
        f"{_code(r.field)} empty or longer than {r.max} characters"
        if r.min
        else f"{_code(r.field)} longer than {r.max} characters"
    ),
    Range: lambda r: f"{_code(r.field)} outside {_bounds(r.min, r.max)}",
    RequiredFor: lambda r: f"Missing {_code(r.field)}",
    OnlyFor: lambda r: (
        f"Providing {_code(r.field)} with "
        + " or ".join(f'`{r.key}: "{v}"`' for v in _other_values(r.key, r.equals))
    ),
    MaxItemsFor: lambda r: f'More than {r.max} {_code(r.field)} items with `{r.key}: "{r.equals}"`',
    AllowedWith: lambda r: (
        f'`{r.field}: "{r.equals}"` with {_code(r.other)} not one of '
        + ", ".join(r.allowed)
        + f' (`{r.key}: "{r.key_equals}"`)'
    ),
    NotBoth: lambda r: f"{_code(_EXAMPLE_IMAGE)} with both {_code(r.a)} and {_code(r.b)}",
    EitherOf: lambda r: f"{_code(_EXAMPLE_IMAGE)} with neither {_code(r.a)} nor {_code(r.b)}",
    RequiredWith: lambda r: f"{_member(r, r.with_)} without {_code(r.member)}",
    Base64: lambda r: f"Invalid {_member(r, r.member)}",
    MaxBytes: lambda r: f"{_code(_EXAMPLE_IMAGE)} image over {r.max >> 20} MB",
    ImageMediaType: lambda r: f"{_member(r, r.member)} not an image media type",
    PublicHttpsUrl: lambda r: f"{_member(r, r.member)} not a public https URL (static checks)",
    Fetched: lambda r: f"Unreachable {_member(r, r.member)}",
    HttpStatus: lambda r: f"{_member(r, r.member)} answers an HTTP error status",
}

_UNDESCRIBED: Final = jsonschema.unmapped(jsonschema.rule_kinds(), MISTAKES)
if _UNDESCRIBED:
    raise TypeError(f"the Markdown exporter cannot describe rule kinds {_UNDESCRIBED}")


def _example(rule: Rule) -> str:
    """The message as the API gives it, echoes left as ``{value}``-style placeholders."""
    known: dict[str, Any] = {}
    if rule.scope in (Scope.IMAGE, Scope.FETCH):
        known["path"] = _EXAMPLE_IMAGE
    if rule.scope is Scope.TYPES:
        known["expected"] = "{" + "|".join(t.value for t in _used_types()) + "}"
    return str(jsonschema.rule_entry(rule, **known)["message"])


def _used_types() -> list[JsonType]:
    """The JSON types the field table asks for, in the enum's order."""
    used: set[JsonType] = set()
    for f in catalog.CATALOGUE.paths.values():
        used.add(f.type)
        if f.items is not None:
            used.add(f.items)
        used.update(m.type for m in f.members or ())
    return [t for t in JsonType if t in used]


def _error_cell(rule: Rule) -> str:
    cell = f'`"{_example(rule)}"`'
    return f"{cell} {LIBRARY_MARK}" if rule.id in catalog.LIBRARY_MESSAGES else cell


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_escape(cell) for cell in row) + " |" for row in rows]
    return lines


# ---------------------------------------------------------------- the fields table


def _constraints(name: str, member: bool) -> str:
    """The rules that concern one field (the field a request rule checks) or image member."""
    said = []
    for rule in catalog.RULES:
        if rule.scope is Scope.TYPES:
            concerns = True
        elif member:
            concerns = rule.scope in (Scope.IMAGE, Scope.FETCH) and name in rule.reads
        else:
            concerns = rule.scope is Scope.REQUEST and name in (
                getattr(rule, "field", None),
                getattr(rule, "other", None),
            )
        if concerns:
            said.append(_code(rule.id))
    return ", ".join(said)


def _values(field: Field) -> str:
    for rule in catalog.RULES:
        if isinstance(rule, OneOf) and rule.field == field.name:
            return ", ".join(_code(v) for v in rule.values)
        if isinstance(rule, Length) and rule.field == field.name:
            return (
                f"{rule.min}–{rule.max} characters"
                if rule.min
                else f"at most {rule.max} characters"
            )
    if field.name in catalog.IMAGE_FIELDS:
        return "an image" if field.items is None else "images"
    return ""


def _type(field: Field) -> str:
    kind = field.type.value.split(" ", 1)[1]
    if field.items is not None:
        kind += f" of {field.items.value.split(' ', 1)[1]}s"
    return kind + (" or null" if field.nullable else "")


def _fields() -> list[str]:
    required = {r.field for r in catalog.RULES if isinstance(r, Required)}
    rows = []
    for field in catalog.FIELDS:
        default = "—" if field.default is MISSING else _json(field.default)
        kind = _type(field) + (", required" if field.name in required else "")
        rows.append(
            [_code(field.name), kind, _values(field), default, _constraints(field.name, False)]
        )
    out = _table(["Field", "JSON type", "Values", "Default", "Rules"], rows)
    members = [[_code(m.name), _type(m), _constraints(m.name, True)] for m in catalog.IMAGE_MEMBERS]
    out += [
        "",
        "An image (`source`, each `image_ref` item) is an object with these members; a member "
        "is *given* when it is present and not null.",
        "",
        *_table(["Member", "JSON type", "Rules"], members),
    ]
    return out


# ---------------------------------------------------------------- the documents


def _rules() -> list[str]:
    rows = []
    for number, rule in enumerate(catalog.RULES, 1):
        rows.append(
            [
                str(number),
                _code(rule.id),
                _code(repr(rule)),
                str(rule.status),
                _error_cell(rule),
                rule.expressible.value,
            ]
        )
    return _table(["#", "Rule", "Constraint", "Status", "Message", "JSON Schema"], rows)


def _common_errors() -> list[str]:
    rows = [[MISTAKES[type(r)](r), str(r.status), _error_cell(r)] for r in catalog.RULES]
    return _table(["Mistake", "HTTP code", "Error"], rows)


def _limits() -> list[str]:
    rows = [
        [_code(r.id), r.expressible.value, jsonschema.LIMITS[type(r)]]
        for r in catalog.RULES
        if r.expressible is not Expressible.EXACT
    ]
    return _table(["Rule", "JSON Schema", "Why"], rows)


def _warnings() -> list[str]:
    rows = [[_code(a.id), _code(a.message)] for a in catalog.ADVICE]
    return _table(["Warning", "Message"], rows)


@functools.cache
def markdown() -> str:
    """The whole document, as ``docs/validation.md`` holds it."""
    lines = [
        f"# Validation of `POST {catalog.ENDPOINT}`",
        "",
        "<!-- Generated by `luma-schema docs` from luma_schema's catalogue: do not edit. -->",
        "",
        f"API version `{catalog.API_VERSION}`; request types "
        + ", ".join(_code(t) for t in catalog.TYPES)
        + "; models "
        + ", ".join(_code(m) for m in catalog.MODELS)
        + '. A failing request gets one error: a status and the body `{"detail": message}`. '
        "The error reported is the first broken rule in the order of the Validation rules "
        "table, image rules applied image by image (`source`, then `image_ref[0]`, ...).",
        "",
        "## Fields",
        "",
        *_fields(),
        "",
        "## Validation rules",
        "",
        "Placeholders: `{path}` is the image path (`source` or `image_ref[i]`), `{value}` the "
        "submitted value verbatim, `{model}` the model as given (or its default), `{code}` the "
        "HTTP status the URL answered. Rules after `url_not_fetchable` run only when URLs are "
        "fetched.",
        "",
        *_rules(),
        "",
        "## Common validation errors",
        "",
        f"Image errors are shown for `{_EXAMPLE_IMAGE}`; for a reference image the prefix is "
        f"`image_ref[i]` instead. Strings marked {LIBRARY_MARK} are this library's; the "
        "published docs give no wording for them. The others are quoted from the docs.",
        "",
        *_common_errors(),
        "",
        "## Warnings",
        "",
        "Warnings never change the verdict; they are given for valid and invalid requests alike.",
        "",
        *_warnings(),
        "",
        "## What JSON Schema cannot state exactly",
        "",
        "`luma-schema schema` writes the request as JSON Schema (Draft 2020-12). Every rule not "
        "listed here is stated exactly; these are approximate (the schema accepts more than the "
        "API) or not expressible at all.",
        "",
        *_limits(),
        "",
    ]
    return "\n".join(lines)
