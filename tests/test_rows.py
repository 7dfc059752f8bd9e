"""One row per SPEC section 2 row: exact status, exact string, exactly one error."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import PNG64, URL, edit, errors, image

from luma_schema import catalog, check

SRC_DATA = {"data": PNG64, "media_type": "image/png"}

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


@pytest.mark.parametrize(("rule", "payload", "status", "detail", "path"), ROWS)
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
    assert sorted({row[0] for row in ROWS}) == sorted(static)


def test_statuses_in_the_table_are_the_catalogue_statuses() -> None:
    for rule, _, status, _, _ in ROWS:
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
