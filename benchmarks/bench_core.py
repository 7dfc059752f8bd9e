"""Core: ``check()`` against the usual JSON validators on the same requests, and the base64 check
of a 50 MiB image against ``binascii.a2b_base64(strict_mode=True)``.

Every peer validates the same Python dict against an equivalent schema (the JSON Schema below, or
a plain pydantic model written the way a user would); times are the best of several runs, in
microseconds per request, with the ratio to jsonschema-rs.
"""

from __future__ import annotations

import base64
import binascii
import copy
import gc
import timeit
from collections.abc import Callable
from typing import Annotated, Any, Literal

import fastjsonschema
import jsonschema
import jsonschema_rs
from pydantic import BaseModel, ConfigDict, Field, model_validator

import luma_schema
from luma_schema import catalog

PROMPT = (
    "Apply the lighting from the first reference and the texture from the second to the "
    "source image, keep the subject sharp and the colours natural; "
)
PROMPT = (PROMPT * 2)[:200]

VALID: dict[str, Any] = {
    "type": "image_edit",
    "prompt": PROMPT,
    "source": {"url": "https://example.com/my-photo.jpg"},
    "image_ref": [
        {"url": "https://example.com/lighting-reference.jpg"},
        {"url": "https://example.com/texture-reference.jpg"},
    ],
}
# The documented commonest mistake: an edit without its source.
INVALID: dict[str, Any] = {k: v for k, v in VALID.items() if k != "source"}


def _schema() -> dict[str, Any]:
    """The request as Draft 2020-12 JSON Schema (luma_schema's own export when it has one)."""
    exporter = getattr(luma_schema, "json_schema", None)
    if callable(exporter):
        exported: dict[str, Any] = exporter()
        return exported
    nullable_string = {"type": ["string", "null"]}
    image = {
        "type": "object",
        "properties": {
            "url": {"type": ["string", "null"], "pattern": "^[Hh][Tt][Tt][Pp][Ss]://[^@/?#]+"},
            "data": {
                "type": ["string", "null"],
                "pattern": "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
                "minLength": 4,
                "maxLength": 4 * -(-catalog.MAX_IMAGE_BYTES // 3),
            },
            "media_type": {
                "type": ["string", "null"],
                "pattern": "^[Ii][Mm][Aa][Gg][Ee]/[A-Za-z0-9]",
            },
        },
        "oneOf": [
            {
                "required": ["url"],
                "properties": {"url": {"type": "string"}, "data": {"type": "null"}},
            },
            {
                "required": ["data", "media_type"],
                "properties": {
                    "data": {"type": "string"},
                    "media_type": {"type": "string"},
                    "url": {"type": "null"},
                },
            },
        ],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["prompt"],
        "properties": {
            "type": {"type": "string", "enum": list(catalog.TYPES)},
            "prompt": {"type": "string", "minLength": 1, "maxLength": 6000},
            "model": {"type": "string", "enum": list(catalog.MODELS)},
            "aspect_ratio": {"enum": [*catalog.ASPECT_RATIOS, None]},
            "style": {"type": "string", "enum": list(catalog.STYLES)},
            "output_format": {"enum": [*catalog.OUTPUT_FORMATS, None]},
            "web_search": {"type": "boolean"},
            "user_id": {**nullable_string, "maxLength": 256},
            "source": {"oneOf": [{"type": "null"}, image]},
            "image_ref": {"type": "array", "items": image},
        },
        "allOf": [
            {
                "if": {"required": ["type"], "properties": {"type": {"const": "image_edit"}}},
                "then": {
                    "required": ["source"],
                    "properties": {"source": {"type": "object"}, "image_ref": {"maxItems": 8}},
                },
                "else": {
                    "properties": {"source": {"type": "null"}, "image_ref": {"maxItems": 9}},
                },
            },
            {
                "if": {
                    "properties": {
                        "type": {"const": "image"},
                        "style": {"const": "manga"},
                        "aspect_ratio": {"type": "string"},
                    },
                    "required": ["style", "aspect_ratio"],
                },
                "then": {"properties": {"aspect_ratio": {"enum": list(catalog.PORTRAIT_RATIOS)}}},
            },
        ],
    }


class _Image(BaseModel):
    model_config = ConfigDict(strict=True)
    url: Annotated[str, Field(pattern=r"^[Hh][Tt][Tt][Pp][Ss]://")] | None = None
    data: str | None = None
    media_type: Annotated[str, Field(pattern=r"^[Ii][Mm][Aa][Gg][Ee]/")] | None = None

    @model_validator(mode="after")
    def _one(self) -> _Image:
        if (self.url is None) == (self.data is None):
            raise ValueError("provide either 'url' or 'data'")
        if self.data is not None and self.media_type is None:
            raise ValueError("'media_type' is required with 'data'")
        return self


class _Request(BaseModel):
    """A plain pydantic model of the request, as a user would write it (not luma_schema's)."""

    model_config = ConfigDict(strict=True)
    type: Literal["image", "image_edit"] = "image"
    prompt: Annotated[str, Field(min_length=1, max_length=6000)]
    model: Literal["uni-1", "uni-1-max"] = "uni-1"
    aspect_ratio: (
        Literal["3:1", "2:1", "16:9", "3:2", "1:1", "2:3", "9:16", "1:2", "1:3"] | None
    ) = None
    style: Literal["auto", "manga"] = "auto"
    output_format: Literal["png", "jpeg"] | None = None
    web_search: bool = False
    user_id: Annotated[str, Field(max_length=256)] | None = None
    source: _Image | None = None
    image_ref: list[_Image] = []

    @model_validator(mode="after")
    def _by_type(self) -> _Request:
        edit = self.type == "image_edit"
        if edit and self.source is None:
            raise ValueError("source is required for type 'image_edit'")
        if not edit and self.source is not None:
            raise ValueError("source is only valid for type 'image_edit'")
        if len(self.image_ref) > (8 if edit else 9):
            raise ValueError("too many reference images")
        return self


def _pydantic_ok(payload: dict[str, Any]) -> bool:
    try:
        _Request.model_validate(payload)
    except ValueError:
        return False
    return True


def _fastjsonschema(schema: dict[str, Any]) -> Callable[[Any], bool]:
    validate = fastjsonschema.compile(schema)

    def ok(payload: Any) -> bool:
        try:
            validate(payload)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return ok


def _batch(func: Callable[[], object], budget: float = 0.01) -> int:
    """How many calls make a batch of about ``budget`` seconds (after a first call: one-off
    costs, such as compiling for a new payload shape, must not size the batch)."""
    func()
    number = 1
    while timeit.timeit(func, number=number) < budget and number < 1 << 22:
        number *= 2
    return number


def _best(funcs: list[Callable[[], object]], rounds: int = 50) -> list[float]:
    """Best time of one call of each function, in seconds.  The peers take turns, batch by
    batch, so that a busy moment of the machine hits them all alike."""
    numbers = [_batch(func) for func in funcs]
    best = [float("inf")] * len(funcs)
    for _ in range(rounds):
        for i, (func, number) in enumerate(zip(funcs, numbers, strict=True)):
            best[i] = min(best[i], timeit.timeit(func, number=number) / number)
    return best


def requests_table() -> None:
    schema = _schema()
    rs = jsonschema_rs.validator_for(schema)
    py = jsonschema.Draft202012Validator(schema)
    fjs = _fastjsonschema(schema)
    peers: list[tuple[str, Callable[[dict[str, Any]], object]]] = [
        ("luma_schema.check", luma_schema.check),
        ("jsonschema-rs is_valid", rs.is_valid),
        ("pydantic model_validate", _pydantic_ok),
        ("fastjsonschema", fjs),
        ("python-jsonschema is_valid", py.is_valid),
    ]
    # Each peer gets its own copies: fastjsonschema writes the schema's defaults into the dict
    # it validates, which would hand the peers after it a different (ten-field) request.
    payloads = [(copy.deepcopy(VALID), copy.deepcopy(INVALID)) for _ in peers]
    # Every peer must agree on the verdict, or the comparison means nothing.
    for (name, func), (valid, invalid) in zip(peers, payloads, strict=True):
        got_valid, got_invalid = func(valid), func(invalid)
        if name == "luma_schema.check":
            got_valid, got_invalid = luma_schema.check(valid).ok, luma_schema.check(invalid).ok
        if not got_valid or got_invalid:
            raise SystemExit(f"{name} disagrees on the verdicts: {got_valid}, {got_invalid}")

    calls = [
        (lambda func=func, payload=payload: func(payload))
        for (_, func), pair in zip(peers, payloads, strict=True)
        for payload in pair
    ]
    times = _best(calls)
    rows = [(name, times[2 * i], times[2 * i + 1]) for i, (name, _) in enumerate(peers)]
    base_valid, base_invalid = rows[1][1], rows[1][2]
    print("typical image_edit request (200-char prompt, source url, two image_ref urls)")
    print(f"{'validator':<28} {'valid µs':>9} {'ratio':>7} {'invalid µs':>11} {'ratio':>7}")
    for name, valid, invalid in rows:
        print(
            f"{name:<28} {valid * 1e6:>9.2f} {valid / base_valid:>6.2f}x "
            f"{invalid * 1e6:>11.2f} {invalid / base_invalid:>6.2f}x"
        )


def big_image_table() -> None:
    size = catalog.MAX_IMAGE_BYTES
    # Real PNG magic first, so the check sees what it sees in practice.
    raw = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * (size // 256)
    text = base64.b64encode(raw[:size]).decode("ascii")
    payload = {
        "type": "image_edit",
        "prompt": "Upscale",
        "source": {"data": text, "media_type": "image/png"},
    }
    if not luma_schema.check(payload).ok:
        raise SystemExit("the 50 MiB image should be valid")

    def best(func: Callable[[], object], runs: int = 5) -> float:
        gc.collect()
        return min(timeit.repeat(func, number=1, repeat=runs))

    ours = best(lambda: luma_schema.check(payload))
    a2b = best(lambda: binascii.a2b_base64(text, strict_mode=True))
    print()
    print(f"50 MiB base64 image ({len(text):,} characters, {size:,} decoded bytes)")
    print(f"{'':<40} {'ms':>8} {'ratio':>7}")
    print(f"{'luma_schema.check':<40} {ours * 1e3:>8.1f} {ours / a2b:>6.2f}x")
    print(f"{'binascii.a2b_base64(strict_mode=True)':<40} {a2b * 1e3:>8.1f} {1:>6.2f}x")


def main() -> None:
    requests_table()
    big_image_table()


if __name__ == "__main__":
    main()
