"""How the engine tells the outside world what is happening; the engine itself never prints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from drkit.report.model import PhaseReport, RunReport, StepReport


class RunListener(Protocol):
    def plan_ready(self, plan: RunReport) -> None:
        """The plan of a run that needs confirmation, shown before the question is asked."""

    def run_started(self, overview: RunReport) -> None:
        """Every phase and step of the run, steps `pending` (or `skipped` when not selected)."""

    def phase_started(self, phase: str) -> None: ...

    def step_started(self, step: StepReport) -> None: ...

    def step_progress(self, text: str) -> None:
        """A status from the running step ("2/5 items passed", the latest output line): a summary line, then
        possibly one line per object or item it still waits for. Called from several threads."""

    def step_finished(self, step: StepReport) -> None: ...

    def phase_finished(self, phase: PhaseReport) -> None: ...

    def run_finished(self, report: RunReport) -> None: ...

    def recorded(self, lines: Sequence[str]) -> None:
        """What became of the finished run besides its reports (drkit.engine.afterwards), one line each."""


class NullListener:
    """A listener that ignores everything (library use, tests that only look at the report)."""

    def plan_ready(self, plan: RunReport) -> None:
        pass

    def run_started(self, overview: RunReport) -> None:
        pass

    def phase_started(self, phase: str) -> None:
        pass

    def step_started(self, step: StepReport) -> None:
        pass

    def step_progress(self, text: str) -> None:
        pass

    def step_finished(self, step: StepReport) -> None:
        pass

    def phase_finished(self, phase: PhaseReport) -> None:
        pass

    def run_finished(self, report: RunReport) -> None:
        pass

    def recorded(self, lines: Sequence[str]) -> None:
        pass
