"""What a run does, as requested (engine) and as recorded (reports, history, metrics).

A module of its own at the top of the package, beside `errors` and `context`: the engine and the report
layer below it both name it, and the report must not import the engine.
"""

from __future__ import annotations

from enum import StrEnum


class RunMode(StrEnum):
    DRILL = "drill"  # every phase, teardown included
    RECOVER = "recover"  # skips drill-only phases: never tears down what is left of a platform
    CHECK = "check"  # checklists only, no steps
    PLAN = "plan"  # every selected step's plan(); nothing runs, nothing is written
    # Not a playbook run: the record `drkit finalizers clear` keeps of a clearing (one step, its own report).
    FINALIZERS_CLEAR = "finalizers-clear"

    @property
    def plays_a_playbook(self) -> bool:
        return self is not RunMode.FINALIZERS_CLEAR

    @property
    def tears_down_or_rebuilds(self) -> bool:
        """A drill or a recovery: a failure there can be resumed."""
        return self in (RunMode.DRILL, RunMode.RECOVER)
