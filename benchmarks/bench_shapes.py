"""``check()`` per request shape against jsonschema-rs doing the same work, dicts and bytes, and a
varied mix of JSON lines.  ``python benchmarks/run.py shapes``

- Accepted requests: the peer is ``jsonschema_rs`` ``is_valid`` on ``luma_schema.json_schema()``.
- Refusals: the peer is ``validate()`` raising its first error, read as a message (``check()``
  gives a message too).
- Bytes: ``check(bytes)`` against ``jsonschema_rs`` on ``orjson.loads(bytes)``, and against
  ``msgspec.json.Decoder(TypedStruct).decode`` (a typed decode that checks less: types, enums and
  lengths, no rule between fields, no image rules).
- The mix: JSON lines as real traffic and test corpora hold them (valid and refused, data images,
  URL refusals, wrong types, unknown fields), ``check(bytes)`` in a loop against ``orjson.loads``
  then ``validate()`` giving its first message.

Times are the best of many rounds, in microseconds per request, the peers taking turns round by
round so that a busy moment of the machine touches them alike; ratios are ours over the peer's.
"""

from __future__ import annotations

import base64
import json
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import jsonschema_rs
import orjson

import luma_schema

try:
    import msgspec
except ImportError:  # pragma: no cover - a development dependency
    msgspec = None  # type: ignore[assignment]

PNG64 = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d4944415478da6364f8ff9f0100050001ff5b3c6b0000000049454e44ae426082"
    )
).decode()
URL = "https://example.com/photos/{}.jpg"
PROMPT = ("Apply the lighting from the first reference and the texture from the second " * 3)[:200]

SHAPES: dict[str, dict[str, Any]] = {
    "prompt only": {"prompt": "a cat in a hat"},
    "typical edit": {
        "type": "image_edit",
        "prompt": PROMPT,
        "source": {"url": URL.format("source")},
        "image_ref": [{"url": URL.format("lighting")}, {"url": URL.format("texture")}],
    },
    "every scalar field": {
        "type": "image",
        "prompt": PROMPT,
        "model": "uni-1-max",
        "aspect_ratio": "9:16",
        "style": "manga",
        "output_format": "png",
        "web_search": True,
        "user_id": "user-8f2c",
    },
    "nine url refs": {"prompt": PROMPT, "image_ref": [{"url": URL.format(i)} for i in range(9)]},
    "edit, small base64 PNG": {
        "type": "image_edit",
        "prompt": "Make it winter",
        "source": {"data": PNG64, "media_type": "image/png"},
    },
    "typical video": {
        "model": "ray-3.2",
        "type": "video",
        "prompt": PROMPT,
        "aspect_ratio": "16:9",
        "video": {"duration": "5s", "resolution": "1080p"},
    },
    "edit off a generation": {
        "type": "image_edit",
        "prompt": "Make it winter",
        "source": {"generation_id": "0b9e6a52-5d4f-4c1e-9a43-2f0d6c8e7b15"},
    },
    "refused: edit without source": {"type": "image_edit", "prompt": PROMPT},
    "refused: url and data": {
        "type": "image_edit",
        "prompt": PROMPT,
        "source": {"url": URL.format(0), "data": PNG64, "media_type": "image/png"},
    },
    "refused: bad aspect ratio": {"prompt": PROMPT, "aspect_ratio": "4:5"},
}


if msgspec is not None:
    # At module level: msgspec resolves the annotations (strings, under the __future__ import)
    # in the module's namespace.

    class _Image(msgspec.Struct, forbid_unknown_fields=True):
        url: str | None = None
        data: str | None = None
        media_type: str | None = None

    class _Request(msgspec.Struct, forbid_unknown_fields=True):
        prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=6000)]
        type: Literal["image", "image_edit"] = "image"
        model: Literal["uni-1", "uni-1-max"] = "uni-1"
        aspect_ratio: (
            Literal["3:1", "2:1", "16:9", "3:2", "1:1", "2:3", "9:16", "1:2", "1:3"] | None
        ) = None
        style: Literal["auto", "manga"] = "auto"
        output_format: Literal["png", "jpeg"] | None = None
        web_search: bool = False
        user_id: Annotated[str, msgspec.Meta(max_length=256)] | None = None
        source: _Image | None = None
        image_ref: list[_Image] = msgspec.field(default_factory=list)


def _typed_struct() -> Any:
    """The request as a msgspec Struct, written the way a user would (the guide's surface)."""
    if msgspec is None:
        return None
    return msgspec.json.Decoder(_Request)


def _first_message(validator: Any, instance: Any) -> str | None:
    try:
        validator.validate(instance)
    except jsonschema_rs.ValidationError as exc:
        return str(exc.message)
    return None


def _batch(func: Callable[[], object], budget: float = 0.005) -> int:
    func()  # one-off costs (compiling a shape) do not size the batch
    number = 1
    while timeit.timeit(func, number=number) < budget and number < 1 << 20:
        number *= 2
    return number


def _best(funcs: list[Callable[[], object]], rounds: int = 30) -> list[float]:
    """Best time of one call of each, in seconds; the functions take turns, batch by batch."""
    numbers = [_batch(func) for func in funcs]
    best = [float("inf")] * len(funcs)
    for _ in range(rounds):
        for i, (func, number) in enumerate(zip(funcs, numbers, strict=True)):
            best[i] = min(best[i], timeit.timeit(func, number=number) / number)
    return best


# The schema exported before the API's newer surface joined the catalogue (two types, two
# models, references by url or data): jsonschema-rs on it does the work the guide asks for,
# the peer this table had before the catalogue grew.
GUIDE_SCHEMA = Path(__file__).resolve().parent / "data" / "guide-request.schema.json"


def _peers(validator: Any, payload: Any, text: bytes, ok: bool) -> tuple[Any, Any]:
    """jsonschema-rs on a dict and on JSON bytes: ``is_valid`` for a valid request, the first
    error's message for a refusal (as ``check()`` gives one)."""
    if ok:
        return (
            lambda p=payload: validator.is_valid(p),
            lambda t=text: validator.is_valid(orjson.loads(t)),
        )
    return (
        lambda p=payload: _first_message(validator, p),
        lambda t=text: _first_message(validator, orjson.loads(t)),
    )


def shapes_table() -> None:
    check = luma_schema.check
    validator = jsonschema_rs.validator_for(luma_schema.json_schema())
    guide = jsonschema_rs.validator_for(json.loads(GUIDE_SCHEMA.read_text()))
    decoder = _typed_struct()
    rows = []
    for name, payload in SHAPES.items():
        text = orjson.dumps(payload)
        report = check(payload)
        # Both must give the same verdict (and for a refusal, a message), or nothing compares.
        if report.ok != validator.is_valid(payload):
            raise SystemExit(f"{name}: luma_schema and jsonschema-rs disagree")
        peer, peer_bytes = _peers(validator, payload, text, report.ok)
        funcs: dict[str, Callable[[], object]] = {
            "dict": lambda p=payload: check(p),
            "rs": peer,
            "bytes": lambda t=text: check(t),
            "rs bytes": peer_bytes,
        }
        # The guide's schema and msgspec's Struct hold the guide's surface only: a shape they
        # refuse while the API accepts it (a video, a reference by id) has no time of theirs.
        if report.ok == guide.is_valid(payload):
            funcs["guide"] = _peers(guide, payload, text, report.ok)[0]
        if decoder is not None and not (report.ok and isinstance(_typed(decoder, text), str)):
            funcs["msgspec"] = lambda t=text: _typed(decoder, t)
        times = dict(zip(funcs, _best(list(funcs.values())), strict=True))
        rows.append((name, times))
    print("per request shape (µs; ratio = luma_schema / peer)")
    print(
        f"{'shape':<30} {'dict':>7} {'rs':>7} {'ratio':>6} {'rs-guide':>8} {'ratio':>6} "
        f"{'bytes':>7} {'rs+orjson':>9} {'ratio':>6} {'msgspec':>8} {'ratio':>6}"
    )

    def pair(t: dict[str, float], ours: str, peer: str, width: int) -> str:
        if peer not in t:
            return f" {'-':>{width}} {'-':>6}"
        return f" {t[peer] * 1e6:>{width}.2f} {t[ours] / t[peer]:>5.2f}x"

    for name, t in rows:
        print(
            f"{name:<30} {t['dict'] * 1e6:>7.2f}"
            + pair(t, "dict", "rs", 7)
            + pair(t, "dict", "guide", 8)
            + f" {t['bytes'] * 1e6:>7.2f}"
            + pair(t, "bytes", "rs bytes", 9)
            + pair(t, "bytes", "msgspec", 8)
        )


def _typed(decoder: Any, text: bytes) -> object:
    try:
        return decoder.decode(text)
    except msgspec.ValidationError as exc:
        return str(exc)


def mixed_lines() -> list[bytes]:
    """JSON lines of the kinds real traffic and test corpora hold, each a little different."""
    kinds: list[dict[str, Any]] = [
        *SHAPES.values(),
        {"prompt": "x", "source": {"url": URL.format(1)}},  # source on an image
        {"prompt": "x", "image_ref": [{"url": "http://example.com/a.png"}]},  # not https
        {"prompt": "x", "image_ref": [{"url": "https://localhost/a.png"}]},
        {"prompt": "x", "image_ref": [{"data": PNG64}]},  # data without media_type
        {"prompt": "x", "image_ref": [{"data": PNG64 + "!", "media_type": "image/png"}]},
        {"prompt": "x", "image_ref": [{"data": PNG64, "media_type": "image/jpeg"}]},  # warned
        {"prompt": "x", "image_ref": [{"url": URL.format(2), "media_type": "text/plain"}]},
        {"prompt": 5},  # wrong type
        {"prompt": "x", "web_search": "yes"},
        {"prompt": "x", "image_refs": [{"url": URL.format(3)}]},  # unknown field
        {"prompt": "x", "image_ref": [{"url": URL.format(4), "colour": "red"}]},  # unknown member
        {"prompt": "x", "model": "uni-2"},
        {"prompt": "", "type": "image_edit"},
        {"prompt": "line one\nline two"},  # an escape: the standard library reads it
        {"type": "image_edit", "prompt": "x", "aspect_ratio": "1:1", "source": {"url": URL.format(5)}},
    ]
    lines = []
    for i in range(600):
        request = dict(kinds[i % len(kinds)])
        if isinstance(request.get("prompt"), str) and request["prompt"]:
            request["prompt"] = f"{request['prompt']} #{i}"
        lines.append(json.dumps(request).encode())
    return lines


def mix_table() -> None:
    lines = mixed_lines()
    check = luma_schema.check
    validator = jsonschema_rs.validator_for(luma_schema.json_schema())
    # The full list's first item is the engine's answer: read it as the peer reads its message.
    ours, peer = _best(
        [
            lambda: [check(line).detail for line in lines],
            lambda: [_first_message(validator, orjson.loads(line)) for line in lines],
        ],
        rounds=15,
    )
    n = len(lines)
    print()
    print(f"a mix of {n} JSON lines (µs per line): check(bytes) {ours / n * 1e6:.2f}, "
          f"orjson.loads + jsonschema-rs validate() {peer / n * 1e6:.2f}: {ours / peer:.2f}x")


def main() -> None:
    shapes_table()
    mix_table()


if __name__ == "__main__":
    main()
