"""One row per rule: exact status, exact string, exactly one error.  The image-editing guide's
rows first (SPEC section 2), then the rules of the API's newer surface: ray-3.2 and its video
types, layering, references by id, the video and layering options."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import PNG64, URL, edit, errors, image

from luma_schema import catalog, check

SRC_DATA = {"data": PNG64, "media_type": "image/png"}
GEN = "123e4567-e89b-12d3-a456-426614174000"
CLIP = {"url": "https://example.com/clip.mp4", "media_type": "video/mp4"}
FRAME = {"url": URL}
PLACED = {"x_norm": 0, "y_norm": 0, "w_norm": 1, "h_norm": 1}


def video(**fields: Any) -> dict[str, Any]:
    return {"model": "ray-3.2", "type": "video", "prompt": "A wave", **fields}


def video_edit(**fields: Any) -> dict[str, Any]:
    return {"model": "ray-3.2", "type": "video_edit", "prompt": "Snow", "source": CLIP, **fields}


def reframe(**fields: Any) -> dict[str, Any]:
    return video_edit(type="video_reframe", prompt="Wider", aspect_ratio="16:9", **fields)


def layering(**fields: Any) -> dict[str, Any]:
    return {"type": "layering", "source": {"url": URL}, **fields}


def edit_options(**options: Any) -> dict[str, Any]:
    return video_edit(video={"edit": options})


def placed(**members: Any) -> dict[str, Any]:
    return reframe(video={"source_position": {**PLACED, **members}})


def unplaced(name: str) -> dict[str, Any]:
    return reframe(video={"source_position": {k: v for k, v in PLACED.items() if k != name}})


ROWS: list[tuple[str, Any, int, str, str]] = [
    ("body_not_object", [], 400, "request body must be a JSON object", ""),
    ("body_not_object", "[1, 2]", 400, "request body must be a JSON object", ""),
    ("wrong_type", image(prompt=5), 400, "prompt must be a string", "prompt"),
    ("wrong_type", image(web_search="yes"), 400, "web_search must be a boolean", "web_search"),
    ("wrong_type", image(image_ref={}), 400, "image_ref must be an array", "image_ref"),
    ("wrong_type", edit(source=[]), 400, "source must be an object", "source"),
    (
        "wrong_type",
        image(image_ref=[{"url": URL}, {"url": URL}, {"url": 3}]),
        400,
        "image_ref[2].url must be a string",
        "image_ref[2].url",
    ),
    (
        "wrong_type",
        edit(source={"url": URL, "media_type": 1}),
        400,
        "source.media_type must be a string",
        "source.media_type",
    ),
    ("model_unknown", image(model="uni-2"), 400, "Unknown model: uni-2", "model"),
    (
        "type_unsupported",
        image(type="video"),
        400,
        "Type 'video' is not supported for model 'uni-1'",
        "type",
    ),
    (
        "type_unsupported",
        image(type="video", model="uni-1-max"),
        400,
        "Type 'video' is not supported for model 'uni-1-max'",
        "type",
    ),
    ("prompt_missing", {"type": "image"}, 400, "prompt is required", "prompt"),
    (
        "prompt_length",
        image(prompt=""),
        400,
        "Prompt must be between 1 and 6000 characters",
        "prompt",
    ),
    (
        "prompt_length",
        image(prompt="x" * 6001),
        400,
        "Prompt must be between 1 and 6000 characters",
        "prompt",
    ),
    (
        "aspect_ratio_invalid",
        image(aspect_ratio="4:5"),
        400,
        "Invalid aspect_ratio '4:5'. Valid: 1:1, 1:2, 1:3, 16:9, 2:1, 2:3, 3:1, 3:2, 9:16",
        "aspect_ratio",
    ),
    (
        "style_invalid",
        image(style="anime"),
        400,
        "Invalid style 'anime'. Valid: auto, manga",
        "style",
    ),
    (
        "output_format_invalid",
        image(output_format="gif"),
        400,
        "Invalid output_format 'gif'. Valid: jpeg, png",
        "output_format",
    ),
    (
        "user_id_length",
        image(user_id="u" * 257),
        400,
        "user_id must be at most 256 characters",
        "user_id",
    ),
    (
        "source_required",
        {"type": "image_edit", "prompt": "x"},
        400,
        "source is required for type 'image_edit'",
        "source",
    ),
    (
        "source_required",
        {"type": "image_edit", "prompt": "x", "source": None},
        400,
        "source is required for type 'image_edit'",
        "source",
    ),
    (
        "source_forbidden",
        image(source={"url": URL}),
        400,
        "source is only valid for type 'image_edit'",
        "source",
    ),
    (
        "source_forbidden",
        image(type="image", source={"url": URL}),
        400,
        "source is only valid for type 'image_edit'",
        "source",
    ),
    (
        "image_ref_edit_max",
        edit(image_ref=[{"url": URL}] * 9),
        400,
        "image_edit supports up to 8 reference images (source occupies one slot)",
        "image_ref",
    ),
    (
        "image_ref_max",
        image(image_ref=[{"url": URL}] * 10),
        400,
        "image supports up to 9 reference images",
        "image_ref",
    ),
    (
        "url_and_data",
        edit(source={"url": URL, **SRC_DATA}),
        400,
        "source: provide either 'url' or 'data', not both",
        "source",
    ),
    (
        "url_or_data",
        edit(source={"media_type": "image/png"}),
        400,
        "source: provide either 'url' or 'data', not neither",
        "source",
    ),
    (
        "url_or_data",
        image(image_ref=[{"url": URL}, {}]),
        400,
        "image_ref[1]: provide either 'url' or 'data', not neither",
        "image_ref[1]",
    ),
    (
        "media_type_required",
        edit(source={"data": PNG64}),
        400,
        "source: 'media_type' is required with 'data'",
        "source",
    ),
    (
        "manga_portrait",
        image(style="manga", aspect_ratio="16:9"),
        422,
        "style 'manga' requires a portrait aspect_ratio (one of 2:3, 9:16, 1:2, 1:3)",
        "style",
    ),
    (
        "base64_invalid",
        edit(source={"data": "iVBORw0KGgoAAAANSUhEUgAAAAUA...", "media_type": "image/jpeg"}),
        422,
        "source: invalid base64 data",
        "source",
    ),
    (
        "image_too_large",
        edit(
            source={"data": "QUFB" * (catalog.MAX_IMAGE_BYTES // 3 + 1), "media_type": "image/png"}
        ),
        413,
        "source: image exceeds 50 MB limit",
        "source",
    ),
    (
        "not_an_image",
        edit(source={"url": URL, "media_type": "text/plain"}),
        422,
        "source: content-type is not an image",
        "source",
    ),
    (
        "url_not_fetchable",
        edit(source={"url": "https://localhost/photo.jpg"}),
        422,
        "source: failed to fetch URL",
        "source",
    ),
    (
        "url_not_fetchable",
        image(image_ref=[{"url": URL}, {"url": "http://example.com/a.png"}]),
        422,
        "image_ref[1]: failed to fetch URL",
        "image_ref[1]",
    ),
]


LIVE_ROWS: list[tuple[str, Any, int, str, str]] = [
    # JSON types inside the options and at every reference position.
    ("wrong_type", video(video=[]), 400, "video must be an object", "video"),
    ("wrong_type", video(video={"duration": 5}), 400, "video.duration must be a string", "video.duration"),
    ("wrong_type", video(video={"loop": "true"}), 400, "video.loop must be a boolean", "video.loop"),
    (
        "wrong_type",
        placed(w_norm=True),
        400,
        "video.source_position.w_norm must be a number",
        "video.source_position.w_norm",
    ),
    (
        "wrong_type",
        placed(h_norm=None),
        400,
        "video.source_position.h_norm must be a number",
        "video.source_position.h_norm",
    ),
    (
        "wrong_type",
        layering(layering={"resolution": None}),
        400,
        "layering.resolution must be a string",
        "layering.resolution",
    ),
    (
        "wrong_type",
        video(video={"keyframes": [FRAME, {"file_id": 7}]}),
        400,
        "video.keyframes[1].file_id must be a string",
        "video.keyframes[1].file_id",
    ),
    (
        "wrong_type",
        edit_options(controls={"depth": {"blur": "0.5"}}),
        400,
        "video.edit.controls.depth.blur must be a number",
        "video.edit.controls.depth.blur",
    ),
    # The model -> type matrix (the default model is uni-1).
    (
        "type_unsupported",
        video(type="image"),
        400,
        "Type 'image' is not supported for model 'ray-3.2'",
        "type",
    ),
    (
        "type_unsupported",
        {"prompt": "Snow", "type": "video_edit", "source": CLIP},
        400,
        "Type 'video_edit' is not supported for model 'uni-1'",
        "type",
    ),
    (
        "type_unsupported",
        layering(model="uni-1-max"),
        400,
        "Type 'layering' is not supported for model 'uni-1-max'",
        "type",
    ),
    (
        "layering_prompt_length",
        layering(prompt="x" * 501),
        400,
        "Prompt must be between 0 and 500 characters",
        "prompt",
    ),
    # Aspect ratios by model: the video list ordered as the documented one is.
    (
        "video_aspect_ratio_invalid",
        video(aspect_ratio="3:1"),
        400,
        "Invalid aspect_ratio '3:1'. Valid: 1:1, 16:9, 21:9, 3:4, 4:3, 9:16",
        "aspect_ratio",
    ),
    (
        "aspect_ratio_invalid",
        image(aspect_ratio="21:9"),
        400,
        "Invalid aspect_ratio '21:9'. Valid: 1:1, 1:2, 1:3, 16:9, 2:1, 2:3, 3:1, 3:2, 9:16",
        "aspect_ratio",
    ),
    # Single values of the video and layering options.
    (
        "video_duration_invalid",
        video(video={"duration": "7s"}),
        400,
        "Invalid video.duration '7s'. Valid: 10s, 5s",
        "video.duration",
    ),
    (
        "video_resolution_invalid",
        video(video={"resolution": "4k"}),
        400,
        "Invalid video.resolution '4k'. Valid: 1080p, 360p, 540p, 720p",
        "video.resolution",
    ),
    (
        "video_keyframes_count",
        video(video={"keyframes": []}),
        400,
        "video.keyframes must hold between 1 and 64 references",
        "video.keyframes",
    ),
    (
        "video_keyframes_count",
        video(video={"keyframes": [FRAME] * 65}),
        400,
        "video.keyframes must hold between 1 and 64 references",
        "video.keyframes",
    ),
    (
        "video_keyframe_index_range",
        video(video={"keyframes": [FRAME, FRAME], "keyframe_indexes": [0, 241]}),
        400,
        "video.keyframe_indexes: each index must be between 0 and 240",
        "video.keyframe_indexes",
    ),
    (
        "video_keyframe_index_range",
        video(video={"keyframes": [FRAME], "keyframe_indexes": [-1]}),
        400,
        "video.keyframe_indexes: each index must be between 0 and 240",
        "video.keyframe_indexes",
    ),
    (
        "video_keyframe_indexes_repeated",
        video(video={"keyframes": [FRAME, FRAME], "keyframe_indexes": [3, 3]}),
        400,
        "video.keyframe_indexes: indexes must be unique",
        "video.keyframe_indexes",
    ),
    (
        "video_edit_keyframes_count",
        edit_options(keyframes=[FRAME] * 65),
        400,
        "video.edit.keyframes must hold at most 64 references",
        "video.edit.keyframes",
    ),
    (
        "video_edit_keyframe_index_range",
        edit_options(keyframes=[FRAME], keyframe_indexes=[-1]),
        400,
        "video.edit.keyframe_indexes: each index must be at least 0",
        "video.edit.keyframe_indexes",
    ),
    (
        "video_edit_keyframe_indexes_repeated",
        edit_options(keyframes=[FRAME, FRAME], keyframe_indexes=[4, 4]),
        400,
        "video.edit.keyframe_indexes: indexes must be unique",
        "video.edit.keyframe_indexes",
    ),
    (
        "video_edit_strength_invalid",
        edit_options(strength="flex_4"),
        400,
        "Invalid video.edit.strength 'flex_4'. Valid: adhere_1, adhere_2, adhere_3, flex_1, "
        "flex_2, flex_3, reimagine_1, reimagine_2, reimagine_3",
        "video.edit.strength",
    ),
    (
        "video_blur_range",
        edit_options(controls={"depth": {"blur": 1.5}}),
        400,
        "video.edit.controls.depth.blur must be between 0 and 1",
        "video.edit.controls.depth.blur",
    ),
    (
        "video_augmentation_range",
        edit_options(controls={"normals": {"augmentation": -0.1}}),
        400,
        "video.edit.controls.normals.augmentation must be between 0 and 1",
        "video.edit.controls.normals.augmentation",
    ),
    (
        "video_sparsity_range",
        edit_options(controls={"trajectory": {"sparsity": 2}}),
        400,
        "video.edit.controls.trajectory.sparsity must be between 0 and 1",
        "video.edit.controls.trajectory.sparsity",
    ),
    (
        "video_pose_strength_invalid",
        edit_options(controls={"pose": {"strength": "loose"}}),
        400,
        "Invalid video.edit.controls.pose.strength 'loose'. Valid: coarse, precise",
        "video.edit.controls.pose.strength",
    ),
    *(
        (
            f"video_source_position_{name}_missing",
            unplaced(name),
            400,
            f"video.source_position.{name} is required",
            f"video.source_position.{name}",
        )
        for name in ("h_norm", "w_norm", "x_norm", "y_norm")
    ),
    *(
        (
            f"video_source_position_{name}_range",
            placed(**{name: 2.5}),
            400,
            f"video.source_position.{name} must be at most 2.0",
            f"video.source_position.{name}",
        )
        for name in ("h_norm", "w_norm")
    ),
    (
        "layering_resolution_invalid",
        layering(layering={"resolution": "4k"}),
        400,
        "Invalid layering.resolution '4k'. Valid: 1k, 2k",
        "layering.resolution",
    ),
    # What each type takes.
    *(
        (
            "source_required",
            {"model": "ray-3.2", "type": kind, "prompt": "x"},
            400,
            f"source is required for type '{kind}'",
            "source",
        )
        for kind in ("video_edit", "video_reframe")
    ),
    ("source_required", {"type": "layering"}, 400, "source is required for type 'layering'", "source"),
    # Each reference's shape, at every position.
    (
        "reference_ids_alone",
        edit(source={"generation_id": GEN, "url": URL}),
        400,
        "source: provide exactly one of 'url', 'data', 'generation_id' or 'file_id'",
        "source",
    ),
    (
        "reference_ids_alone",
        image(image_ref=[{"file_id": GEN, "url": URL, **SRC_DATA}]),
        400,
        "image_ref[0]: provide exactly one of 'url', 'data', 'generation_id' or 'file_id'",
        "image_ref[0]",
    ),
    (
        "url_or_data",
        video(video={"start_frame": {"media_type": "image/png"}}),
        400,
        "video.start_frame: provide either 'url' or 'data', not neither",
        "video.start_frame",
    ),
    (
        "url_and_data",
        edit_options(keyframes=[FRAME, {"url": URL, **SRC_DATA}]),
        400,
        "video.edit.keyframes[1]: provide either 'url' or 'data', not both",
        "video.edit.keyframes[1]",
    ),
    (
        "generation_id_invalid",
        edit(source={"generation_id": "gen_123"}),
        400,
        "source: 'generation_id' must be a UUID",
        "source",
    ),
    (
        "file_id_invalid",
        video(video={"keyframes": [{"file_id": GEN}, {"file_id": GEN[:-1]}]}),
        400,
        "video.keyframes[1]: 'file_id' must be a UUID",
        "video.keyframes[1]",
    ),
    (
        "video_media_type_required",
        video_edit(source={"url": "https://example.com/clip.mp4"}),
        400,
        "source: 'media_type' is required with 'url'",
        "source",
    ),
    (
        "media_type_required",
        video(video={"end_frame": {"data": PNG64}}),
        400,
        "video.end_frame: 'media_type' is required with 'data'",
        "video.end_frame",
    ),
    # Combinations of the video options (each value valid alone).
    (
        "video_loop_type",
        video_edit(video={"loop": True}),
        422,
        "video.loop: only valid for type 'video'",
        "video.loop",
    ),
    (
        "video_loop_duration",
        video(video={"loop": True, "duration": "10s"}),
        422,
        "video.loop: not supported with video.duration '10s'",
        "video.loop",
    ),
    (
        "video_loop_hdr",
        video(video={"loop": True, "hdr": True}),
        422,
        "video.loop: not supported with video.hdr true",
        "video.loop",
    ),
    (
        "video_hdr_reframe",
        reframe(video={"hdr": True}),
        422,
        "video.hdr: not supported for type 'video_reframe'",
        "video.hdr",
    ),
    (
        "video_hdr_draft",
        video(video={"hdr": True, "resolution": "360p"}),
        422,
        "video.hdr: not supported with video.resolution '360p' for type 'video'",
        "video.hdr",
    ),
    (
        "video_exr_needs_hdr",
        video(video={"exr_export": True, "hdr": False}),
        422,
        "video.exr_export: requires video.hdr true",
        "video.exr_export",
    ),
    (
        "video_keyframes_type",
        video_edit(video={"keyframes": [FRAME]}),
        422,
        "video.keyframes: only valid for type 'video'",
        "video.keyframes",
    ),
    (
        "video_keyframe_indexes_length",
        video(video={"keyframes": [FRAME], "keyframe_indexes": [0, 60]}),
        422,
        "video.keyframe_indexes: must match video.keyframes in length",
        "video.keyframe_indexes",
    ),
    (
        "video_keyframe_index_beyond_5s",
        video(video={"duration": "5s", "keyframes": [FRAME, FRAME], "keyframe_indexes": [0, 121]}),
        422,
        "video.keyframe_indexes: each index must be at most 120 for video.duration '5s'",
        "video.keyframe_indexes",
    ),
    (
        "video_keyframes_start_frame",
        video(video={"keyframes": [FRAME], "start_frame": FRAME}),
        422,
        "video.keyframes: not supported with video.start_frame",
        "video.keyframes",
    ),
    (
        "video_keyframes_end_frame",
        video(video={"keyframes": [FRAME], "end_frame": FRAME}),
        422,
        "video.keyframes: not supported with video.end_frame",
        "video.keyframes",
    ),
    (
        "video_keyframes_loop",
        video(video={"keyframes": [FRAME], "loop": True}),
        422,
        "video.keyframes: not supported with video.loop true",
        "video.keyframes",
    ),
    (
        "video_edit_type",
        video(video={"edit": {"strength": "flex_1"}}),
        422,
        "video.edit: only valid for type 'video_edit'",
        "video.edit",
    ),
    (
        "video_edit_keyframe_indexes_length",
        edit_options(keyframes=[FRAME], keyframe_indexes=[]),
        422,
        "video.edit.keyframe_indexes: must match video.edit.keyframes in length",
        "video.edit.keyframe_indexes",
    ),
    (
        "video_edit_keyframes_start_frame",
        video_edit(video={"start_frame": FRAME, "edit": {"keyframes": [FRAME]}}),
        422,
        "video.edit.keyframes: not supported with video.start_frame",
        "video.edit.keyframes",
    ),
    (
        "video_source_position_type",
        video(video={"source_position": PLACED}),
        422,
        "video.source_position: only valid for type 'video_reframe'",
        "video.source_position",
    ),
    # Each reference's content: a video source takes video media, image positions do not.
    (
        "not_an_image_or_video",
        video_edit(source={"url": "https://example.com/a.mp3", "media_type": "audio/mpeg"}),
        422,
        "source: content-type is not an image or a video",
        "source",
    ),
    (
        "not_an_image",
        video(video={"start_frame": {"url": URL, "media_type": "video/mp4"}}),
        422,
        "video.start_frame: content-type is not an image",
        "video.start_frame",
    ),
    (
        "not_an_image",
        layering(source={"url": URL, "media_type": "video/mp4"}),
        422,
        "source: content-type is not an image",
        "source",
    ),
    (
        "base64_invalid",
        edit_options(keyframes=[{"data": PNG64[:-1], "media_type": "image/png"}]),
        422,
        "video.edit.keyframes[0]: invalid base64 data",
        "video.edit.keyframes[0]",
    ),
    (
        "url_not_fetchable",
        video(video={"keyframes": [FRAME] * 3 + [{"url": "https://10.0.0.1/k.png"}]}),
        422,
        "video.keyframes[3]: failed to fetch URL",
        "video.keyframes[3]",
    ),
]


@pytest.mark.parametrize(("rule", "payload", "status", "detail", "path"), ROWS + LIVE_ROWS)
def test_each_row_gives_exactly_its_error(
    rule: str, payload: Any, status: int, detail: str, path: str
) -> None:
    report = check(payload)
    assert not report.ok
    assert (report.status, report.detail) == (status, detail)
    assert errors(report) == [(rule, status, detail, path)]
    assert report.to_response() == (status, {"detail": detail})
    assert report.request is None


def test_every_static_rule_has_a_row() -> None:
    static = [r.id for r in catalog.RULES if r.scope.value not in ("fetch",)]
    assert sorted({row[0] for row in ROWS + LIVE_ROWS}) == sorted(static)


def test_statuses_in_the_table_are_the_catalogue_statuses() -> None:
    for rule, _, status, _, _ in ROWS + LIVE_ROWS:
        assert catalog.rule(rule).status == status


def test_valid_list_is_verbatim_not_sorted() -> None:
    detail = check(image(aspect_ratio="5:4")).detail
    listing = "1:1, 1:2, 1:3, 16:9, 2:1, 2:3, 3:1, 3:2, 9:16"
    assert detail == f"Invalid aspect_ratio '5:4'. Valid: {listing}"
    assert listing != ", ".join(
        sorted(catalog.ASPECT_RATIOS, key=lambda r: tuple(map(int, r.split(":"))))
    )
    assert sorted(listing.split(", ")) == sorted(catalog.ASPECT_RATIOS)


def test_echoes_are_verbatim() -> None:
    odd = 'it\'s "quoted" {braces} \\ é 😀'
    assert check(image(model=odd)).detail == f"Unknown model: {odd}"
    assert check(image(style=odd)).detail == f"Invalid style '{odd}'. Valid: auto, manga"


def test_the_video_list_orders_ratios_by_their_two_sides_as_strings() -> None:
    detail = check(video(aspect_ratio="5:4")).detail
    listing = "1:1, 16:9, 21:9, 3:4, 4:3, 9:16"
    assert detail == f"Invalid aspect_ratio '5:4'. Valid: {listing}"
    ratios = listing.split(", ")
    assert ratios == sorted(ratios, key=lambda r: tuple(r.split(":")))
    assert ratios != sorted(ratios)  # "16:9" < "1:1" as whole strings: not that order
    assert sorted(ratios) == sorted(catalog.VIDEO_ASPECT_RATIOS)
