"""A run plans every step before the first one runs (to confirm and check it); what a plan would say of the
cluster's current state is only read for `drkit plan`. In a drill that state is stale by the time the step
runs (the teardown changed it), so reading it there doubled the requests a careful script sends."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from engine_kinds import run
from helpers import WritePlaybook
from kube_lab import Lab

from drkit.context import Runtime
from drkit.engine.request import RunMode
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


CONFIGMAPS = "/api/v1/namespaces/plans-ns/configmaps"


def _reads(lab: Lab) -> Counter[str]:
    """The API server's own count of the GETs of the ConfigMap and the LISTs of its kind (its request log:
    what drkit sent, not which of its functions it called)."""
    seen: Counter[str] = Counter()
    for r in lab.requests():
        if r["method"] == "GET" and not r["watch"] and r["path"] == f"{CONFIGMAPS}/settings":
            seen["get ConfigMap"] += 1
        elif r["method"] == "GET" and not r["watch"] and r["path"] == CONFIGMAPS:
            seen["list ConfigMap"] += 1
    return seen


def _runtime(lab: Lab, tmp_path: Path) -> Runtime:
    """The app's namespace and its ConfigMap exist (written to the store, past the server's request log)."""
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
    return lab.runtime(tmp_path)


def test_drkit_plan_says_what_each_action_would_meet_now(
    lab: Lab, tmp_path: Path, write_playbook: WritePlaybook
) -> None:
    report = run(write_playbook(PLAYBOOK), _runtime(lab, tmp_path), RunMode.PLAN)

    assert report.outcome is Outcome.PLANNED
    delete, unstick = report.phases[0].steps
    assert "delete ConfigMap plans-ns/settings (exists)" in str(delete.details["actions"])
    assert unstick.message == "would remove finalizers from 0 stuck objects in plans-ns (as of now)"
    assert "apply ConfigMap plans-ns/settings (exists: would update)" in str(
        report.phases[1].steps[0].details
    )
    reads = _reads(lab)
    assert reads["get ConfigMap"] == 2  # the delete's and the apply's look at it
    assert reads["list ConfigMap"] == 1  # the finalizer diagnosis sweeps the namespace's kinds


def test_a_drill_reads_the_state_when_each_step_runs_not_in_its_plan_beforehand(
    lab: Lab, tmp_path: Path, write_playbook: WritePlaybook
) -> None:
    report = run(write_playbook(PLAYBOOK), _runtime(lab, tmp_path))

    assert report.outcome is Outcome.SUCCEEDED, report.message
    reads = _reads(lab)
    # The delete's own run reads nothing before deleting, the apply's none before applying, and the
    # diagnosis sweeps once, when its step runs: no GET of the object, one LIST of its kind in all.
    assert reads["get ConfigMap"] == 0
    assert reads["list ConfigMap"] == 1
