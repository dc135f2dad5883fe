"""Fixtures shared by every test: a fake clock and a Runtime built on it, and the session-wide labs."""

from __future__ import annotations

import io
import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from e2e_cluster import (
    LAB_CONTEXT,
    LAB_ONLY_REASON,
    E2ECluster,
    Plane,
    external_cluster,
    lab_control_plane,
    new_prefix,
)
from helpers import FakeClock, WritePlaybook
from lab_helpers import LabHandle
from mlflow_support import MlflowServer, start_mlflow_server

from drkit.context import Runtime
from drkit_lab.settings import LabSettings

if TYPE_CHECKING:
    # Imported lazily: a broken runner must not stop the collection of every other test.
    from drkit_lab.runner import Lab


@pytest.fixture(scope="session", autouse=True)
def private_user_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No test writes the user's real state directory: whatever falls back to the per-user default (a test
    that unsets DRKIT_HOME, a child process, a lab started without --dir) lands in this session's tmp."""
    directory = tmp_path_factory.mktemp("xdg-state")
    previous = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(directory)
    try:
        yield directory
    finally:
        if previous is None:
            os.environ.pop("XDG_STATE_HOME", None)
        else:
            os.environ["XDG_STATE_HOME"] = previous


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def runtime(tmp_path: Path, clock: FakeClock) -> Runtime:
    """A Runtime on string streams and the fake clock; runs are recorded under tmp_path/.drkit."""
    return Runtime(
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdin=io.StringIO(),
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DRKIT_HOME": str(tmp_path / ".drkit")},
        cwd=tmp_path,
        wall_clock=clock.wall,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
    )


@pytest.fixture
def write_playbook(tmp_path: Path) -> WritePlaybook:
    """Write a playbook (dedented YAML) into tmp_path and return its path."""

    def write(text: str, name: str = "playbook.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """One plain MLflow tracking server (sqlite, proxied artifacts) for every test that only needs a server.

    Starting one costs 10-40 s of CPU, so tests share it: each logs into its own experiment (and must not
    assume it is the server's only user). The platform lab starts its own, as part of the lab."""
    server = start_mlflow_server(tmp_path_factory.mktemp("mlflow-server"))
    try:
        yield server
    finally:
        server.stop()


# -- labs shared by the whole session (one of each kind and control plane, started in this process) --


def _start(tmp: Path, *, mlflow: bool, platform: str | None, plane: Plane) -> Lab:
    from drkit_lab.runner import Lab  # noqa: PLC0415 (see the TYPE_CHECKING import)

    settings = LabSettings(state_dir=tmp, workload_ready_delay=0.2, model_ready_delay=0.1, step_delay=0.1)
    return Lab(settings, mlflow=mlflow, platform=platform, control_plane=plane).start()


def _handle(lab: Lab) -> LabHandle:
    return LabHandle(lab, lab.kubeconfig_path, lab.api_url, lab.mlflow_uri, lab.ca_path, lab.token)


class _SessionLabs:
    """The labs a worker's tests share, started on first use: the tests of one worker may ask for the same
    kind of lab on both control planes (see e2e_cluster.lab_control_plane)."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._labs: dict[tuple[str | None, bool, Plane], Lab] = {}
        self._failed: dict[tuple[str | None, bool, Plane], Exception] = {}

    def get(self, *, mlflow: bool, platform: str | None, plane: Plane) -> LabHandle:
        key = (platform, mlflow, plane)
        if key in self._failed:  # as a session fixture would: one start, its error for every test
            raise self._failed[key]
        if key not in self._labs:
            directory = self._tmp.mktemp(f"lab-{platform or 'plain'}-{plane}")
            try:
                self._labs[key] = _start(directory, mlflow=mlflow, platform=platform, plane=plane)
            except Exception as error:
                self._failed[key] = error
                raise
        return _handle(self._labs[key])

    def stop(self) -> None:
        for lab in self._labs.values():
            lab.stop()


@pytest.fixture(scope="session")
def session_labs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_SessionLabs]:
    labs = _SessionLabs(tmp_path_factory)
    try:
        yield labs
    finally:
        labs.stop()


@pytest.fixture
def lab_without_mlflow(request: pytest.FixtureRequest, session_labs: _SessionLabs) -> LabHandle:
    return session_labs.get(mlflow=False, platform=None, plane=lab_control_plane(request.node))


@pytest.fixture
def lab_with_platform(request: pytest.FixtureRequest, session_labs: _SessionLabs) -> LabHandle:
    plane = lab_control_plane(request.node)
    return session_labs.get(mlflow=True, platform="financial-mlops", plane=plane)


@pytest.fixture
def lab_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., LabHandle]]:
    """Start private labs for tests that change the cluster (teardown, outages); stopped after the test."""
    started: list[Lab] = []
    plane = lab_control_plane(request.node)

    def start(*, mlflow: bool = False, platform: str | None = None) -> LabHandle:
        lab = _start(tmp_path / f"lab-{len(started)}", mlflow=mlflow, platform=platform, plane=plane)
        started.append(lab)
        return _handle(lab)

    try:
        yield start
    finally:
        for lab in started:
            lab.stop()


# -- end-to-end tests: a fresh lab, or the real cluster DRKIT_E2E_KUBECONFIG names (tests/e2e_cluster.py) --


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a real cluster, skip the tests that need the lab's powers, saying why."""
    if external_cluster() is None:
        return
    skip = pytest.mark.skip(reason=LAB_ONLY_REASON)
    for item in items:
        if item.get_closest_marker("lab_only") is not None:
            item.add_marker(skip)


@pytest.fixture
def e2e_cluster(
    request: pytest.FixtureRequest, lab_factory: Callable[..., LabHandle]
) -> Iterator[E2ECluster]:
    """The cluster for one end-to-end test: the real one named by DRKIT_E2E_KUBECONFIG (its namespaces with
    this test's prefix deleted after the test), else a fresh private lab (stopped after the test)."""
    external = external_cluster()
    if external is None:
        handle = lab_factory()
        yield E2ECluster(handle.kubeconfig, LAB_CONTEXT, new_prefix(), handle)
        return
    if request.node.get_closest_marker("lab_only") is not None:
        pytest.skip(LAB_ONLY_REASON)
    cluster = E2ECluster(external.kubeconfig, external.context, new_prefix(), None)
    try:
        yield cluster
    finally:
        _delete_prefixed_namespaces(cluster)


def _delete_prefixed_namespaces(cluster: E2ECluster) -> None:
    """Delete this test's namespaces with their content; not waited for: no one reuses the names."""
    from drkit.kube import ObjectRef  # noqa: PLC0415 (only needed against a real cluster)

    with cluster.open() as client:
        for namespace in client.list("v1", "Namespace"):
            name = namespace["metadata"]["name"]
            if name.startswith(cluster.prefix):
                client.delete(ObjectRef("v1", "Namespace", None, name))
