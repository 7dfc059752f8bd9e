"""The Luma Agents generation request, as data: the field table and the rule table.

Read this file beside ``docs/contract.md`` (the generated ``docs/validation.md`` is its table):
``FIELDS`` is the field table, ``RULES`` the rules in precedence order, ``ADVICE`` the warnings.
``CATALOGUE`` puts them together; every limit, enum and message is written here once, and the
engine, the pydantic models, the exporters and the strategies all read it.
"""

from __future__ import annotations

from typing import Final

from luma_schema.expr import (
    All,
    Attr,
    Call,
    Compare,
    Const,
    Equals,
    Given,
    Member,
    Not,
    Same,
    Value,
)
from luma_schema.rules import (
    Advice,
    AllowedWith,
    Base64,
    Catalogue,
    EitherOf,
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
    Required,
    RequiredFor,
    RequiredWith,
    Rule,
    Scope,
    decoded,
)

API_VERSION: Final = "2026-04-01"
ENDPOINT: Final = "/v1/generations"

MODELS: Final = ("uni-1", "uni-1-max")
TYPES: Final = ("image", "image_edit")
ASPECT_RATIOS: Final = ("3:1", "2:1", "16:9", "3:2", "1:1", "2:3", "9:16", "1:2", "1:3")
PORTRAIT_RATIOS: Final = ("2:3", "9:16", "1:2", "1:3")
STYLES: Final = ("auto", "manga")
OUTPUT_FORMATS: Final = ("png", "jpeg")
MAX_IMAGE_BYTES: Final = 52_428_800
# Arrays and objects nested deeper than this (the request object is level 1) are not accepted as
# JSON, whether sent as text or as Python values (lib): the same answer on every path.
MAX_DEPTH: Final = 512
FETCH_TIMEOUT_SECONDS: Final = 18.0
FETCH_MAX_REDIRECTS: Final = 5
# Fetching (url_fetch_failed): the redirects followed (with a Location), and the 2xx answers that carry
# no body; every other answer below 400 that is not 2xx fails the fetch (1xx, 304, 300, ...).
FETCH_REDIRECT_STATUSES: Final = (301, 302, 303, 307, 308)
FETCH_NO_BODY_STATUSES: Final = (204, 205)
# The docs advise staying under 4 MB for speed; larger images earn a warning.
ADVISED_IMAGE_BYTES: Final = 4 << 20

IMAGE_MEMBERS: Final = (
    Field("url", JsonType.STRING, nullable=True),
    Field("data", JsonType.STRING, nullable=True),
    Field("media_type", JsonType.STRING, nullable=True),
)

FIELDS: Final = (
    Field("type", JsonType.STRING, default="image"),
    Field("prompt", JsonType.STRING),
    Field("model", JsonType.STRING, default="uni-1"),
    Field("aspect_ratio", JsonType.STRING, nullable=True, default=None),
    Field("style", JsonType.STRING, default="auto"),
    Field("output_format", JsonType.STRING, nullable=True, default=None),
    Field("web_search", JsonType.BOOLEAN, default=False),
    Field("user_id", JsonType.STRING, nullable=True, default=None),
    Field(
        "source",
        JsonType.OBJECT,
        nullable=True,
        default=None,
        members=IMAGE_MEMBERS,
        reference=True,
    ),
    Field(
        "image_ref",
        JsonType.ARRAY,
        default=(),
        items=JsonType.OBJECT,
        members=IMAGE_MEMBERS,
        reference=True,
    ),
)

# Fields whose values are images (an object, or an array of objects) with IMAGE_MEMBERS.
IMAGE_FIELDS: Final = tuple(f.name for f in FIELDS if f.reference)

RULES: Final[tuple[Rule, ...]] = (
    # 1-2: the body is a JSON object; every field and image member has its JSON type.
    JsonBody("body_not_object", 400, "request body must be a JSON object"),
    JsonTypes("wrong_type", 400, "{path} must be {expected}"),
    # 3-10: field values.
    OneOf("model_unknown", 400, "Unknown model: {value}", field="model", values=MODELS),
    OneOf(
        "type_unsupported",
        400,
        "Type '{value}' is not supported for model '{model}'",
        field="type",
        values=TYPES,
        context=("model",),
    ),
    Required("prompt_missing", 400, "{field} is required", field="prompt"),
    Length(
        "prompt_length",
        400,
        "Prompt must be between {min} and {max} characters",
        field="prompt",
        min=1,
        max=6000,
    ),
    OneOf(
        "aspect_ratio_invalid",
        400,
        "Invalid {field} '{value}'. Valid: {valid}",
        field="aspect_ratio",
        values=ASPECT_RATIOS,
        # The documented list, verbatim: it is not a sort of any kind.
        listing="1:1, 1:2, 1:3, 16:9, 2:1, 2:3, 3:1, 3:2, 9:16",
    ),
    OneOf(
        "style_invalid",
        400,
        "Invalid {field} '{value}'. Valid: {valid}",
        field="style",
        values=STYLES,
    ),
    OneOf(
        "output_format_invalid",
        400,
        "Invalid {field} '{value}'. Valid: {valid}",
        field="output_format",
        values=OUTPUT_FORMATS,
    ),
    Length(
        "user_id_length", 400, "{field} must be at most {max} characters", field="user_id", max=256
    ),
    # 11-14: what each type takes.
    RequiredFor(
        "source_required",
        400,
        "{field} is required for {key} '{equals}'",
        field="source",
        key="type",
        equals="image_edit",
    ),
    OnlyFor(
        "source_forbidden",
        400,
        "{field} is only valid for {key} '{equals}'",
        field="source",
        key="type",
        equals="image_edit",
    ),
    MaxItemsFor(
        "image_ref_edit_max",
        400,
        "{equals} supports up to {max} reference images (source occupies one slot)",
        field="image_ref",
        max=8,
        key="type",
        equals="image_edit",
    ),
    MaxItemsFor(
        "image_ref_max",
        400,
        "{equals} supports up to {max} reference images",
        field="image_ref",
        max=9,
        key="type",
        equals="image",
    ),
    # 15-17: each image's shape (images outer, these rules inner).
    NotBoth(
        "url_and_data", 400, "{path}: provide either '{a}' or '{b}', not both", a="url", b="data"
    ),
    EitherOf(
        "url_or_data", 400, "{path}: provide either '{a}' or '{b}', not neither", a="url", b="data"
    ),
    RequiredWith(
        "media_type_required",
        400,
        "{path}: '{member}' is required with '{with_}'",
        member="media_type",
        with_="data",
    ),
    # 18: a parameter combination.
    AllowedWith(
        "manga_portrait",
        422,
        "{field} '{equals}' requires a portrait {other} (one of {allowed})",
        field="style",
        equals="manga",
        other="aspect_ratio",
        allowed=PORTRAIT_RATIOS,
        key="type",
        key_equals="image",
    ),
    # 19-22: each image's content, without the network.
    Base64("base64_invalid", 422, "{path}: invalid base64 data", member="data"),
    MaxBytes(
        "image_too_large",
        413,
        "{path}: image exceeds {max_mb} MB limit",
        member="data",
        max=MAX_IMAGE_BYTES,
    ),
    ImageMediaType(
        "not_an_image", 422, "{path}: content-type is not an image", member="media_type"
    ),
    PublicHttpsUrl("url_not_fetchable", 422, "{path}: failed to fetch URL", member="url"),
    # Only when fetching (luma_schema.fetch); not_an_image and image_too_large apply to the
    # fetched body too.
    Fetched(
        "url_fetch_failed",
        422,
        "{path}: failed to fetch URL",
        member="url",
        timeout=FETCH_TIMEOUT_SECONDS,
        max_redirects=FETCH_MAX_REDIRECTS,
    ),
    HttpStatus("url_http_error", 422, "{path}: failed to fetch URL (HTTP {code})", member="url"),
)

# Rules whose message is this library's own wording: the published
# docs give no string for them.  Every other message is quoted from the docs.
LIBRARY_MESSAGES: Final = frozenset(
    {
        "body_not_object",
        "wrong_type",
        "prompt_missing",
        "style_invalid",
        "output_format_invalid",
        "user_id_length",
        "image_ref_max",
        "manga_portrait",
    }
)

_DATA: Final = Member("data")
_MEDIA_TYPE: Final = Member("media_type")
_FACTS: Final = decoded("data")
_FOUND: Final = Call("sniff", _FACTS)
_NAMED: Final = Call("media_format", _MEDIA_TYPE)
_WHOLE: Final = All(Given(_DATA), Attr(_FACTS, "valid"), Compare(Attr(_FACTS, "size"), "<=", MAX_IMAGE_BYTES))

# Warnings, in the order they are given: the engine's own (unknown names) as it
# reads the request, then each image's, images in order, then the request's.
ADVICE: Final = (
    Advice("unknown_field", "{path}: unknown field, ignored"),
    Advice("unknown_field_near", "{path}: unknown field, ignored (did you mean '{near}'?)"),
    Advice("unknown_member", "{path}: unknown image member, ignored"),
    Advice("unknown_member_near", "{path}: unknown image member, ignored (did you mean '{near}'?)"),
    Advice(
        "data_uri_prefix",
        "{path}: starts with 'data:'; send only the base64 part",
        Scope.IMAGE,
        when=All(Given(_DATA), Call("data_uri", _DATA)),
        at="data",
    ),
    Advice(
        "format_mismatch",
        "{path}: decoded bytes are {found}, but media_type names {named}",
        Scope.IMAGE,
        when=All(
            Given(_DATA),
            Given(_MEDIA_TYPE),
            Call("image_media_type", _MEDIA_TYPE),
            Not(Equals(_FOUND, None)),
            Not(Same(_NAMED, _FOUND)),
        ),
        at="data",
        params=(("found", Call("format_name", _FOUND)), ("named", Call("format_name", _NAMED))),
    ),
    Advice(
        "format_unknown",
        "{path}: decoded bytes are not PNG, JPEG, WebP or GIF",
        Scope.IMAGE,
        when=All(_WHOLE, Equals(_FOUND, None)),
        at="data",
    ),
    Advice(
        "image_large",
        "{path}: decoded image is over {limit_mb} MB; smaller images are faster",
        Scope.IMAGE,
        when=All(_WHOLE, Compare(Attr(_FACTS, "size"), ">", ADVISED_IMAGE_BYTES)),
        at="data",
        params=(("limit_mb", Const(ADVISED_IMAGE_BYTES >> 20)),),
    ),
    # The FAQ: the server ignores aspect_ratio on image_edit.
    Advice(
        "aspect_ratio_ignored",
        "{path}: ignored by the server for {key} '{equals}'",
        when=All(Equals(Value("type"), "image_edit"), Given(Value("aspect_ratio"))),
        at="aspect_ratio",
        params=(("key", Const("type")), ("equals", Const("image_edit"))),
    ),
    # The fetcher: a URL checked without the network.
    Advice("not_fetched", "{path}: URL not fetched (only the static checks ran)"),
    # The SDK guard (luma_schema.sdk): a request using an SDK feature outside this contract.
    Advice("not_checked", "{path}: outside this library's contract; request sent unchecked"),
)

CATALOGUE: Final = Catalogue(FIELDS, RULES, ADVICE, LIBRARY_MESSAGES)
RULES_BY_ID: Final = {rule.id: rule for rule in RULES}
ADVICE_BY_ID: Final = {advice.id: advice for advice in ADVICE}


def rule(rule_id: str) -> Rule:
    """The catalogue's rule with this id (KeyError for an unknown id)."""
    return RULES_BY_ID[rule_id]


def _check_values() -> None:
    if not set(PORTRAIT_RATIOS) <= set(ASPECT_RATIOS):
        raise ValueError("portrait ratios must be aspect ratios")
    for f in FIELDS:
        if f.name in ("type", "model") and f.default not in (TYPES if f.name == "type" else MODELS):
            raise ValueError(f"the default of {f.name} must be one of its values")


_check_values()

# The Generation response (docs/contract.md, A valid request).
GENERATION_STATES: Final = ("queued", "processing", "completed", "failed")
FAILURE_CODES: Final = (
    "content_moderated",
    "generation_failed",
    "budget_exhausted",
    "output_not_found",
    "image_too_large",
    "unsupported_format",
    "corrupt_input",
    "invalid_request",
    "rate_limited",
)
UUID_PATTERN: Final = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
RFC3339_UTC_PATTERN: Final = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$"

# The server side: what the API answers around the request rules.
API_VERSION_HEADER: Final = "X-API-Version"
REQUEST_ID_HEADER: Final = "X-Request-Id"
# An echoed X-Request-Id is at most this long (lib); a longer or unprintable one is replaced.
REQUEST_ID_MAX_LENGTH: Final = 128
AUTH_SCHEME: Final = "Bearer"
API_KEY_PREFIX: Final = "luma-api-"
UNAUTHORIZED_STATUS: Final = 401
UNAUTHORIZED: Final = "Missing or invalid API key"
NOT_FOUND_STATUS: Final = 404
GENERATION_NOT_FOUND: Final = "Generation not found"
# A body too large to hold the largest valid request is refused before it is read whole, with
# the error-handling guide's unprefixed form of image_too_large (no image path is known yet): 413.
BODY_TOO_LARGE: Final = "Image exceeds {max_mb} MB size limit"
INTERNAL_ERROR_STATUS: Final = 500
INTERNAL_ERROR: Final = "Internal Server Error"
# Room in a maximal body beyond its base64 images: prompt, user_id, URLs, JSON punctuation (lib).
BODY_SLACK_BYTES: Final = 1 << 20

# The mock server (`luma-schema serve`): failure injection and its own messages (lib).
MOCK_FAIL_HEADER: Final = "X-Mock-Fail"
MOCK_FAIL_MARKER: Final = "[mock-fail:{code}]"
MOCK_FAIL_INVALID_STATUS: Final = 400
MOCK_FAIL_INVALID: Final = "X-Mock-Fail: must be one of {codes}"
MOCK_FAILURE_REASON: Final = "Mock failure requested: {code}"
MOCK_OUTPUT_TYPE: Final = "image"
