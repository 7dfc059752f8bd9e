"""Pydantic models of the request and of the Generation response, strict (no lax coercion).

``GenerationRequest`` validates through the engine, so it refuses exactly what ``check()`` refuses,
with the same first message; the error's ``type`` is the rule id and its context carries
``status``, ``rule``, ``detail`` and ``path``.  No rule is restated here: field types come from
the catalogue, and every constraint from the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from luma_schema import catalog
from luma_schema.engine import Report, Violation, check

__all__ = [
    "Generation",
    "GenerationOutput",
    "GenerationRequest",
    "ImageInput",
    "request_from_report",
]

if TYPE_CHECKING:
    RequestType = str
    ModelName = str
    AspectRatio = str
    Style = str
    OutputFormat = str
    State = str
    FailureCode = str
else:
    RequestType = Literal[catalog.TYPES]
    ModelName = Literal[catalog.MODELS]
    AspectRatio = Literal[catalog.ASPECT_RATIOS]
    Style = Literal[catalog.STYLES]
    OutputFormat = Literal[catalog.OUTPUT_FORMATS]
    State = Literal[catalog.GENERATION_STATES]
    FailureCode = Literal[catalog.FAILURE_CODES]

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
        if isinstance(data, BaseModel):
            data = data.model_dump()
        report = check(data)
        if not report.ok:
            raise _error(report.errors[0])
        return report.request

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
        """As ``check()`` on the same text: duplicate keys, NaN and a bad encoding are row 1."""
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
