"""Seldon Server/Model/Experiment: readiness that depends on real artifacts, and finalizers only the scheduler
removes (so deletion hangs while it is down, as in seed 003)."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path
from typing import Any

import pytest
from controller_cluster import Cluster, condition, has_condition
from model_helpers import save_small_model

from drkit_lab.controllers.kubelet import Kubelet
from drkit_lab.controllers.namespaces import NamespaceController
from drkit_lab.controllers.seldon import SeldonController
from drkit_lab.controllers.workloads import WorkloadControllers
from drkit_lab.settings import LabSettings

SELDON = "mlops.seldon.io/v1alpha1"
NS = "financial-inference"
URI = "s3://mlflow-artifacts/1/models/m-0123/artifacts"


def model(name: str, uri: str = URI, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": SELDON,
        "kind": "Model",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"storageUri": uri, "requirements": ["sklearn"], "server": "mlserver"} | spec,
    }


# A Model is Ready once the lab's real MLServer has loaded it: seconds on two cores, more under load.
LOAD_S = 120.0


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real MLflow model directory (scikit-learn, 4 features), saved once and copied where needed."""
    return save_small_model(tmp_path_factory.mktemp("model") / "model")


@pytest.fixture
def write_mlmodel(saved_model: Path) -> Any:
    """Put the saved model where a storage URI points (the training pipeline logging it)."""

    def write(settings: LabSettings, relative: str = "1/models/m-0123/artifacts") -> Path:
        assert settings.mlflow_artifacts_dir is not None
        directory = settings.mlflow_artifacts_dir / relative
        shutil.copytree(saved_model, directory)
        return directory

    return write


def platform(make_cluster: Any) -> Cluster:
    cluster: Cluster = make_cluster(WorkloadControllers, Kubelet, SeldonController)
    cluster.namespace(NS)
    cluster.create(
        {
            "apiVersion": SELDON,
            "kind": "Server",
            "metadata": {"name": "mlserver", "namespace": NS},
            "spec": {"serverConfig": "mlserver"},
        }
    )
    return cluster


def test_model_is_ready_when_its_storage_holds_an_mlmodel(
    make_cluster: Any, lab_settings: LabSettings, write_mlmodel: Any
) -> None:
    write_mlmodel(lab_settings)
    cluster = platform(make_cluster)
    cluster.create(model("baseline-predictor"))

    ready = cluster.wait_for(
        SELDON, "Model", NS, "baseline-predictor", has_condition("Ready"), timeout=LOAD_S
    )
    assert ready is not None
    assert "seldon.model.finalizer" in ready["metadata"]["finalizers"]
    assert condition(ready, "ModelReady")["status"] == "True"  # type: ignore[index]
    assert ready["status"]["availableReplicas"] == ready["status"]["replicas"] == 1
    assert ready["status"]["observedGeneration"] == ready["metadata"]["generation"]

    server = cluster.wait_for(
        SELDON, "Server", NS, "mlserver", lambda o: ((o or {}).get("status") or {}).get("loadedModels") == 1
    )
    assert condition(server, "StatefulSetReady")["status"] == "True"  # type: ignore[index]
    pods = cluster.list("v1", "Pod", NS, label_selector="seldon-server-name=mlserver")
    assert len(pods) == 1
    statuses = pods[0]["status"]["containerStatuses"]
    assert sorted(c["name"] for c in statuses) == ["agent", "mlserver", "rclone"]
    assert all(c["ready"] for c in statuses)


def test_model_without_mlmodel_says_where_it_looked_then_recovers(
    make_cluster: Any, lab_settings: LabSettings, write_mlmodel: Any
) -> None:
    cluster = platform(make_cluster)
    cluster.create(model("baseline-predictor"))

    failed = cluster.wait_for(SELDON, "Model", NS, "baseline-predictor", has_condition("Ready", "False"))
    cluster.wait_for(
        SELDON,
        "Model",
        NS,
        "baseline-predictor",
        lambda o: "no MLmodel" in ((condition(o, "Ready") or {}).get("message") or ""),
    )
    failed = cluster.get(SELDON, "Model", NS, "baseline-predictor")
    message = condition(failed, "Ready")["message"]  # type: ignore[index]
    assert message.startswith(f"no MLmodel file at {URI} (looked in ")
    assert str(lab_settings.mlflow_artifacts_dir) in message
    assert condition(failed, "ModelReady")["status"] == "False"  # type: ignore[index]

    write_mlmodel(lab_settings)  # the training pipeline ran: the model becomes Ready without a new spec
    cluster.wait_for(SELDON, "Model", NS, "baseline-predictor", has_condition("Ready"), timeout=LOAD_S)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("gs://seldon-models/iris", "storage URI scheme gs:// is not mapped in this lab"),
        (
            "mlflow-artifacts:/1/models/m-9/artifacts",
            "no MLmodel file at mlflow-artifacts:/1/models/m-9/artifacts",
        ),
    ],
)
def test_storage_problems_are_named(make_cluster: Any, uri: str, expected: str) -> None:
    cluster = platform(make_cluster)
    cluster.create(model("m", uri))
    cluster.wait_for(
        SELDON, "Model", NS, "m", lambda o: expected in ((condition(o, "Ready") or {}).get("message") or "")
    )


def test_secret_with_two_keys_blocks_the_model(
    make_cluster: Any, lab_settings: LabSettings, write_mlmodel: Any
) -> None:
    write_mlmodel(lab_settings)
    cluster = platform(make_cluster)
    data = {k: base64.b64encode(b"x").decode() for k in ("type", "provider")}
    cluster.create(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "minio", "namespace": NS}, "data": data}
    )
    cluster.create(model("m", secretName="minio"))
    done = cluster.wait_for(
        SELDON,
        "Model",
        NS,
        "m",
        lambda o: "Secret does not have 1 key" in ((condition(o, "Ready") or {}).get("message") or ""),
    )
    assert condition(done, "ModelReady")["status"] == "False"  # type: ignore[index]


def test_deletion_waits_for_the_scheduler(
    make_cluster: Any, lab_settings: LabSettings, write_mlmodel: Any
) -> None:
    write_mlmodel(lab_settings)
    cluster = platform(make_cluster)
    cluster.create(model("m"))
    cluster.wait_for(SELDON, "Model", NS, "m", has_condition("Ready"), timeout=LOAD_S)

    cluster.manager.set_down("seldon-scheduler", True)
    cluster.delete(SELDON, "Model", NS, "m")
    stuck = cluster.wait_for(
        SELDON, "Model", NS, "m", lambda o: bool(o and o["metadata"].get("deletionTimestamp"))
    )
    assert stuck is not None
    assert stuck["metadata"]["finalizers"] == ["seldon.model.finalizer"]
    # Nothing removes it while the scheduler is down: it is still there after many reconcile delays.
    with pytest.raises(AssertionError, match="timed out"):
        cluster.wait_for(
            SELDON, "Model", NS, "m", lambda o: o is None, timeout=lab_settings.model_ready_delay * 6
        )

    cluster.manager.set_down("seldon-scheduler", False)
    cluster.wait_for(SELDON, "Model", NS, "m", lambda o: o is None)


def test_namespace_stays_terminating_while_the_scheduler_is_down(
    make_cluster: Any, lab_settings: LabSettings, write_mlmodel: Any
) -> None:
    write_mlmodel(lab_settings)
    cluster: Cluster = make_cluster(NamespaceController, WorkloadControllers, Kubelet, SeldonController)
    cluster.namespace(NS)
    cluster.create(
        {
            "apiVersion": SELDON,
            "kind": "Server",
            "metadata": {"name": "mlserver", "namespace": NS},
            "spec": {},
        }
    )
    cluster.create(model("baseline-predictor"))
    cluster.create(model("enhanced-predictor"))
    cluster.wait_for(SELDON, "Model", NS, "enhanced-predictor", has_condition("Ready"), timeout=LOAD_S)
    cluster.wait_for(SELDON, "Model", NS, "baseline-predictor", has_condition("Ready"), timeout=LOAD_S)

    cluster.manager.set_down("seldon-scheduler", True)
    cluster.delete("v1", "Namespace", None, NS)
    stuck = cluster.wait_for("v1", "Namespace", None, NS, has_condition("NamespaceFinalizersRemaining"))
    assert stuck is not None
    assert stuck["status"]["phase"] == "Terminating"
    assert "seldon.model.finalizer" in condition(stuck, "NamespaceFinalizersRemaining")["message"]  # type: ignore[index]

    cluster.manager.set_down("seldon-scheduler", False)
    cluster.wait_for("v1", "Namespace", None, NS, lambda o: o is None)


def test_experiment_follows_its_models(
    make_cluster: Any, lab_settings: LabSettings, write_mlmodel: Any
) -> None:
    write_mlmodel(lab_settings)
    cluster = platform(make_cluster)
    cluster.create(model("baseline-predictor"))
    cluster.create(model("enhanced-predictor", "s3://mlflow-artifacts/1/models/m-4567/artifacts"))
    cluster.create(
        {
            "apiVersion": SELDON,
            "kind": "Experiment",
            "metadata": {"name": "financial-ab-test-experiment", "namespace": NS},
            "spec": {
                "default": "baseline-predictor",
                "candidates": [
                    {"name": "baseline-predictor", "weight": 70},
                    {"name": "enhanced-predictor", "weight": 30},
                ],
            },
        }
    )
    waiting = cluster.wait_for(
        SELDON,
        "Experiment",
        NS,
        "financial-ab-test-experiment",
        lambda o: "enhanced-predictor" in ((condition(o, "CandidatesReady") or {}).get("message") or ""),
    )
    assert "seldon.experiment.finalizer" in waiting["metadata"]["finalizers"]  # type: ignore[index]
    assert condition(waiting, "Ready")["status"] == "False"  # type: ignore[index]

    write_mlmodel(lab_settings, "1/models/m-4567/artifacts")
    ready = cluster.wait_for(
        SELDON, "Experiment", NS, "financial-ab-test-experiment", has_condition("Ready"), timeout=LOAD_S
    )
    for cond_type in ("ExperimentReady", "CandidatesReady", "MirrorReady"):
        assert condition(ready, cond_type)["status"] == "True"  # type: ignore[index]
