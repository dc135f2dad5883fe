"""What every step kind provides, and what the engine hands each step."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

from drkit.context import Runtime
from drkit.errors import InternalError
from drkit.kube.changes import WatchPoint
from drkit.kube.client import Cluster, ObjectRef
from drkit.playbook.fields import KindSchema
from drkit.playbook.model import Checklist, Playbook, StepSpec
from drkit.report.model import ChecklistItemReport
from drkit.report.reproduction import DiffReport, ParityReport
from drkit.report.results import ResultReader
from drkit.retries import RetryListener


class StepStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class StepResult:
    """What a step did. `details` must be JSON-serialisable and must never hold secret values."""

    status: StepStatus
    message: str
    details: Mapping[str, object] = field(default_factory=dict)
    checklist_items: tuple[ChecklistItemReport, ...] = ()  # a `check` step's items, as the report keeps them
    parity: ParityReport | None = None  # prediction parity, kept typed on the step's report
    diff: DiffReport | None = None  # a reproduction diff, likewise
    # The objects a failed step was acting on or waiting for: the engine gathers their state, events and pod
    # logs for on-call (drkit.engine.collect).
    objects: tuple[ObjectRef, ...] = ()


@dataclass(frozen=True)
class StepPlan:
    """What a step would do, written for a human deciding whether to let it."""

    summary: str
    actions: tuple[str, ...] = ()
    destructive: bool = False  # deletes or overwrites state: needs confirmation unless --yes


@dataclass(frozen=True)
class StepContext:
    """Everything a step may use. Steps reach external systems only through the adapters named here."""

    runtime: Runtime
    playbook: Playbook
    run_id: str
    run_dir: Path
    deadline: float | None  # runtime.monotonic() value by which the step must give up; None: no limit
    # A live status ("3/5 nodes running"), a summary line and maybe a line per awaited object; shown live on a
    # terminal, and at growing intervals in a log.
    progress: Callable[[str], None]
    # The run's one Cluster, opened on first use after the context was checked against `target.contexts`.
    cluster: Callable[[], Cluster] = field(default_factory=lambda: _no_cluster)
    # Told about every request an adapter the step opens itself (MLflow) repeats; the run counts them.
    on_retry: RetryListener | None = None
    # The name of the phase this step is in (labels, snapshot paths); "" outside a run (unit tests).
    phase: str = ""
    # Whether plan() describes what each action would meet now (`drkit plan`). A run plans every step before
    # the first one to confirm and check it; the cluster state a plan would describe is read again by the
    # step when it runs, after earlier steps changed it, so there plan() leaves that state unread.
    plan_reads_state: bool = True

    @property
    def base_dir(self) -> Path:
        return self.playbook.base_dir

    def remaining(self) -> float | None:
        """Seconds left before the deadline (never negative), or None when there is no deadline."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - self.runtime.monotonic())


def retry_until_deadline(
    ctx: StepContext, attempt: Callable[[StepContext], StepResult], interval: float
) -> StepResult:
    """Run `attempt` until it succeeds or the step's deadline passes, `interval` apart; every failed attempt
    shows in the live view, and the result says how many attempts it took."""
    attempts = 0
    while True:
        attempts += 1
        result = attempt(ctx)
        if result.status is StepStatus.SUCCEEDED:
            return StepResult(result.status, result.message, {**result.details, "attempts": attempts})
        ctx.progress(f"attempt {attempts}: {result.message}")
        remaining = ctx.remaining()
        if remaining is not None and remaining <= 0:
            return StepResult(
                StepStatus.FAILED,
                f"{result.message} (still failing after {attempts} attempts)",
                {**result.details, "attempts": attempts},
            )
        ctx.runtime.sleep(interval if remaining is None else min(interval, remaining))


def _no_cluster() -> Cluster:
    raise InternalError("this step context has no cluster access")


class Step(Protocol):
    spec: StepSpec

    def plan(self, ctx: StepContext) -> StepPlan: ...

    def run(self, ctx: StepContext) -> StepResult: ...


@runtime_checkable
class SafetyChecked(Protocol):
    """A step whose playbook text alone can show it would break a safety rule (e.g. deleting a protected
    namespace given literally). The engine asks before anything runs, and `drkit validate` asks too."""

    def check_safety(self, playbook: Playbook) -> None:
        """Raise RefusedError (exit 3) when the step as written would break a safety rule."""
        ...


@runtime_checkable
class InputsChecked(Protocol):
    """A step that reads local inputs (manifest files, a kustomize directory). The engine asks each selected
    one to read them before any step plans, so a broken manifest is a playbook problem (exit 2) found before
    the first request reaches a cluster. `drkit validate` does not ask: it checks the playbook alone, so it
    can run where the manifests are not (an editor, a CI job that sets `--set manifests=` later). The context
    has no cluster."""

    def check_inputs(self, ctx: StepContext) -> None:
        """Raise StepConfigError when an input cannot be read or is not what the step needs."""
        ...


@runtime_checkable
class PlaybookChecked(Protocol):
    """A step whose body refers to other parts of the playbook (another step it reads a snapshot of), which
    only the whole playbook can confirm. The engine asks while building, so `drkit validate` reports a
    wrong reference at the step's position before anything runs."""

    def check_playbook(self, playbook: Playbook) -> None:
        """Raise StepConfigError when the step's references do not hold in `playbook`."""
        ...


class Probe(Protocol):
    """A checklist item: a read-only test, attempted repeatedly until it passes or its deadline passes."""

    name: str

    def describe(self) -> str: ...

    def attempt(self, ctx: StepContext) -> StepResult: ...


@dataclass(frozen=True)
class BuiltChecklist:
    """A checklist with one probe per item, in order. The engine builds every checklist once per run, before
    any step plans, so a bad item is a playbook problem at its own line found before any request; every step
    that runs the checklist (and every retry of one) attempts these same probes."""

    checklist: Checklist
    probes: tuple[Probe, ...]
    needs_cluster: bool = False  # an item's kind talks to the cluster


@runtime_checkable
class ChecklistRunner(Protocol):
    """A step that runs checklists of the playbook. The engine hands it the built checklists right after
    building it, and reads from what it returns whether it needs the cluster (its items' kinds decide)."""

    def use_checklists(self, checklists: Mapping[str, BuiltChecklist]) -> tuple[BuiltChecklist, ...]:
        """Keep the checklists the step runs, and return them; raise StepConfigError for one not defined."""
        ...


@runtime_checkable
class Watchable(Protocol):
    """A probe that can say where to watch for the change that could alter its answer (the checklist waits
    on that instead of a timer). None: it has no version to watch from (its last read failed)."""

    def watch_point(self) -> WatchPoint | None: ...


@dataclass(frozen=True)
class StepKind:
    """A step kind as the registry knows it: its schema and how to build a step from a validated spec."""

    schema: KindSchema
    build: Callable[[StepSpec], Step]
    default_timeout: float | None = None
    # Talks to the cluster: the engine checks the kubeconfig context against `target.contexts` before any
    # plan or step of the run, so a wrong context is refused before anything happens (even by `drkit plan`).
    needs_cluster: bool = False
    # Reads the kind's typed result back from its details, for the report to render (drkit.report.results);
    # None: the report shows the step's message alone.
    result: ResultReader | None = None


@dataclass(frozen=True)
class ProbeKind:
    """A checklist item kind: its schema and how to build a probe from a validated body."""

    schema: KindSchema
    build: Callable[[str, object, Playbook], Probe]  # (item name, body, playbook) -> probe
    needs_cluster: bool = False  # as for StepKind: a check using it makes the engine check the context early


def schemas_of(kinds: Mapping[str, StepKind] | Mapping[str, ProbeKind]) -> dict[str, KindSchema]:
    return {name: kind.schema for name, kind in kinds.items()}


def results_of(kinds: Mapping[str, StepKind]) -> dict[str, ResultReader]:
    """The result readers the kinds registered, by kind: what reads reports back from disk."""
    return {name: kind.result for name, kind in kinds.items() if kind.result is not None}
