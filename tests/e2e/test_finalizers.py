"""End to end: the clearFinalizers step unsticks a namespace whose Seldon scheduler is gone (seed 003).

A private lab per test (these tests delete things and stop controllers); everything else goes through a
kubeconfig and the real `drkit` CLI. Stopping the Seldon scheduler and reading the request log are lab powers,
so the module is `lab_only`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from e2e_cluster import LAB_CONTEXT, E2ECluster
from finalizers_support import (
    cluster_of,
    create_namespace_with_models,
    delete_namespace_until_stuck,
    install_crds,
    log_size,
    stop_controller,
    writes_since,
)
from helpers import WritePlaybook, run_drkit
from lab_helpers import LabHandle

pytestmark = [pytest.mark.real_plane, pytest.mark.lab_only]

NAMESPACE = "financial-inference"
MODELS = ["baseline-predictor", "enhanced-predictor"]


def _playbook(write_playbook: WritePlaybook, context: str, body: str, timeout: str = "2m") -> Path:
    return write_playbook(
        f"""
        apiVersion: drkit.io/v1
        kind: Playbook
        metadata: {{name: unstick}}
        target: {{contexts: [{context}]}}
        phases:
          - name: teardown
            steps:
              - clearFinalizers: {body}
                timeout: {timeout}
        """
    )


def _stuck_lab(e2e_cluster: E2ECluster, tmp_path: Path) -> LabHandle:
    handle = e2e_cluster.lab
    with cluster_of(handle, tmp_path) as cluster:
        install_crds(cluster)
        models = create_namespace_with_models(cluster, NAMESPACE, MODELS)
        stop_controller(handle, "seldon-scheduler")
        delete_namespace_until_stuck(cluster, NAMESPACE, models)
    return handle


def _step_details(report: dict[str, Any]) -> dict[str, Any]:
    step = report["phases"][0]["steps"][0]
    assert step["kind"] == "clearFinalizers"
    details: dict[str, Any] = step["details"]
    return details


def test_clear_finalizers_unsticks_the_namespace_and_keeps_an_audit(
    e2e_cluster: E2ECluster, tmp_path: Path, write_playbook: WritePlaybook
) -> None:
    handle = _stuck_lab(e2e_cluster, tmp_path)
    path = _playbook(write_playbook, e2e_cluster.context, f"{{namespaces: [{NAMESPACE}], after: 0s}}")

    result = run_drkit("drill", str(path), "--yes", *e2e_cluster.cli_args(), "-o", "json", cwd=tmp_path)

    assert result.exit_code == 0, result.stderr + result.stdout
    details = _step_details(result.json)
    removed = {r["object"]: r for r in details["removed"]}
    assert set(removed) == {f"Model {NAMESPACE}/{name}" for name in MODELS}
    for record in removed.values():
        assert record["finalizersRemoved"] == ["seldon.model.finalizer"]
        assert record["finalizersKept"] == []
        assert record["uid"]
        assert record["deletionTimestamp"]
        assert record["at"]
        assert record["owner"] == "Seldon Core v2 scheduler"
        assert record["resourceVersionBefore"]  # the version the guarded patch carried
        assert record["resourceVersionAfter"]  # the version the server answered it with
    assert any("never unloaded model baseline-predictor" in note for note in details["orphaned"])
    assert details["namespaces"] == [{"name": NAMESPACE, "gone": True, "finalized": False, "message": "gone"}]
    conditions = {c["type"] for ns in details["diagnosis"]["namespaces"] for c in ns["conditions"]}
    assert "NamespaceFinalizersRemaining" in conditions
    with cluster_of(handle, tmp_path) as cluster:
        assert cluster.get("v1", "Namespace", NAMESPACE) is None


def test_a_run_gives_controllers_until_after_then_clears(
    e2e_cluster: E2ECluster, tmp_path: Path, write_playbook: WritePlaybook
) -> None:
    _stuck_lab(e2e_cluster, tmp_path)
    path = _playbook(
        write_playbook, e2e_cluster.context, f"{{namespaces: [{NAMESPACE}], after: 2s}}", timeout="30s"
    )

    result = run_drkit("drill", str(path), "--yes", *e2e_cluster.cli_args(), "-o", "json", cwd=tmp_path)

    assert result.exit_code == 0, result.stderr + result.stdout
    details = _step_details(result.json)
    removed = {r["object"]: r for r in details["removed"]}
    assert set(removed) == {f"Model {NAMESPACE}/{name}" for name in MODELS}
    # Cleared only once the Models had been held for `after`: the controller had its chance first.
    assert all(r["ageSeconds"] >= 2.0 for r in removed.values())


def test_objects_younger_than_after_are_left_alone(
    e2e_cluster: E2ECluster, tmp_path: Path, write_playbook: WritePlaybook
) -> None:
    handle = _stuck_lab(e2e_cluster, tmp_path)
    path = _playbook(
        write_playbook, e2e_cluster.context, f"{{namespaces: [{NAMESPACE}], after: 1h}}", timeout="3s"
    )
    before = log_size(handle)

    result = run_drkit("drill", str(path), "--yes", *e2e_cluster.cli_args(), "-o", "json", cwd=tmp_path)

    assert result.exit_code == 1, result.stderr
    details = _step_details(result.json)
    assert details["removed"] == []
    assert sorted(details["notStuckYet"]) == [f"Model {NAMESPACE}/{name}" for name in MODELS]
    assert "still terminating" in result.json["phases"][0]["steps"][0]["message"]
    patches = [w for w in writes_since(handle, before) if w.startswith(("PATCH", "PUT"))]
    assert patches == []


def test_force_finalizes_a_namespace_whose_content_cannot_be_cleared(
    e2e_cluster: E2ECluster, tmp_path: Path, write_playbook: WritePlaybook
) -> None:
    handle = _stuck_lab(e2e_cluster, tmp_path)
    # Only the Experiment finalizer may go, so the Models keep theirs: the namespace can only be forced.
    body = f"{{namespaces: [{NAMESPACE}], after: 0s, finalizers: [seldon.experiment.finalizer], force: true}}"
    path = _playbook(write_playbook, e2e_cluster.context, body)
    before = log_size(handle)

    result = run_drkit("drill", str(path), "--yes", *e2e_cluster.cli_args(), "-o", "json", cwd=tmp_path)

    assert result.exit_code == 0, result.stderr + result.stdout
    details = _step_details(result.json)
    assert details["removed"] == []
    [outcome] = details["namespaces"]
    assert outcome["gone"]
    assert outcome["finalized"]
    assert "#60807" in outcome["message"]
    assert any("stranded" in note and "baseline-predictor" in note for note in details["orphaned"])
    assert f"PUT /api/v1/namespaces/{NAMESPACE}/finalize" in writes_since(handle, before)


def test_a_protected_namespace_is_refused_before_any_request(
    lab_without_mlflow: LabHandle, tmp_path: Path, write_playbook: WritePlaybook
) -> None:
    path = _playbook(write_playbook, LAB_CONTEXT, "{namespaces: [financial-inference, kube-system]}")
    before = log_size(lab_without_mlflow)

    result = run_drkit(
        "drill", str(path), "--yes", "--kubeconfig", str(lab_without_mlflow.kubeconfig), cwd=tmp_path
    )

    assert result.exit_code == 3, result.stderr
    assert "kube-system" in result.stderr
    assert writes_since(lab_without_mlflow, before) == []
