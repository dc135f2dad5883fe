"""The `check` step: rounds over the probes still failing, first-pass times, failures naming each item."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest
from steps_support import HERE, context, playbook_in, spec

from drkit.context import Runtime
from drkit.errors import AdapterError
from drkit.playbook.model import Checklist, ChecklistItem
from drkit.steps.base import BuiltChecklist, ChecklistRunner, Probe, StepContext, StepResult, StepStatus
from drkit.steps.check import run_checklist
from drkit.steps.registry import PROBE_KINDS, STEP_KINDS
from drkit.steps.settings import StepConfigError


class CountingProbe:
    """Passes from its `passes_on`-th attempt on (never when None); can raise an adapter error instead of
    failing."""

    def __init__(self, name: str, passes_on: int | None, raises: bool = False) -> None:
        self.name = name
        self.passes_on = passes_on
        self.raises = raises
        self.attempts = 0

    def describe(self) -> str:
        return f"probe {self.name}"

    def attempt(self, ctx: StepContext) -> StepResult:
        self.attempts += 1
        if self.passes_on is not None and self.attempts >= self.passes_on:
            return StepResult(StepStatus.SUCCEEDED, "fine")
        if self.raises:
            raise AdapterError(f"{self.name} unreachable")
        return StepResult(StepStatus.FAILED, f"{self.name} not ready ({self.attempts})")


def test_items_are_retried_until_all_pass_and_first_pass_times_recorded(runtime: Runtime, clock) -> None:  # type: ignore[no-untyped-def]
    fast, slow = CountingProbe("fast", 1), CountingProbe("slow", 3)
    probes: list[Probe] = [fast, slow]
    result = run_checklist("health", probes, context(runtime), timeout=30, round_interval=0.5)
    assert result.status is StepStatus.SUCCEEDED
    items = {i.name: i.to_json() for i in result.checklist_items}
    assert items["fast"]["firstPassedAfter"] == 0.0
    assert fast.attempts == 1
    assert items["slow"]["firstPassedAfter"] == 1.0  # passed on the third round: two intervals later
    assert slow.attempts == 3
    assert clock.sleeps == [0.5, 0.5]


def test_failure_lists_each_failing_item_with_its_last_message(runtime: Runtime, clock) -> None:  # type: ignore[no-untyped-def]
    probes: list[Probe] = [
        CountingProbe("ok", 1),
        CountingProbe("db", None),
        CountingProbe("api", None, raises=True),
    ]
    result = run_checklist("health", probes, context(runtime), timeout=2.5)
    assert result.status is StepStatus.FAILED
    assert "2 of 3 items of 'health' still failing after 2.5s" in result.message
    assert "db: db not ready (4)" in result.message
    assert "api: api unreachable" in result.message
    assert sum(clock.sleeps) == 2.5


def test_progress_says_which_items_run_and_what_each_failing_one_said(runtime: Runtime) -> None:
    progress: list[str] = []
    probes: list[Probe] = [CountingProbe("db", 2), CountingProbe("api", None, raises=True)]
    run_checklist("health", probes, context(runtime, progress=progress), timeout=1.5)
    # Before attempts that may take long (retries), the items being attempted are named.
    assert progress[0] == "0/2 items passed; checking db, api"
    # As each verdict comes, the item still running, and what the one that failed said.
    assert progress[1] in {
        "0/2 items passed; checking api\ndb: db not ready (1)",
        "0/2 items passed; checking db\napi: api unreachable",
    }
    # After the round: every item still failing, with its last message, one per line.
    assert progress[2] == "0/2 items passed\ndb: db not ready (1)\napi: api unreachable"
    assert progress[3] == "0/2 items passed; checking db, api\ndb: db not ready (1)\napi: api unreachable"
    assert progress[-1] == "1/2 items passed\napi: api unreachable"


class Rendezvous:
    """Passes only when every other Rendezvous of its barrier is being attempted at the same time."""

    def __init__(self, name: str, barrier: threading.Barrier) -> None:
        self.name = name
        self.barrier = barrier

    def describe(self) -> str:
        return f"rendezvous {self.name}"

    def attempt(self, ctx: StepContext) -> StepResult:
        try:
            self.barrier.wait(timeout=10)
        except threading.BrokenBarrierError:
            return StepResult(StepStatus.FAILED, "attempted alone")
        return StepResult(StepStatus.SUCCEEDED, "fine")


def test_the_items_of_a_round_are_attempted_side_by_side(runtime: Runtime) -> None:
    barrier = threading.Barrier(3)
    probes: list[Probe] = [Rendezvous(name, barrier) for name in ("pods", "models", "logs")]
    result = run_checklist("health", probes, context(runtime), timeout=0)
    assert result.status is StepStatus.SUCCEEDED, result.message


def test_a_slow_item_does_not_delay_the_first_pass_time_of_another(runtime: Runtime, clock) -> None:  # type: ignore[no-untyped-def]
    """The fast item's verdict is taken as it comes: the slow one (an MLflow retried for 40 s) goes on only
    once the progress shows the fast one passed."""
    fast_passed = threading.Event()

    class Slow(CountingProbe):
        def attempt(self, ctx: StepContext) -> StepResult:
            assert fast_passed.wait(timeout=10)
            clock.advance(40.0)
            return StepResult(StepStatus.SUCCEEDED, "answered at last")

    def progress(text: str) -> None:
        if text.startswith("1/2 items passed"):
            fast_passed.set()

    probes: list[Probe] = [Slow("mlflow", None), CountingProbe("pods", 1)]
    ctx = replace(context(runtime), progress=progress)
    result = run_checklist("health", probes, ctx, timeout=60)
    assert result.status is StepStatus.SUCCEEDED, result.message
    passed = {i.name: i.first_passed_after for i in result.checklist_items}
    assert passed == {"mlflow": 40.0, "pods": 0.0}


def test_the_check_step_runs_the_checklist_it_is_handed_with_its_timeout(
    runtime: Runtime, tmp_path: Path
) -> None:
    checklist = Checklist(
        name="files",
        items=(ChecklistItem("command", "marker", {"run": "test -f marker"}, HERE),),
        position=HERE,
        timeout=3,
    )
    playbook = playbook_in(tmp_path, checklists={"files": checklist})
    ctx = replace(context(runtime, timeout=300), playbook=playbook)
    probe = PROBE_KINDS["command"].build("marker", {"run": "test -f marker"}, playbook)
    step = STEP_KINDS["check"].build(spec("check", "files"))
    assert isinstance(step, ChecklistRunner)
    built = BuiltChecklist(checklist, (probe,))
    assert step.use_checklists({"files": built, "other": BuiltChecklist(checklist, ())}) == (built,)
    assert step.plan(ctx).actions == ("`test -f marker` exits with 0",)
    result = step.run(ctx)
    assert result.status is StepStatus.FAILED
    assert "after 3.0s" in result.message
    (tmp_path / "marker").write_text("")
    assert step.run(ctx).status is StepStatus.SUCCEEDED


def test_a_check_naming_a_checklist_it_is_not_handed_is_a_config_problem() -> None:
    step = STEP_KINDS["check"].build(spec("check", {"checklist": "helth"}))
    assert isinstance(step, ChecklistRunner)
    with pytest.raises(StepConfigError, match="checklist 'helth' is not defined"):
        step.use_checklists({})
