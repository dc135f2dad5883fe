"""`drkit history --compare RUN_A RUN_B`: two runs' phases and steps side by side, with the change in time.

Read from the runs' own reports (the run directories are the truth), so any recorded run can be compared.
"""

from __future__ import annotations

from collections.abc import Sequence

from drkit.context import Runtime
from drkit.engine.usecases import show_run
from drkit.report.history import Comparison, Row, RunSide, Side
from drkit.report.model import RunReport


def compare_runs(run_a: str, run_b: str, runtime: Runtime) -> Comparison:
    """UsageError (with a did-you-mean) for an id that names no recorded run."""
    a, b = show_run(run_a, runtime), show_run(run_b, runtime)
    phases = _rows(
        [(p.name, Side(str(p.status), p.duration)) for p in a.phases],
        [(p.name, Side(str(p.status), p.duration)) for p in b.phases],
    )
    steps = _rows(
        [(s.path, Side(s.label, s.duration)) for s in a.steps],
        [(s.path, Side(s.label, s.duration)) for s in b.steps],
    )
    return Comparison(_side(run_a, a), _side(run_b, b), phases, steps)


def _side(run_id: str, report: RunReport) -> RunSide:
    return RunSide(run_id, report.playbook_name, str(report.outcome), report.time_to_recovery)


def _rows(a: Sequence[tuple[str, Side]], b: Sequence[tuple[str, Side]]) -> tuple[Row, ...]:
    """In A's order, then what only B has, in B's order."""
    in_a, in_b = dict(a), dict(b)
    names = [name for name, _ in a] + [name for name, _ in b if name not in in_a]
    return tuple(Row(name, in_a.get(name), in_b.get(name)) for name in names)
