"""The request's rules as Markdown (``docs/validation.md``), generated from a catalogue: the models
and their types, a fields table (dotted paths for the members of objects), the members of a media
reference, a "Validation rules" table, a "Common validation errors" table in the published guide's
shape (Mistake | HTTP code | Error), the warnings, what JSON Schema cannot state exactly, and which
strings are the library's own or of the guide's era.  Every rule kind has a function that says, in
words, what breaks it; a kind without one fails at import, as in the JSON Schema exporter."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Final

from luma_schema import catalog
from luma_schema.export import jsonschema
from luma_schema.rules import (
    MISSING,
    AllowedWith,
    Alone,
    Base64,
    Catalogue,
    EitherOf,
    Expressible,
    Fetched,
    Field,
    ForbiddenFor,
    HttpStatus,
    ImageMediaType,
    ItemsRange,
    JsonBody,
    JsonType,
    JsonTypes,
    Length,
    MaxBytes,
    MaxItemsFor,
    MediaFamily,
    NotBoth,
    NotTogether,
    OneOf,
    OneOfFor,
    OnlyFor,
    PublicHttpsUrl,
    Range,
    Required,
    RequiredFor,
    RequiredWith,
    Rule,
    SameLength,
    Scope,
    Test,
    Unique,
    Uuid,
)

__all__ = ["GUIDE_ERA_MARK", "LIBRARY_MARK", "MISTAKES", "markdown"]

# The reference path the examples use (every reference rule applies at `source`).
_EXAMPLE: Final = "source"
LIBRARY_MARK: Final = "(library wording)"
GUIDE_ERA_MARK: Final = "(guide's era)"


def _bounds(low: Any, high: Any) -> str:
    if low is None:
        return f"at most {high}"
    if high is None:
        return f"at least {low}"
    return f"{low}–{high}"


def _outside(low: Any, high: Any) -> str:
    if low is None:
        return f"above {high}"
    if high is None:
        return f"below {low}"
    return f"outside {low}–{high}"


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


def _member(name: str) -> str:
    return _code(f"{_EXAMPLE}.{name}")


def _listed(values: tuple[Any, ...], word: str = "or") -> str:
    shown = [_json(v) if isinstance(v, bool) else _code(v) for v in values]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + f" {word} {shown[-1]}"


def _said(test: Test) -> str:
    """A condition in words: "`type` is `video`", "`video.keyframes` given"."""
    if test.path == "@":
        return f"{'not ' if test.negated else ''}at {_listed(test.values)}"
    what = _code(test.path.removeprefix("."))
    if test.function is not None:
        what = f"the {test.function.replace('_', ' ')} of {what}"
    if not test.values:
        return f"{what} {'not given' if test.negated else 'given'}"
    return f"{what} {'is not' if test.negated else 'is'} {_listed(test.values)}"


def _state(test: Test) -> str:
    """A request value a combination names: "`video.loop: true`", "`type` other than
    `"video"`", "`video.keyframes`" (given)."""
    path = test.path
    if not test.values:
        return f"without {_code(path)}" if test.negated else _code(path)
    values = [_json(v).strip("`") for v in test.values]
    if len(values) == 1 and not test.negated:
        return f"`{path}: {values[0]}`"
    listed = " or ".join(f"`{v}`" for v in values)
    return f"{_code(path)} {'other than' if test.negated else 'one of'} {listed}"


def _conditions(rule: Rule) -> str:
    """Where a rule applies, in words ("" everywhere)."""
    said = []
    if rule.when:
        said.append("when " + " and ".join(map(_said, rule.when)))
    if rule.unless:
        said.append("unless " + " and ".join(map(_said, rule.unless)))
    return "; ".join(said)


# ---------------------------------------------------------------- what breaks each kind


def _length(r: Length, cat: Catalogue) -> str:
    unit = "items" if cat.paths[r.field].type is JsonType.ARRAY else "characters"
    if r.min == 1 and unit == "characters":
        return f"{_code(r.field)} empty or longer than {r.max} characters"
    if r.min == 1:
        return f"{_code(r.field)} empty or with more than {r.max} items"
    if not r.min:
        longer = "longer than" if unit == "characters" else "with more than"
        return f"{_code(r.field)} {longer} {r.max} {unit}"
    return f"{_code(r.field)} of fewer than {r.min} or more than {r.max} {unit}"


_Mistake = Callable[[Any, Catalogue], str]
MISTAKES: Final[Mapping[type[Rule], _Mistake]] = {
    JsonBody: lambda r, c: "Body is not a JSON object (or not valid JSON)",
    JsonTypes: lambda r, c: (
        "A field, media reference or member of the wrong JSON type (or `null` where not allowed)"
    ),
    OneOf: lambda r, c: f"{_code(r.field)} not one of " + ", ".join(_code(v) for v in r.values),
    OneOfFor: lambda r, c: (
        f"{_code(r.field)} not one of "
        + ", ".join(_code(v) for v in r.values)
        + f", or not one the {_code(r.key)} takes"
    ),
    Required: lambda r, c: f"Missing {_code(r.field)}",
    Length: _length,
    Range: lambda r, c: f"{_code(r.field)} {_outside(r.min, r.max)}",
    ItemsRange: lambda r, c: f"An item of {_code(r.field)} {_outside(r.min, r.max)}",
    Unique: lambda r, c: f"A repeated item in {_code(r.field)}",
    SameLength: lambda r, c: f"{_code(r.field)} and {_code(r.other)} of different lengths",
    RequiredFor: lambda r, c: f"Missing {_code(r.field)}",
    ForbiddenFor: lambda r, c: (
        f"Providing {_code(r.field)} with " + " or ".join(f'`{r.key}: "{v}"`' for v in r.among)
    ),
    OnlyFor: lambda r, c: f'Providing {_code(r.field)} without `{r.key}: "{r.equals}"`',
    MaxItemsFor: lambda r, c: (
        f'More than {r.max} {_code(r.field)} items with `{r.key}: "{r.equals}"`'
    ),
    AllowedWith: lambda r, c: (
        f'`{r.field}: "{r.equals}"` with {_code(r.other)} not one of '
        + ", ".join(r.allowed)
        + f' (`{r.key}: "{r.key_equals}"`)'
    ),
    NotTogether: lambda r, c: (
        _state(r.tests[0]) + " with " + " and ".join(map(_state, r.tests[1:]))
    ),
    NotBoth: lambda r, c: f"{_code(_EXAMPLE)} with both {_code(r.a)} and {_code(r.b)}",
    EitherOf: lambda r, c: (
        f"{_code(_EXAMPLE)} with neither {_code(r.a)} nor {_code(r.b)}"
        if not r.others
        else f"{_code(_EXAMPLE)} with none of " + _listed((r.a, r.b, *r.others))
    ),
    Alone: lambda r, c: (
        f"{_code(_EXAMPLE)} with {_listed(r.keys)} beside another of {_listed(r.among, 'and')}"
    ),
    RequiredWith: lambda r, c: f"{_member(r.with_)} without {_code(r.member)}",
    Uuid: lambda r, c: f"{_member(r.member)} not a UUID",
    Base64: lambda r, c: f"Invalid {_member(r.member)}",
    MaxBytes: lambda r, c: f"{_code(_EXAMPLE)} image over {r.max >> 20} MB",
    ImageMediaType: lambda r, c: f"{_member(r.member)} not an image media type",
    MediaFamily: lambda r, c: f"{_member(r.member)} not a media type of {_listed(r.families)}",
    PublicHttpsUrl: lambda r, c: f"{_member(r.member)} not a public https URL (static checks)",
    Fetched: lambda r, c: f"Unreachable {_member(r.member)}",
    HttpStatus: lambda r, c: f"{_member(r.member)} answers an HTTP error status",
}

_UNDESCRIBED: Final = jsonschema.unmapped(jsonschema.rule_kinds(), MISTAKES)
if _UNDESCRIBED:
    raise TypeError(f"the Markdown exporter cannot describe rule kinds {_UNDESCRIBED}")


def _used_types(cat: Catalogue) -> list[JsonType]:
    """The JSON types the field table asks for, in the enum's order."""
    used: set[JsonType] = set()
    for f in cat.paths.values():
        used.add(f.type)
        if f.items is not None:
            used.add(f.items)
        used.update(m.type for m in f.members or ())
    return [t for t in JsonType if t in used]


def _example(cat: Catalogue, rule: Rule, **known: Any) -> str:
    """The message as the API gives it, echoes left as ``{value}``-style placeholders."""
    if rule.scope in (Scope.IMAGE, Scope.FETCH):
        known["path"] = _EXAMPLE
    if rule.scope is Scope.TYPES:
        known["expected"] = "{" + "|".join(t.value for t in _used_types(cat)) + "}"
    return str(jsonschema.rule_entry(rule, cat, **known)["message"])


def _marks(cat: Catalogue, rule: Rule) -> str:
    marks = [LIBRARY_MARK] if rule.id in cat.library_messages else []
    if rule.id in catalog.GUIDE_ERA_MESSAGES:
        marks.append(GUIDE_ERA_MARK)
    return "".join(f" {m}" for m in marks)


def _error_cell(cat: Catalogue, rule: Rule, **known: Any) -> str:
    return f'`"{_example(cat, rule, **known)}"`{_marks(cat, rule)}'


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_escape(cell) for cell in row) + " |" for row in rows]
    return lines


# ---------------------------------------------------------------- the fields


def _kind(field: Field) -> str:
    kind = field.type.value.split(" ", 1)[1]
    if field.items is not None:
        kind += f" of {field.items.value.split(' ', 1)[1]}s"
    return kind + (" or null" if field.nullable else "")


def _with_conditions(text: str, rule: Rule) -> str:
    where = _conditions(rule)
    return f"{text} ({where})" if where else text


def _values(cat: Catalogue, path: str, field: Field) -> str:
    said = []
    for rule in cat.rules:
        if getattr(rule, "field", None) != path:
            continue
        if isinstance(rule, OneOf | OneOfFor):
            said.append(_with_conditions(", ".join(_code(v) for v in rule.values), rule))
        elif isinstance(rule, Length):
            unit = "items" if field.type is JsonType.ARRAY else "characters"
            low = rule.min or None
            said.append(_with_conditions(f"{_bounds(low, rule.max)} {unit}", rule))
        elif isinstance(rule, Range):
            said.append(_with_conditions(_bounds(rule.min, rule.max), rule))
        elif isinstance(rule, ItemsRange):
            said.append(_with_conditions(f"items {_bounds(rule.min, rule.max)}", rule))
    if field.reference:
        said.insert(0, "media references" if field.items is not None else "a media reference")
    return "; ".join(said)


def _applies(cat: Catalogue, path: str) -> str:
    """Where a field is meaningful: where its own test and those of the objects it is in hold."""
    parts = path.split(".")
    tests = [
        test
        for i in range(len(parts))
        if (test := cat.paths[".".join(parts[: i + 1])].applies) is not None
    ]
    return " and ".join(map(_said, tests)) if tests else "every type"


def _concerns(rule: Rule, path: str) -> bool:
    names = {getattr(rule, n, None) for n in ("field", "other", "key")}
    tests = getattr(rule, "tests", ())
    return path in names or any(t.path == path for t in tests)


def _rules_of(cat: Catalogue, path: str, member: bool) -> str:
    """The rules that concern one field (a request rule naming it) or reference member."""
    said = []
    for rule in cat.rules:
        if rule.scope is Scope.TYPES:
            concerns = True
        elif member:
            concerns = rule.scope in (Scope.IMAGE, Scope.FETCH) and path in rule.reads
        else:
            concerns = rule.scope is Scope.REQUEST and _concerns(rule, path)
        if concerns:
            said.append(_code(rule.id))
    return ", ".join(said)


def _fields(cat: Catalogue) -> list[str]:
    required = {
        r.field for r in cat.rules if isinstance(r, Required) and not r.when and not r.unless
    }
    rows = []
    for path, field in cat.paths.items():
        default = "—" if field.default is MISSING else _json(field.default)
        kind = _kind(field) + (", required" if path in required else "")
        rows.append(
            [
                _code(path),
                kind,
                _values(cat, path, field),
                default,
                _applies(cat, path),
                "always" if field.shown else "when given",
                _rules_of(cat, path, member=False),
            ]
        )
    header = ["Field", "JSON type", "Values", "Default", "Meaningful", "Shown", "Rules"]
    return _table(header, rows)


def _references(cat: Catalogue) -> list[str]:
    positions = ", ".join(
        _code(f"{p}[i]" if f.items is not None else p) for p, f in cat.paths.items() if f.reference
    )
    rows = [
        [
            _code(m.name),
            _kind(m),
            "always" if m.shown else "when given",
            _rules_of(cat, m.name, True),
        ]
        for m in cat.reference_members
    ]
    return [
        f"A media reference ({positions}) is an object with these members; a member is *given* "
        "when it is present and not null. A reference inside a field its request does not take "
        "(see Meaningful above) gets its JSON types checked only.",
        "",
        *_table(["Member", "JSON type", "Shown", "Rules"], rows),
    ]


def _models(cat: Catalogue) -> list[str]:
    for rule in cat.rules:
        if isinstance(rule, OneOfFor):
            rows = [[_code(k), ", ".join(_code(v) for v in vs)] for k, vs in rule.by]
            return _table([_code(rule.key), f"{_code(rule.field)}s it takes"], rows)
    return []


# ---------------------------------------------------------------- the rules


def _rules(cat: Catalogue) -> list[str]:
    rows = []
    for number, rule in enumerate(cat.rules, 1):
        rows.append(
            [
                str(number),
                _code(rule.id),
                _code(repr(rule)),
                str(rule.status),
                _error_cell(cat, rule),
                jsonschema.expressibility(rule, cat).value,
            ]
        )
    return _table(["#", "Rule", "Constraint", "Status", "Message", "JSON Schema"], rows)


def _common_errors(cat: Catalogue) -> list[str]:
    rows = []
    for r in cat.rules:
        mistake, code = MISTAKES[type(r)](r, cat), str(r.status)
        if r.scope is Scope.REQUEST:
            mistake = _with_conditions(mistake, r)
        if isinstance(r, RequiredFor) and r.among:
            # One row per type: the message quotes it.
            rows += [[mistake, code, _error_cell(cat, r, equals=v)] for v in r.among]
        else:
            rows.append([mistake, code, _error_cell(cat, r)])
    return _table(["Mistake", "HTTP code", "Error"], rows)


def _limits(cat: Catalogue) -> list[str]:
    rows = []
    for r in cat.rules:
        how = jsonschema.expressibility(r, cat)
        if how is not Expressible.EXACT:
            rows.append([_code(r.id), how.value, jsonschema.LIMITS[type(r)]])
    return _table(["Rule", "JSON Schema", "Why"], rows)


def _warnings(cat: Catalogue) -> list[str]:
    rows = [[_code(a.id), _code(a.message)] for a in cat.advice]
    return _table(["Warning", "Message"], rows)


def _guide_era(cat: Catalogue) -> list[str]:
    rows = [
        [_code(r.id), f'`"{_example(cat, r)}"`']
        for r in cat.rules
        if r.id in catalog.GUIDE_ERA_MESSAGES
    ]
    return _table(["Rule", "Message"], rows)


def _document(cat: Catalogue) -> str:
    types = next((r.values for r in cat.rules if isinstance(r, OneOfFor)), ())
    models = next((r.values for r in cat.rules if isinstance(r, OneOf) and r.field == "model"), ())
    lines = [
        f"# Validation of `POST {catalog.ENDPOINT}`",
        "",
        "<!-- Generated by `luma-schema docs` from luma_schema's catalogue: do not edit. -->",
        "",
        f"API version `{catalog.API_VERSION}`; request types "
        + ", ".join(_code(t) for t in types)
        + "; models "
        + ", ".join(_code(m) for m in models)
        + '. A failing request gets one error: a status and the body `{"detail": message}`. '
        "The error reported is the first broken rule in the order of the Validation rules "
        "table, the rules of media references applied reference by reference (`source`, then "
        "`image_ref[0]`, ..., `video.start_frame`, `video.end_frame`, `video.keyframes[0]`, "
        "..., `video.edit.keyframes[0]`, ...).",
        "",
        "## Models and types",
        "",
        *_models(cat),
        "",
        "## Fields",
        "",
        "Members of objects are named by their dotted path (`video.edit.strength`). *Meaningful*: "
        "the requests a field serves; elsewhere the server ignores it (a warning says so), its "
        "values are still checked, and its media references get their JSON types checked only. "
        "*Shown*: in the normalised request always (defaults filled), or only when given.",
        "",
        *_fields(cat),
        "",
        *_references(cat),
        "",
        "## Validation rules",
        "",
        "Placeholders: `{path}` is the media reference's path (`source`, `image_ref[i]`, "
        "`video.keyframes[i]`, ...), `{value}` the submitted value verbatim, `{model}` the model "
        "as given (or its default), `{equals}` the request's type, `{code}` the HTTP status the "
        "URL answered. A rule with `when` applies only where its conditions hold, one with "
        "`unless` not where all of them do. Rules after `url_not_fetchable` run only when URLs "
        "are fetched.",
        "",
        *_rules(cat),
        "",
        "## Common validation errors",
        "",
        f"Media reference errors are shown for `{_EXAMPLE}`; elsewhere the prefix is the "
        "reference's own path (`image_ref[i]`, `video.start_frame`, ...). Strings marked "
        f"{LIBRARY_MARK} are this library's; the published docs give no wording for them. The "
        "others are quoted from the docs.",
        "",
        *_common_errors(cat),
        "",
        "## Strings of the guide's era",
        "",
        f"The strings marked {GUIDE_ERA_MARK} are quoted from the image-editing guide, which "
        "documents the API as it was before its video types and references by id. The live "
        "server may since word them differently (for `source` with type `image`, and a media "
        "reference with none of its four ways to give media); the library keeps the documented "
        "string until a newer one is published.",
        "",
        *_guide_era(cat),
        "",
        "## Warnings",
        "",
        "Warnings never change the verdict; they are given for valid and invalid requests alike.",
        "",
        *_warnings(cat),
        "",
        "## What JSON Schema cannot state exactly",
        "",
        "`luma-schema schema` writes the request as JSON Schema (Draft 2020-12). Every rule not "
        "listed here is stated exactly; these are approximate (the schema accepts more than the "
        "API) or not expressible at all.",
        "",
        *_limits(cat),
        "",
    ]
    return "\n".join(lines)


@functools.cache
def _text() -> str:
    return _document(catalog.CATALOGUE)


def markdown(cat: Catalogue | None = None) -> str:
    """The whole document, as ``docs/validation.md`` holds it: of the API's catalogue (built
    once and cached), or of the catalogue ``cat``."""
    if cat is not None and cat is not catalog.CATALOGUE:
        return _document(cat)
    return _text()
