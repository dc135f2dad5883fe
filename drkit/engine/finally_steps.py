"""The playbook's `finally:` steps: what runs after the phases whatever their outcome, and what their failure
means for the run.

They run after a success, a failure and an interruption (each bounded by its own timeout), in drills and
recoveries; `drkit check` only reads, so it runs none. They are reported apart (`RunReport.finally_steps`),
never count towards the RTO or a phase budget, and are run again at the end of a resumed attempt.

The exit rule: a finally failure fails a run that otherwise succeeded; after any other outcome the run keeps
its outcome and its message, which names the finally failure after the original one.
"""

from __future__ import annotations

from collections.abc import Sequence

from drkit.engine.request import RunMode
from drkit.engine.selection import PhaseSelection
from drkit.playbook.model import FINALLY_PHASE, Phase, Playbook
from drkit.report.model import Outcome, StepReport


def finally_selection(playbook: Playbook, mode: RunMode) -> PhaseSelection | None:
    """The `finally:` steps as one always-selected phase named 'finally', or None when the run has none to
    run (no `finally:`, or a read-only `drkit check`). `mode` is what the run does (a plan: what it plans)."""
    if not playbook.finally_steps or mode is RunMode.CHECK:
        return None
    return PhaseSelection(Phase(FINALLY_PHASE, playbook.finally_steps, playbook.position), True)


def finally_failures(steps: Sequence[StepReport]) -> list[StepReport]:
    return [s for s in steps if s.fails_the_run]


def with_finally_failures(
    outcome: Outcome, message: str, failures: Sequence[StepReport]
) -> tuple[Outcome, str]:
    """The run's outcome and message once its finally steps ran (see the module docstring)."""
    if not failures:
        return outcome, message
    failed = "; ".join(f"{f.path}: {f.message}" for f in failures)
    text = f"finally step{'s' if len(failures) > 1 else ''} failed: {failed}"
    if outcome is Outcome.SUCCEEDED:
        return Outcome.FAILED, text
    return outcome, f"{message}; {text}" if message else text
