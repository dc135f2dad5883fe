"""`drkit finalizers list|clear` against a lab whose Seldon scheduler is down, through the real CLI boundary.

The dry run and every refusal are proven by the lab's request log: no PATCH, PUT, POST or DELETE.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from finalizers_support import (
    cluster_of,
    create_namespace_with_models,
    delete_namespace_until_stuck,
    install_crds,
    log_size,
    stop_controller,
    writes_since,
)
from helpers import run_drkit
from lab_helpers import LabHandle

NAMESPACE = "financial-inference"
MODELS = ["baseline-predictor", "enhanced-predictor"]


@pytest.fixture
def stuck_lab(lab_factory: Callable[..., LabHandle], tmp_path: Path) -> LabHandle:
    handle = lab_factory()
    with cluster_of(handle, tmp_path) as cluster:
        install_crds(cluster)
        models = create_namespace_with_models(cluster, NAMESPACE, MODELS)
        stop_controller(handle, "seldon-scheduler")
        delete_namespace_until_stuck(cluster, NAMESPACE, models)
    return handle


def _drkit(handle: LabHandle, tmp_path: Path, *args: str) -> tuple[int, str, str, object]:
    result = run_drkit(*args, "--kubeconfig", str(handle.kubeconfig), cwd=tmp_path)
    payload = result.json if "-o" in args and result.stdout.strip() else None
    return result.exit_code, result.stdout, result.stderr, payload


def test_list_shows_the_stuck_models_their_owner_and_the_namespace_conditions(
    stuck_lab: LabHandle, tmp_path: Path
) -> None:
    before = log_size(stuck_lab)
    code, out, err, _ = _drkit(stuck_lab, tmp_path, "finalizers", "list", "-n", NAMESPACE, "--after", "0s")

    assert code == 0, err
    assert f"namespace {NAMESPACE}: Terminating" in out
    assert "NamespaceFinalizersRemaining" in out
    for name in MODELS:
        assert f"Model {NAMESPACE}/{name}" in out
    assert "seldon.model.finalizer" in out
    assert "Seldon Core v2 scheduler" in out
    assert writes_since(stuck_lab, before) == []


def test_list_as_json(stuck_lab: LabHandle, tmp_path: Path) -> None:
    code, _, err, payload = _drkit(stuck_lab, tmp_path, "finalizers", "list", "-n", NAMESPACE, "-o", "json")

    assert code == 0, err
    assert isinstance(payload, dict)
    [ns] = payload["namespaces"]
    assert ns["name"] == NAMESPACE
    assert ns["deletionTimestamp"]
    objects = {o["name"]: o for o in payload["objects"]}
    assert set(objects) == set(MODELS)
    assert all(o["finalizers"] == ["seldon.model.finalizer"] for o in objects.values())


def test_clear_dry_run_writes_nothing_and_says_what_it_would_remove(
    stuck_lab: LabHandle, tmp_path: Path
) -> None:
    before = log_size(stuck_lab)
    code, out, err, _ = _drkit(
        stuck_lab, tmp_path, "finalizers", "clear", "-n", NAMESPACE, "--after", "0s", "--dry-run"
    )

    assert code == 0, err
    for name in MODELS:
        assert f"would remove seldon.model.finalizer from Model {NAMESPACE}/{name}" in out
    assert writes_since(stuck_lab, before) == []
    with cluster_of(stuck_lab, tmp_path) as cluster:
        assert cluster.get("v1", "Namespace", NAMESPACE) is not None


def test_clear_without_yes_and_without_a_terminal_is_refused(stuck_lab: LabHandle, tmp_path: Path) -> None:
    before = log_size(stuck_lab)
    code, _, err, _ = _drkit(stuck_lab, tmp_path, "finalizers", "clear", "-n", NAMESPACE, "--after", "0s")

    assert code == 3
    assert "needs confirmation" in err
    assert writes_since(stuck_lab, before) == []


def test_clear_with_yes_unsticks_the_namespace(stuck_lab: LabHandle, tmp_path: Path) -> None:
    code, _, err, payload = _drkit(
        stuck_lab, tmp_path, "finalizers", "clear", "-n", NAMESPACE, "--after", "0s", "--yes", "-o", "json"
    )

    assert code == 0, err
    assert isinstance(payload, dict)
    assert payload["complete"] is True
    assert sorted(r["object"] for r in payload["removed"]) == [f"Model {NAMESPACE}/{n}" for n in MODELS]
    with cluster_of(stuck_lab, tmp_path) as cluster:
        assert cluster.get("v1", "Namespace", NAMESPACE) is None


@pytest.mark.parametrize(("command", "extra"), [("list", ()), ("clear", ("--yes",))])
def test_protected_namespaces_are_refused_before_any_request(
    lab_without_mlflow: LabHandle, tmp_path: Path, command: str, extra: tuple[str, ...]
) -> None:
    before = log_size(lab_without_mlflow)
    code, _, err, _ = _drkit(lab_without_mlflow, tmp_path, "finalizers", command, "-n", "kube-system", *extra)

    assert code == 3
    assert "kube-system is protected" in err
    assert log_size(lab_without_mlflow) == before
