"""Fixtures for controller tests: lab settings with tiny delays and clusters that are always stopped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from controller_cluster import Cluster, install_crds

from drkit.lab.apiserver.store import Store
from drkit.lab.controllers.base import Controller, ControllerManager
from drkit.lab.settings import LabSettings


@pytest.fixture
def lab_settings(tmp_path: Path) -> LabSettings:
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    return LabSettings(
        state_dir=tmp_path / "state",
        workload_ready_delay=0.05,
        model_ready_delay=0.05,
        step_delay=0.05,
        mlflow_artifacts_dir=artifacts,
        storage_roots={"s3://mlflow-artifacts/": artifacts},
    )


@pytest.fixture
def make_cluster(lab_settings: LabSettings) -> Iterator[Callable[..., Cluster]]:
    """Start a cluster running the given controller classes (all stopped and closed after the test)."""
    started: list[Cluster] = []

    def make(*controller_classes: type[Controller]) -> Cluster:
        store = Store()
        install_crds(store)
        controllers = [cls(store, lab_settings) for cls in controller_classes]
        manager = ControllerManager(store, controllers)
        manager.start()
        cluster = Cluster(store, lab_settings, manager, controllers)
        started.append(cluster)
        return cluster

    yield make
    for cluster in started:
        cluster.manager.stop()
        for controller in cluster.controllers:
            close = getattr(controller, "close", None)
            if close is not None:
                close()
