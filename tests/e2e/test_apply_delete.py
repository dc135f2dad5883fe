"""`apply` and `delete` end to end, through the real CLI, against a private lab reached by its kubeconfig.

The playbooks only name a kubeconfig and the fixture's context; lab-only manipulations (installing the
sealing key, stopping the Seldon scheduler, reading the request log) are the `lab_*` helpers of e2e_support.
Every test here also relies on the lab's simulation (local model stores, instant image failures, its CRDs, its
request log), so the module is `lab_only`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from e2e_cluster import E2ECluster
from e2e_support import (
    lab_install_sealing_key,
    lab_request_count,
    lab_requests_since,
    lab_stop_controller,
    playbook,
    write_platform,
)
from helpers import DrkitResult, run_drkit

from drkit.errors import ExitCode

pytestmark = [pytest.mark.real_plane, pytest.mark.lab_only]


def _drill(tmp_path: Path, e2e: E2ECluster, text: str, name: str = "playbook.yaml") -> DrkitResult:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return run_drkit("drill", str(path), "--yes", *e2e.cli_args(), "--output", "json", cwd=tmp_path)


def _step(result: DrkitResult, index: int = 0) -> dict[str, Any]:
    report = result.json
    steps: list[dict[str, Any]] = [s for p in report["phases"] for s in p["steps"]]
    return steps[index]


def test_apply_platform_with_its_crds_waits_until_ready_then_delete_removes_it(
    tmp_path: Path, e2e_cluster: E2ECluster
) -> None:
    handle = e2e_cluster.lab
    lab_install_sealing_key(handle)
    platform = write_platform(tmp_path)
    applied = _drill(
        tmp_path,
        e2e_cluster,
        playbook(
            context=e2e_cluster.context,
            steps=f"      - apply: {{kustomize: {platform}}}\n        timeout: 60s\n",
        ),
        "apply.yaml",
    )
    assert applied.exit_code == ExitCode.OK, applied.stdout + applied.stderr
    details = _step(applied)["details"]
    ready = {item["object"]: item["readyAfterSeconds"] for item in details["ready"]}
    assert "Model financial-inference/baseline-predictor" in ready
    assert "Experiment financial-inference/financial-ab-test-experiment" in ready
    assert "CustomResourceDefinition models.mlops.seldon.io" in ready
    waves = [w["wave"] for w in details["waves"]]
    assert waves[0] == "namespaces and CRDs"
    assert waves[-1] == "custom resources and the rest"

    deleted = _drill(
        tmp_path,
        e2e_cluster,
        playbook(
            context=e2e_cluster.context,
            steps=f"      - delete: {{kustomize: {platform}}}\n        timeout: 60s\n",
        ),
        "delete.yaml",
    )
    assert deleted.exit_code == ExitCode.OK, deleted.stdout + deleted.stderr
    details = _step(deleted)["details"]
    gone = {item["object"]: item["goneAfterSeconds"] for item in details["deleted"]}
    assert gone["Namespace financial-inference"] is not None
    assert gone["Model financial-inference/baseline-predictor"] is not None
    # Custom resources were gone before their namespace was.
    assert gone["Model financial-inference/baseline-predictor"] <= gone["Namespace financial-inference"]
    assert "CustomResourceDefinition models.mlops.seldon.io" in details["keptCrds"]
    assert "CustomResourceDefinition models.mlops.seldon.io" not in gone


def _deployment(name: str, image: str) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\n"
        f"metadata: {{name: {name}, namespace: e2e-apps}}\n"
        "spec:\n  replicas: 1\n"
        "  progressDeadlineSeconds: 2\n"  # the default (600 s) outlasts the test
        f"  selector: {{matchLabels: {{app: {name}}}}}\n"
        "  template:\n"
        f"    metadata: {{labels: {{app: {name}}}}}\n"
        f"    spec: {{containers: [{{name: main, image: '{image}'}}]}}\n"
    )


def test_apply_waits_for_a_slow_deployment_and_fails_naming_a_broken_one(
    tmp_path: Path, e2e_cluster: E2ECluster
) -> None:
    namespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: e2e-apps}\n"
    (tmp_path / "slow.yaml").write_text(
        namespace + "---\n" + _deployment("slow", "nginx:1.27"), encoding="utf-8"
    )
    slow = _drill(
        tmp_path,
        e2e_cluster,
        playbook(
            context=e2e_cluster.context, steps="      - apply: {files: [slow.yaml]}\n        timeout: 30s\n"
        ),
        "slow.yaml.pb",
    )
    assert slow.exit_code == ExitCode.OK, slow.stdout + slow.stderr
    ready = {i["object"]: i["readyAfterSeconds"] for i in _step(slow)["details"]["ready"]}
    # The lab's workloads take `workload_ready_delay` (0.2s in tests) to become available.
    assert ready["Deployment e2e-apps/slow"] >= 0.2

    (tmp_path / "broken.yaml").write_text(_deployment("broken", "x:broken"), encoding="utf-8")
    broken = _drill(
        tmp_path,
        e2e_cluster,
        playbook(
            context=e2e_cluster.context, steps="      - apply: {files: [broken.yaml]}\n        timeout: 20s\n"
        ),
        "broken.pb",
    )
    assert broken.exit_code == ExitCode.DRILL_FAILED
    message = _step(broken)["message"]
    assert "Deployment e2e-apps/broken" in message
    assert "ProgressDeadlineExceeded" in message


def test_delete_with_the_seldon_scheduler_down_times_out_naming_models_finalizers_and_namespace_conditions(
    tmp_path: Path, e2e_cluster: E2ECluster
) -> None:
    handle = e2e_cluster.lab
    lab_install_sealing_key(handle)
    platform = write_platform(tmp_path)
    applied = _drill(
        tmp_path,
        e2e_cluster,
        playbook(
            context=e2e_cluster.context,
            steps=f"      - apply: {{kustomize: {platform}}}\n        timeout: 60s\n",
        ),
        "a.yaml",
    )
    assert applied.exit_code == ExitCode.OK, applied.stdout + applied.stderr

    lab_stop_controller(handle, "seldon-scheduler")
    deleted = _drill(
        tmp_path,
        e2e_cluster,
        playbook(
            context=e2e_cluster.context,
            # Long enough for a real namespace controller to report content remaining: its first pass (about
            # 6 s) finds the Server's pod still terminating and reports nothing remaining; the next one, once
            # the kubelet has stopped MLServer, does (11 s alone, over 20 s beside another test).
            steps=f"      - delete: {{kustomize: {platform}}}\n        timeout: 30s\n",
        ),
        "d.yaml",
    )
    assert deleted.exit_code == ExitCode.DRILL_FAILED
    step = _step(deleted)
    message = step["message"]
    assert "Model financial-inference/baseline-predictor" in message
    assert "Model financial-inference/enhanced-predictor" in message
    assert "seldon.model.finalizer" in message
    assert "Seldon" in message  # the likely owner of the finalizer
    assert "NamespaceContentRemaining" in message, message
    assert "clearFinalizers" in message
    remaining = {item["object"]: item for item in step["details"]["remaining"]}
    assert remaining["Model financial-inference/baseline-predictor"]["finalizers"] == [
        "seldon.model.finalizer"
    ]
    conditions = {c["type"] for c in remaining["Namespace financial-inference"]["conditions"]}
    assert "NamespaceContentRemaining" in conditions


def test_delete_touching_kube_system_is_refused_before_any_write(
    tmp_path: Path, e2e_cluster: E2ECluster
) -> None:
    handle = e2e_cluster.lab
    (tmp_path / "victims.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: harmless, namespace: e2e-ok}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: coredns, namespace: kube-system}\n",
        encoding="utf-8",
    )
    before = lab_request_count(handle)
    result = _drill(
        tmp_path,
        e2e_cluster,
        playbook(
            context=e2e_cluster.context,
            steps="      - command: {run: 'true'}\n"  # a step before it must not run either
            "      - delete: {files: [victims.yaml]}\n",
        ),
    )
    assert result.exit_code == ExitCode.REFUSED, result.stdout + result.stderr
    assert "kube-system" in result.stderr
    writes = [r for r in lab_requests_since(handle, before) if r["method"] != "GET"]
    assert writes == []

    literal = _drill(
        tmp_path,
        e2e_cluster,
        playbook(context=e2e_cluster.context, steps="      - delete: {namespaces: [e2e-ok, kube-system]}\n"),
        "ns.yaml",
    )
    assert literal.exit_code == ExitCode.REFUSED
    assert "Namespace kube-system is protected" in literal.stderr
    assert [r for r in lab_requests_since(handle, before) if r["method"] != "GET"] == []


def test_plan_lists_each_object_per_wave_and_shows_a_protected_refusal(
    tmp_path: Path, e2e_cluster: E2ECluster
) -> None:
    handle = e2e_cluster.lab
    platform = write_platform(tmp_path)
    (tmp_path / "p.yaml").write_text(
        playbook(
            context=e2e_cluster.context,
            steps=f"      - apply: {{kustomize: {platform}}}\n      - delete: {{kustomize: {platform}}}\n",
        ),
        encoding="utf-8",
    )
    before = lab_request_count(handle)
    planned = run_drkit("plan", "p.yaml", *e2e_cluster.cli_args(), "--output", "json", cwd=tmp_path)
    assert planned.exit_code == ExitCode.OK, planned.stdout + planned.stderr
    apply_step, delete_step = _step(planned, 0), _step(planned, 1)
    actions = apply_step["details"]["actions"]
    assert "wave 1 (namespaces and CRDs): apply Namespace financial-inference (would create)" in actions
    assert any(
        "apply Model financial-inference/baseline-predictor (would create: its CRD is applied first)" in a
        for a in actions
    )
    assert delete_step["destructive"] is True
    assert any(
        "keep CustomResourceDefinition models.mlops.seldon.io" in a for a in delete_step["details"]["actions"]
    )
    assert [r for r in lab_requests_since(handle, before) if r["method"] != "GET"] == []

    (tmp_path / "bad.yaml").write_text(
        playbook(
            context=e2e_cluster.context,
            steps="      - delete: {objects: [{apiVersion: v1, kind: ConfigMap,\n"
            "                            namespace: kube-public, name: x}]}\n",
        ),
        encoding="utf-8",
    )
    refused = run_drkit("plan", "bad.yaml", *e2e_cluster.cli_args(), cwd=tmp_path)
    assert refused.exit_code == ExitCode.REFUSED
    assert "ConfigMap kube-public/x is in protected namespace kube-public" in refused.stderr
