"""Fixtures for controller tests: lab settings with tiny delays, and clusters (an API server over HTTPS with
the given controllers as its clients) that are always stopped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from controller_cluster import SYSTEM_TOKEN, USER_TOKEN, Cluster

from drkit_lab.apiserver.http import ApiServer
from drkit_lab.apiserver.store import Store
from drkit_lab.controllers import operator_client
from drkit_lab.controllers.base import Controller, ControllerManager, ControlPlaneController, Operator
from drkit_lab.faults import Faults
from drkit_lab.kubeapi import ApiClient, ApiConnection
from drkit_lab.platforms import install_crds
from drkit_lab.settings import LabSettings
from drkit_lab.tls import TlsFiles, ensure_tls, kubelet_client_tls


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return ensure_tls(tmp_path_factory.mktemp("controller-tls"))


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
def make_cluster(
    lab_settings: LabSettings, tls_files: TlsFiles, tmp_path: Path
) -> Iterator[Callable[..., Cluster]]:
    """Start a cluster running the given controller classes (all stopped and closed after the test)."""
    started: list[Cluster] = []

    def make(*controller_classes: type[Controller]) -> Cluster:
        store = Store()
        server = ApiServer(
            store,
            token=USER_TOKEN,
            system_token=SYSTEM_TOKEN,
            tls=(tls_files.server_cert, tls_files.server_key),
            faults=Faults(),
            request_log=tmp_path / f"requests-{len(started)}.jsonl",
            # pods/log: the kubelet's certificates come from the CA in its state directory, as in a lab
            kubelet_tls=kubelet_client_tls(lab_settings.state_dir),
        )
        server.start()
        system = ApiConnection(server.url, ca_file=tls_files.ca_cert, token=SYSTEM_TOKEN)
        with ApiClient(system, user_agent="lab-bootstrap") as bootstrap:
            install_crds(bootstrap)
        controllers: list[Controller] = []
        for cls in controller_classes:
            if issubclass(cls, ControlPlaneController):
                controllers.append(cls(store, lab_settings))
            else:
                assert issubclass(cls, Operator)
                controllers.append(cls(operator_client(system, cls.name), lab_settings))
        manager = ControllerManager(
            ApiClient(system, user_agent="lab-controller-manager"), controllers, discovery_retry=0.1
        )
        manager.start()
        user = ApiClient(
            ApiConnection(server.url, ca_file=tls_files.ca_cert, token=USER_TOKEN), user_agent="test"
        )
        cluster = Cluster(store, server, user, lab_settings, manager, controllers)
        started.append(cluster)
        return cluster

    yield make
    for cluster in started:
        cluster.manager.stop()  # closes every controller too
        cluster.api.close()
        cluster.server.stop()
