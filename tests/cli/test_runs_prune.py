"""`drkit runs prune`: by age and by count, a dry run that changes nothing, and never a run that is running.

Runs are recorded through the real CLI on the fake clock (an hour apart), so their ages are exact; a running
run is a real process holding the run's lock, as a drkit driving it does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import FakeClock, run_drkit_on

from drkit.context import Runtime

PLAYBOOK = """\
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: history}
phases:
  - name: rebuild
    steps:
      - command: {run: "true"}
"""
HOUR = 3600.0


@pytest.fixture
def recorded(runtime: Runtime, clock: FakeClock, tmp_path: Path) -> list[str]:
    """Four runs an hour apart, the last one finished two hours before now; run ids oldest first."""
    (tmp_path / "playbook.yaml").write_text(PLAYBOOK, encoding="utf-8")
    ids = []
    for _ in range(4):
        code, out = run_drkit_on(runtime, "recover", "playbook.yaml", "-o", "json")
        assert code == 0, runtime.stderr.getvalue()  # type: ignore[attr-defined]
        ids.append(json.loads(out)["runId"])
        clock.advance(HOUR)
    clock.advance(HOUR)
    return ids


def _left(runtime: Runtime) -> list[str]:
    return sorted(p.name for p in (runtime.state_dir / "runs").iterdir())


def test_keep_leaves_the_newest_runs_and_says_what_it_removed(runtime: Runtime, recorded: list[str]) -> None:
    code, out = run_drkit_on(runtime, "runs", "prune", "--keep", "1")
    assert code == 0
    assert _left(runtime) == recorded[3:]
    for run_id in recorded[:3]:
        assert f"removed {run_id}  history  recover succeeded" in out
    assert f"removed 3 runs of 4 in {runtime.state_dir / 'runs'}; 1 kept" in out
    _, listing = run_drkit_on(runtime, "runs", "list")
    assert recorded[3] in listing
    assert recorded[0] not in listing


def test_older_than_counts_from_each_runs_last_event(runtime: Runtime, recorded: list[str]) -> None:
    # Last events: 5h, 4h, 3h and 2h ago (plus the runs' own few fake seconds).
    code, out = run_drkit_on(runtime, "runs", "prune", "--older-than", "3h30m")
    assert code == 0
    assert _left(runtime) == recorded[2:]
    assert "removed 2 runs of 4" in out


def test_with_both_a_run_goes_only_when_beyond_the_newest_and_older(
    runtime: Runtime, recorded: list[str]
) -> None:
    code, _ = run_drkit_on(runtime, "runs", "prune", "--keep", "3", "--older-than", "90m")
    assert code == 0
    assert _left(runtime) == recorded[1:]  # three kept by --keep, though all four are older than 90m
    code, _ = run_drkit_on(runtime, "runs", "prune", "--keep", "0", "--older-than", "2h30m")
    assert _left(runtime) == recorded[3:]  # --keep 0 bounds nothing; the 2h-old run is younger


def test_dry_run_says_the_same_and_removes_nothing(runtime: Runtime, recorded: list[str]) -> None:
    code, dry = run_drkit_on(runtime, "runs", "prune", "--keep", "2", "--dry-run")
    assert code == 0
    assert _left(runtime) == sorted(recorded)
    assert "would remove 2 runs of 4" in dry
    _, real = run_drkit_on(runtime, "runs", "prune", "--keep", "2")
    assert dry.replace("would remove", "removed") == real


@pytest.fixture
def live_process() -> Iterator[int]:
    """A live process other than this one (what holds a running run's lock is a drkit process)."""
    process = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()
        assert process.stdin is not None
        process.stdin.close()


def test_a_running_run_is_never_removed(runtime: Runtime, recorded: list[str], live_process: int) -> None:
    running = runtime.state_dir / "runs" / recorded[0]
    (running / "lock").write_text(f"{live_process}\n", encoding="utf-8")
    _, dry = run_drkit_on(runtime, "runs", "prune", "--older-than", "0s", "--dry-run")
    code, out = run_drkit_on(runtime, "runs", "prune", "--older-than", "0s")
    assert code == 0
    assert _left(runtime) == [recorded[0]]
    assert (running / "journal.jsonl").is_file()
    assert (running / "lock").read_text(
        encoding="utf-8"
    ) == f"{live_process}\n"  # the owner's lock, untouched
    for output in (dry, out):
        assert f"kept {recorded[0]}: running (pid {live_process})" in output
    assert "removed 3 runs of 4" in out


def test_a_crashed_runs_stale_lock_does_not_protect_it(runtime: Runtime, recorded: list[str]) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    (runtime.state_dir / "runs" / recorded[0] / "lock").write_text(dead.stdout, encoding="utf-8")
    code, _ = run_drkit_on(runtime, "runs", "prune", "--older-than", "0s")
    assert code == 0
    assert _left(runtime) == []


def test_a_prune_cut_short_is_finished_by_the_next(runtime: Runtime, recorded: list[str]) -> None:
    runs = runtime.state_dir / "runs"
    (runs / recorded[0]).rename(runs / f".pruning-{recorded[0]}")  # renamed out, not yet deleted
    _, listing = run_drkit_on(runtime, "runs", "list")
    assert recorded[0] not in listing
    code, _ = run_drkit_on(runtime, "runs", "prune", "--keep", "3")
    assert code == 0
    assert _left(runtime) == recorded[1:]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "say which runs to remove: --older-than DURATION, --keep N, or both"),
        (["--older-than", "soon"], "'soon' is not a duration"),
        (["--older-than", "-5m"], "--older-than must not be negative"),
        (["--keep", "-1"], "-1 is not in the range x>=0"),
    ],
    ids=["nothing-said", "bad-duration", "negative-age", "negative-keep"],
)
def test_bad_options_are_usage_errors_that_remove_nothing(
    runtime: Runtime, recorded: list[str], args: list[str], message: str
) -> None:
    code, _ = run_drkit_on(runtime, "runs", "prune", *args)
    assert code == 2
    assert message in runtime.stderr.getvalue()  # type: ignore[attr-defined]
    assert _left(runtime) == sorted(recorded)
