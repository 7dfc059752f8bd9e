import luma_schema


def test_seed_basic_edit_is_valid() -> None:
    report = luma_schema.check(
        {
            "type": "image_edit",
            "prompt": "Change the sky to a dramatic sunset with orange and purple clouds",
            "source": {"url": "https://example.com/landscape.jpg"},
        }
    )
    assert report.ok and report.status == 201 and report.detail is None


def test_missing_source_is_the_documented_400() -> None:
    report = luma_schema.check({"type": "image_edit", "prompt": "x"})
    assert (report.status, report.detail) == (400, "source is required for type 'image_edit'")
