"""CI's short budget of the atheris harness (the long run is documented in the README)."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

HARNESS = Path(__file__).resolve().parent.parent / "fuzz" / "fuzz_check.py"


def test_the_fuzz_harness_runs_a_short_budget_without_a_crash(tmp_path: Path) -> None:
    runs = 2000
    # libFuzzer's RSS is the process's peak, which Linux carries over from the parent that
    # started it (this test run, large after thousands of tests): the harness's own budget of
    # 2 GiB comes on top of what it inherits.
    inherited = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    result = subprocess.run(
        [
            sys.executable,
            str(HARNESS),
            f"-runs={runs}",
            "-timeout=30",
            f"-rss_limit_mb={2048 + inherited}",
            "-seed=1",
        ],
        cwd=tmp_path,  # a crash writes its input here, not into the checkout
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Done {runs} runs" in result.stderr
    assert not list(tmp_path.glob("crash-*"))
