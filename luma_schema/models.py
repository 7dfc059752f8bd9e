"""Pydantic models of the request and of the Generation response, strict (no lax coercion).

``GenerationRequest`` validates through the engine, so it refuses exactly what ``check()`` refuses,
with the same first message; the error's ``type`` is the rule id and its context carries
``status``, ``rule``, ``detail`` and ``path``.  No rule is restated here: every constraint comes
from the engine, and its JSON Schema is the exported one (``luma_schema.json_schema()``).
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler, StringConstraints, model_validator
from pydantic.json_schema import DEFAULT_REF_TEMPLATE, JsonSchemaValue
from pydantic_core import CoreSchema, InitErrorDetails, PydanticCustomError, ValidationError

from luma_schema import catalog
from luma_schema.engine import Report, Violation, check

__all__ = [
    "AspectRatio",
    "FailureCode",
    "Generation",
    "GenerationOutput",
    "GenerationRequest",
    "ImageInput",
    "ModelName",
    "OutputFormat",
    "RequestType",
    "State",
    "Style",
    "request_from_report",
]

# The catalogue's value tuples as types a checker can read: written out, since a type checker
# cannot build a Literal from a tuple.  A test holds each equal to its tuple, in
# order, so the catalogue stays the one source (tests/test_server_fastapi.py).
RequestType: TypeAlias = Literal["image", "image_edit"]
ModelName: TypeAlias = Literal["uni-1", "uni-1-max"]
AspectRatio: TypeAlias = Literal["3:1", "2:1", "16:9", "3:2", "1:1", "2:3", "9:16", "1:2", "1:3"]
Style: TypeAlias = Literal["auto", "manga"]
OutputFormat: TypeAlias = Literal["png", "jpeg"]
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


class ImageInput(BaseModel):
    """An image, by ``url`` or inline base64 ``data`` (exactly one); ``media_type`` with data."""

    model_config = _STRICT

    url: str | None = None
    data: str | None = None
    media_type: str | None = None


class GenerationRequest(BaseModel):
    """A ``POST /v1/generations`` body the server accepts, with every default filled."""

    model_config = _STRICT

    type: RequestType = "image"
    prompt: str
    model: ModelName = "uni-1"
    aspect_ratio: AspectRatio | None = None
    style: Style = "auto"
    output_format: OutputFormat | None = None
    web_search: bool = False
    user_id: str | None = None
    source: ImageInput | None = None
    image_ref: list[ImageInput] = []

    @model_validator(mode="before")
    @classmethod
    def _through_the_engine(cls, data: Any) -> Any:
        """A Python value is checked as the JSON value it stands for: a ``str`` is a JSON
        string (not an object), never JSON text (that is :meth:`model_validate_json`).
        ``bytes`` are JSON text: FastAPI hands a body over as bytes when its content type is
        not JSON."""
        if isinstance(data, BaseModel):
            data = data.model_dump()
        elif isinstance(data, str):
            data = json.dumps(data)
        report = check(data)
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
        """The request as the JSON object to send, every field present."""
        return self.model_dump()


class GenerationOutput(BaseModel):
    """One output of a completed generation."""

    model_config = _STRICT

    type: str
    url: str


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
    """The model of an ``ok`` report's normalised request, without validating it again."""
    request = report.request
    if request is None:
        raise ValueError("the report is not ok")
    fields = dict(request)
    source = fields["source"]
    fields["source"] = None if source is None else ImageInput.model_construct(**source)
    fields["image_ref"] = [ImageInput.model_construct(**image) for image in fields["image_ref"]]
    return GenerationRequest.model_construct(**fields)
