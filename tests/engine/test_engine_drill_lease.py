"""One drill per cluster: the run holds the Lease kube-system/drkit-drill, and another run is refused.

Against the lab's API server in-process (tests/kube/kube_lab.py); the step kind `leaseProbe` of this module
reads the Lease from inside a running step, as anything else in the cluster would see it."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_kinds import SCRIPT_SCHEMA, TEST_STEP_KINDS, RecordingListener
from helpers import WritePlaybook
from kube_lab import Lab

from drkit.context import Runtime
from drkit.engine import drill_lease
from drkit.engine.drill_lease import DrillLease, Holder
from drkit.engine.playbook_run import RunOptions, run_playbook
from drkit.engine.request import RunMode, RunRequest
from drkit.errors import ExitCode, RefusedError
from drkit.kube import Cluster, ClusterConfig
from drkit.playbook.fields import KindSchema, Obj
from drkit.playbook.loader import load_playbook
from drkit.playbook.model import StepSpec
from drkit.report.model import RunReport
from drkit.steps.base import StepContext, StepKind, StepPlan, StepResult, StepStatus
from drkit.steps.registry import PROBE_KINDS, probe_schemas, step_schemas

PROBE_SCHEMA = KindSchema(kind="leaseProbe", description="test: read the drill lease", body=Obj(fields={}))
seen: list[dict[str, Any] | None] = []


class LeaseProbe:
    def __init__(self, spec: StepSpec) -> None:
        self.spec = spec

    def plan(self, ctx: StepContext) -> StepPlan:
        return StepPlan(summary="would read the drill lease")

    def run(self, ctx: StepContext) -> StepResult:
        seen.append(ctx.cluster().get("coordination.k8s.io/v1", "Lease", "drkit-drill", "kube-system"))
        return StepResult(StepStatus.SUCCEEDED, "read it")


KINDS = {**TEST_STEP_KINDS, "leaseProbe": StepKind(PROBE_SCHEMA, LeaseProbe, 10.0, needs_cluster=True)}
PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: leased}
target: {contexts: [drkit-lab]}
phases:
  - name: rebuild
    steps:
      - {name: look, leaseProbe: {}}
      - {name: look-again, leaseProbe: {}}
"""


@pytest.fixture(autouse=True)
def _forget_what_was_seen() -> None:
    seen.clear()


@pytest.fixture
def cluster(lab: Lab, tmp_path: Path) -> Iterator[Cluster]:
    with Cluster(ClusterConfig.from_env({"KUBECONFIG": str(lab.kubeconfig)})) as c:
        yield c


def _run(lab: Lab, runtime: Runtime, path: Path, mode: RunMode = RunMode.DRILL) -> RunReport:
    env = {**runtime.env, "KUBECONFIG": str(lab.kubeconfig), "USER": "oncall"}
    playbook = load_playbook(
        path,
        step_kinds={**step_schemas(), "script": SCRIPT_SCHEMA, "leaseProbe": PROBE_SCHEMA},
        check_kinds=probe_schemas(),
    )
    request = RunRequest(playbook_path=path, mode=mode, assume_yes=True)
    options = RunOptions(
        step_kinds=KINDS,
        probe_kinds=PROBE_KINDS,
        playbook_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
    )
    return run_playbook(
        playbook, request, dataclasses.replace(runtime, env=env), RecordingListener(), None, options=options
    )


def _lease(run_id: str, renewed: str, holder: str = "drkit other laptop") -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": "drkit-drill",
            "namespace": "kube-system",
            "annotations": {"drkit.io/run-id": run_id, "drkit.io/playbook": "financial-mlops"},
        },
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 30,
            "acquireTime": "2026-01-01T00:10:00.000000Z",
            "renewTime": renewed,
            "leaseTransitions": 2,
        },
    }


def test_a_running_drill_holds_the_lease_and_gives_it_back(
    lab: Lab, cluster: Cluster, runtime: Runtime, write_playbook: WritePlaybook
) -> None:
    report = _run(lab, runtime, write_playbook(PLAYBOOK))
    assert report.outcome == "succeeded", report.message
    held = seen[0]
    assert held is not None, "no lease while the drill ran"
    holder = Holder.of(held)
    assert holder.run_id == report.run_id
    assert holder.identity.startswith(f"drkit {report.run_id} oncall@")
    assert held["spec"]["leaseDurationSeconds"] == 30
    assert cluster.get("coordination.k8s.io/v1", "Lease", "drkit-drill", "kube-system") is None  # released


def test_a_second_drill_is_refused_naming_the_holder_and_writes_nothing(
    lab: Lab, cluster: Cluster, runtime: Runtime, write_playbook: WritePlaybook
) -> None:
    # The fake clock's wall time is 2026-01-01T00:16:40Z: renewed 5 s before, the lease is live.
    cluster.create(_lease("20260101-001000-beef", "2026-01-01T00:16:35.000000Z"))
    before = lab.store.resource_version()
    with pytest.raises(RefusedError) as refused:
        _run(lab, runtime, write_playbook(PLAYBOOK))
    message = str(refused.value)
    assert "20260101-001000-beef" in message
    assert "financial-mlops" in message
    assert "since 2026-01-01T00:10:00Z" in message
    assert "2026-01-01T00:17:05Z" in str(refused.value.hint)  # when it would expire
    assert refused.value.exit_code is ExitCode.REFUSED
    assert lab.store.resource_version() == before  # not one write
    assert seen == []  # no step ran
    runs = runtime.state_dir / "runs"
    assert not runs.exists() or not any(runs.iterdir())  # no run directory left behind


def test_a_lease_left_by_a_killed_drill_is_taken_over_once_expired(
    lab: Lab, cluster: Cluster, runtime: Runtime, write_playbook: WritePlaybook
) -> None:
    cluster.create(_lease("20260101-001000-beef", "2026-01-01T00:16:00.000000Z"))  # 40 s ago: expired
    report = _run(lab, runtime, write_playbook(PLAYBOOK))
    assert report.outcome == "succeeded", report.message
    held = seen[0]
    assert held is not None
    assert Holder.of(held).run_id == report.run_id
    assert held["spec"]["leaseTransitions"] == 3


def test_checklist_only_runs_take_no_lease(
    lab: Lab, cluster: Cluster, runtime: Runtime, write_playbook: WritePlaybook
) -> None:
    cluster.create(_lease("20260101-001000-beef", "2026-01-01T00:16:35.000000Z"))
    path = write_playbook(
        PLAYBOOK
        + "checklists:\n  system:\n    items:\n"
        + "      - {name: ns, resource: {apiVersion: v1, kind: Namespace, name: kube-system}}\n"
    )
    with pytest.raises(RefusedError):
        _run(lab, runtime, path)
    report = _run(lab, runtime, path, RunMode.CHECK)
    assert report.outcome == "succeeded", report.message


def test_the_resume_of_the_holders_own_run_takes_its_lease_back(
    lab: Lab, cluster: Cluster, runtime: Runtime
) -> None:
    run_id = "20260101-001000-beef"
    cluster.create(_lease(run_id, "2026-01-01T00:16:35.000000Z"))
    lease = DrillLease(cluster, runtime, run_id, "financial-mlops")
    lease.acquire()
    try:
        current = cluster.get("coordination.k8s.io/v1", "Lease", "drkit-drill", "kube-system")
        assert current is not None
        assert current["spec"]["holderIdentity"] == lease.identity
        assert current["spec"]["leaseTransitions"] == 2  # the same run: not a transition
        assert current["spec"]["acquireTime"] == "2026-01-01T00:10:00.000000Z"  # held since it first took it
    finally:
        lease.release()


def test_a_lease_taken_over_by_another_run_is_lost_and_stops_the_run(
    lab: Lab, cluster: Cluster, runtime: Runtime
) -> None:
    lease = DrillLease(cluster, runtime, "20260101-001640-aaaa", "leased")
    lease.acquire()
    try:
        assert lease.lost() is None
        lease.renew()
        assert lease.lost() is None  # still ours after a renewal
        current = cluster.get("coordination.k8s.io/v1", "Lease", "drkit-drill", "kube-system")
        assert current is not None
        taken = _lease("20260101-001700-cafe", "2026-01-01T00:16:40.000000Z", holder="drkit someone else")
        taken["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        cluster.replace(taken)
        lease.renew()
        lost = lease.lost()
        assert lost is not None
        assert "20260101-001700-cafe" in lost
    finally:
        lease.release()
    assert (
        cluster.get("coordination.k8s.io/v1", "Lease", "drkit-drill", "kube-system") is not None
    )  # not ours


def test_the_lease_constants_leave_room_for_two_failed_renewals() -> None:
    assert drill_lease.RENEW_SECONDS * 3 <= drill_lease.LEASE_SECONDS
