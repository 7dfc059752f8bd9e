"""``luma-schema check`` stops cleanly: Ctrl-C or SIGTERM at any moment, with any ``--jobs``,
gives one line and ends the process as the signal does (exit status 130 or 143 in a shell), with
no traceback, no hang and no worker left; a closed stdout, a worker that dies and an internal
error are reported as what they are."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from luma_schema import cli
from luma_schema._cli import batch, pool

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "requests.jsonl"
LINES = [line for line in EXAMPLES.read_text().splitlines() if line.strip()]

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="needs Linux /proc to see the signal handlers"
)


@pytest.fixture(scope="module")
def requests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough requests for about a second of checking in one process."""
    path = tmp_path_factory.mktemp("stop") / "requests.jsonl"
    path.write_text("".join(LINES[i % len(LINES)] + "\n" for i in range(30_000)))
    return path


def start(*args: str) -> subprocess.Popen[bytes]:
    """The CLI in a process group of its own (a terminal's Ctrl-C reaches the whole group),
    returned once its own code handles signals: before that, Python itself answers them."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "luma_schema", "check", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    caught = 1 << (signal.SIGTERM - 1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            break
        if int(status.split("SigCgt:")[1].split()[0], 16) & caught:
            break
        time.sleep(0.001)
    return proc


def assert_stopped(proc: subprocess.Popen[bytes], signum: int, line: str) -> None:
    _, err = proc.communicate(timeout=30)  # a hang fails here
    assert proc.returncode == -signum, err.decode()  # a shell shows 128 + signum
    assert err.decode() == line
    time.sleep(0.05)
    with pytest.raises(ProcessLookupError):  # no worker is left in the group
        os.killpg(proc.pid, 0)


def test_ctrl_c_at_random_moments(requests: Path) -> None:
    """Interrupts from just after start-up to the end of the run, while workers start,
    check, and stop; each run ends with one line, whatever it was doing."""
    rng = random.Random()
    runs = int(os.environ.get("LUMA_SCHEMA_STOP_RUNS", "8"))  # more for a longer stress run
    for run in range(runs):
        jobs = str(1 + run % 3)
        proc = start("--jobs", jobs, str(requests))
        time.sleep(rng.uniform(0, 0.6))
        os.killpg(proc.pid, signal.SIGINT)
        assert_stopped(proc, signal.SIGINT, "luma-schema: interrupted\n")


def test_sigterm_stops_the_workers_too(requests: Path) -> None:
    proc = start("--jobs", "2", str(requests))
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)  # the parent alone, as a supervisor sends it
    assert_stopped(proc, signal.SIGTERM, "luma-schema: terminated\n")


def test_a_closed_stdout_ends_the_run_quietly(requests: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "luma_schema", "check", "--jobs", "2", str(requests)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()  # like `| head -1`
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=30) == 0
    assert err == b""
    time.sleep(0.05)
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)


# ---------------------------------------------------------------- failures of luma-schema itself


def broken_check(payload: object, fetch: bool = False) -> object:
    raise RuntimeError("a bug")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_internal_error_is_not_the_users(
    requests: Path,
    jobs: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(batch, "check", broken_check)  # forked workers inherit it
    assert cli.main(["check", "--jobs", jobs, str(requests)]) == cli.EXIT_INTERNAL
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("luma-schema: internal error (a bug in luma-schema, not in the input):")
    assert "RuntimeError: a bug" in err


def test_a_worker_that_dies_is_reported(
    requests: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def dying(options: batch.Options, units: list[object]) -> object:
        os._exit(9)

    monkeypatch.setattr(pool, "check_batch", dying)
    assert cli.main(["check", "--jobs", "2", str(requests)]) == cli.EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err == (
        "luma-schema: a worker process ended before giving its results (it exited with status 9)\n"
    )


def test_main_answers_an_interrupt_with_one_line(
    requests: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(options: batch.Options, units: list[object]) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "check_batch", interrupted)
    assert cli.main(["check", str(requests)]) == 130
    assert capsys.readouterr().err == "luma-schema: interrupted\n"


@pytest.mark.parametrize(
    ("signum", "line"),
    [(signal.SIGINT, "luma-schema: interrupted\n"), (signal.SIGTERM, "luma-schema: terminated\n")],
)
def test_a_stop_while_the_command_starts_up_is_one_line(signum: int, line: str) -> None:
    # The entry point answers signals before it imports the command line or the engine: a stop
    # in that window (here: right after the entry module ran, nothing else imported) is the same
    # one line and the same end as later.
    code = (
        "import os, sys, time\n"
        "import luma_schema._cli.start\n"
        f"os.kill(os.getpid(), {int(signum)})\n"
        "time.sleep(10)\n"
        "print('not stopped', file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stderr) == (-signum, line)
