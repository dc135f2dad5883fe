"""Which phases a run executes: --from-phase, --only-phase, and `recover` skipping drill-only phases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drkit.engine.request import RunMode, RunRequest
from drkit.errors import UsageError
from drkit.playbook.model import Phase, Playbook
from drkit.playbook.suggest import did_you_mean


@dataclass(frozen=True)
class PhaseSelection:
    phase: Phase
    selected: bool
    skip_reason: str = ""


def select_phases(playbook: Playbook, request: RunRequest) -> list[PhaseSelection]:
    if request.from_phase and request.only_phase:
        raise UsageError("--from-phase and --only-phase cannot be combined", hint="use one of them")
    names = [p.name for p in playbook.phases]
    for option, value in (("--from-phase", request.from_phase), ("--only-phase", request.only_phase)):
        if value is not None and value not in names:
            raise UsageError(
                f"{option} {value!r}: playbook {playbook.name!r} has no such phase",
                hint=closest_hint(value, names),
            )
    selections: list[PhaseSelection] = []
    reached = request.from_phase is None
    for phase in playbook.phases:
        reached = reached or phase.name == request.from_phase
        if not reached:
            selections.append(PhaseSelection(phase, False, f"before --from-phase {request.from_phase}"))
        elif request.only_phase is not None and phase.name != request.only_phase:
            selections.append(
                PhaseSelection(phase, False, f"not selected (--only-phase {request.only_phase})")
            )
        elif request.mode is RunMode.RECOVER and phase.drill_only:
            selections.append(PhaseSelection(phase, False, "drill-only phase: `recover` never runs it"))
        else:
            selections.append(PhaseSelection(phase, True))
    return selections


def closest_hint(value: str, names: Sequence[str], what: str = "phases") -> str:
    """ "did you mean 'rebuild'? (phases: ...)" for a near miss, else the names there are."""
    listed = f"{what}: {', '.join(names) or '(none)'}"
    near = did_you_mean(value, names)
    return f"{near} ({listed})" if near else listed
