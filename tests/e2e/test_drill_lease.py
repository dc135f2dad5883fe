"""End to end: two drills against one cluster. The first holds the Lease kube-system/drkit-drill; a second
is refused (exit 3, naming the first's run) without writing; a killed drill's lease is refused to others
until it expires, and its own `drkit resume` takes it back. Through the real CLI and a kubeconfig.

The first drill parks on a `command` step that waits for a file the test creates: the test decides when it
ends, so nothing here depends on how long a step takes.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_cluster import E2ECluster
from helpers import run_drkit, start_drkit

from drkit.errors import ExitCode
from drkit.kube import Cluster, ObjectRef

pytestmark = pytest.mark.real_plane

LEASE = ("coordination.k8s.io/v1", "Lease", "drkit-drill", "kube-system")


def _playbook(tmp_path: Path, e2e: E2ECluster, name: str) -> Path:
    namespace = e2e.namespace("lease")
    (tmp_path / "namespace.yaml").write_text(
        f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {namespace}}}\n", encoding="utf-8"
    )
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"apiVersion: drkit.io/v1\nkind: Playbook\nmetadata: {{name: {name}}}\n"
        f"target:\n  contexts: [{e2e.context}]\n"
        "phases:\n"
        "  - name: rebuild\n    steps:\n"
        "      - name: namespace\n"
        "        apply: {files: [namespace.yaml]}\n"
        "      - name: parked\n"
        # Waits for the test's signal file; a shell loop because the step must outlive the test's checks.
        "        command: {run: 'while [ ! -f release ]; do sleep 0.05; done'}\n"
        "        timeout: 60s\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def cluster(e2e_cluster: E2ECluster, tmp_path: Path) -> Iterator[Cluster]:
    with e2e_cluster.open() as client:
        yield client


def _until(condition: Callable[[], Any], process: subprocess.Popen[str], seconds: float = 30) -> Any:
    """Wait for `condition` while `process` runs: the drill's lease or its step appearing in the journal."""
    import time  # noqa: PLC0415 - only for the deadline

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the first drill ended early ({process.returncode}): {out}\n{err}")
        time.sleep(0.05)  # observing another process: there is no event to wait on from here
    pytest.fail("the first drill never reached its parked step")


def _parked(run_dir_parent: Path) -> str | None:
    """The run id of a run whose journal shows its `parked` step started."""
    runs = run_dir_parent / ".drkit" / "runs"
    for run in runs.iterdir() if runs.exists() else ():
        journal = run / "journal.jsonl"
        lines = journal.read_text(encoding="utf-8").splitlines() if journal.exists() else []
        if any('"event":"step-started"' in line and '"name":"parked"' in line for line in lines):
            return run.name
    return None


def test_a_second_drill_is_refused_while_the_first_holds_the_cluster(
    e2e_cluster: E2ECluster, cluster: Cluster, tmp_path: Path
) -> None:
    first_dir = tmp_path / "first"
    first_dir.mkdir()
    first = start_drkit(
        "drill",
        str(_playbook(first_dir, e2e_cluster, "first")),
        "--yes",
        *e2e_cluster.cli_args(),
        "-o",
        "json",
        cwd=first_dir,
    )
    try:
        run_id = _until(lambda: _parked(first_dir), first)
        lease = cluster.get(*LEASE)
        assert lease is not None
        assert lease["metadata"]["annotations"]["drkit.io/run-id"] == run_id
        holder = lease["spec"]["holderIdentity"]

        second_dir = tmp_path / "second"
        second_dir.mkdir()
        second = run_drkit(
            "drill",
            str(_playbook(second_dir, e2e_cluster, "second")),
            "--yes",
            *e2e_cluster.cli_args(),
            cwd=second_dir,
        )
        assert second.exit_code == ExitCode.REFUSED, second.stdout + second.stderr
        assert f"another drill holds this cluster: run {run_id} of playbook 'first'" in second.stderr
        assert "since " in second.stderr
        after = cluster.get(*LEASE)
        assert after is not None
        assert after["spec"]["holderIdentity"] == holder  # the refused drill did not take it
        runs = second_dir / ".drkit" / "runs"
        assert not runs.exists() or not any(runs.iterdir())  # and left no run behind
    finally:
        (first_dir / "release").touch()
        out, err = first.communicate(timeout=60)
    assert first.returncode == 0, out + err  # the first drill was not disturbed
    assert json.loads(out)["outcome"] == "succeeded"
    assert cluster.get(*LEASE) is None  # released at its end


def test_a_killed_drill_keeps_others_out_until_its_resume_takes_the_lease_back(
    e2e_cluster: E2ECluster, cluster: Cluster, tmp_path: Path
) -> None:
    playbook = _playbook(tmp_path, e2e_cluster, "killed")
    crashed = start_drkit("drill", str(playbook), "--yes", *e2e_cluster.cli_args(), cwd=tmp_path)
    try:
        run_id = _until(lambda: _parked(tmp_path), crashed)
    finally:
        crashed.send_signal(signal.SIGKILL)  # no chance to release anything
        crashed.communicate(timeout=30)
    assert cluster.get(*LEASE) is not None  # left behind, still fresh

    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other = run_drkit(
        "drill",
        str(_playbook(other_dir, e2e_cluster, "other")),
        "--yes",
        *e2e_cluster.cli_args(),
        cwd=other_dir,
    )
    assert other.exit_code == ExitCode.REFUSED, other.stdout + other.stderr
    assert f"run {run_id}" in other.stderr
    assert "expires at" in other.stderr

    (tmp_path / "release").touch()
    resumed = run_drkit("resume", run_id, "--yes", "-o", "json", cwd=tmp_path)
    assert resumed.exit_code == 0, resumed.stdout + resumed.stderr
    assert cluster.get(*LEASE) is None
    namespace = cluster.get("v1", "Namespace", e2e_cluster.namespace("lease"))
    assert namespace is not None
    assert ObjectRef.of(namespace).name == e2e_cluster.namespace("lease")
