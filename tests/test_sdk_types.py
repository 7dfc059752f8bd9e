"""The official SDK's request and response types against the catalogue, both ways.

The SDK's types (``luma_agents.types``) are generated from the API's own schema: when the API
grows a field, a member, an enum value, a model or a type, the next SDK has it.  These tests read
the installed SDK's types and fail, naming what differs, when the SDK has something the
catalogue does not know (the catalogue must grow) or the catalogue has something the SDK lacks
(the catalogue states what the API does not, or the SDK is older than the catalogue)."""

from __future__ import annotations

import collections.abc
import types
import typing
from typing import Any

import luma_agents.types as luma_types
import pytest
from luma_agents.types import generation_create_params

from luma_schema import catalog, models
from luma_schema.rules import Field, JsonType, OneOf, OneOfFor

# Where each object type of the SDK's request sits (a dotted path; an array's items at the
# array's own path).
OBJECTS: dict[str, Any] = {
    "": luma_types.GenerationCreateParams,
    "source": luma_types.ImageRefParam,
    "image_ref": luma_types.ImageRefParam,
    "video": luma_types.VideoOptionsParam,
    "video.start_frame": luma_types.ImageRefParam,
    "video.end_frame": luma_types.ImageRefParam,
    "video.keyframes": luma_types.ImageRefParam,
    "video.edit": luma_types.VideoEditOptionsParam,
    "video.edit.keyframes": luma_types.ImageRefParam,
    "video.edit.controls": luma_types.AdvancedControlsParam,
    "video.edit.controls.depth": luma_types.DepthControlParam,
    "video.edit.controls.face": luma_types.FaceControlParam,
    "video.edit.controls.normals": luma_types.NormalsControlParam,
    "video.edit.controls.pose": luma_types.PoseControlParam,
    "video.edit.controls.trajectory": luma_types.TrajectoryControlParam,
    "video.source_position": luma_types.SourcePositionParam,
    "layering": generation_create_params.Layering,
}
# The SDK's named enumerations, by the field they type.
ENUMS: dict[str, Any] = {
    "model": luma_types.Model,
    "video.duration": luma_types.VideoDuration,
    "video.resolution": luma_types.VideoResolution,
    "video.edit.strength": luma_types.VideoEditStrength,
    "video.edit.controls.pose.strength": luma_types.PoseControlStrength,
}


# ---------------------------------------------------------------- the SDK's side


def _alternatives(hint: Any) -> tuple[list[Any], bool]:
    """The non-null alternatives of a hint and whether null is one (``Optional[X]``)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        return [a for a in args if a is not type(None)], type(None) in args
    return [hint], False


def _is_typed_dict(hint: Any) -> bool:
    return isinstance(hint, type) and hasattr(hint, "__optional_keys__")


_ARRAYS = (list, collections.abc.Iterable, collections.abc.Sequence)
_SCALARS = {
    str: JsonType.STRING,
    bool: JsonType.BOOLEAN,
    int: JsonType.INTEGER,
    float: JsonType.NUMBER,
}


def _json_type(hint: Any) -> tuple[JsonType, JsonType | None, Any]:
    """The JSON type a (non-null) hint stands for, its items' type for an array, and the
    TypedDict it holds (itself, or its items'), if any."""
    if typing.get_origin(hint) is typing.Literal:
        return JsonType.STRING, None, None
    if _is_typed_dict(hint):
        return JsonType.OBJECT, None, hint
    if typing.get_origin(hint) in _ARRAYS:
        items, _, held = _json_type(typing.get_args(hint)[0])
        return JsonType.ARRAY, items, held
    return _SCALARS[hint], None, None


def sdk_fields() -> dict[str, dict[str, tuple[JsonType, JsonType | None, bool]]]:
    """Each object of the SDK's request by path: its members' JSON type, items and nullability."""
    tables: dict[str, dict[str, tuple[JsonType, JsonType | None, bool]]] = {}

    def walk(path: str, typed_dict: Any) -> None:
        assert path in OBJECTS, f"the SDK has an object at {path!r} the tests do not place"
        assert typed_dict is OBJECTS[path], (
            f"{path}: {typed_dict.__name__}, not {OBJECTS[path].__name__}"
        )
        table = tables.setdefault(path, {})
        for name, hint in typing.get_type_hints(typed_dict).items():
            (hint, *more), nullable = _alternatives(hint)
            assert not more, f"{path}.{name}: a union the tests do not read"
            kind, items, held = _json_type(hint)
            table[name] = (kind, items, nullable)
            if held is not None:
                walk(f"{path}.{name}" if path else name, held)

    walk("", luma_types.GenerationCreateParams)
    return tables


def sdk_values() -> dict[str, set[str]]:
    """Each enumerated field of the SDK's request by path: its Literal values."""
    values: dict[str, set[str]] = {}
    for path, typed_dict in OBJECTS.items():
        for name, hint in typing.get_type_hints(typed_dict).items():
            for alternative in _alternatives(hint)[0]:
                if typing.get_origin(alternative) is typing.Literal:
                    values[f"{path}.{name}" if path else name] = set(typing.get_args(alternative))
    return values


# ---------------------------------------------------------------- the catalogue's side


def catalogue_fields() -> dict[str, dict[str, tuple[JsonType, JsonType | None, bool]]]:
    tables: dict[str, dict[str, tuple[JsonType, JsonType | None, bool]]] = {}

    def walk(path: str, fields: tuple[Field, ...]) -> None:
        tables[path] = {f.name: (f.type, f.items, f.nullable) for f in fields}
        for f in fields:
            if f.members is not None:
                walk(f"{path}.{f.name}" if path else f.name, f.members)

    walk("", catalog.FIELDS)
    return tables


def catalogue_values() -> dict[str, set[str]]:
    values: dict[str, set[str]] = {}
    for rule in catalog.RULES:
        if isinstance(rule, OneOf | OneOfFor):
            values.setdefault(rule.field, set()).update(rule.values)
    return values


# ---------------------------------------------------------------- both ways


def _differences(sdk: dict[str, Any], ours: dict[str, Any], what: str) -> list[str]:
    return [f"{what} {path!r}" for path in sorted(set(sdk) - set(ours))]


def test_every_object_and_member_the_sdk_types_is_in_the_catalogue() -> None:
    sdk, ours = sdk_fields(), catalogue_fields()
    problems = _differences(sdk, ours, "the catalogue has no object at")
    for path in sorted(set(sdk) & set(ours)):
        problems += [
            f"the catalogue does not know member {name!r} of {path or 'the request'!r} "
            f"({OBJECTS[path].__name__})"
            for name in sorted(set(sdk[path]) - set(ours[path]))
        ]
    assert not problems, "\n".join(problems)


def test_every_object_and_member_of_the_catalogue_is_in_the_sdk() -> None:
    sdk, ours = sdk_fields(), catalogue_fields()
    problems = _differences(ours, sdk, "the SDK has no object at")
    for path in sorted(set(sdk) & set(ours)):
        problems += [
            f"the SDK does not type member {name!r} of {path or 'the request'!r}"
            for name in sorted(set(ours[path]) - set(sdk[path]))
        ]
    assert not problems, "\n".join(problems)


def test_every_member_has_the_sdks_json_type_and_nullability() -> None:
    sdk, ours = sdk_fields(), catalogue_fields()
    problems = []
    for path in sorted(set(sdk) & set(ours)):
        for name in sorted(set(sdk[path]) & set(ours[path])):
            (kind, items, nullable), (our_kind, our_items, our_nullable) = (
                sdk[path][name],
                ours[path][name],
            )
            where = f"{path}.{name}" if path else name
            if (kind, items) != (our_kind, our_items):
                problems.append(
                    f"{where}: the SDK types {kind.name} of {items}, the catalogue {our_kind.name} of {our_items}"
                )
            if nullable != our_nullable:
                problems.append(f"{where}: the SDK says {'' if nullable else 'not '}nullable")
    assert not problems, "\n".join(problems)


def test_every_enum_value_the_sdk_types_is_the_catalogues_and_back() -> None:
    """Models, types, aspect ratios (every model's), durations, resolutions, strengths, ..."""
    sdk, ours = sdk_values(), catalogue_values()
    problems = [
        f"the catalogue has no values for {path!r}: {sorted(sdk[path])}"
        for path in sorted(set(sdk) - set(ours))
    ]
    problems += [f"the SDK has no Literal for {path!r}" for path in sorted(set(ours) - set(sdk))]
    for path in sorted(set(sdk) & set(ours)):
        if new := sdk[path] - ours[path]:
            problems.append(f"the catalogue does not know {path} {sorted(new)}")
        if gone := ours[path] - sdk[path]:
            problems.append(f"the SDK does not have {path} {sorted(gone)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", sorted(ENUMS))
def test_the_sdks_named_enumerations_type_their_fields(path: str) -> None:
    assert set(typing.get_args(ENUMS[path])) == sdk_values()[path]


# ---------------------------------------------------------------- the response


def test_the_response_types_are_the_models() -> None:
    generation = {name: f.annotation for name, f in luma_types.Generation.model_fields.items()}
    problems = []
    for name, ours in (
        ("type", catalog.TYPES),
        ("model", catalog.MODELS),
        ("state", catalog.GENERATION_STATES),
        ("failure_code", catalog.FAILURE_CODES),
    ):
        (hint,), _ = _alternatives(generation[name])
        if set(typing.get_args(hint)) != set(ours):
            problems.append(f"Generation.{name}: the SDK has {sorted(typing.get_args(hint))}")
    for sdk_model, ours_model in (
        (luma_types.Generation, models.Generation),
        (luma_types.GenerationOutput, models.GenerationOutput),
        (
            _alternatives(luma_types.GenerationOutput.model_fields["layer"].annotation)[0][0],
            models.Layer,
        ),
    ):
        if set(sdk_model.model_fields) != set(ours_model.model_fields):
            problems.append(
                f"{ours_model.__name__}: the SDK has {sorted(sdk_model.model_fields)}, "
                f"the model {sorted(ours_model.model_fields)}"
            )
    assert not problems, "\n".join(problems)
