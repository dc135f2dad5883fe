"""Fixtures shared by the engine, step, CLI and report tests: a fake clock and a Runtime built on it."""

from __future__ import annotations

import io
import os
import textwrap
from pathlib import Path

import pytest
from helpers import FakeClock, WritePlaybook

from drkit.context import Runtime


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
