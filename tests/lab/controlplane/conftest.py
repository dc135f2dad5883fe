"""A real control plane (etcd, kube-apiserver, kube-controller-manager) for these tests, started once.

The binaries come from `make controlplane` (`drkit lab build`); a missing build fails the tests with that
command rather than skipping them, so a broken build can never pass as "skipped".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drkit_lab.controlplane.build import Binaries, find_built
from drkit_lab.controlplane.real import RealControlPlane


def built_binaries() -> Binaries:
    found = find_built()
    if found is None:
        pytest.fail("the real control plane is not built: run `make controlplane` (or `drkit lab build`)")
    return found


@pytest.fixture(scope="session")
def real_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealControlPlane]:
    root: Path = tmp_path_factory.mktemp("real-plane") / "controlplane"
    plane = RealControlPlane(built_binaries(), root).start()
    try:
        yield plane
    finally:
        plane.stop()
