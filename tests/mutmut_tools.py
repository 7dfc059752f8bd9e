"""Helpers for the mutation run (docs/testing.md, "Mutation testing"); run from the clone's root.

``python tests/mutmut_tools.py sample SEED N``: N mutant names drawn uniformly (without
replacement) from every mutant mutmut generated, in the order drawn, so any first K of them are
a uniform sample too.

``python tests/mutmut_tools.py widen``: mutmut credits a function with the tests that were
running when it was called; what runs while the tests are collected (the catalogue, the engine
of ``luma_schema.check``, built at import) is credited to the first test alone.  Each mutant's
run imports the package afresh, so every test meets those functions: give them every test."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

MUTANTS = Path("mutants")


def names() -> list[str]:
    found: list[str] = []
    for meta in sorted((MUTANTS / "luma_schema").rglob("*.meta")):
        found += json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    return sorted(found)


def sample(seed: int, n: int) -> list[str]:
    return random.Random(seed).sample(names(), n)


def widen() -> tuple[int, int]:
    path = MUTANTS / "mutmut-stats.json"
    stats = json.loads(path.read_text(encoding="utf-8"))
    every = sorted(stats["duration_by_test"])
    first = next(iter(stats["duration_by_test"]))  # recorded in the order the tests ran
    widened = 0
    for function, tests in stats["tests_by_mangled_function_name"].items():
        if first in tests:
            stats["tests_by_mangled_function_name"][function] = every
            widened += 1
    path.write_text(json.dumps(stats, indent=1), encoding="utf-8")
    return widened, len(stats["tests_by_mangled_function_name"])


if __name__ == "__main__":
    if sys.argv[1:2] == ["sample"]:
        print("\n".join(sample(int(sys.argv[2]), int(sys.argv[3]))))
    elif sys.argv[1:] == ["widen"]:
        widened, functions = widen()
        print(f"{widened} of {functions} functions given every test")
    else:
        sys.exit(__doc__)
