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
    Any_,
    Attr,
    Call,
    Compare,
    Const,
    Equals,
    Expr,
    Given,
    In,
    Len,
    Member,
    Not,
    Same,
    Value,
)
from luma_schema.rules import (
    Advice,
    AllowedWith,
    Alone,
    Base64,
    Catalogue,
    EitherOf,
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
    decoded,
)

API_VERSION: Final = "2026-04-01"
ENDPOINT: Final = "/v1/generations"

# Models and the request types each takes (the image-editing guide's two models and types, and
# the API's models page for the rest).
MODEL_TYPES: Final = (
    ("uni-1", ("image", "image_edit", "layering")),
    ("uni-1-max", ("image", "image_edit")),
    ("ray-3.2", ("video", "video_edit", "video_reframe")),
)
MODELS: Final = tuple(model for model, _ in MODEL_TYPES)
TYPES: Final = ("image", "image_edit", "video", "video_edit", "video_reframe", "layering")
IMAGE_TYPES: Final = ("image", "image_edit")
VIDEO_TYPES: Final = ("video", "video_edit", "video_reframe")
VIDEO_MODEL: Final = "ray-3.2"
ASPECT_RATIOS: Final = ("3:1", "2:1", "16:9", "3:2", "1:1", "2:3", "9:16", "1:2", "1:3")
VIDEO_ASPECT_RATIOS: Final = ("1:1", "16:9", "21:9", "3:4", "4:3", "9:16")
PORTRAIT_RATIOS: Final = ("2:3", "9:16", "1:2", "1:3")
STYLES: Final = ("auto", "manga")
OUTPUT_FORMATS: Final = ("png", "jpeg")
VIDEO_DURATIONS: Final = ("5s", "10s")
VIDEO_RESOLUTIONS: Final = ("360p", "540p", "720p", "1080p")
VIDEO_EDIT_STRENGTHS: Final = tuple(
    f"{kind}_{n}" for kind in ("adhere", "flex", "reimagine") for n in (1, 2, 3)
)
POSE_STRENGTHS: Final = ("precise", "coarse")
LAYERING_RESOLUTIONS: Final = ("1k", "2k")
MAX_KEYFRAMES: Final = 64
# Output frames at 24 fps: a keyframe is pinned to a frame of the duration's grid.
FRAMES_BY_DURATION: Final = (("5s", 120), ("10s", 240))
MAX_FRAME_INDEX: Final = 240
MAX_SOURCE_SCALE: Final = 2.0
LAYERING_PROMPT_MAX: Final = 500
MAX_IMAGE_BYTES: Final = 52_428_800
# Video media have no documented cap: a warning above this, and a fetch stops counting here.
ADVISED_VIDEO_BYTES: Final = 200 << 20
# Arrays and objects nested deeper than this (the request object is level 1) are not accepted as
# JSON, whether sent as text or as Python values (lib): the same answer on every path.
MAX_DEPTH: Final = 512
FETCH_TIMEOUT_SECONDS: Final = 18.0
FETCH_MAX_REDIRECTS: Final = 5
# Fetching (url_fetch_failed): the redirects followed (with a Location), and the 2xx answers that
# carry no body; every other answer below 400 that is not 2xx fails the fetch (1xx, 304, ...).
FETCH_REDIRECT_STATUSES: Final = (301, 302, 303, 307, 308)
FETCH_NO_BODY_STATUSES: Final = (204, 205)
# The docs advise staying under 4 MB for speed; larger images earn a warning.
ADVISED_IMAGE_BYTES: Final = 4 << 20

# A media reference: exactly one of url, data, generation_id, file_id; the ids appear in the
# normalised request only when given.
IMAGE_MEMBERS: Final = (
    Field("url", JsonType.STRING, nullable=True),
    Field("data", JsonType.STRING, nullable=True),
    Field("media_type", JsonType.STRING, nullable=True),
    Field("generation_id", JsonType.STRING, nullable=True, shown=False),
    Field("file_id", JsonType.STRING, nullable=True, shown=False),
)
CARRIERS: Final = ("url", "data", "generation_id", "file_id")
IDS: Final = ("generation_id", "file_id")


def _option(name: str, kind: JsonType, **more: object) -> Field:
    """A member of the video or layering options: null means absent."""
    return Field(name, kind, nullable=True, default=None, **more)  # type: ignore[arg-type]


def _control(*members: Field) -> tuple[Field, ...]:
    return (*members, _option("enabled", JsonType.BOOLEAN))


CONTROLS: Final = (
    _option("depth", JsonType.OBJECT, members=_control(_option("blur", JsonType.NUMBER))),
    _option("face", JsonType.OBJECT, members=_control()),
    _option(
        "normals", JsonType.OBJECT, members=_control(_option("augmentation", JsonType.NUMBER))
    ),
    _option("pose", JsonType.OBJECT, members=_control(_option("strength", JsonType.STRING))),
    _option(
        "trajectory", JsonType.OBJECT, members=_control(_option("sparsity", JsonType.NUMBER))
    ),
)
VIDEO_EDIT_MEMBERS: Final = (
    _option("auto_controls", JsonType.BOOLEAN),
    _option("controls", JsonType.OBJECT, members=CONTROLS),
    _option("keyframe_indexes", JsonType.ARRAY, items=JsonType.INTEGER),
    _option(
        "keyframes", JsonType.ARRAY, items=JsonType.OBJECT, members=IMAGE_MEMBERS, reference=True
    ),
    _option("strength", JsonType.STRING),
)
SOURCE_POSITION_MEMBERS: Final = tuple(
    Field(name, JsonType.NUMBER) for name in ("h_norm", "w_norm", "x_norm", "y_norm")
)
VIDEO_MEMBERS: Final = (
    _option("duration", JsonType.STRING),
    _option("resolution", JsonType.STRING),
    _option("loop", JsonType.BOOLEAN),
    _option("hdr", JsonType.BOOLEAN),
    _option("exr_export", JsonType.BOOLEAN),
    _option("start_frame", JsonType.OBJECT, members=IMAGE_MEMBERS, reference=True),
    _option("end_frame", JsonType.OBJECT, members=IMAGE_MEMBERS, reference=True),
    _option(
        "keyframes", JsonType.ARRAY, items=JsonType.OBJECT, members=IMAGE_MEMBERS, reference=True
    ),
    _option("keyframe_indexes", JsonType.ARRAY, items=JsonType.INTEGER),
    _option("edit", JsonType.OBJECT, members=VIDEO_EDIT_MEMBERS),
    _option("source_position", JsonType.OBJECT, members=SOURCE_POSITION_MEMBERS),
)
LAYERING_MEMBERS: Final = (Field("resolution", JsonType.STRING),)

_VIDEO: Final = Test("type", VIDEO_TYPES)

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
        # A video starts from video.start_frame: its source is ignored.
        applies=Test("type", ("video",), negated=True),
    ),
    Field(
        "image_ref",
        JsonType.ARRAY,
        default=(),
        items=JsonType.OBJECT,
        members=IMAGE_MEMBERS,
        reference=True,
        applies=Test("type", (*VIDEO_TYPES, "layering"), negated=True),
    ),
    Field(
        "video",
        JsonType.OBJECT,
        nullable=True,
        default=None,
        members=VIDEO_MEMBERS,
        shown=False,
        applies=_VIDEO,
    ),
    Field(
        "layering",
        JsonType.OBJECT,
        nullable=True,
        default=None,
        members=LAYERING_MEMBERS,
        shown=False,
        applies=Test("type", ("layering",)),
    ),
)

# Fields whose values are images (an object, or an array of objects) with IMAGE_MEMBERS.
IMAGE_FIELDS: Final = tuple(f.name for f in FIELDS if f.reference)

_ENUM: Final = "Invalid {field} '{value}'. Valid: {valid}"
_LAYERING: Final = (Test("type", ("layering",)),)
_OF_VIDEO: Final = (_VIDEO,)  # combinations of the video options: for the types they serve
# A source that may be a video: video/* media are allowed there, and the image cap is not theirs.
_VIDEO_SOURCE: Final = (Test("@", ("source",)), Test("type", ("video_edit", "video_reframe")))


def _enum(rule_id: str, field: str, values: tuple[str, ...], **more: object) -> OneOf:
    return OneOf(rule_id, 400, _ENUM, field=field, values=values, **more)  # type: ignore[arg-type]


def _only_for(rule_id: str, field: str, test: Test, kind: str) -> NotTogether:
    """``field`` given (or true) only for requests of type ``kind`` (422: a combination)."""
    return NotTogether(
        rule_id,
        422,
        f"{{field}}: only valid for type '{kind}'",
        field=field,
        tests=(test, Test("type", (kind,), negated=True)),
        when=_OF_VIDEO,
    )


def _not_with(rule_id: str, field: str, tests: tuple[Test, ...], what: str) -> NotTogether:
    return NotTogether(
        rule_id, 422, f"{{field}}: not supported with {what}", field=field, tests=tests, when=_OF_VIDEO
    )


_LOOP: Final = Test("video.loop", (True,))
_HDR: Final = Test("video.hdr", (True,))
_KEYFRAMES: Final = Test("video.keyframes")

RULES: Final[tuple[Rule, ...]] = (
    # The body is a JSON object; every field and member has its JSON type.
    JsonBody("body_not_object", 400, "request body must be a JSON object"),
    JsonTypes("wrong_type", 400, "{path} must be {expected}"),
    # The model and the type.
    OneOf("model_unknown", 400, "Unknown model: {value}", field="model", values=MODELS),
    OneOfFor(
        "type_unsupported",
        400,
        "Type '{value}' is not supported for model '{model}'",
        field="type",
        values=TYPES,
        key="model",
        by=MODEL_TYPES,
        context=("model",),
    ),
    # The prompt: 1-6000 characters, but for layering, where it is optional and short.
    Required("prompt_missing", 400, "{field} is required", field="prompt", unless=_LAYERING),
    Length(
        "prompt_length",
        400,
        "Prompt must be between {min} and {max} characters",
        field="prompt",
        min=1,
        max=6000,
        unless=_LAYERING,
    ),
    Length(
        "layering_prompt_length",
        400,
        "Prompt must be between {min} and {max} characters",
        field="prompt",
        max=LAYERING_PROMPT_MAX,
        when=_LAYERING,
    ),
    # Single values of the other fields.
    OneOf(
        "aspect_ratio_invalid",
        400,
        _ENUM,
        field="aspect_ratio",
        values=ASPECT_RATIOS,
        # The documented list, verbatim: it is not a sort of any kind.
        listing="1:1, 1:2, 1:3, 16:9, 2:1, 2:3, 3:1, 3:2, 9:16",
        unless=(Test("model", (VIDEO_MODEL,)),),
    ),
    OneOf(
        "video_aspect_ratio_invalid",
        400,
        _ENUM,
        field="aspect_ratio",
        values=VIDEO_ASPECT_RATIOS,
        # Ordered as the documented list is: its two sides compared as strings.
        listing="1:1, 16:9, 21:9, 3:4, 4:3, 9:16",
        when=(Test("model", (VIDEO_MODEL,)),),
    ),
    _enum("style_invalid", "style", STYLES),
    _enum("output_format_invalid", "output_format", OUTPUT_FORMATS),
    Length(
        "user_id_length", 400, "{field} must be at most {max} characters", field="user_id", max=256
    ),
    # Single values of the video and layering options.
    _enum("video_duration_invalid", "video.duration", VIDEO_DURATIONS),
    _enum("video_resolution_invalid", "video.resolution", VIDEO_RESOLUTIONS),
    Length(
        "video_keyframes_count",
        400,
        "{field} must hold between {min} and {max} references",
        field="video.keyframes",
        min=1,
        max=MAX_KEYFRAMES,
    ),
    ItemsRange(
        "video_keyframe_index_range",
        400,
        "{field}: each index must be between {min} and {max}",
        field="video.keyframe_indexes",
        min=0,
        max=MAX_FRAME_INDEX,
    ),
    Unique(
        "video_keyframe_indexes_repeated", 400, "{field}: indexes must be unique", field="video.keyframe_indexes"
    ),
    Length(
        "video_edit_keyframes_count",
        400,
        "{field} must hold at most {max} references",
        field="video.edit.keyframes",
        max=MAX_KEYFRAMES,
    ),
    ItemsRange(
        "video_edit_keyframe_index_range",
        400,
        "{field}: each index must be at least {min}",
        field="video.edit.keyframe_indexes",
        min=0,
    ),
    Unique(
        "video_edit_keyframe_indexes_repeated",
        400,
        "{field}: indexes must be unique",
        field="video.edit.keyframe_indexes",
    ),
    _enum("video_edit_strength_invalid", "video.edit.strength", VIDEO_EDIT_STRENGTHS),
    *(
        Range(
            f"video_{name}_range",
            400,
            "{field} must be between {min} and {max}",
            field=f"video.edit.controls.{control}.{name}",
            min=0,
            max=1,
        )
        for control, name in (("depth", "blur"), ("normals", "augmentation"), ("trajectory", "sparsity"))
    ),
    _enum("video_pose_strength_invalid", "video.edit.controls.pose.strength", POSE_STRENGTHS),
    *(
        Required(
            f"video_source_position_{name}_missing",
            400,
            "{field} is required",
            field=f"video.source_position.{name}",
            when=(Test("video.source_position"),),
        )
        for name in ("h_norm", "w_norm", "x_norm", "y_norm")
    ),
    *(
        Range(
            f"video_source_position_{name}_range",
            400,
            "{field} must be at most {max}",
            field=f"video.source_position.{name}",
            max=MAX_SOURCE_SCALE,
        )
        for name in ("h_norm", "w_norm")
    ),
    _enum("layering_resolution_invalid", "layering.resolution", LAYERING_RESOLUTIONS),
    # What each type takes.
    RequiredFor(
        "source_required",
        400,
        "{field} is required for {key} '{equals}'",
        field="source",
        key="type",
        among=("image_edit", "video_edit", "video_reframe", "layering"),
    ),
    ForbiddenFor(
        "source_forbidden",
        400,
        # The guide's string, verbatim (of the guide's era: docs/contract.md).
        "source is only valid for type 'image_edit'",
        field="source",
        key="type",
        among=("image",),
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
    # Each reference's shape (references outer, these rules inner).
    Alone(
        "reference_ids_alone",
        400,
        "{path}: provide exactly one of 'url', 'data', 'generation_id' or 'file_id'",
        keys=IDS,
        among=CARRIERS,
    ),
    NotBoth(
        "url_and_data", 400, "{path}: provide either '{a}' or '{b}', not both", a="url", b="data"
    ),
    EitherOf(
        "url_or_data",
        400,
        "{path}: provide either '{a}' or '{b}', not neither",
        a="url",
        b="data",
        others=IDS,
    ),
    RequiredWith(
        "media_type_required",
        400,
        "{path}: '{member}' is required with '{with_}'",
        member="media_type",
        with_="data",
    ),
    *(
        Uuid(f"{member}_invalid", 400, "{path}: '{member}' must be a UUID", member=member)
        for member in IDS
    ),
    RequiredWith(
        "video_media_type_required",
        400,
        "{path}: '{member}' is required with '{with_}'",
        member="media_type",
        with_="url",
        when=_VIDEO_SOURCE,
    ),
    # Parameter combinations.
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
    _only_for("video_loop_type", "video.loop", _LOOP, "video"),
    _not_with("video_loop_duration", "video.loop", (_LOOP, Test("video.duration", ("10s",))), "video.duration '10s'"),
    _not_with("video_loop_hdr", "video.loop", (_LOOP, _HDR), "video.hdr true"),
    NotTogether(
        "video_hdr_reframe",
        422,
        "{field}: not supported for type 'video_reframe'",
        field="video.hdr",
        tests=(_HDR, Test("type", ("video_reframe",))),
    ),
    NotTogether(
        "video_hdr_draft",
        422,
        "{field}: not supported with video.resolution '360p' for type 'video'",
        field="video.hdr",
        tests=(_HDR, Test("video.resolution", ("360p",)), Test("type", ("video",))),
    ),
    NotTogether(
        "video_exr_needs_hdr",
        422,
        "{field}: requires video.hdr true",
        field="video.exr_export",
        tests=(Test("video.exr_export", (True,)), Test("video.hdr", (True,), negated=True)),
        when=_OF_VIDEO,
    ),
    _only_for("video_keyframes_type", "video.keyframes", _KEYFRAMES, "video"),
    SameLength(
        "video_keyframe_indexes_length",
        422,
        "{field}: must match {other} in length",
        field="video.keyframe_indexes",
        other="video.keyframes",
        when=_OF_VIDEO,
    ),
    *(
        ItemsRange(
            f"video_keyframe_index_beyond_{duration}",
            422,
            f"{{field}}: each index must be at most {{max}} for video.duration '{duration}'",
            field="video.keyframe_indexes",
            max=frames,
            when=(_VIDEO, Test("video.duration", (duration,))),
        )
        for duration, frames in FRAMES_BY_DURATION
        if frames < MAX_FRAME_INDEX
    ),
    _not_with("video_keyframes_start_frame", "video.keyframes", (_KEYFRAMES, Test("video.start_frame")), "video.start_frame"),
    _not_with("video_keyframes_end_frame", "video.keyframes", (_KEYFRAMES, Test("video.end_frame")), "video.end_frame"),
    _not_with("video_keyframes_loop", "video.keyframes", (_KEYFRAMES, _LOOP), "video.loop true"),
    _only_for("video_edit_type", "video.edit", Test("video.edit"), "video_edit"),
    SameLength(
        "video_edit_keyframe_indexes_length",
        422,
        "{field}: must match {other} in length",
        field="video.edit.keyframe_indexes",
        other="video.edit.keyframes",
        when=_OF_VIDEO,
    ),
    _not_with(
        "video_edit_keyframes_start_frame",
        "video.edit.keyframes",
        (Test("video.edit.keyframes"), Test("video.start_frame")),
        "video.start_frame",
    ),
    _only_for(
        "video_source_position_type", "video.source_position", Test("video.source_position"), "video_reframe"
    ),
    # Each reference's content, without the network.
    Base64("base64_invalid", 422, "{path}: invalid base64 data", member="data"),
    MaxBytes(
        "image_too_large",
        413,
        "{path}: image exceeds {max_mb} MB limit",
        member="data",
        max=MAX_IMAGE_BYTES,
        # A video source's video media have no documented cap.
        unless=(*_VIDEO_SOURCE, Test(".media_type", ("video",), function="media_family")),
    ),
    ImageMediaType(
        "not_an_image",
        422,
        "{path}: content-type is not an image",
        member="media_type",
        unless=_VIDEO_SOURCE,
    ),
    MediaFamily(
        "not_an_image_or_video",
        422,
        "{path}: content-type is not an image or a video",
        member="media_type",
        families=("image", "video"),
        when=_VIDEO_SOURCE,
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

# Messages quoted from the published docs; every other rule's message is this library's own
# wording, in the documented style (the generated docs mark it).
DOCUMENTED_MESSAGES: Final = frozenset(
    {
        "model_unknown",
        "type_unsupported",
        "prompt_length",
        "aspect_ratio_invalid",
        "source_required",
        "source_forbidden",
        "image_ref_edit_max",
        "url_and_data",
        "url_or_data",
        "media_type_required",
        "base64_invalid",
        "image_too_large",
        "not_an_image",
        "url_not_fetchable",
        "url_fetch_failed",
        "url_http_error",
    }
)
LIBRARY_MESSAGES: Final = frozenset(r.id for r in RULES) - DOCUMENTED_MESSAGES
# Documented strings of the image-editing guide's era: the live server may word them since
# differently (source with type image; an image with none of its four carriers).
GUIDE_ERA_MESSAGES: Final = frozenset({"source_forbidden", "url_or_data"})

_DATA: Final = Member("data")
_MEDIA_TYPE: Final = Member("media_type")
_FACTS: Final = decoded("data")
_FOUND: Final = Call("sniff", _FACTS)
_NAMED: Final = Call("media_format", _MEDIA_TYPE)
_NOT_VIDEO: Final = Not(Equals(Call("media_family", _MEDIA_TYPE), "video"))
_DECLARED_VIDEO: Final = All(Given(_MEDIA_TYPE), Equals(Call("media_family", _MEDIA_TYPE), "video"))
_WHOLE: Final = All(
    Given(_DATA), Attr(_FACTS, "valid"), Compare(Attr(_FACTS, "size"), "<=", MAX_IMAGE_BYTES)
)
_IMAGE_DATA: Final = All(_WHOLE, Any_(Not(Given(_MEDIA_TYPE)), _NOT_VIDEO))
_TYPE: Final = Value("type")


def _ignored(advice_id: str, field: str, when: Expr) -> Advice:
    """A value the server ignores for the request's type."""
    return Advice(
        advice_id,
        "{path}: ignored by the server for {key} '{equals}'",
        when=when,
        at=field,
        params=(("key", Const("type")), ("equals", _TYPE)),
    )


def _types(*types: str) -> Expr:
    return In(_TYPE, frozenset(types))


_NON_IMAGE: Final = _types(*VIDEO_TYPES, "layering")

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
        when=All(_IMAGE_DATA, Equals(_FOUND, None)),
        at="data",
    ),
    Advice(
        "image_large",
        "{path}: decoded image is over {limit_mb} MB; smaller images are faster",
        Scope.IMAGE,
        when=All(_IMAGE_DATA, Compare(Attr(_FACTS, "size"), ">", ADVISED_IMAGE_BYTES)),
        at="data",
        params=(("limit_mb", Const(ADVISED_IMAGE_BYTES >> 20)),),
    ),
    Advice(
        "video_large",
        "{path}: decoded video is over {limit_mb} MB",
        Scope.IMAGE,
        when=All(
            Given(_DATA),
            _DECLARED_VIDEO,
            Attr(_FACTS, "valid"),
            Compare(Attr(_FACTS, "size"), ">", ADVISED_VIDEO_BYTES),
        ),
        at="data",
        params=(("limit_mb", Const(ADVISED_VIDEO_BYTES >> 20)),),
    ),
    Advice(
        "media_type_ignored",
        "{path}: ignored beside an id",
        Scope.IMAGE,
        when=All(Given(_MEDIA_TYPE), Any_(*(Given(Member(i)) for i in IDS))),
        at="media_type",
    ),
    # What the server ignores for the request's type (the FAQ: aspect_ratio on image_edit).
    _ignored(
        "aspect_ratio_ignored",
        "aspect_ratio",
        All(_types("image_edit", "video_edit", "layering"), Given(Value("aspect_ratio"))),
    ),
    _ignored("style_ignored", "style", All(_NON_IMAGE, Not(Equals(Value("style"), "auto")))),
    _ignored(
        "output_format_ignored", "output_format", All(_NON_IMAGE, Given(Value("output_format")))
    ),
    _ignored("web_search_ignored", "web_search", All(_NON_IMAGE, Equals(Value("web_search"), True))),
    _ignored(
        "image_ref_ignored",
        "image_ref",
        All(_NON_IMAGE, Given(Value("image_ref")), Compare(Len(Value("image_ref")), ">", 0)),
    ),
    Advice(
        "source_ignored",
        "{path}: ignored for type 'video'; send a first frame as video.start_frame",
        when=All(_types("video"), Given(Value("source"))),
        at="source",
    ),
    _ignored("video_ignored", "video", All(Not(_types(*VIDEO_TYPES)), Given(Value("video")))),
    _ignored("layering_ignored", "layering", All(Not(_types("layering")), Given(Value("layering")))),
    Advice(
        "aspect_ratio_to_reframe",
        "{path}: not given; video_reframe reframes to an aspect ratio",
        when=All(_types("video_reframe"), Not(Given(Value("aspect_ratio")))),
        at="aspect_ratio",
    ),
    Advice(
        "video_reframe_1080p",
        "{path}: 1080p for video_reframe is still rolling out",
        when=All(_types("video_reframe"), Equals(Value("video.resolution"), "1080p")),
        at="video.resolution",
    ),
    Advice(
        "video_hdr_540p",
        "{path}: HDR is offered at 720p and 1080p",
        when=All(_types(*VIDEO_TYPES), Equals(Value("video.hdr"), True), Equals(Value("video.resolution"), "540p")),
        at="video.hdr",
    ),
    *(
        Advice(
            f"video_{frame}_surface",
            "{path}: 10s and HDR are supported on the keyframes surface",
            when=All(
                _types(*VIDEO_TYPES),
                Given(Value(f"video.{frame}")),
                Any_(Equals(Value("video.duration"), "10s"), Equals(Value("video.hdr"), True)),
            ),
            at=f"video.{frame}",
        )
        for frame in ("start_frame", "end_frame")
    ),
    Advice(
        "video_source_position_size",
        "{path}: a zero or negative width or height",
        when=All(
            _types(*VIDEO_TYPES),
            Given(Value("video.source_position")),
            Any_(
                *(
                    All(Given(size), Compare(size, "<=", 0))
                    for size in (
                        Value("video.source_position.w_norm"),
                        Value("video.source_position.h_norm"),
                    )
                )
            ),
        ),
        at="video.source_position",
    ),
    Advice(
        "video_duration_edit",
        "{path}: a video_edit's output matches its source's duration",
        when=All(_types("video_edit"), Given(Value("video.duration"))),
        at="video.duration",
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
    if set(TYPES) != {t for _, types in MODEL_TYPES for t in types}:
        raise ValueError("every type is some model's")
    if not GUIDE_ERA_MESSAGES <= DOCUMENTED_MESSAGES:
        raise ValueError("guide-era messages are documented ones")


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
MOCK_VIDEO_OUTPUT_TYPE: Final = "video"  # the output of the ray-3.2 types
