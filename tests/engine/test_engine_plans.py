"""A run plans every step before the first one runs (to confirm and check it); what a plan would say of the
cluster's current state is only read for `drkit plan`. In a drill that state is stale by the time the step
runs (the teardown changed it), so reading it there doubled the requests a careful script sends."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest
from engine_kinds import run
from helpers import WritePlaybook
from kube_lab import Lab

from drkit.context import Runtime
from drkit.engine.request import RunMode
from drkit.kube import Cluster
from drkit.report.model import Outcome

PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: plans}
target: {contexts: [drkit-lab]}
phases:
  - name: teardown
    drillOnly: true
    steps:
      - name: delete-app
        delete: {files: [app.yaml], wait: false}
      - name: unstick
        clearFinalizers: {namespaces: [plans-ns]}
  - name: rebuild
    steps:
      - name: apply-app
        apply: {files: [app.yaml], wait: false}
"""
APP = """
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: plans-ns}
data: {mode: drill}
"""


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every GET of one object and every LIST drkit sends, by kind (the adapter's two read paths)."""
    seen: Counter[str] = Counter()
    real_get, real_list = Cluster.get, Cluster.list_with_version

    def get(self: Cluster, api_version: str, kind: str, *args: object, **kwargs: object) -> object:
        seen[f"get {kind}"] += 1
        return real_get(self, api_version, kind, *args, **kwargs)  # type: ignore[arg-type]

    def list_with_version(self: Cluster, api_version: str, kind: str, *args: object, **kw: object) -> object:
        seen[f"list {kind}"] += 1
        return real_list(self, api_version, kind, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Cluster, "get", get)
    monkeypatch.setattr(Cluster, "list_with_version", list_with_version)
    return seen


def _runtime(lab: Lab, tmp_path: Path) -> Runtime:
    """The app's namespace and its ConfigMap exist (written past the counted reads)."""
    (tmp_path / "app.yaml").write_text(APP, encoding="utf-8")
    store = lab.store
    for api_version, kind, obj in (
        ("v1", "Namespace", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "plans-ns"}}),
        (
            "v1",
            "ConfigMap",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": "plans-ns"},
            },
        ),
    ):
        resource = store.registry.by_kind(api_version, kind)
        assert resource is not None
        store.create(resource, obj)
    return Runtime(
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdin=io.StringIO(),
        env={"KUBECONFIG": str(lab.kubeconfig), "DRKIT_HOME": str(tmp_path / "state")},
        cwd=tmp_path,
    )


def test_drkit_plan_says_what_each_action_would_meet_now(
    lab: Lab, tmp_path: Path, write_playbook: WritePlaybook, reads: Counter[str]
) -> None:
    (tmp_path / "app.yaml").write_text(APP, encoding="utf-8")

    report = run(write_playbook(PLAYBOOK), _runtime(lab, tmp_path), RunMode.PLAN)

    assert report.outcome is Outcome.PLANNED
    delete, unstick = report.phases[0].steps
    assert "delete ConfigMap plans-ns/settings (exists)" in str(delete.details["actions"])
    assert unstick.message == "would remove finalizers from 0 stuck objects in plans-ns (as of now)"
    assert "apply ConfigMap plans-ns/settings (exists: would update)" in str(
        report.phases[1].steps[0].details
    )
    assert reads["get ConfigMap"] == 2  # the delete's and the apply's look at it
    assert reads["list ConfigMap"] == 1  # the finalizer diagnosis sweeps the namespace's kinds


def test_a_drill_reads_the_state_when_each_step_runs_not_in_its_plan_beforehand(
    lab: Lab, tmp_path: Path, write_playbook: WritePlaybook, reads: Counter[str]
) -> None:
    report = run(write_playbook(PLAYBOOK), _runtime(lab, tmp_path))

    assert report.outcome is Outcome.SUCCEEDED, report.message
    # The delete's own run reads nothing before deleting, the apply's none before applying, and the
    # diagnosis sweeps once, when its step runs: no GET of the object, one LIST of its kind in all.
    assert reads["get ConfigMap"] == 0
    assert reads["list ConfigMap"] == 1
