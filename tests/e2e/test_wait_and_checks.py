"""`wait` steps and `resource`/`pods` checklist items end to end, through the real CLI and a kubeconfig.

Objects are created with drkit's own Cluster (as any client would on a real cluster), in the test's own
namespace; the shared platform lab is only read. Nothing here reaches into a lab's internals, but the platform
tests read the lab's financial-mlops install (its trained models, its mlserver pods), so they are `lab_only`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from e2e_cluster import LAB_CONTEXT, E2ECluster
from helpers import DrkitResult, run_drkit
from lab_helpers import LabHandle

from drkit.errors import ExitCode

pytestmark = pytest.mark.real_plane

MODEL_API = "mlops.seldon.io/v1alpha1"
# Pulled by a real cluster, simulated by the lab.
IMAGE = "registry.k8s.io/pause:3.10"
BROKEN_IMAGE = "registry.invalid/drkit-e2e/no-such-image:broken"


def _playbook(context: str, steps: str, checklists: str = "") -> str:
    return (
        "apiVersion: drkit.io/v1\nkind: Playbook\nmetadata: {name: e2e-wait}\n"
        f"target:\n  contexts: [{context}]\n"
        "phases:\n  - name: main\n    steps:\n" + steps + checklists
    )


def _run(tmp_path: Path, cli_args: tuple[str, ...], command: str, text: str) -> DrkitResult:
    path = tmp_path / f"{command}.yaml"
    path.write_text(text, encoding="utf-8")
    extra = ("--yes",) if command == "drill" else ()
    return run_drkit(command, str(path), *extra, *cli_args, "--output", "json", cwd=tmp_path)


def _platform_args(handle: LabHandle) -> tuple[str, ...]:
    return ("--kubeconfig", str(handle.kubeconfig), "--context", LAB_CONTEXT)


def _steps(result: DrkitResult) -> list[dict[str, Any]]:
    return [s for p in result.json["phases"] for s in p["steps"]]


def _create_deployment(e2e: E2ECluster, tmp_path: Path, name: str, image: str) -> None:
    namespace = e2e.namespace("apps")
    with e2e.open() as cluster:
        if cluster.get("v1", "Namespace", namespace) is None:
            cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        cluster.create(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {
                    "replicas": 1,
                    "progressDeadlineSeconds": 10,  # a real cluster's default (600s) outlasts the test
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name}},
                        "spec": {"containers": [{"name": "main", "image": image}]},
                    },
                },
            }
        )


def _wait_deployment(namespace: str, name: str, timeout: str = "60s") -> str:
    return (
        "      - wait:\n"
        "          objects:\n"
        f"            - {{apiVersion: apps/v1, kind: Deployment, namespace: {namespace}, name: {name}}}\n"
        f"          timeout: {timeout}\n"
    )


def test_wait_for_a_slow_deployment_records_when_it_became_ready(
    tmp_path: Path, e2e_cluster: E2ECluster
) -> None:
    _create_deployment(e2e_cluster, tmp_path, "slow", IMAGE)
    steps = _wait_deployment(e2e_cluster.namespace("apps"), "slow", timeout="120s")
    result = _run(tmp_path, e2e_cluster.cli_args(), "drill", _playbook(e2e_cluster.context, steps))
    assert result.exit_code == ExitCode.OK, result.stdout + result.stderr
    objects = _steps(result)[0]["details"]["objects"]
    assert objects[0]["object"] == f"Deployment {e2e_cluster.namespace('apps')}/slow"
    assert objects[0]["readyAfterSeconds"] is not None


def test_wait_fails_on_a_failed_deployment_with_its_kstatus_message(
    tmp_path: Path, e2e_cluster: E2ECluster
) -> None:
    _create_deployment(e2e_cluster, tmp_path, "broken", BROKEN_IMAGE)
    steps = _wait_deployment(e2e_cluster.namespace("apps"), "broken", timeout="60s")
    result = _run(tmp_path, e2e_cluster.cli_args(), "drill", _playbook(e2e_cluster.context, steps))
    assert result.exit_code != ExitCode.OK
    step = _steps(result)[0]
    assert step["status"] == "failed"
    namespace = e2e_cluster.namespace("apps")
    assert f"Deployment {namespace}/broken: Failed: progress deadline exceeded" in step["message"]
    assert "ProgressDeadlineExceeded" in step["message"]
    assert step["details"]["waited"] < 60  # the Failed status ended it, not the timeout


def test_a_failed_wait_leaves_what_on_call_reads_next_and_the_finally_steps_still_run(
    tmp_path: Path, e2e_cluster: E2ECluster
) -> None:
    _create_deployment(e2e_cluster, tmp_path, "broken", BROKEN_IMAGE)
    namespace = e2e_cluster.namespace("apps")
    text = _playbook(e2e_cluster.context, _wait_deployment(namespace, "broken")) + (
        f"collect:\n  - events: {{namespace: {namespace}}}\n"
        "finally:\n  - name: restore\n    command: {run: 'echo restored > restored.txt'}\n"
    )

    result = _run(tmp_path, e2e_cluster.cli_args(), "drill", text)

    assert result.exit_code == ExitCode.DRILL_FAILED, result.stdout + result.stderr
    assert result.json["message"].startswith(
        f"step main/wait-1 failed: 1 of 1 object(s) failed: Deployment {namespace}"
    )
    collected = _steps(result)[0]["collected"]
    assert collected["directory"] == "collected/main-1"
    assert f"objects/deployment-{namespace}-broken.yaml" in collected["files"]
    assert any(
        c.startswith(f"Deployment {namespace}/broken: ") and "ProgressDeadlineExceeded" in c
        for c in collected["conditions"]
    )
    # The kubelet's word on the pod that cannot start, found through the Deployment's ReplicaSet.
    assert any(w.startswith(f"Pod {namespace}/broken-") for w in collected["warnings"]), collected
    directory = tmp_path / ".drkit" / "runs" / result.json["runId"] / "collected" / "main-1"
    assert f"ScalingReplicaSet  Deployment {namespace}/broken" in (directory / "events.txt").read_text()
    assert [(s["name"], s["status"]) for s in result.json["finally"]] == [("restore", "succeeded")]
    assert (tmp_path / "restored.txt").read_text() == "restored\n"


@pytest.mark.lab_only
@pytest.mark.mlflow
def test_wait_for_every_model_of_the_platform(tmp_path: Path, lab_with_platform: LabHandle) -> None:
    steps = (
        "      - wait:\n"
        f"          kind: {{apiVersion: {MODEL_API}, kind: Model, namespace: financial-inference}}\n"
        "          timeout: 120s\n"
    )
    result = _run(tmp_path, _platform_args(lab_with_platform), "drill", _playbook(LAB_CONTEXT, steps))
    assert result.exit_code == ExitCode.OK, result.stdout + result.stderr
    names = {o["object"] for o in _steps(result)[0]["details"]["objects"]}
    assert {
        "Model financial-inference/baseline-predictor",
        "Model financial-inference/enhanced-predictor",
    } <= names


SERVING_CHECKS = f"""checklists:
  serving:
    timeout: 120s
    items:
      - name: models
        resource: {{apiVersion: {MODEL_API}, kind: Model, namespace: financial-inference, count: 2}}
      - name: experiment
        resource:
          apiVersion: {MODEL_API}
          kind: Experiment
          namespace: financial-inference
          name: financial-ab-test-experiment
      - name: mlserver
        pods:
          namespace: financial-inference
          selector: {{seldon-server-name: mlserver}}
          containersReady: true
"""


@pytest.mark.lab_only
@pytest.mark.mlflow
def test_serving_checklist_passes_on_the_platform(tmp_path: Path, lab_with_platform: LabHandle) -> None:
    text = _playbook(LAB_CONTEXT, "      - check: serving\n", SERVING_CHECKS)
    result = _run(tmp_path, _platform_args(lab_with_platform), "check", text)
    assert result.exit_code == ExitCode.OK, result.stdout + result.stderr
    items = {i["name"]: i for i in _steps(result)[0]["checklistItems"]}
    assert all(i["passed"] for i in items.values())
    assert "all containers ready (3/3)" in items["mlserver"]["message"]


@pytest.mark.lab_only
@pytest.mark.mlflow
def test_a_checklist_that_cannot_pass_names_each_failing_item(
    tmp_path: Path, lab_with_platform: LabHandle
) -> None:
    checks = f"""checklists:
  impossible:
    timeout: 2s
    items:
      - name: too-many-models
        resource: {{apiVersion: {MODEL_API}, kind: Model, namespace: financial-inference, count: 99}}
      - name: no-such-pods
        pods: {{namespace: financial-inference, selector: app=does-not-exist}}
      - name: experiment
        resource: {{apiVersion: {MODEL_API}, kind: Experiment, namespace: financial-inference}}
"""
    text = _playbook(LAB_CONTEXT, "      - check: impossible\n", checks)
    result = _run(tmp_path, _platform_args(lab_with_platform), "check", text)
    assert result.exit_code != ExitCode.OK
    message = _steps(result)[0]["message"]
    assert "2 of 3 items of 'impossible' still failing" in message
    # Too few: each one found is named with its readiness.
    assert "too-many-models: found 2 Model in financial-inference, expected at least 99: Model " in message
    assert "Model financial-inference/baseline-predictor: Current: " in message
    pods = "found 0 pod(s) in financial-inference with labels app=does-not-exist, expected at least 1"
    assert f"no-such-pods: {pods}" in message
