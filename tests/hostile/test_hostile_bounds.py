"""The inputs that attack time or memory (bombs, 50 MB, deep nesting, a device, a FIFO, a flood of problems),
and one ordinary case of each group, refused by a real `python -m drkit` process under hard limits.

The process runs with an address-space limit (RLIMIT_AS) and a CPU-time limit (RLIMIT_CPU) set before it
starts, and a wall-clock timeout: an input that needed more would end in MemoryError (an internal error, exit
70), SIGXCPU or a timeout, and the test fails. Its peak resident memory (from wait4) must also stay under a
bound. `pytest tests/hostile/test_hostile_bounds.py -s` prints what each case took; docs/reliability.md
("Hostile input") quotes those figures.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import subprocess_env
from hostile_cases import CASES, GROUPS, HostileCase
from hostile_support import argv, refusal_problems
from recording_server import RecordingCluster, recording_cluster

ADDRESS_SPACE_BYTES = 1024 * 1024 * 1024  # drkit starts in about 45 MB resident; kubectl needs its own room
CPU_SECONDS = 60
WALL_SECONDS = 90
PEAK_RSS_BOUND_MB = 150

BOUNDED = [c for c in CASES if c.heavy] + [
    next(c for c in CASES if c.group == group and not c.heavy) for group in GROUPS
]


# The limits are set, and the peak measured, in a small launcher between pytest and drkit: a process forked
# from pytest starts with pytest's pages (hundreds of MB late in a run) and ru_maxrss would count them.
LAUNCHER = f"""
import json, os, resource, subprocess, sys
resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE_BYTES}, {ADDRESS_SPACE_BYTES}))
resource.setrlimit(resource.RLIMIT_CPU, ({CPU_SECONDS}, {CPU_SECONDS}))
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as report:
    json.dump({{"status": status, "maxrss_kb": usage.ru_maxrss}}, report)
"""


def run_limited(args: list[str], cwd: Path) -> tuple[int, str, str, float, float]:
    """Run `args` under the limits: (exit code, stdout, stderr, seconds, its own peak RSS in MB)."""
    out, err, measured = cwd / "child.stdout", cwd / "child.stderr", cwd / "child.rusage.json"
    started = time.monotonic()
    with open(out, "w") as stdout, open(err, "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(measured), *args],
            cwd=cwd,
            env=subprocess_env({"MALLOC_ARENA_MAX": "2"}),
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    killed: list[bool] = []
    timer = threading.Timer(
        WALL_SECONDS, lambda: (killed.append(True), os.killpg(process.pid, signal.SIGKILL))
    )
    timer.start()
    try:
        process.wait()
    finally:
        timer.cancel()
    elapsed = time.monotonic() - started
    assert not killed, f"{args[3:5]} ran longer than {WALL_SECONDS}s"
    usage = json.loads(measured.read_text())
    text = out.read_text(), err.read_text()
    code = os.waitstatus_to_exitcode(usage["status"])
    return code, text[0], text[1], elapsed, usage["maxrss_kb"] / 1024  # kilobytes on Linux


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingCluster]:
    with recording_cluster(tmp_path_factory.mktemp("cluster")) as server:
        yield server


@pytest.mark.parametrize("case", BOUNDED, ids=[c.id for c in BOUNDED])
def test_hostile_input_is_refused_within_hard_limits(
    case: HostileCase, cluster: RecordingCluster, tmp_path: Path
) -> None:
    playbook = case.prepare(tmp_path)
    commands = case.commands if case.heavy else case.commands[:1]
    for command in commands:
        cluster.record.reset()
        args = [sys.executable, "-m", "drkit", *argv(command, playbook, cluster.kubeconfig)]
        exit_code, stdout, stderr, seconds, peak_mb = run_limited(args, tmp_path)
        print(f"\n{case.id} ({command}): exit {exit_code}, {seconds:.2f}s, peak RSS {peak_mb:.0f} MB")
        problems = refusal_problems(case, playbook, exit_code, stdout, stderr)
        assert not problems, f"drkit {command}: " + "\n".join(problems)
        assert peak_mb < PEAK_RSS_BOUND_MB
        assert cluster.record.seen() == (0, []), f"drkit {command} reached the cluster"


def test_the_limits_are_enforced_on_the_child(tmp_path: Path) -> None:
    """The control for the bound: a child that asks for more memory than the limit does not get it."""
    exit_code, _, stderr, _, _ = run_limited(
        [sys.executable, "-c", f"bytearray({ADDRESS_SPACE_BYTES})"], tmp_path
    )
    assert exit_code != 0
    assert "MemoryError" in stderr


def test_peak_memory_is_measured_per_child(tmp_path: Path) -> None:
    """The control for the RSS bound: a child that really touches 200 MB is seen using it."""
    touch = "x = bytearray(200 * 1024 * 1024)\nfor i in range(0, len(x), 4096): x[i] = 1"
    *_, peak_mb = run_limited([sys.executable, "-c", touch], tmp_path)
    assert peak_mb >= 200


def test_the_peak_is_the_childs_own_not_the_test_processs(tmp_path: Path) -> None:
    """Late in a suite pytest itself holds hundreds of MB; a child forked from it would report them as its
    own peak. Through the launcher, a child doing nothing stays small while this process is large."""
    ballast = bytearray(300 * 1024 * 1024)
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    *_, peak_mb = run_limited([sys.executable, "-c", "pass"], tmp_path)
    assert peak_mb < 100
    del ballast
