"""Fixtures of the e2e modules that share one private platform lab per module: `lab` (MLflow and the
financial-mlops platform, trained, on the control plane the module's marks ask for) and `platform` (that lab
through a kubeconfig, with a cluster client and a scratch directory). A module overrides `lab` to start it
differently (tests/e2e/test_secret_masking_drill.py: MLflow behind basic auth)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e_cluster import lab_control_plane
from lab_helpers import LabHandle
from playbooks_support import Platform, lab_start_platform, open_cluster


def _module_name(request: pytest.FixtureRequest) -> str:
    """The requesting module's name, for its tmp directories (each module's lab and work apart)."""
    return str(request.module.__name__).rpartition(".")[2]


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    """A private lab with the platform for the whole module, stopped after its last test."""
    state_dir = tmp_path_factory.mktemp(f"{_module_name(request)}-lab")
    handle = lab_start_platform(state_dir, lab_control_plane(request.node))
    try:
        yield handle
    finally:
        handle.lab.stop()


@pytest.fixture(scope="module")
def platform(
    request: pytest.FixtureRequest, lab: LabHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """The module's lab as the tests reach it: kubeconfig, MLflow address, a cluster client, a scratch dir."""
    assert lab.mlflow_uri is not None
    workdir = tmp_path_factory.mktemp(f"{_module_name(request)}-work")
    with open_cluster(lab.kubeconfig) as cluster:
        yield Platform(lab.kubeconfig, lab.mlflow_uri, cluster, workdir)
