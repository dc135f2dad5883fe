"""Pure pieces of the controllers: storage-URI mapping, Argo parameters, conditions, the controller list."""

from __future__ import annotations

from pathlib import Path

import pytest

from drkit_lab.apiserver.store import Store
from drkit_lab.controllers import control_plane_controllers, operators
from drkit_lab.controllers.argo import WorkflowSpecError, merge_parameters, substitute
from drkit_lab.controllers.conditions import set_condition
from drkit_lab.controllers.seldon import resolve_storage_uri, storage_problem
from drkit_lab.kubeapi import ApiConnection
from drkit_lab.settings import LabSettings


def settings(tmp_path: Path) -> LabSettings:
    return LabSettings(
        state_dir=tmp_path,
        mlflow_artifacts_dir=tmp_path / "artifacts",
        storage_roots={"s3://mlflow-artifacts/": tmp_path / "artifacts", "s3://models/": tmp_path / "models"},
    )


def test_storage_uris_map_to_local_directories(tmp_path: Path) -> None:
    lab = settings(tmp_path)
    art = (tmp_path / "artifacts").resolve()
    assert (
        resolve_storage_uri("s3://mlflow-artifacts/1/models/m-1/artifacts", lab).path
        == art / "1/models/m-1/artifacts"
    )
    assert (
        resolve_storage_uri("mlflow-artifacts:/1/models/m-1/artifacts", lab).path
        == art / "1/models/m-1/artifacts"
    )
    assert resolve_storage_uri("s3://models/iris", lab).path == (tmp_path / "models").resolve() / "iris"
    assert resolve_storage_uri(f"file://{tmp_path}/x", lab).path == tmp_path / "x"
    assert resolve_storage_uri(f"{tmp_path}/x", lab).path == tmp_path / "x"
    assert resolve_storage_uri("s3://mlflow-artifacts/../../etc", lab).problem == (
        "storage URI s3://mlflow-artifacts/../../etc leaves its storage root"
    )
    assert storage_problem("s3://other-bucket/m", lab) == "storage URI scheme s3:// is not mapped in this lab"
    assert storage_problem("", lab) == "spec.storageUri is empty"


def test_parameters_merge_and_substitute() -> None:
    merged = merge_parameters(
        [{"name": "model-variant", "value": "baseline"}, {"name": "epochs"}],
        [{"name": "epochs", "value": 3}],
    )
    assert merged == {"model-variant": "baseline", "epochs": "3"}
    variables = {f"workflow.parameters.{k}": v for k, v in merged.items()}
    assert substitute(
        "--variant {{ workflow.parameters.model-variant }} {{inputs.parameters.x}}", variables
    ) == ("--variant baseline {{inputs.parameters.x}}")
    with pytest.raises(WorkflowSpecError, match=r"spec\.arguments\.parameters\.epochs\.value is required"):
        merge_parameters([{"name": "epochs"}], [])


def test_condition_transition_time_moves_only_with_status() -> None:
    obj: dict[str, object] = {}
    assert set_condition(obj, "Ready", "False", "Loading", "wait", "t1")
    assert set_condition(obj, "Ready", "False", "Failed", "broken", "t2")
    assert obj["status"]["conditions"][0]["lastTransitionTime"] == "t1"  # type: ignore[index]
    assert not set_condition(obj, "Ready", "False", "Failed", "broken", "t3")
    assert set_condition(obj, "Ready", "True", "", "", "t4")
    assert obj["status"]["conditions"][0]["lastTransitionTime"] == "t4"  # type: ignore[index]


def test_control_plane_and_operators_have_one_of_each(tmp_path: Path) -> None:
    settings = LabSettings(state_dir=tmp_path)
    control_plane = control_plane_controllers(Store(), settings)
    played = operators(ApiConnection("https://127.0.0.1:1", token="t"), settings)
    assert [c.name for c in control_plane] == ["namespaces", "workload-controllers"]
    assert sorted(c.name for c in played) == [
        "argo-workflows",
        "kubelet",
        "sealed-secrets",
        "seldon-scheduler",
    ]
    # Each operator is its own API client: its requests and field manager name it.
    assert sorted(c.api.user_agent for c in played) == [
        "lab-argo-workflows",
        "lab-kubelet",
        "lab-sealed-secrets",
        "lab-seldon-scheduler",
    ]
    assert all(c.api.field_manager == c.api.user_agent for c in played)
    # The outage names `drkit lab fault --controller-down` has always known: the kubelet and the workload
    # controllers go down together as `workloads`.
    units = {c.outage_unit for c in [*control_plane, *played]}
    assert units == {"namespaces", "workloads", "seldon-scheduler", "argo-workflows", "sealed-secrets"}
