"""How a comparing step names the snapshot step it compares with, checked against the whole playbook.

`snapshot: NAME` names a step of the snapshot kind (`phase/NAME` when two phases have a step of that name)
that runs before the comparing step; anything else is a load-time problem at the comparing step, so a typo
is found by `drkit validate`, not after a teardown.
"""

from __future__ import annotations

from dataclasses import dataclass

from drkit.playbook.model import Phase, Playbook, StepSpec
from drkit.playbook.suggest import did_you_mean
from drkit.steps.settings import StepConfigError


@dataclass(frozen=True)
class SnapshotStep:
    phase: Phase
    spec: StepSpec

    @property
    def path(self) -> str:
        return f"{self.phase.name}/{self.spec.name}"


def resolve_snapshot(playbook: Playbook, reference: str, kind: str, me: StepSpec) -> SnapshotStep:
    """The `kind` step `reference` names, which must come before `me`; StepConfigError saying why not."""
    order = [(phase, spec) for phase in playbook.phases for spec in phase.steps]
    phase_name, _, step_name = reference.rpartition("/")
    matches = [
        (i, phase, spec)
        for i, (phase, spec) in enumerate(order)
        if spec.name == step_name and (not phase_name or phase.name == phase_name)
    ]
    if not matches:
        names = [s.name for _, s in order if s.kind == kind]
        hint = did_you_mean(step_name, names) or (
            f"add a `{kind}` step before this one and name it here"
            if not names
            else f"the {kind} steps are: {', '.join(names)}"
        )
        raise StepConfigError(f"`snapshot: {reference}` names no step of this playbook", hint=hint)
    if len(matches) > 1:
        phases = ", ".join(f"{p.name}/{s.name}" for _, p, s in matches)
        raise StepConfigError(
            f"`snapshot: {reference}` is ambiguous ({phases})", hint="write it as PHASE/STEP"
        )
    index, phase, spec = matches[0]
    if spec.kind != kind:
        raise StepConfigError(
            f"`snapshot: {reference}` names a `{spec.kind}` step, not a `{kind}` step",
            hint=f"name the `{kind}` step that took the snapshot",
        )
    mine = next((i for i, (_, s) in enumerate(order) if s is me), None)
    if mine is not None and index >= mine:
        raise StepConfigError(
            f"`snapshot: {reference}` runs after this step ({phase.name}/{spec.name}): "
            "there is nothing to compare with yet",
            hint="take the snapshot in a phase before the teardown, compare after the rebuild",
        )
    return SnapshotStep(phase, spec)
