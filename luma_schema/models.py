"""Pydantic models of the request and of the Generation response, strict (no lax coercion; an
integer member takes ``1.0`` as ``1``, as the engine does).

``GenerationRequest`` validates through the engine, so it refuses exactly what ``check()`` refuses,
with the same first message; the error's ``type`` is the rule id and its context carries
``status``, ``rule``, ``detail`` and ``path``.  No rule is restated here: every constraint comes
from the engine, and its JSON Schema is the exported one (``luma_schema.json_schema()``).  The
request's parts (``ImageInput``, ``VideoOptions`` and what it holds, ``LayeringOptions``) are
the catalogue's field table as models, their enumerations ``Literal`` types of its value tuples.
"""

from __future__ import annotations

import copy
import functools
import json
import types
import typing
from typing import Annotated, Any, Literal, TypeAlias, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import DEFAULT_REF_TEMPLATE, JsonSchemaValue
from pydantic_core import CoreSchema, InitErrorDetails, PydanticCustomError, ValidationError

from luma_schema import catalog
from luma_schema.engine import Report, Violation, check
from luma_schema.rules import Field as CatalogueField
from luma_schema.rules import JsonType

__all__ = [
    "AspectRatio",
    "DepthControl",
    "FaceControl",
    "FailureCode",
    "Generation",
    "GenerationOutput",
    "GenerationRequest",
    "ImageAspectRatio",
    "ImageInput",
    "Layer",
    "LayeringOptions",
    "LayeringResolution",
    "ModelName",
    "NormalsControl",
    "OutputFormat",
    "PoseControl",
    "PoseStrength",
    "RequestType",
    "SourcePosition",
    "State",
    "Style",
    "TrajectoryControl",
    "VideoAspectRatio",
    "VideoControls",
    "VideoDuration",
    "VideoEditOptions",
    "VideoEditStrength",
    "VideoOptions",
    "VideoResolution",
    "request_from_report",
]

# The catalogue's value tuples as types a checker can read: written out, since a type checker
# cannot build a Literal from a tuple.  A test holds each equal to its tuple, in order, so the
# catalogue stays the one source (tests/test_models.py).
RequestType: TypeAlias = Literal[
    "image", "image_edit", "video", "video_edit", "video_reframe", "layering"
]
ModelName: TypeAlias = Literal["uni-1", "uni-1-max", "ray-3.2"]
ImageAspectRatio: TypeAlias = Literal[
    "3:1", "2:1", "16:9", "3:2", "1:1", "2:3", "9:16", "1:2", "1:3"
]
VideoAspectRatio: TypeAlias = Literal["1:1", "16:9", "21:9", "3:4", "4:3", "9:16"]
# Every ratio some model takes (which model takes which is the engine's to say).
AspectRatio: TypeAlias = Literal[ImageAspectRatio, VideoAspectRatio]
Style: TypeAlias = Literal["auto", "manga"]
OutputFormat: TypeAlias = Literal["png", "jpeg"]
VideoDuration: TypeAlias = Literal["5s", "10s"]
VideoResolution: TypeAlias = Literal["360p", "540p", "720p", "1080p"]
VideoEditStrength: TypeAlias = Literal[
    "adhere_1",
    "adhere_2",
    "adhere_3",
    "flex_1",
    "flex_2",
    "flex_3",
    "reimagine_1",
    "reimagine_2",
    "reimagine_3",
]
PoseStrength: TypeAlias = Literal["precise", "coarse"]
LayeringResolution: TypeAlias = Literal["1k", "2k"]
State: TypeAlias = Literal["queued", "processing", "completed", "failed"]
FailureCode: TypeAlias = Literal[
    "content_moderated",
    "generation_failed",
    "budget_exhausted",
    "output_not_found",
    "image_too_large",
    "unsupported_format",
    "corrupt_input",
    "invalid_request",
    "rate_limited",
]

# Inputs stay out of error text: a request may carry secrets.
_STRICT = ConfigDict(strict=True, frozen=True, extra="ignore", hide_input_in_errors=True)
# An integer member takes 1.0 as 1 (as the engine does); 1.5 never gets here.
_Integer: TypeAlias = Annotated[int, Field(strict=False)]
# A JSON number as the engine keeps it: an integer stays one (even one too long for a float).
_Number: TypeAlias = float | int


def _error(violation: Violation) -> PydanticCustomError:
    return PydanticCustomError(
        violation.rule,
        "{detail}",
        {
            "detail": violation.detail,
            "status": violation.status,
            "rule": violation.rule,
            "path": violation.path,
        },
    )


# ---------------------------------------------------------------- the request's parts
# The request's objects, member for member as the catalogue's field table has them (a test holds
# the two the same).  They carry no rule: a GenerationRequest is checked whole, by the engine.


class ImageInput(BaseModel):
    """A media reference (``source``, each ``image_ref`` item, the video's frames and
    keyframes): exactly one of ``url``, ``data``, ``generation_id`` or ``file_id``;
    ``media_type`` with ``data`` (and with a video source's ``url``)."""

    model_config = _STRICT

    url: str | None = None
    data: str | None = None
    media_type: str | None = None
    generation_id: str | None = None
    file_id: str | None = None


class DepthControl(BaseModel):
    """``video.edit.controls.depth``."""

    model_config = _STRICT

    blur: _Number | None = None
    enabled: bool | None = None


class FaceControl(BaseModel):
    """``video.edit.controls.face``."""

    model_config = _STRICT

    enabled: bool | None = None


class NormalsControl(BaseModel):
    """``video.edit.controls.normals``."""

    model_config = _STRICT

    augmentation: _Number | None = None
    enabled: bool | None = None


class PoseControl(BaseModel):
    """``video.edit.controls.pose``."""

    model_config = _STRICT

    strength: PoseStrength | None = None
    enabled: bool | None = None


class TrajectoryControl(BaseModel):
    """``video.edit.controls.trajectory``."""

    model_config = _STRICT

    sparsity: _Number | None = None
    enabled: bool | None = None


class VideoControls(BaseModel):
    """``video.edit.controls``: per-signal conditioning of a video edit."""

    model_config = _STRICT

    depth: DepthControl | None = None
    face: FaceControl | None = None
    normals: NormalsControl | None = None
    pose: PoseControl | None = None
    trajectory: TrajectoryControl | None = None


class VideoEditOptions(BaseModel):
    """``video.edit``: the video-to-video controls of type ``video_edit``."""

    model_config = _STRICT

    auto_controls: bool | None = None
    controls: VideoControls | None = None
    keyframe_indexes: list[_Integer] | None = None
    keyframes: list[ImageInput] | None = None
    strength: VideoEditStrength | None = None


class SourcePosition(BaseModel):
    """``video.source_position``: where a ``video_reframe``'s source sits in the output."""

    model_config = _STRICT

    h_norm: _Number
    w_norm: _Number
    x_norm: _Number
    y_norm: _Number


class VideoOptions(BaseModel):
    """``video``: the options of types ``video``, ``video_edit`` and ``video_reframe``."""

    model_config = _STRICT

    duration: VideoDuration | None = None
    resolution: VideoResolution | None = None
    loop: bool | None = None
    hdr: bool | None = None
    exr_export: bool | None = None
    start_frame: ImageInput | None = None
    end_frame: ImageInput | None = None
    keyframes: list[ImageInput] | None = None
    keyframe_indexes: list[_Integer] | None = None
    edit: VideoEditOptions | None = None
    source_position: SourcePosition | None = None


class LayeringOptions(BaseModel):
    """``layering``: the options of type ``layering``."""

    model_config = _STRICT

    resolution: LayeringResolution | None = None


# ---------------------------------------------------------------- the request


class GenerationRequest(BaseModel):
    """A ``POST /v1/generations`` body the server accepts, with every default filled.

    ``prompt`` is ``None`` only for a ``layering`` request that gave none; ``video`` and
    ``layering`` are ``None`` when not given or not meaningful for the type (as in the
    normalised request, which leaves them out)."""

    model_config = _STRICT

    type: RequestType = "image"
    prompt: str | None = None
    model: ModelName = "uni-1"
    aspect_ratio: AspectRatio | None = None
    style: Style = "auto"
    output_format: OutputFormat | None = None
    web_search: bool = False
    user_id: str | None = None
    source: ImageInput | None = None
    image_ref: list[ImageInput] = []
    video: VideoOptions | None = None
    layering: LayeringOptions | None = None

    @model_validator(mode="before")
    @classmethod
    def _through_the_engine(cls, data: Any) -> Any:
        """A Python value is checked as the JSON value it stands for: a ``str`` is a JSON
        string (not an object), never JSON text (that is :meth:`model_validate_json`); the
        models of the request's parts stand for their members.  ``bytes`` are JSON text:
        FastAPI hands a body over as bytes when its content type is not JSON."""
        if isinstance(data, BaseModel):
            data = data.model_dump()
        elif isinstance(data, str):
            data = json.dumps(data)
        report = check(data)
        if not report.ok and isinstance(data, dict):
            # A model inside is no JSON value to the engine: read it as its members (only
            # then is the payload walked; a plain one is checked once, as it is).
            plain = _plain(data)
            if plain is not data:
                report = check(plain)
        if not report.ok:
            raise _error(report.errors[0])
        return report.request

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The exported request schema, ``luma_schema.json_schema()``.  With a
        ``ref_template`` other than pydantic's default (an OpenAPI document's, say), the same
        schema with its definitions written in place, so that it holds wherever it is put."""
        ref_template = kwargs.get("ref_template", args[1] if len(args) > 1 else None)
        if ref_template in (None, DEFAULT_REF_TEMPLATE):
            from luma_schema import json_schema

            return json_schema()
        return embedded_schema()

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # Inside another schema (FastAPI's OpenAPI document, another model): self-contained.
        return embedded_schema()

    @classmethod
    def model_validate_json(
        cls,
        json_data: str | bytes | bytearray,
        *,
        strict: bool | None = None,
        extra: Any = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> GenerationRequest:
        """As ``check()`` on the same text: duplicate keys, NaN and a bad encoding are body_not_object."""
        report = check(bytes(json_data) if isinstance(json_data, bytearray) else json_data)
        if not report.ok:
            detail = InitErrorDetails(type=_error(report.errors[0]), loc=(), input=json_data)
            raise ValidationError.from_exception_data(cls.__name__, [detail])
        return request_from_report(report)

    def to_payload(self) -> dict[str, Any]:
        """The request as the JSON object to send: the normalised request (``check(...).request``),
        every field present but those shown only when given (``video``, ``layering``, a
        reference's ``generation_id`` and ``file_id``) when they are ``None``."""
        return _shown(self.model_dump(), catalog.FIELDS)


def _plain(value: Any) -> Any:
    """``value`` with every model of a request's part in it replaced by the JSON value it
    stands for; ``value`` itself when it holds none."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list):
        items = [_plain(item) for item in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if isinstance(value, dict):
        # By position: a key is hashed again only when a model was found (no key of a
        # payload made of plain values ever runs its own __hash__ here).
        pairs = [(key, item, _plain(item)) for key, item in value.items()]
        if all(plain is item for _, item, plain in pairs):
            return value
        return {key: plain for key, _, plain in pairs}
    return value


def _shown(value: dict[str, Any], fields: tuple[CatalogueField, ...]) -> dict[str, Any]:
    """``value`` (an object of the table ``fields``) without the ``None`` of fields the
    normalised request shows only when given, at any depth."""
    out: dict[str, Any] = {}
    for f in fields:
        if f.name not in value:
            continue
        item = value[f.name]
        if item is None and not f.shown:
            continue
        if f.members is not None and item is not None:
            members = f.members
            item = (
                [_shown(one, members) for one in item]
                if f.type is JsonType.ARRAY
                else _shown(item, members)
            )
        out[f.name] = item
    return out


# ---------------------------------------------------------------- the response


class Layer(BaseModel):
    """What one output of a ``layering`` generation holds: its place front to back (the last
    is the background), a short name, a caption and its edge treatment (``soft``, ``hard`` or
    ``none``, as the API describes it; typed as the API types it, a string)."""

    model_config = _STRICT

    index: int
    label: str
    description: str
    alpha_hint: str


class GenerationOutput(BaseModel):
    """One output of a completed generation: its media type (``image``, ``video``) and where to
    download it; ``layer`` for each output of a ``layering`` generation."""

    model_config = _STRICT

    type: str
    url: str
    layer: Layer | None = None


class Generation(BaseModel):
    """A generation job as ``POST`` and ``GET /v1/generations`` return it."""

    model_config = _STRICT

    id: Annotated[str, StringConstraints(pattern=catalog.UUID_PATTERN)]
    type: RequestType
    state: State
    model: ModelName
    created_at: Annotated[str, StringConstraints(pattern=catalog.RFC3339_UTC_PATTERN)]
    output: list[GenerationOutput] = []
    failure_reason: str | None = None
    failure_code: FailureCode | None = None


def embedded_schema() -> dict[str, Any]:
    """The exported request schema with every ``#/$defs/...`` reference replaced by its
    definition and no ``$schema``: a schema that means the same wherever it is embedded."""
    return copy.deepcopy(_embedded())


@functools.cache
def _embedded() -> dict[str, Any]:
    from luma_schema import json_schema

    schema = json_schema()
    defs = schema.pop("$defs", {})
    schema.pop("$schema", None)

    def inline(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [inline(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name in seen:
                raise ValueError(f"the exported schema refers to {name} within itself")
            target = inline(defs[name], (*seen, name))
            rest = {k: inline(v, seen) for k, v in node.items() if k != "$ref"}
            # Keywords beside a $ref apply together with it (JSON Schema 2020-12): an allOf.
            return {**rest, "allOf": [target]} if rest else target
        return {key: inline(value, seen) for key, value in node.items()}

    inlined: dict[str, Any] = inline(schema, ())
    return inlined


def request_from_report(report: Report) -> GenerationRequest:
    """The model of an ``ok`` report's normalised request, without validating it again (its
    strings, a 50 MB image among them, are not copied)."""
    request = report.request
    if request is None:
        raise ValueError("the report is not ok")
    return _construct(GenerationRequest, request)


_M = TypeVar("_M", bound=BaseModel)


def _construct(cls: type[_M], value: dict[str, Any]) -> _M:
    fields = dict(value)
    for name, (part, many) in _parts(cls).items():
        item = fields.get(name)
        if item is None:
            continue
        if part is int:  # 1.0 read as an integer member is 1
            fields[name] = [int(n) for n in item]
        elif many:
            fields[name] = [_construct(part, one) for one in item]
        else:
            fields[name] = _construct(part, item)
    return cls.model_construct(**fields)


@functools.cache
def _parts(cls: type[BaseModel]) -> dict[str, tuple[type[Any], bool]]:
    """The fields of ``cls`` that hold models (or lists of models, or of integers), by name."""
    found: dict[str, tuple[type[Any], bool]] = {}
    for name, info in cls.model_fields.items():
        hint = info.annotation
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)
        for arg in typing.get_args(hint) if union else (hint,):
            many = typing.get_origin(arg) is list
            inner = typing.get_args(arg)[0] if many else arg
            if typing.get_origin(inner) is Annotated:
                inner = typing.get_args(inner)[0]
            if isinstance(inner, type) and (
                issubclass(inner, BaseModel) or (many and inner is int)
            ):
                found[name] = (inner, many)
    return found
