"""The training job against a real MLflow server: the MLmodel file lands where drkit's URI rewriting
expects it, for both the MLflow 3 (LoggedModel) and the MLflow 2.x (run artifact) layouts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from helpers import SOURCE_ROOTS
from mlflow_support import MlflowServer
from ruamel.yaml import YAML

from drkit_lab.controllers.seldon import storage_problem
from drkit_lab.jobs.data import COLUMNS, generate_rows, write_dataset
from drkit_lab.settings import LabSettings


def test_dataset_is_deterministic_and_has_both_labels(tmp_path: Path) -> None:
    first = write_dataset(tmp_path / "a.csv", 200, seed=7).read_text()
    assert first == write_dataset(tmp_path / "b.csv", 200, seed=7).read_text()
    assert first != write_dataset(tmp_path / "c.csv", 200, seed=8).read_text()
    assert first.splitlines()[0].split(",") == list(COLUMNS)
    assert {row["label"] for row in generate_rows(200, seed=7)} == {0, 1}


def _train(url: str, workdir: Path, *args: str) -> subprocess.Popen[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(SOURCE_ROOTS), MLFLOW_TRACKING_URI=url)
    return subprocess.Popen(
        # its own experiment: the session's MLflow server is shared (tests/conftest.py)
        [
            sys.executable,
            "-m",
            "drkit_lab.jobs",
            "train",
            "--rows",
            "300",
            "--experiment",
            "job-layouts",
            *args,
        ],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(proc: subprocess.Popen[str]) -> dict[str, str]:
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err[-3000:]
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _input_shape(model_dir: Path) -> tuple[str, list[int]]:
    signature = YAML(typ="safe", pure=True).load((model_dir / "MLmodel").read_text())["signature"]
    (tensor,) = json.loads(signature["inputs"])
    assert tensor["type"] == "tensor"
    return tensor["tensor-spec"]["dtype"], tensor["tensor-spec"]["shape"]


@pytest.mark.mlflow
def test_train_logs_both_layouts_to_a_real_server(mlflow_server: MlflowServer, tmp_path: Path) -> None:
    url, artifacts = mlflow_server.url, mlflow_server.artifacts
    v3 = _train(url, tmp_path / "v3", "--model-variant", "enhanced")
    v2 = _train(url, tmp_path / "v2", "--model-variant", "baseline", "--layout", "v2")
    new, old = _result(v3), _result(v2)

    model_id, experiment = new["model_id"], new["experiment_id"]
    assert model_id.startswith("m-")
    assert (artifacts / experiment / "models" / model_id / "artifacts" / "MLmodel").is_file()
    assert new["artifact_uri"] == f"mlflow-artifacts:/{experiment}/models/{model_id}/artifacts"
    assert old["model_id"] == ""
    assert (artifacts / experiment / old["run_id"] / "artifacts" / "model" / "MLmodel").is_file()
    # Both layouts carry the signature of the feature matrix the app sends (8 features enhanced, 4 baseline).
    assert _input_shape(artifacts / experiment / "models" / model_id / "artifacts") == ("float64", [-1, 8])
    v2_dir = artifacts / experiment / old["run_id"] / "artifacts" / "model"
    assert _input_shape(v2_dir) == ("float64", [-1, 4])

    search = requests.post(
        f"{url}/ajax-api/2.0/mlflow/runs/search",
        json={"experiment_ids": [experiment], "filter": "params.model_variant = 'enhanced'"},
        timeout=10,
    ).json()
    (run,) = search["runs"]
    assert run["info"]["run_id"] == new["run_id"]
    assert [o["model_id"] for o in run["outputs"]["model_outputs"]] == [model_id]
    old_run = requests.get(
        f"{url}/api/2.0/mlflow/runs/get", params={"run_id": old["run_id"]}, timeout=10
    ).json()
    tags = {t["key"]: t["value"] for t in old_run["run"]["data"]["tags"]}
    assert json.loads(tags["mlflow.log-model.history"])[0]["artifact_path"] == "model"

    # The lab's Seldon controller finds both through the URIs a drill writes into Model specs.
    settings = LabSettings(
        state_dir=tmp_path,
        mlflow_artifacts_dir=artifacts,
        storage_roots={"s3://mlflow-artifacts/": artifacts},
    )
    assert storage_problem(new["artifact_uri"], settings) is None
    assert (
        storage_problem(f"s3://mlflow-artifacts/{experiment}/{old['run_id']}/artifacts/model", settings)
        is None
    )
