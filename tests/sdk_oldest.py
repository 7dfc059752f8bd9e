"""Run the SDK guard's tests against the oldest luma-agents the `sdk` extra accepts.

    python tests/sdk_oldest.py [pytest arguments]

The oldest version is the floor of the `luma-agents>=X` requirement in pyproject.toml.  It is
installed (without dependencies: the current environment has them) into a temporary directory put
first on the path of one pytest run of tests/test_sdk.py; the installed extra's version is tested
by the ordinary test run.  Exits with pytest's status.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def oldest() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for requirement in project["project"]["optional-dependencies"]["sdk"]:
        found = re.fullmatch(r"luma-agents\s*>=\s*([0-9][0-9.]*)(?:\s*,.*)?", requirement)
        if found:
            return found.group(1)
    raise SystemExit("pyproject.toml: the sdk extra names no luma-agents>=X")


def main() -> int:
    version = oldest()
    with tempfile.TemporaryDirectory(prefix="luma-agents-") as target:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--target",
                target,
                f"luma-agents=={version}",
            ],
            check=True,
        )
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [target, os.environ.get("PYTHONPATH")])),
        }
        seen = subprocess.run(
            [sys.executable, "-c", "import luma_agents; print(luma_agents.__version__)"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if seen != version:
            raise SystemExit(f"luma-agents {seen} was imported, not {version}")
        print(f"luma-agents {version} (the oldest the sdk extra accepts):", flush=True)
        tests = [str(ROOT / "tests" / "test_sdk.py"), *sys.argv[1:]]
        return subprocess.run(
            [sys.executable, "-m", "pytest", *tests], env=env, cwd=ROOT
        ).returncode


if __name__ == "__main__":
    sys.exit(main())
