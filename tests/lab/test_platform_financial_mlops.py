"""`--platform financial-mlops`: models trained into the lab MLflow, the base applied, everything Ready."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from lab_helpers import LabHandle

from drkit_lab.platforms.financial_mlops import MANIFESTS, render_kustomization, storage_uri

pytestmark = pytest.mark.real_plane

KUBECTL = Path(sys.executable).parent / "kubectl"


def _kubectl(handle: LabHandle, *args: str) -> Any:
    done = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(handle.kubeconfig), *args, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _ready(obj: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in obj["status"].get("conditions", []))


def test_storage_uri_maps_proxied_artifacts_onto_the_bucket() -> None:
    assert (
        storage_uri("mlflow-artifacts:/3/models/m-ab/artifacts")
        == "s3://mlflow-artifacts/3/models/m-ab/artifacts"
    )
    assert storage_uri("s3://other/x") == "s3://other/x"


def test_the_base_renders_what_seed_003_names() -> None:
    docs = render_kustomization(MANIFESTS / "base")
    names = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs}
    assert {
        ("Namespace", None, "financial-inference"),
        ("Namespace", None, "financial-mlops-pytorch"),
        ("Server", "financial-inference", "mlserver"),
        ("Model", "financial-inference", "baseline-predictor"),
        ("Model", "financial-inference", "enhanced-predictor"),
        ("Experiment", "financial-inference", "financial-ab-test-experiment"),
        ("SealedSecret", "financial-inference", "seldon-rclone-gs-public"),
        ("WorkflowTemplate", "financial-mlops-pytorch", "financial-data-pipeline-template"),
        ("WorkflowTemplate", "financial-mlops-pytorch", "financial-training-pipeline-template"),
    } <= names
    models = [d for d in docs if d["kind"] == "Model"]
    assert all("/models/m-00000000000000000000000000000000/" in m["spec"]["storageUri"] for m in models)
    assert all("secretName" not in m["spec"] for m in models)


@pytest.mark.mlflow
def test_platform_models_are_ready_and_point_at_real_mlmodel_files(lab_with_platform: LabHandle) -> None:
    models = _kubectl(lab_with_platform, "get", "models", "-n", "financial-inference")["items"]
    by_name = {m["metadata"]["name"]: m for m in models}
    assert set(by_name) == {"baseline-predictor", "enhanced-predictor"}
    artifacts = lab_with_platform.kubeconfig.parent / "mlflow" / "artifacts"
    experiment_ids = set()
    for model in by_name.values():
        assert _ready(model), model["status"]
        uri = model["spec"]["storageUri"]
        assert uri.startswith("s3://mlflow-artifacts/")
        exp_id, models_dir, model_id, last = uri.removeprefix("s3://mlflow-artifacts/").split("/")
        assert (models_dir, last) == ("models", "artifacts")
        assert model_id.startswith("m-")
        assert model_id != "m-00000000000000000000000000000000"
        assert (artifacts / exp_id / "models" / model_id / "artifacts" / "MLmodel").is_file()
        experiment_ids.add(exp_id)
    assert len(experiment_ids) == 1  # both variants in the one financial-mlops experiment

    experiment = _kubectl(
        lab_with_platform, "get", "experiment", "financial-ab-test-experiment", "-n", "financial-inference"
    )
    assert _ready(experiment)


@pytest.mark.mlflow
def test_platform_runs_in_mlflow_carry_the_variant_param(lab_with_platform: LabHandle) -> None:
    assert lab_with_platform.mlflow_uri is not None
    request = urllib.request.Request(
        f"{lab_with_platform.mlflow_uri}/ajax-api/2.0/mlflow/experiments/get-by-name?experiment_name=financial-mlops"
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        exp_id = json.loads(resp.read())["experiment"]["experiment_id"]
    for variant in ("baseline", "enhanced"):
        body = json.dumps(
            {"experiment_ids": [exp_id], "filter": f"params.model_variant = '{variant}'"}
        ).encode()
        search = urllib.request.Request(
            f"{lab_with_platform.mlflow_uri}/ajax-api/2.0/mlflow/runs/search",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(search, timeout=10) as resp:
            assert len(json.loads(resp.read())["runs"]) == 1


@pytest.mark.mlflow
def test_platform_sealed_secret_became_a_secret_and_the_key_is_in_kube_system(
    lab_with_platform: LabHandle,
) -> None:
    secret = _kubectl(
        lab_with_platform, "get", "secret", "seldon-rclone-gs-public", "-n", "financial-inference"
    )
    assert list(secret["data"]) == ["gs"]  # exactly one key (seed 003: "Secret does not have 1 key")
    keys = _kubectl(
        lab_with_platform,
        "get",
        "secrets",
        "-n",
        "kube-system",
        "-l",
        "sealedsecrets.bitnami.com/sealed-secrets-key",
    )
    assert len(keys["items"]) == 1


@pytest.mark.mlflow
def test_platform_templates_are_installed_for_the_pipelines(lab_with_platform: LabHandle) -> None:
    templates = _kubectl(lab_with_platform, "get", "workflowtemplates", "-n", "financial-mlops-pytorch")[
        "items"
    ]
    training = next(t for t in templates if t["metadata"]["name"] == "financial-training-pipeline-template")
    assert training["spec"]["arguments"]["parameters"] == [
        {"name": "model-variant", "value": "baseline"},
        {"name": "scenario", "value": "normal"},
    ]
    status = lab_with_platform.lab.status()
    assert status["platform"] == "financial-mlops"
    assert status["mlflow_url"] == lab_with_platform.mlflow_uri


@pytest.mark.mlflow
def test_training_template_runs_for_real_from_a_submitted_workflow(lab_with_platform: LabHandle) -> None:
    """What the drill's pipeline phase does (seed 003: `argo submit --from workflowtemplate/...`)."""
    workflow = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "financial-training-", "namespace": "financial-mlops-pytorch"},
        "spec": {
            "workflowTemplateRef": {"name": "financial-training-pipeline-template"},
            "arguments": {"parameters": [{"name": "model-variant", "value": "enhanced"}]},
        },
    }
    done = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(lab_with_platform.kubeconfig), "create", "-f", "-", "-o", "name"],
        input=json.dumps(workflow),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    name = done.stdout.strip().split("/")[-1]
    wait = subprocess.run(
        [
            str(KUBECTL),
            "--kubeconfig",
            str(lab_with_platform.kubeconfig),
            "wait",
            "-n",
            "financial-mlops-pytorch",
            f"workflow/{name}",
            "--for=jsonpath={.status.phase}=Succeeded",
            "--timeout=120s",
        ],
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    status = _kubectl(lab_with_platform, "get", "workflow", name, "-n", "financial-mlops-pytorch")["status"]
    assert wait.returncode == 0, (wait.stderr, status)
    assert status["phase"] == "Succeeded"
