"""The Seldon operator with the stand-in agent (LabSettings.model_loading "stand-in", bench/scale.py): a Model
is Ready without MLServer loading it, everything else about it still checked; and an Experiment hears of the
Models it names, not of the others."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from controller_cluster import condition, has_condition
from test_seldon import NS, SELDON, model, platform

from drkit_lab.settings import LabSettings

STUB = "s3://mlflow-artifacts/stub/artifacts"


@pytest.fixture
def lab_settings(lab_settings: LabSettings) -> LabSettings:
    return dataclasses.replace(lab_settings, model_loading="stand-in")


def _stub(settings: LabSettings) -> Path:
    """An MLmodel file that names a flavour and holds no model: MLServer could not load it."""
    assert settings.mlflow_artifacts_dir is not None
    directory = settings.mlflow_artifacts_dir / "stub" / "artifacts"
    directory.mkdir(parents=True)
    (directory / "MLmodel").write_text("flavors:\n  python_function: {loader_module: mlflow.sklearn}\n")
    return directory


def _experiment(name: str, candidate: str) -> dict[str, Any]:
    return {
        "apiVersion": SELDON,
        "kind": "Experiment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"default": candidate, "candidates": [{"name": candidate, "weight": 100}]},
    }


def test_a_model_the_stand_in_agent_places_is_ready_without_mlserver_loading_it(
    make_cluster: Any, lab_settings: LabSettings
) -> None:
    _stub(lab_settings)
    cluster = platform(make_cluster)
    cluster.create(model("stub", STUB))
    cluster.create(_experiment("stub-rollout", "stub"))
    cluster.create(_experiment("other-rollout", "missing"))

    ready = cluster.wait_for(SELDON, "Model", NS, "stub", has_condition("Ready"), timeout=120)
    assert condition(ready, "ModelReady")["status"] == "True"  # type: ignore[index]
    cluster.wait_for(SELDON, "Experiment", NS, "stub-rollout", has_condition("Ready"))
    other = cluster.get(SELDON, "Experiment", NS, "other-rollout")
    assert condition(other, "Ready")["message"] == "models not ready: missing"  # type: ignore[index]


def test_the_stand_in_agent_still_needs_the_artifact(make_cluster: Any) -> None:
    cluster = platform(make_cluster)
    cluster.create(model("stub", STUB))
    cluster.wait_for(
        SELDON,
        "Model",
        NS,
        "stub",
        lambda o: "no MLmodel" in ((condition(o, "Ready") or {}).get("message") or ""),
    )
