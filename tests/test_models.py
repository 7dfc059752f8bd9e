"""The pydantic models: their shape is the catalogue's field table, their Literal types are its
value tuples (mypy --strict refuses a value outside them), and GenerationRequest refuses exactly
what check() refuses, with the same first rule and message, for the live API's types too."""

from __future__ import annotations

import json
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ValidationError
from server_support import GENERATION_ID, RULE_CASES, URL, content

import luma_schema
from luma_schema import GenerationRequest, catalog, models
from luma_schema.rules import Field, JsonType, OneOf, OneOfFor

ROOT = Path(__file__).resolve().parent.parent

VIDEO = {"model": "ray-3.2", "type": "video", "prompt": "a slow pan"}
VALID: list[dict[str, Any]] = [
    {"prompt": "a cat"},
    {
        "type": "image_edit",
        "prompt": "winter",
        "source": {"generation_id": GENERATION_ID},
        "image_ref": [{"file_id": GENERATION_ID.replace("-", "").upper()}, URL],
    },
    {**VIDEO, "aspect_ratio": "21:9", "video": {"duration": "10s", "resolution": "1080p"}},
    {
        **VIDEO,
        "video": {
            "duration": "5s",
            "hdr": True,
            "exr_export": True,
            "resolution": "720p",
            "keyframes": [URL, {"generation_id": GENERATION_ID}],
            "keyframe_indexes": [0, 120.0],  # an integer member takes 120.0 as 120
        },
    },
    {**VIDEO, "video": {"loop": True, "start_frame": URL, "end_frame": {"file_id": GENERATION_ID}}},
    {
        "model": "ray-3.2",
        "type": "video_edit",
        "prompt": "make it dusk",
        "source": {"generation_id": GENERATION_ID},
        "video": {
            "resolution": "360p",
            "edit": {
                "strength": "reimagine_2",
                "auto_controls": False,
                "keyframes": [URL],
                "keyframe_indexes": [12],
                "controls": {
                    "depth": {"blur": 0.5, "enabled": True},
                    "face": {"enabled": False},
                    "normals": {"augmentation": 1},
                    "pose": {"strength": "coarse"},
                    "trajectory": {"sparsity": 0, "enabled": None},
                },
            },
        },
    },
    {
        "model": "ray-3.2",
        "type": "video_reframe",
        "prompt": "widen",
        "aspect_ratio": "9:16",
        "source": {"url": "https://example.com/a.mp4", "media_type": "video/mp4"},
        "video": {"source_position": {"x_norm": -0.5, "y_norm": 0, "w_norm": 2, "h_norm": 1.5}},
    },
    {"type": "layering", "source": URL},
    {"type": "layering", "prompt": "", "source": URL, "layering": {"resolution": "2k"}},
    {"type": "layering", "source": URL, "layering": {}},
    # Options a type does not use are left out of the normalised request.
    {"prompt": "p", "video": {"duration": "5s"}, "layering": {"resolution": "1k"}},
]


# ---------------------------------------------------------------- the types are the catalogue's


@pytest.mark.parametrize(
    ("alias", "values"),
    [
        (models.RequestType, catalog.TYPES),
        (models.ModelName, catalog.MODELS),
        (models.ImageAspectRatio, catalog.ASPECT_RATIOS),
        (models.VideoAspectRatio, catalog.VIDEO_ASPECT_RATIOS),
        (models.Style, catalog.STYLES),
        (models.OutputFormat, catalog.OUTPUT_FORMATS),
        (models.VideoDuration, catalog.VIDEO_DURATIONS),
        (models.VideoResolution, catalog.VIDEO_RESOLUTIONS),
        (models.VideoEditStrength, catalog.VIDEO_EDIT_STRENGTHS),
        (models.PoseStrength, catalog.POSE_STRENGTHS),
        (models.LayeringResolution, catalog.LAYERING_RESOLUTIONS),
        (models.State, catalog.GENERATION_STATES),
        (models.FailureCode, catalog.FAILURE_CODES),
    ],
)
def test_the_literal_types_are_the_catalogues_tuples(alias: Any, values: tuple[str, ...]) -> None:
    assert typing.get_args(alias) == values


def test_the_aspect_ratio_type_is_every_models_ratios() -> None:
    expected = dict.fromkeys((*catalog.ASPECT_RATIOS, *catalog.VIDEO_ASPECT_RATIOS))
    assert typing.get_args(models.AspectRatio) == tuple(expected)


def _members(hint: Any) -> list[Any]:
    """The alternatives of a union (``X | None``), or the hint itself."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return list(typing.get_args(hint))
    return [hint]


def _model_of(hint: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model a field holds (or holds a list of), and whether it is a list."""
    for alternative in _members(hint):
        many = typing.get_origin(alternative) is list
        inner = typing.get_args(alternative)[0] if many else alternative
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner, many
    return None, False


def _tables() -> list[tuple[str, type[BaseModel], tuple[Field, ...]]]:
    """Each object of the request: its path, its model and its catalogue table."""
    found = []

    def walk(path: str, model: type[BaseModel], table: tuple[Field, ...]) -> None:
        found.append((path, model, table))
        hints = typing.get_type_hints(model, include_extras=False)
        for f in table:
            if f.members is not None and f.name in hints:
                inner, _ = _model_of(hints[f.name])
                assert inner is not None, f"{path}{f.name} holds no model"
                walk(f"{path}{f.name}.", inner, f.members)

    walk("", GenerationRequest, catalog.FIELDS)
    return found


_PYTHON = {
    JsonType.STRING: str,
    JsonType.BOOLEAN: bool,
    JsonType.INTEGER: int,
    JsonType.NUMBER: float,
    JsonType.ARRAY: list,
}


def test_each_model_has_the_members_of_its_catalogue_table_in_order() -> None:
    tables = _tables()
    assert {path for path, _, _ in tables} >= {"", "video.", "video.edit.", "layering."}
    for path, model, table in tables:
        assert list(model.model_fields) == [f.name for f in table], path
        hints = typing.get_type_hints(model)
        for f in table:
            hint = hints[f.name]
            if f.nullable or f.default is None:
                assert type(None) in _members(hint), f"{path}{f.name}: nullable in the catalogue"
            inner, many = _model_of(hint)
            if f.reference:
                assert inner is models.ImageInput, f"{path}{f.name}"
                assert many == (f.type is JsonType.ARRAY)
            elif f.type is JsonType.OBJECT:
                assert inner is not None, f"{path}{f.name}"
            else:
                kinds = {typing.get_origin(a) or a for a in _members(hint)} - {type(None)}
                wanted = _PYTHON[f.type]
                assert all(
                    k is wanted or (k is Literal and wanted is str) or {k, wanted} <= {int, float}
                    for k in kinds
                ), f"{path}{f.name}: {hint}"


def test_every_enum_member_is_typed_with_the_rules_values() -> None:
    """Each field the catalogue gives a closed set of values (OneOf, OneOfFor) is a Literal of
    exactly those values (every model's, for aspect_ratio), and no other field is."""
    allowed: dict[str, set[str]] = {}
    for rule in catalog.RULES:
        if isinstance(rule, OneOf | OneOfFor) and rule.field != "model":
            allowed.setdefault(rule.field, set()).update(rule.values)
    allowed["model"] = set(catalog.MODELS)
    typed: dict[str, set[str]] = {}
    for path, model, _ in _tables():
        for name, hint in typing.get_type_hints(model).items():
            for alternative in _members(hint):
                if typing.get_origin(alternative) is Literal:
                    typed[path + name] = set(typing.get_args(alternative))
    assert typed == allowed


def test_the_fields_carry_the_literal_types() -> None:
    hints = typing.get_type_hints(GenerationRequest)
    assert hints["type"] == models.RequestType
    assert hints["aspect_ratio"] == models.AspectRatio | None
    assert hints["style"] == models.Style and hints["model"] == models.ModelName
    video = typing.get_type_hints(models.VideoOptions)
    assert video["duration"] == models.VideoDuration | None
    assert typing.get_type_hints(models.PoseControl)["strength"] == models.PoseStrength | None


def test_mypy_strict_refuses_a_value_outside_the_catalogue(tmp_path: Path) -> None:
    program = tmp_path / "uses_models.py"
    program.write_text(
        "from luma_schema.models import (\n"
        "    GenerationRequest, LayeringOptions, PoseControl, VideoEditOptions, VideoOptions\n"
        ")\n"
        'GenerationRequest(prompt="x", type="image_edit", aspect_ratio="9:16", style="manga")\n'
        'GenerationRequest(prompt="x", model="ray-3.2", type="video_reframe", aspect_ratio="21:9",\n'
        '    video=VideoOptions(duration="10s", resolution="1080p",\n'
        '        edit=VideoEditOptions(strength="adhere_3")))\n'
        'GenerationRequest(type="layering", layering=LayeringOptions(resolution="2k"))\n'
        'GenerationRequest(prompt="x", type="imagee", aspect_ratio="4:5")\n'
        'GenerationRequest(prompt="x", model="ray-3")\n'
        'VideoOptions(duration="7s", resolution="4k")\n'
        'VideoEditOptions(strength="flex_4")\n'
        'PoseControl(strength="loose")\n'
        'LayeringOptions(resolution="8k")\n'
    )
    # Run from the checkout so that mypy's cache of luma_schema (CI type-checks it first) serves.
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(program)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    lines = result.stdout.splitlines()
    assert result.returncode == 1, result.stdout + result.stderr
    found = [(int(line.split(":")[1]), line.split('Argument "')[1].split('"')[0]) for line in lines]
    assert found == [
        (9, "type"),
        (9, "aspect_ratio"),
        (10, "model"),
        (11, "duration"),
        (11, "resolution"),
        (12, "strength"),
        (13, "strength"),
        (14, "resolution"),
    ], lines


# ---------------------------------------------------------------- validation is the engine's


@pytest.mark.parametrize("payload", VALID, ids=range(len(VALID)))
def test_a_valid_request_is_the_normalised_request(payload: dict[str, Any]) -> None:
    report = luma_schema.check(payload)
    assert report.ok, report.detail
    validated = GenerationRequest.model_validate(payload)
    from_json = GenerationRequest.model_validate_json(json.dumps(payload))
    constructed = models.request_from_report(report)
    for model in (validated, from_json, constructed):
        assert model.to_payload() == report.request
        assert model == validated
    # The parts are models, at every depth, whichever way the request was made.
    for model in (validated, constructed):
        if model.video is not None:
            assert isinstance(model.video, models.VideoOptions)
            for frame in (*(model.video.keyframes or ()), model.video.start_frame):
                assert frame is None or isinstance(frame, models.ImageInput)
            if model.video.edit is not None and model.video.edit.controls is not None:
                assert isinstance(model.video.edit.controls.depth, models.DepthControl)
            if model.video.keyframe_indexes is not None:
                assert all(type(i) is int for i in model.video.keyframe_indexes)
        assert all(isinstance(image, models.ImageInput) for image in model.image_ref)


def test_a_request_built_from_models_is_checked_as_the_json_it_stands_for() -> None:
    built = GenerationRequest(
        prompt="x",
        model="ray-3.2",
        type="video",
        video=models.VideoOptions(
            duration="5s", keyframes=[models.ImageInput(**URL)], keyframe_indexes=[0]
        ),
    )
    assert built.to_payload() == luma_schema.check(built.to_payload()).request
    assert GenerationRequest.model_validate(built) == built
    # A model inside a plain dict counts as its members too.
    plain = {**VIDEO, "video": {"start_frame": models.ImageInput(generation_id=GENERATION_ID)}}
    assert GenerationRequest.model_validate(plain).video.start_frame.generation_id == GENERATION_ID  # type: ignore[union-attr]
    with pytest.raises(ValidationError) as caught:
        GenerationRequest(
            prompt="x",
            model="ray-3.2",
            type="video",
            video=models.VideoOptions(loop=True, duration="10s"),
        )
    assert caught.value.errors()[0]["type"] == "video_loop_duration"
    assert caught.value.errors()[0]["ctx"]["status"] == 422


@pytest.mark.parametrize(
    ("rule", "payload"),
    [c for c in RULE_CASES if isinstance(c[1], dict)],
    ids=[r for r, p in RULE_CASES if isinstance(p, dict)],
)
def test_the_model_refuses_what_check_refuses_with_its_first_error(
    rule: str, payload: dict[str, Any]
) -> None:
    report = luma_schema.check(content(payload))
    for validate in (
        lambda: GenerationRequest.model_validate(payload),
        lambda: GenerationRequest.model_validate_json(json.dumps(payload)),
    ):
        with pytest.raises(ValidationError) as caught:
            validate()
        error = caught.value.errors()[0]
        assert error["type"] == rule == report.errors[0].rule
        assert error["msg"] == report.detail
        assert error["ctx"]["status"] == report.status


def test_a_number_too_long_for_a_float_is_kept_as_the_engine_keeps_it() -> None:
    payload = {
        "model": "ray-3.2",
        "type": "video_reframe",
        "prompt": "x",
        "source": {"generation_id": GENERATION_ID},
        "video": {"source_position": {"x_norm": 10**400, "y_norm": 0, "w_norm": 1, "h_norm": 1}},
    }
    model = GenerationRequest.model_validate(payload)
    assert model.to_payload() == luma_schema.check(payload).request


# ---------------------------------------------------------------- the response


def test_a_layering_output_carries_its_layer() -> None:
    generation = models.Generation.model_validate(
        {
            "id": GENERATION_ID,
            "type": "layering",
            "state": "completed",
            "model": "uni-1",
            "created_at": "2026-04-01T00:00:00Z",
            "output": [
                {
                    "type": "image",
                    "url": "https://example.com/0.png",
                    "layer": {
                        "index": 0,
                        "label": "cat",
                        "description": "A cat",
                        "alpha_hint": "soft",
                    },
                },
                {"type": "video", "url": "https://example.com/v.mp4"},
            ],
        }
    )
    assert generation.output[0].layer == models.Layer(
        index=0, label="cat", description="A cat", alpha_hint="soft"
    )
    assert generation.output[1].layer is None
    with pytest.raises(ValidationError):
        models.GenerationOutput.model_validate({"type": "image", "url": "u", "layer": {"index": 0}})
