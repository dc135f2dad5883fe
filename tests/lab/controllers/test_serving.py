"""The lab really serves: a Seldon Server's mlserver container is a real MLServer, a Model is Ready only once
it has loaded, a load that fails carries MLServer's reason, a model too big for the Server's memory limit is
OOMKilled for real, and the API server's service proxy reaches the model with nothing but credentials."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from controller_cluster import USER_TOKEN, Cluster, condition, has_condition
from model_helpers import save_model, small_classifier
from sklearn.linear_model import LogisticRegression

from drkit_lab.containers.cgroups import memory_cgroups
from drkit_lab.controllers.kubelet import Kubelet
from drkit_lab.controllers.seldon import SeldonController
from drkit_lab.controllers.workloads import WorkloadControllers
from drkit_lab.settings import LabSettings

SELDON = "mlops.seldon.io/v1alpha1"
NS = "serving"
LOAD_S = 180.0  # real loads: seconds each on two cores, much more for the oversized one
PROXY = f"/api/v1/namespaces/{NS}/services/mlserver:9000/proxy"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[LogisticRegression, np.ndarray, Path]:
    estimator, features = small_classifier(seed=7)
    return estimator, features, save_model(estimator, features, tmp_path_factory.mktemp("good") / "model")


def _platform(make_cluster: Any, memory_limit: str | None = None) -> Cluster:
    cluster: Cluster = make_cluster(WorkloadControllers, Kubelet, SeldonController)
    cluster.namespace(NS)
    spec: dict[str, Any] = {"serverConfig": "mlserver"}
    if memory_limit:
        resources = {"requests": {"memory": memory_limit}, "limits": {"memory": memory_limit}}
        spec["podSpec"] = {"containers": [{"name": "mlserver", "resources": resources}]}
    cluster.create(
        {
            "apiVersion": SELDON,
            "kind": "Server",
            "metadata": {"name": "mlserver", "namespace": NS},
            "spec": spec,
        }
    )
    return cluster


def _model(cluster: Cluster, settings: LabSettings, name: str, source: Path) -> None:
    assert settings.mlflow_artifacts_dir is not None
    shutil.copytree(source, settings.mlflow_artifacts_dir / name)
    cluster.create(
        {
            "apiVersion": SELDON,
            "kind": "Model",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"storageUri": f"s3://mlflow-artifacts/{name}", "requirements": ["sklearn"]},
        }
    )


def _proxied(cluster: Cluster, method: str, path: str, body: object = None) -> requests.Response:
    """A request through the API server's service proxy, as a user with only a kubeconfig makes it."""
    ca = cluster.api.connection.ca_file
    return requests.request(
        method,
        f"{cluster.server.url}{PROXY}{path}",
        headers={"Authorization": f"Bearer {USER_TOKEN}"},
        json=body,
        verify=str(ca),
        timeout=60,
    )


def test_a_loaded_model_answers_through_the_service_proxy(
    make_cluster: Any, lab_settings: LabSettings, trained: tuple[LogisticRegression, np.ndarray, Path]
) -> None:
    estimator, features, directory = trained
    cluster = _platform(make_cluster)
    _model(cluster, lab_settings, "predictor", directory)
    ready = cluster.wait_for(SELDON, "Model", NS, "predictor", has_condition("Ready"), timeout=LOAD_S)
    assert condition(ready, "ModelReady")["reason"] == "ModelAvailable"  # type: ignore[index]

    assert _proxied(cluster, "GET", "/v2/models/predictor/ready").status_code == 200
    metadata = _proxied(cluster, "GET", "/v2/models/predictor").json()
    assert metadata["inputs"][0]["shape"] == [-1, 4]
    rows = features[:5]
    request = {
        "inputs": [
            {
                "name": "input-0",
                "shape": list(rows.shape),
                "datatype": "FP64",
                "data": rows.flatten().tolist(),
            }
        ]
    }
    answer = _proxied(cluster, "POST", "/v2/models/predictor/infer", request)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outputs"][0]["data"] == estimator.predict(rows).tolist()

    # MLServer's own log, as `kubectl logs mlserver-0 -c mlserver` reads it through the API server.
    logs = requests.get(
        f"{cluster.server.url}/api/v1/namespaces/{NS}/pods/mlserver-0/log",
        params={"container": "mlserver"},
        headers={"Authorization": f"Bearer {USER_TOKEN}"},
        verify=str(cluster.api.connection.ca_file),
        timeout=30,
    )
    assert logs.status_code == 200, logs.text
    assert "Loaded model 'predictor' successfully." in logs.text

    wrong = {"inputs": [{"name": "input-0", "shape": [1, 8], "datatype": "FP64", "data": [0.0] * 8}]}
    refused = _proxied(cluster, "POST", "/v2/models/predictor/infer", wrong)
    assert refused.status_code == 500  # MLServer answers 500 for an exception raised in its worker
    assert "does not match expected shape" in refused.json()["error"]


def test_a_model_mlserver_cannot_load_is_failed_with_its_reason(
    make_cluster: Any,
    lab_settings: LabSettings,
    trained: tuple[LogisticRegression, np.ndarray, Path],
    tmp_path: Path,
) -> None:
    broken = shutil.copytree(trained[2], tmp_path / "broken")
    (broken / "model.skops").write_bytes(b"not a skops archive")
    cluster = _platform(make_cluster)
    _model(cluster, lab_settings, "broken", broken)
    failed = cluster.wait_for(
        SELDON,
        "Model",
        NS,
        "broken",
        lambda o: (condition(o, "ModelReady") or {}).get("reason") == "ModelFailed",
        timeout=LOAD_S,
    )
    message = condition(failed, "ModelReady")["message"]  # type: ignore[index]
    assert message.startswith("MLServer on server mlserver failed to load it: ")
    assert "zip" in message.lower() or "skops" in message.lower(), message  # MLServer's own error text
    assert _proxied(cluster, "GET", "/v2/models/broken/ready").status_code in (400, 404)


@pytest.mark.skipif(not memory_cgroups().enforced, reason=f"no memory cgroup: {memory_cgroups().problem}")
def test_a_model_bigger_than_the_memory_limit_is_oomkilled(
    make_cluster: Any,
    lab_settings: LabSettings,
    trained: tuple[LogisticRegression, np.ndarray, Path],
    tmp_path: Path,
) -> None:
    estimator, features, good = trained
    padded = LogisticRegression().fit(features, estimator.predict(features))
    padded.padding_ = np.random.default_rng(1).random(400 * 2**20 // 8)  # 400 MiB, held once loaded
    oversized = save_model(padded, features, tmp_path / "oversized")
    cluster = _platform(make_cluster, memory_limit="768Mi")
    cluster.wait_for(SELDON, "Server", NS, "mlserver", has_condition("Ready"), timeout=LOAD_S)
    _model(cluster, lab_settings, "predictor", good)  # a model that fits, served beside it
    cluster.wait_for(SELDON, "Model", NS, "predictor", has_condition("Ready"), timeout=LOAD_S)
    _model(cluster, lab_settings, "oversized", oversized)
    failed = cluster.wait_for(
        SELDON,
        "Model",
        NS,
        "oversized",
        lambda o: (condition(o, "ModelReady") or {}).get("reason") == "ModelFailed",
        timeout=LOAD_S,
    )
    message = condition(failed, "ModelReady")["message"]  # type: ignore[index]
    assert "failed to load" in message
    pod = cluster.wait_for(
        "v1",
        "Pod",
        NS,
        "mlserver-0",
        lambda o: any(
            ((c.get("lastState") or {}).get("terminated") or {}).get("reason") == "OOMKilled"
            for c in ((o or {}).get("status") or {}).get("containerStatuses") or []
        ),
        timeout=LOAD_S,
    )
    mlserver = next(c for c in pod["status"]["containerStatuses"] if c["name"] == "mlserver")  # type: ignore[index]
    assert mlserver["lastState"]["terminated"]["exitCode"] == 137
    assert mlserver["restartCount"] >= 1
    # Once the kubelet has reported it, the Model says why, with the limit: what on-call needs to read.
    named = cluster.wait_for(
        SELDON,
        "Model",
        NS,
        "oversized",
        lambda o: "OOMKilled while loading it (memory limit 768Mi" in str(condition(o, "ModelReady")),
        timeout=30,
    )
    assert named is not None
    # The OOM took the whole container: the restarted MLServer starts empty, and the agent loads the model
    # that fits again (its Ready condition goes through ModelProgressing after the restart), so it answers.
    oom_at = mlserver["lastState"]["terminated"]["finishedAt"]
    cluster.wait_for(
        SELDON,
        "Model",
        NS,
        "predictor",
        lambda o: (
            (condition(o, "ModelReady") or {}).get("status") == "True"
            and str((condition(o, "ModelReady") or {}).get("lastTransitionTime")) >= oom_at
        ),
        timeout=LOAD_S,
    )
    rows = features[:2]
    data = rows.flatten().tolist()
    tensor = {"name": "input-0", "shape": list(rows.shape), "datatype": "FP64", "data": data}
    answer = _proxied(cluster, "POST", "/v2/models/predictor/infer", {"inputs": [tensor]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["outputs"][0]["data"] == estimator.predict(rows).tolist()
