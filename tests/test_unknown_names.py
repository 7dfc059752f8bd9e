"""How a warning names a key the request does not know: printable and at most 64 characters
whatever was sent (a longer name is cut to 61 and ``...``), JSON-quoted when it is no
identifier; a close misspelling of a known name gets a suggestion."""

from __future__ import annotations

import pytest

from luma_schema import catalog, check

ADVICE = catalog.ADVICE_BY_ID
URL = "https://example.com/a.png"


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("k" * 64, "k" * 64),
        ("k" * 65, "k" * 61 + "..."),
        ("a b", '"a b"'),
        ("é " * 20, '"' + "\\u00e9 " * 8 + "\\u00" + "..."),
    ],
    ids=["64", "65", "not_an_identifier", "escaped"],
)
def test_an_unknown_key_is_shown_short_and_printable(key: str, shown: str) -> None:
    for payload in ({"prompt": "x", key: 1}, {"prompt": "x", "image_ref": [{"url": URL, key: 1}]}):
        report = check(payload)
        assert report.ok
        (notice,) = report.warnings
        top = "image_ref" not in payload
        path = shown if top else f"image_ref[0].{shown}"
        advice = ADVICE["unknown_field" if top else "unknown_member"]
        assert (notice.code, notice.path, notice.message) == (advice.id, path, advice.render(path))


def test_a_close_misspelling_gets_a_suggestion() -> None:
    (notice,) = check({"prompt": "x", "aspect_ratoi": "1:1"}).warnings
    advice = ADVICE["unknown_field_near"]
    assert (notice.code, notice.message) == (advice.id, advice.render("aspect_ratoi", near="aspect_ratio"))
    (notice,) = check({"prompt": "x", "aspect_ratio_" + "x" * 60: "1:1"}).warnings
    assert notice.code == "unknown_field"  # a long name is never near one
