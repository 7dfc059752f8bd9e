"""Requests of every type, valid and breaking one rule each, built by hand for the exporters'
tests (the differential, the generated types): the valid examples, requests with every option,
and for each rule the schema states, requests that break it alone, at every position a rule of
a media reference applies to.  ``test_export_differential`` holds that each case is what it
claims (the engine's answer), so a wrong case fails there, not silently."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
URL = "https://example.com/a.png"
VIDEO_URL = "https://example.com/clip.mp4"
UUID = "5b3f2a9e-8c41-4d7b-9e2a-1f6c0d8b7a35"
PNG64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgAAACAAAB4iG8MwAAAABJRU5ErkJggg=="
)
REF = {"url": URL}
POSITION = {"x_norm": 0.0, "y_norm": 0.25, "w_norm": 1.0, "h_norm": 0.5}


def image(**more: Any) -> dict[str, Any]:
    return {"prompt": "A cat", **more}


def edit(**more: Any) -> dict[str, Any]:
    return {"type": "image_edit", "prompt": "Edit", "source": REF, **more}


def video(**more: Any) -> dict[str, Any]:
    return {"model": "ray-3.2", "type": "video", "prompt": "A boat", **more}


def video_edit(**more: Any) -> dict[str, Any]:
    return {
        "model": "ray-3.2",
        "type": "video_edit",
        "prompt": "Snow",
        "source": {"generation_id": UUID},
        **more,
    }


def reframe(**more: Any) -> dict[str, Any]:
    return {
        "model": "ray-3.2",
        "type": "video_reframe",
        "prompt": "Taller",
        "aspect_ratio": "9:16",
        "source": {"url": VIDEO_URL, "media_type": "video/mp4"},
        **more,
    }


def layering(**more: Any) -> dict[str, Any]:
    return {"type": "layering", "source": REF, **more}


def examples() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.stem, json.loads(path.read_text(encoding="utf-8")))
        for path in sorted((EXAMPLES / "valid").glob("*.json"))
    ]


# Each reference position with a request of a type that takes it, and how a reference is put
# there.
def at_position(position: str, reference: dict[str, Any]) -> dict[str, Any]:
    match position:
        case "source":
            return edit(source=reference)
        case "image_ref":
            return image(image_ref=[reference])
        case "video.start_frame" | "video.end_frame":
            return video(video={position.split(".")[1]: reference})
        case "video.keyframes":
            return video(video={"keyframes": [reference], "keyframe_indexes": [0]})
        case "video.edit.keyframes":
            return video_edit(video={"edit": {"keyframes": [reference], "keyframe_indexes": [0]}})
    raise ValueError(position)


REFERENCE_POSITIONS = (
    "source",
    "image_ref",
    "video.start_frame",
    "video.end_frame",
    "video.keyframes",
    "video.edit.keyframes",
)

VALID: list[tuple[str, dict[str, Any]]] = [
    ("text to image", image()),
    ("an edit off a generation", edit(source={"generation_id": UUID})),
    ("an edit off a file", edit(source={"file_id": UUID.replace("-", "").upper()})),
    ("ids spelled as uuid.UUID() reads them", edit(source={"file_id": "{" + UUID + "}"})),
    ("a video with defaults", video()),
    (
        "a video with every output option",
        video(
            aspect_ratio="21:9",
            video={"duration": "5s", "resolution": "1080p", "hdr": True, "exr_export": True},
        ),
    ),
    ("a draft loop", video(video={"resolution": "360p", "loop": True, "duration": "5s"})),
    (
        "first and last frames",
        video(video={"start_frame": {"generation_id": UUID}, "end_frame": {"url": URL}}),
    ),
    (
        "64 keyframes over 10 s",
        video(
            video={
                "duration": "10s",
                "keyframes": [REF] * 64,
                "keyframe_indexes": [3 * i for i in range(63)] + [240],
            }
        ),
    ),
    (
        "one keyframe, start-pinned",
        video(video={"keyframes": [{"data": PNG64, "media_type": "image/png"}]}),
    ),
    (
        "keyframe 120 at 5 s",
        video(video={"duration": "5s", "keyframes": [REF], "keyframe_indexes": [120]}),
    ),
    (
        "whole-valued floats as indexes",
        video(video={"keyframes": [REF] * 2, "keyframe_indexes": [0.0, 3.0]}),
    ),
    (
        "null options",
        video(video={"duration": None, "loop": None, "edit": None, "keyframes": None}),
    ),
    (
        "a video edit with every control",
        video_edit(
            video={
                "resolution": "720p",
                "edit": {
                    "auto_controls": False,
                    "strength": "reimagine_3",
                    "controls": {
                        "depth": {"enabled": True, "blur": 0},
                        "face": {"enabled": False},
                        "normals": {"augmentation": 1},
                        "pose": {"strength": "precise"},
                        "trajectory": {"sparsity": 0.5, "enabled": None},
                    },
                    "keyframes": [REF, {"file_id": UUID}],
                    "keyframe_indexes": [10, 400],
                },
            }
        ),
    ),
    (
        "a video edit from inline video",
        video_edit(source={"data": PNG64, "media_type": "video/mp4"}),
    ),
    (
        "a video edit from a video URL",
        video_edit(source={"url": VIDEO_URL, "media_type": "video/webm"}),
    ),
    ("a reframe", reframe()),
    (
        "a reframe bleeding off-canvas",
        reframe(video={"source_position": {**POSITION, "w_norm": 2.0, "x_norm": -0.5}}),
    ),
    ("a reframe from an image", reframe(source={"url": URL, "media_type": "image/png"})),
    ("layering with defaults", layering()),
    ("layering options without a resolution", layering(layering={})),
    ("layering, empty prompt", layering(prompt="", layering={"resolution": "1k"})),
    ("layering, 500 characters", layering(prompt="x" * 500, source={"generation_id": UUID})),
    # Ignored for the type: checked for JSON types and single values only.
    ("a broken start frame on an image", image(video={"start_frame": {"url": URL, "data": PNG64}})),
    ("a source on a video", video(source={"url": "http://example.com/x", "data": "!"})),
    ("references on layering", layering(image_ref=[{}])),
    ("video options on an edit", edit(video={"loop": True, "duration": "10s"})),
]

# rule id -> requests that break that rule alone.
VIOLATIONS: dict[str, list[Any]] = {
    # Python values, and JSON text (which the validators get parsed).
    "body_not_object": [[], 5, None, "[1]", '"x"', "null"],
    "wrong_type": [
        video(video={"duration": 5}),
        video(video="5s"),
        video(video={"keyframe_indexes": "0"}),
        video(video={"keyframes": [REF], "keyframe_indexes": [1.5]}),
        video(video={"keyframes": [REF], "keyframe_indexes": [True]}),
        video_edit(video={"edit": {"controls": {"depth": {"blur": "0.5"}}}}),
        reframe(video={"source_position": {**POSITION, "x_norm": True}}),
        reframe(video={"source_position": {**POSITION, "h_norm": None}}),
        layering(layering={"resolution": None}),
        video(video={"start_frame": {"generation_id": 5}}),
        image(video={"keyframes": [5]}),
        video(source={"url": 5}),
    ],
    "model_unknown": [video(model="ray-3")],
    "type_unsupported": [
        {"type": "video", "prompt": "x"},
        {"model": "ray-3.2", "prompt": "x"},
        {"model": "uni-1-max", **layering()},
        video(type="image_edit", source=REF),
    ],
    "prompt_missing": [{k: v for k, v in video().items() if k != "prompt"}],
    "prompt_length": [video(prompt=""), video_edit(prompt="x" * 6001)],
    "layering_prompt_length": [layering(prompt="x" * 501)],
    "aspect_ratio_invalid": [image(aspect_ratio="21:9"), edit(aspect_ratio="4:3")],
    "video_aspect_ratio_invalid": [video(aspect_ratio="3:2"), video_edit(aspect_ratio="2:1")],
    "style_invalid": [image(style="noir")],
    "output_format_invalid": [image(output_format="gif")],
    "user_id_length": [video(user_id="u" * 257)],
    "video_duration_invalid": [video(video={"duration": "7s"}), image(video={"duration": "5"})],
    "video_resolution_invalid": [video(video={"resolution": "4k"})],
    "video_keyframes_count": [
        video(video={"keyframes": []}),
        video(video={"keyframes": [REF] * 65, "keyframe_indexes": list(range(65))}),
    ],
    "video_keyframe_index_range": [
        video(video={"keyframes": [REF], "keyframe_indexes": [241]}),
        video(video={"keyframes": [REF], "keyframe_indexes": [-1]}),
    ],
    "video_keyframe_indexes_repeated": [
        video(video={"keyframes": [REF] * 2, "keyframe_indexes": [3, 3]}),
        video(video={"keyframes": [REF] * 2, "keyframe_indexes": [3, 3.0]}),
    ],
    "video_edit_keyframes_count": [
        video_edit(video={"edit": {"keyframes": [REF] * 65, "keyframe_indexes": list(range(65))}})
    ],
    "video_edit_keyframe_index_range": [
        video_edit(video={"edit": {"keyframes": [REF], "keyframe_indexes": [-1]}})
    ],
    "video_edit_keyframe_indexes_repeated": [
        video_edit(video={"edit": {"keyframes": [REF] * 2, "keyframe_indexes": [7, 7]}})
    ],
    "video_edit_strength_invalid": [video_edit(video={"edit": {"strength": "flex_4"}})],
    "video_blur_range": [video_edit(video={"edit": {"controls": {"depth": {"blur": 1.5}}}})],
    "video_augmentation_range": [
        video_edit(video={"edit": {"controls": {"normals": {"augmentation": -0.1}}}})
    ],
    "video_sparsity_range": [
        video_edit(video={"edit": {"controls": {"trajectory": {"sparsity": 2}}}})
    ],
    "video_pose_strength_invalid": [
        video_edit(video={"edit": {"controls": {"pose": {"strength": "loose"}}}})
    ],
    **{
        f"video_source_position_{name}_missing": [
            reframe(video={"source_position": {k: v for k, v in POSITION.items() if k != name}})
        ]
        for name in ("h_norm", "w_norm", "x_norm", "y_norm")
    },
    "video_source_position_h_norm_range": [
        reframe(video={"source_position": {**POSITION, "h_norm": 2.01}})
    ],
    "video_source_position_w_norm_range": [
        reframe(video={"source_position": {**POSITION, "w_norm": 3}})
    ],
    "layering_resolution_invalid": [layering(layering={"resolution": "4k"})],
    "source_required": [
        edit(source=None),
        {k: v for k, v in video_edit().items() if k != "source"},
        reframe(source=None),
        {"type": "layering"},
    ],
    "source_forbidden": [image(source=REF)],
    "image_ref_edit_max": [edit(image_ref=[REF] * 9)],
    "image_ref_max": [image(image_ref=[REF] * 10)],
    "reference_ids_alone": [
        edit(source={"generation_id": UUID, "url": URL}),
        video(video={"start_frame": {"file_id": UUID, "data": PNG64, "media_type": "image/png"}}),
        image(image_ref=[{"generation_id": UUID, "file_id": UUID}]),
    ],
    "url_and_data": [at_position(p, {"url": URL, "data": PNG64}) for p in REFERENCE_POSITIONS],
    "url_or_data": [at_position(p, {"media_type": "image/png"}) for p in REFERENCE_POSITIONS],
    "media_type_required": [at_position(p, {"data": PNG64}) for p in REFERENCE_POSITIONS],
    "generation_id_invalid": [
        at_position(p, {"generation_id": "gen_12345"}) for p in REFERENCE_POSITIONS
    ],
    "file_id_invalid": [edit(source={"file_id": "file-1"})],
    "video_media_type_required": [
        video_edit(source={"url": VIDEO_URL}),
        reframe(source={"url": URL}),
    ],
    "manga_portrait": [image(style="manga", aspect_ratio="16:9")],
    "video_loop_type": [video_edit(video={"loop": True})],
    "video_loop_duration": [video(video={"loop": True, "duration": "10s"})],
    "video_loop_hdr": [video(video={"loop": True, "hdr": True})],
    "video_hdr_reframe": [reframe(video={"hdr": True})],
    "video_hdr_draft": [video(video={"hdr": True, "resolution": "360p"})],
    "video_exr_needs_hdr": [
        video(video={"exr_export": True}),
        video_edit(video={"exr_export": True, "hdr": False}),
    ],
    "video_keyframes_type": [video_edit(video={"keyframes": [REF]})],
    "video_keyframe_indexes_length": [
        video(video={"keyframes": [REF] * 2, "keyframe_indexes": [0]}),
        video(video={"keyframes": [REF], "keyframe_indexes": []}),
        video(video={"keyframes": [REF] * 64, "keyframe_indexes": list(range(65))}),
    ],
    "video_keyframe_index_beyond_5s": [
        video(video={"duration": "5s", "keyframes": [REF], "keyframe_indexes": [121]})
    ],
    "video_keyframes_start_frame": [video(video={"keyframes": [REF], "start_frame": REF})],
    "video_keyframes_end_frame": [video(video={"keyframes": [REF], "end_frame": REF})],
    "video_keyframes_loop": [video(video={"keyframes": [REF], "loop": True})],
    "video_edit_type": [video(video={"edit": {}}), reframe(video={"edit": {"strength": "flex_1"}})],
    "video_edit_keyframe_indexes_length": [
        video_edit(video={"edit": {"keyframes": [REF], "keyframe_indexes": [1, 2]}})
    ],
    "video_edit_keyframes_start_frame": [
        video_edit(video={"edit": {"keyframes": [REF]}, "start_frame": REF})
    ],
    "video_source_position_type": [video(video={"source_position": POSITION})],
    "base64_invalid": [
        at_position(p, {"data": "QUJD\n", "media_type": "image/png"}) for p in REFERENCE_POSITIONS
    ],
    "not_an_image": [
        edit(source={"data": PNG64, "media_type": "video/mp4"}),
        video(video={"start_frame": {"url": URL, "media_type": "text/plain"}}),
        image(image_ref=[{"data": PNG64, "media_type": "image/"}]),
    ],
    "not_an_image_or_video": [
        video_edit(source={"data": PNG64, "media_type": "audio/mpeg"}),
        reframe(source={"url": VIDEO_URL, "media_type": "video/"}),
    ],
    "url_not_fetchable": [
        at_position(p, {"url": "http://example.com/a.png"}) for p in REFERENCE_POSITIONS
    ],
}
