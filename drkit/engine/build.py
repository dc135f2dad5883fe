"""Turning a loaded playbook into runnable steps and probes before anything runs.

A step kind that cannot use a body the loader accepted (a regex that does not compile) is a playbook problem
like any other, reported at the step's position with the same rendering, and nothing has touched a cluster
yet. Each checklist's probes are built here, once per run, and handed to the steps that run it
(`ChecklistRunner`): a retried check, or a second check of the same checklist, attempts the same probes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from drkit.errors import PlaybookError
from drkit.playbook.model import Phase, Playbook, StepSpec
from drkit.playbook.problems import Problem, mask_secret_assignments
from drkit.playbook.source import Position
from drkit.steps.base import (
    BuiltChecklist,
    ChecklistRunner,
    InputsChecked,
    PlaybookChecked,
    Probe,
    ProbeKind,
    SafetyChecked,
    Step,
    StepContext,
    StepKind,
)
from drkit.steps.settings import StepConfigError


@dataclass(frozen=True)
class BuiltStep:
    phase: Phase
    index: int  # 1-based within the phase
    spec: StepSpec
    step: Step
    kind: StepKind
    needs_cluster: bool = False  # its kind talks to the cluster, or an item of a checklist it runs does

    @property
    def timeout(self) -> float | None:
        return self.spec.timeout if self.spec.timeout is not None else self.kind.default_timeout


def build_steps(
    playbook: Playbook,
    phases: tuple[Phase, ...],
    step_kinds: Mapping[str, StepKind],
    probe_kinds: Mapping[str, ProbeKind],
) -> dict[str, list[BuiltStep]]:
    """Every step of `phases` built, and every checklist's probes built once, handed to the steps that run it.

    Raises PlaybookError listing every problem found.
    """
    checklists, problems = _build_checklists(playbook, probe_kinds)
    checklists_built = not problems  # else a step's checklist may be missing for a problem reported already
    built: dict[str, list[BuiltStep]] = {}
    for phase in phases:
        built[phase.name] = []
        for index, spec in enumerate(phase.steps, start=1):
            kind = step_kinds.get(spec.kind)
            if kind is None:
                problems.append(_problem(spec.position, f"step kind {spec.kind!r} is not known"))
                continue
            try:
                step = kind.build(spec)
                if isinstance(step, PlaybookChecked):
                    step.check_playbook(playbook)
                needs_cluster = kind.needs_cluster
                if isinstance(step, ChecklistRunner) and checklists_built:
                    needs_cluster |= any(c.needs_cluster for c in step.use_checklists(checklists))
                built[phase.name].append(BuiltStep(phase, index, spec, step, kind, needs_cluster))
            except StepConfigError as exc:
                problems.append(_problem(spec.position, f"step {spec.name!r}: {exc.message}", exc.hint))
    if problems:
        raise_problems(problems)
    for steps in built.values():
        for b in steps:
            if isinstance(b.step, SafetyChecked):
                b.step.check_safety(playbook)  # RefusedError (exit 3) before anything runs
    return built


def _build_checklists(
    playbook: Playbook, probe_kinds: Mapping[str, ProbeKind]
) -> tuple[dict[str, BuiltChecklist], list[Problem]]:
    """Every checklist whose items all build, and a problem at each item that does not: every checklist is
    built, run or not, so `drkit validate` finds a broken one before the run that needs it."""
    built: dict[str, BuiltChecklist] = {}
    problems: list[Problem] = []
    for checklist in playbook.checklists.values():
        probes: list[Probe] = []
        needs_cluster = False
        for item in checklist.items:
            kind = probe_kinds.get(item.kind)
            try:
                if kind is None:
                    raise StepConfigError(f"checklist item kind {item.kind!r} is not known")
                probes.append(kind.build(item.name, item.body, playbook))
                needs_cluster |= kind.needs_cluster
            except StepConfigError as exc:
                message = f"checklist {checklist.name!r}, item {item.name!r}: {exc.message}"
                problems.append(_problem(item.position, message, exc.hint))
        if len(probes) == len(checklist.items):
            built[checklist.name] = BuiltChecklist(checklist, tuple(probes), needs_cluster)
    return built, problems


def check_inputs(steps: Iterable[BuiltStep], ctx: StepContext) -> None:
    """Ask every step that reads local inputs (manifests) to read them now, before any plan or request.

    `ctx` must have no cluster: reading inputs never needs one. Raises PlaybookError listing every problem.
    """
    problems: list[Problem] = []
    for b in steps:
        if isinstance(b.step, InputsChecked):
            try:
                b.step.check_inputs(ctx)
            except StepConfigError as exc:
                problems.append(_problem(b.spec.position, f"step {b.spec.name!r}: {exc.message}", exc.hint))
    if problems:
        raise_problems(problems)


def config_problem(spec: StepSpec, exc: StepConfigError) -> PlaybookError:
    """A StepConfigError found while planning, as the playbook error it is."""
    return PlaybookError(
        f"{spec.position}: step {spec.name!r}: {exc.message}",
        (_problem(spec.position, f"step {spec.name!r}: {exc.message}", exc.hint),),
    )


def raise_problems(problems: list[Problem]) -> None:
    problems.sort(key=lambda p: p.position)
    count = len(problems)
    raise PlaybookError(
        f"the playbook has {count} problem{'s' if count != 1 else ''}: {problems[0].message}",
        tuple(problems),
    )


def _problem(position: Position, message: str, hint: str | None = None) -> Problem:
    return Problem(position=position, message=message, hint=hint, line_text=_line_at(position))


def _line_at(position: Position) -> str:
    """The source line for the caret display; empty when the file cannot be read (in-memory playbooks)."""
    try:
        with open(position.file, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if number == position.line:
                    return mask_secret_assignments(line.rstrip("\n"))
    except OSError:
        return ""
    return ""
