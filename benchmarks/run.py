"""Run the benchmark suites: ``python benchmarks/run.py [suite ...]``.

Every ``benchmarks/bench_<suite>.py`` module with a ``main()`` is a suite; with no arguments all of
them run, in name order.  Each prints its own table, the peers side by side.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def suites() -> dict[str, Path]:
    return {p.stem.removeprefix("bench_"): p for p in sorted(HERE.glob("bench_*.py"))}


def main(argv: list[str]) -> int:
    found = suites()
    wanted = argv or list(found)
    unknown = [name for name in wanted if name not in found]
    if unknown:
        print(f"unknown suite(s): {', '.join(unknown)}; known: {', '.join(found)}", file=sys.stderr)
        return 2
    # Suites import luma_schema from this checkout, installed or not.
    sys.path.insert(0, str(HERE.parent))
    sys.path.insert(0, str(HERE))
    for name in wanted:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", found[name])
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # so that its annotations resolve (pydantic models)
        spec.loader.exec_module(module)
        print(f"== {name}")
        module.main()
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
