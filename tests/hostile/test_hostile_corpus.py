"""Every hostile or broken playbook and manifest of the corpus ends in exit 2, a located message saying what
is wrong, bounded time, and not one request to the cluster.

The cases run in-process through the real CLI (`run_drkit`); the cluster is a real local HTTP server behind a
kubeconfig that records every connection. Each command runs under an alarm: past it, the case fails (the
alarm raises through drkit's boundary, which catches only Exception). The memory bound, which needs a process
of its own, is in test_hostile_bounds.py.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest
from helpers import run_drkit
from hostile_cases import CASES, CORPUS, GROUPS, HostileCase
from hostile_support import argv, refusal_problems
from recording_server import RecordingCluster, recording_cluster

# Per command: a bound against hanging, not a speed test (20,000 problems take ~10 s on a loaded machine).
TIME_BOUND_SECONDS = 60


class TimeBoundExceeded(BaseException):
    """Raised by the alarm: a BaseException, so drkit's boundary (which catches Exception) lets it through."""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingCluster]:
    with recording_cluster(tmp_path_factory.mktemp("cluster")) as server:
        yield server


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise TimeBoundExceeded(f"a command took more than {TIME_BOUND_SECONDS}s")


def run_bounded(*args: str, cwd: Path) -> tuple[int, str, str]:
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIME_BOUND_SECONDS)
    try:
        result = run_drkit(*args, cwd=cwd)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_refused_located_and_never_reaches_the_cluster(
    case: HostileCase, cluster: RecordingCluster, tmp_path: Path
) -> None:
    playbook = case.prepare(tmp_path)
    for command in case.commands:
        cluster.record.reset()
        exit_code, stdout, stderr = run_bounded(*argv(command, playbook, cluster.kubeconfig), cwd=tmp_path)
        problems = refusal_problems(case, playbook, exit_code, stdout, stderr)
        assert not problems, f"drkit {command}: " + "\n".join(problems)
        connections, requests = cluster.record.seen()
        assert (connections, requests) == (0, []), f"drkit {command} reached the cluster: {requests}"


def test_the_corpus_has_at_least_sixty_cases_in_every_group() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)
    for group in GROUPS:
        assert sum(c.group == group for c in CASES) >= 5, group


def test_a_valid_playbook_does_reach_the_recording_cluster(cluster: RecordingCluster, tmp_path: Path) -> None:
    """The positive control: what the corpus cases do not do is possible, and the server records it."""
    playbook = CORPUS.parent / "controls" / "valid-apply.yaml"
    cluster.record.reset()
    exit_code, _, stderr = run_bounded("validate", str(playbook), cwd=tmp_path)
    assert exit_code == 0, stderr
    run_bounded(*argv("plan", playbook, cluster.kubeconfig), cwd=tmp_path)
    connections, requests = cluster.record.seen()
    assert connections >= 1
    assert requests, "the plan of a valid apply sent no request"


def test_manifest_problems_wait_for_a_run_and_validate_accepts_the_playbook(tmp_path: Path) -> None:
    """`drkit validate` checks the playbook alone (it can run where the manifests are not); the manifests are
    read by `plan`, `drill`, `recover` and `check`, before any request."""
    playbook = CORPUS / "manifests" / "no-kind-or-api-version.yaml"
    exit_code, _, stderr = run_bounded("validate", str(playbook), cwd=tmp_path)
    assert exit_code == 0, stderr
