"""The CLI tests run drkit on a Runtime they control: its working directory is the test's tmp_path (the
process's is never changed) and its clocks are the test's fake clock, so no command waits in real time."""

from __future__ import annotations

import functools

import pytest
from helpers import FakeClock, RunDrkit, run_drkit


@pytest.fixture
def drkit(clock: FakeClock) -> RunDrkit:
    """`run_drkit` on the fake clock: `drkit("validate", "playbook.yaml", cwd=tmp_path)`."""
    return functools.partial(run_drkit, clock=clock)
