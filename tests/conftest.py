"""Fixtures shared by every test: a fake clock and a Runtime built on it, and the session-wide labs."""

from __future__ import annotations

import io
import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from helpers import FakeClock, WritePlaybook
from lab_helpers import LabHandle

from drkit.context import Runtime
from drkit.lab.settings import LabSettings

if TYPE_CHECKING:
    # Imported lazily: a broken runner must not stop the collection of every other test.
    from drkit.lab.runner import Lab


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
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
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


# -- labs shared by the whole session (one of each kind, started in this process) --


def _start(tmp: Path, *, mlflow: bool, platform: str | None) -> Lab:
    from drkit.lab.runner import Lab  # noqa: PLC0415 (see the TYPE_CHECKING import)

    settings = LabSettings(state_dir=tmp, workload_ready_delay=0.2, model_ready_delay=0.1, step_delay=0.1)
    return Lab(settings, mlflow=mlflow, platform=platform).start()


def _handle(lab: Lab) -> LabHandle:
    return LabHandle(lab, lab.kubeconfig_path, lab.api_url, lab.mlflow_uri, lab.ca_path, lab.token)


@pytest.fixture(scope="session")
def lab_without_mlflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    lab = _start(tmp_path_factory.mktemp("lab"), mlflow=False, platform=None)
    try:
        yield _handle(lab)
    finally:
        lab.stop()


@pytest.fixture(scope="session")
def lab_with_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    lab = _start(tmp_path_factory.mktemp("lab-platform"), mlflow=True, platform="financial-mlops")
    try:
        yield _handle(lab)
    finally:
        lab.stop()


@pytest.fixture
def lab_factory(tmp_path: Path) -> Iterator[Callable[..., LabHandle]]:
    """Start private labs for tests that change the cluster (teardown, outages); stopped after the test."""
    started: list[Lab] = []

    def start(*, mlflow: bool = False, platform: str | None = None) -> LabHandle:
        lab = _start(tmp_path / f"lab-{len(started)}", mlflow=mlflow, platform=platform)
        started.append(lab)
        return _handle(lab)

    try:
        yield start
    finally:
        for lab in started:
            lab.stop()
