"""The training job against a real MLflow server: the MLmodel file lands where drkit's URI rewriting
expects it, for both the MLflow 3 (LoggedModel) and the MLflow 2.x (run artifact) layouts."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from drkit.lab.controllers.seldon import storage_problem
from drkit.lab.jobs.data import COLUMNS, generate_rows, write_dataset
from drkit.lab.settings import LabSettings

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_dataset_is_deterministic_and_has_both_labels(tmp_path: Path) -> None:
    first = write_dataset(tmp_path / "a.csv", 200, seed=7).read_text()
    assert first == write_dataset(tmp_path / "b.csv", 200, seed=7).read_text()
    assert first != write_dataset(tmp_path / "c.csv", 200, seed=8).read_text()
    assert first.splitlines()[0].split(",") == list(COLUMNS)
    assert {row["label"] for row in generate_rows(200, seed=7)} == {0, 1}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("mlflow")
    artifacts = root / "artifacts"
    url = f"http://127.0.0.1:{_free_port()}"
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination",
        str(artifacts),
        "--serve-artifacts",
        "--host",
        "127.0.0.1",
        "--port",
        url.rsplit(":", 1)[1],
    ]
    with (root / "server.log").open("wb") as log:
        proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or still starting its workers
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.3)  # a process we do not own: nothing to watch but its port
        yield url, artifacts
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _train(url: str, workdir: Path, *args: str) -> subprocess.Popen[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), MLFLOW_TRACKING_URI=url)
    return subprocess.Popen(
        [sys.executable, "-m", "drkit.lab.jobs", "train", "--rows", "300", *args],
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


@pytest.mark.mlflow
def test_train_logs_both_layouts_to_a_real_server(mlflow_server: tuple[str, Path], tmp_path: Path) -> None:
    url, artifacts = mlflow_server
    v3 = _train(url, tmp_path / "v3", "--model-variant", "enhanced")
    v2 = _train(url, tmp_path / "v2", "--model-variant", "baseline", "--layout", "v2")
    new, old = _result(v3), _result(v2)

    model_id, experiment = new["model_id"], new["experiment_id"]
    assert model_id.startswith("m-")
    assert (artifacts / experiment / "models" / model_id / "artifacts" / "MLmodel").is_file()
    assert new["artifact_uri"] == f"mlflow-artifacts:/{experiment}/models/{model_id}/artifacts"
    assert old["model_id"] == ""
    assert (artifacts / experiment / old["run_id"] / "artifacts" / "model" / "MLmodel").is_file()

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
