"""Coverage-guided fuzzing of ``luma_schema.check`` with atheris (libFuzzer).

Each input is either raw bytes handed to ``check()`` as JSON text (bytes or str), or a Python value
built from the input with ``FuzzedDataProvider``: JSON-like structures keyed by the API's own field
and member names, with sets, bytes, NaN, hostile subclasses and deep nesting mixed in.  Every
input must give a Report whose status and message are ones SPEC allows; anything else (an
exception, a wrong status, a message that is not the first error's) stops the fuzzer with a crash.

    python fuzz/fuzz_check.py -runs=1000000 -timeout=20 -rss_limit_mb=2048   # the long run
    python fuzz/fuzz_check.py -runs=3000                                     # what CI runs
    python fuzz/fuzz_check.py --loop=1000000     # no libFuzzer: random inputs, RSS and timing
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
from typing import Any

import atheris

with atheris.instrument_imports(include=["luma_schema"]):
    import luma_schema
    from luma_schema import catalog

_STATUSES = {rule.status for rule in catalog.RULES} | {201}
_KEYS = [
    *(field.name for field in catalog.FIELDS),
    *(member.name for member in catalog.IMAGE_MEMBERS),
    "image_refs",
    "",
    "\ud800",
]
_STRINGS = [
    *catalog.MODELS,
    *catalog.TYPES,
    *catalog.ASPECT_RATIOS,
    *catalog.STYLES,
    *catalog.OUTPUT_FORMATS,
    "image/png",
    "image/jpeg",
    "https://example.com/a.png",
    "https://127.1/",
    "https://[::1]/",
    "https://\ud800.com/",
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgAAACAAAB4iG8MwAAAABJRU5ErkJggg==",
    "data:image/png;base64,AAAA",
    "AAAA",
    "x" * 6001,
    "x" * 257,
]


class HostileStr(str):
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("__eq__")

    def __hash__(self) -> int:
        return hash(str.__str__(self))

    def __len__(self) -> int:
        raise RuntimeError("__len__")

    def __iter__(self) -> Any:
        raise RuntimeError("__iter__")

    def __getitem__(self, index: Any) -> Any:
        raise RuntimeError("__getitem__")

    def lower(self) -> str:
        raise RuntimeError("lower")

    def startswith(self, *args: Any) -> bool:
        raise RuntimeError("startswith")


class LyingKey(str):
    """Claims to equal whatever it is compared with."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return hash("prompt")


class HostileList(list[Any]):
    def __iter__(self) -> Any:
        while True:
            yield {}

    def __len__(self) -> int:
        raise RuntimeError("__len__")

    def __getitem__(self, index: Any) -> Any:
        raise RuntimeError("__getitem__")


class HostileDict(dict[Any, Any]):
    def keys(self) -> Any:
        raise RuntimeError("keys")

    def items(self) -> Any:
        raise RuntimeError("items")

    def get(self, *args: Any) -> Any:
        raise RuntimeError("get")

    def __iter__(self) -> Any:
        raise RuntimeError("__iter__")

    def __getitem__(self, key: Any) -> Any:
        raise RuntimeError("__getitem__")

    def __len__(self) -> int:
        raise RuntimeError("__len__")


class LyingClass:
    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return str


class RaisingClass:
    @property  # type: ignore[misc]
    def __class__(self) -> type:
        raise RuntimeError("__class__")


def _key(fdp: atheris.FuzzedDataProvider, hostile: bool = True) -> Any:
    choice = fdp.ConsumeIntInRange(0, 7 if hostile else 5)
    if choice < 5:
        return fdp.PickValueInList(_KEYS)
    if choice == 5:
        return fdp.ConsumeUnicode(8)
    if choice == 6:
        return HostileStr(fdp.PickValueInList(_KEYS))
    return fdp.PickValueInList([LyingKey("zz"), 1, None, (1,)])


def _put(obj: dict[Any, Any], key: Any, value: Any) -> None:
    # A hostile key may meet one with the same hash while building.
    with contextlib.suppress(RuntimeError):
        obj[key] = value


def _deep(fdp: atheris.FuzzedDataProvider, leaf: Any) -> Any:
    # Deeper than any recursion limit; 100,000 levels are in tests/test_hardening.py.
    depth = fdp.ConsumeIntInRange(0, 5_000)
    as_dict = fdp.ConsumeBool()
    for _ in range(depth):
        leaf = {"a": leaf} if as_dict else [leaf]
    return leaf


def _value(fdp: atheris.FuzzedDataProvider, depth: int = 0, hostile: bool = True) -> Any:
    choice = fdp.ConsumeIntInRange(0, 19 if depth < 6 else 9)
    if not hostile and choice in (8, 9, 17):
        choice = 7
    if choice == 0:
        return None
    if choice == 1:
        return fdp.ConsumeBool()
    if choice == 2:
        return fdp.ConsumeInt(8)
    if choice == 3:
        return fdp.PickValueInList([math.nan, math.inf, -math.inf, 0.5, fdp.ConsumeFloat()])
    if choice in (4, 5, 6):
        return fdp.PickValueInList(_STRINGS)
    if choice == 7:
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 64))
    if choice == 8:
        return fdp.PickValueInList(
            [b"x", bytearray(b"x"), {1, 2}, frozenset(), object(), LyingClass(), RaisingClass()]
        )
    if choice == 9:
        return HostileStr(fdp.PickValueInList(_STRINGS))
    if choice in (10, 11, 12, 13):
        size = fdp.ConsumeIntInRange(0, 6)
        obj: dict[Any, Any] = {}
        for _ in range(size):
            _put(obj, _key(fdp, hostile), _value(fdp, depth + 1, hostile))
        return HostileDict(obj) if hostile and fdp.ConsumeProbability() < 0.05 else obj
    if choice in (14, 15):
        items = [_value(fdp, depth + 1, hostile) for _ in range(fdp.ConsumeIntInRange(0, 10))]
        return fdp.PickValueInList([items, tuple(items), HostileList(items) if hostile else items])
    if choice == 16:
        shared = _value(fdp, depth + 1, hostile)
        return [shared, shared]  # the same object twice is fine
    if choice == 17:
        cyclic: list[Any] = [None]
        cyclic[0] = cyclic
        return cyclic
    # Heavy values (deep nesting, huge strings and arrays) are rare: they cost up to a second.
    heavy = fdp.ConsumeProbability() > 0.999  # an exhausted input gives 0: not heavy
    if choice == 18 and heavy:
        return _deep(fdp, None)
    if choice == 19 and heavy:
        return fdp.PickValueInList([["x"] * 5_000, "x" * 1_000_000, [{}] * 5_000])
    return fdp.PickValueInList([["x"] * 10, "x" * 7000, [{}] * 10])


def _payload(data: bytes) -> object:
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 5)
    if mode == 0:
        return fdp.ConsumeBytes(fdp.remaining_bytes())
    if mode == 1:
        return fdp.ConsumeUnicode(fdp.remaining_bytes())
    if mode == 2:
        body = fdp.ConsumeBytes(fdp.remaining_bytes())
        return b"\xef\xbb\xbf" + body
    value: Any = {"prompt": "x"} if mode == 3 else {}
    hostile = mode != 5
    for _ in range(fdp.ConsumeIntInRange(0, 12)):
        _put(value, _key(fdp, hostile), _value(fdp, 0, hostile))
    if mode == 5:
        # The same value as JSON text (NaN included, as Python writes it), when it serialises.
        try:
            return json.dumps(value, default=str).encode("utf-8", "surrogatepass")
        except (TypeError, ValueError, RecursionError):  # bytes, sets, too deep
            return value
    return value


def _verify(report: luma_schema.Report) -> None:
    if not isinstance(report, luma_schema.Report) or report.status not in _STATUSES:
        raise AssertionError(f"not a Report with a SPEC status: {report!r}")
    if report.ok:
        if report.errors or report.detail is not None or report.request is None:
            raise AssertionError(f"an ok report with errors: {report!r}")
    else:
        first = report.errors[0]
        expected = catalog.RULES_BY_ID[first.rule].status
        if (report.detail, report.status) != (first.detail, first.status) or first.status != (
            expected
        ):
            raise AssertionError(f"first error and report disagree: {report!r}")
    json.dumps(report.as_dict())  # JSON-ready, whatever was sent


def test_one_input(data: bytes) -> None:
    payload = _payload(data)
    # check() has no catch-all: a bug of the engine is an exception, a crash here.
    _verify(luma_schema.check(payload))


def loop(runs: int, seed: int) -> None:
    """Without libFuzzer: ``runs`` random inputs (0-512 bytes), then the count, the slowest input
    and the peak RSS.  An exception stops the loop with the input that raised it."""
    import random
    import resource
    import signal
    import time

    def hang(signum: int, frame: object) -> None:
        raise TimeoutError("an input ran for more than 30 s")

    signal.signal(signal.SIGALRM, hang)
    rng = random.Random(seed)
    slowest, start = 0.0, time.perf_counter()
    for i in range(1, runs + 1):
        data = rng.randbytes(rng.randrange(513))
        signal.alarm(30)
        began = time.perf_counter()
        try:
            test_one_input(data)
        except BaseException:
            print(f"input {i} raised; its bytes: {data!r}", file=sys.stderr)
            raise
        slowest = max(slowest, time.perf_counter() - began)
        signal.alarm(0)
        if i % 100_000 == 0 or i == runs:
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"{i:,} inputs, 0 exceptions, 0 hangs, slowest {slowest:.2f} s, "
                f"peak RSS {rss:.0f} MB, {i / (time.perf_counter() - start):,.0f} inputs/s",
                flush=True,
            )


def main() -> None:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    options = dict(arg[2:].split("=", 1) for arg in sys.argv[1:] if arg.startswith("--"))
    if "loop" in options:
        loop(int(options["loop"]), seed=int(options.get("seed", "1")))
        return
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
