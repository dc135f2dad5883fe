"""The run report: frozen, JSON-serialisable data with a stable schema (`schemaVersion` 2; 1 is still read).

The same objects travel to the live console while a run is under way (steps still `pending`), into the journal
(one step at a time) and into `report.json`, so `drkit resume` and `drkit runs show` can rebuild them from
disk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from drkit.report.collected import CollectedReport
from drkit.report.reproduction import DiffReport, ParityReport
from drkit.report.results import ResultReaders, StepSummary, read_summary
from drkit.run_mode import RunMode

SCHEMA_VERSION = 2  # 2: firstStartedAt, elapsed, stepTime, attempts, cluster; rtoBasis wall-clock


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # a step failed (not tolerated)
    OVER_RTO = "over-rto"  # every step passed, but later than the playbook's RTO
    REFUSED = "refused"
    INTERRUPTED = "interrupted"
    PLANNED = "planned"  # `drkit plan`: nothing ran
    RUNNING = "running"  # only in the live view and in a report rebuilt from a crashed run's journal


class StepState(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # by design: phase not selected, drill-only phase in `recover`, or the step said so
    NOT_RUN = "not-run"  # an earlier step failed or the run was interrupted first
    PLANNED = "planned"


class RtoBasis(StrEnum):
    # What an RTO is about: the wall-clock time from the first start of the run (its first attempt, when
    # resumed) to this finish, waits between attempts included.
    WALL_CLOCK = "wall-clock-since-first-start"
    # Schema 1 reports: the time spent in steps, by this run alone or with its earlier attempts.
    THIS_RUN = "this-run"
    WITH_PREVIOUS_ATTEMPTS = "this-run+previous-attempts"


@dataclass(frozen=True)
class ClusterRef:
    """The cluster a run acted on, as the kubeconfig names it (the on-call finalizer record's shape)."""

    context: str
    server: str  # the API server URL; "" when the kubeconfig does not say

    @property
    def where(self) -> str:
        return f"context {self.context}" + (f" ({self.server})" if self.server else "")

    def to_json(self) -> dict[str, str]:
        return {"context": self.context, "server": self.server}

    @classmethod
    def from_json(cls, data: object) -> ClusterRef | None:
        if not isinstance(data, Mapping) or not data.get("context"):
            return None
        return cls(str(data["context"]), str(data.get("server") or ""))


@dataclass(frozen=True)
class AttemptReport:
    """One attempt of a run: the first start, or a `drkit resume` of it."""

    started_at: float
    finished_at: float | None  # None: drkit died without recording an end (kill -9, a crash)
    outcome: Outcome | None  # None: never recorded; `interrupted` for Ctrl-C or SIGTERM
    signal: str | None = None  # SIGINT or SIGTERM, for an interrupted attempt

    def to_json(self) -> dict[str, object]:
        return {
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "outcome": None if self.outcome is None else str(self.outcome),
            **({"signal": self.signal} if self.signal else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AttemptReport:
        outcome = data.get("outcome")
        return cls(
            started_at=float(data["startedAt"]),
            finished_at=_opt_float(data.get("finishedAt")),
            outcome=None if outcome is None else Outcome(outcome),
            signal=data.get("signal"),
        )


@dataclass(frozen=True)
class ChecklistItemReport:
    """One item of a checklist step: whether it passed, when first, and its last message."""

    name: str
    description: str
    passed: bool
    first_passed_after: float | None  # seconds after the checklist started
    attempts: int
    message: str

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "passed": self.passed,
            "firstPassedAfter": self.first_passed_after,
            "attempts": self.attempts,
            "message": self.message,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChecklistItemReport:
        return cls(
            name=str(data.get("name", "")),
            description=str(data.get("description", "")),
            passed=bool(data.get("passed", False)),
            first_passed_after=_opt_float(data.get("firstPassedAfter")),
            attempts=int(data.get("attempts", 0)),
            message=str(data.get("message", "")),
        )


@dataclass(frozen=True)
class RetryCount:
    """Requests a step repeated for one cause ("HTTP 503", "no answer (connection dropped)")."""

    cause: str
    count: int

    def to_json(self) -> dict[str, object]:
        return {"cause": self.cause, "count": self.count}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RetryCount:
        return cls(str(data["cause"]), int(data["count"]))


@dataclass(frozen=True)
class StepReport:
    """One step of a phase (or of `finally:`): its state, timing, retries and what its kind reports."""

    phase: str
    index: int  # 1-based position in its phase
    name: str
    kind: str
    status: StepState
    message: str = ""
    hint: str | None = None
    details: Mapping[str, object] = field(default_factory=dict)
    started_at: float | None = None  # wall clock, seconds since the epoch
    finished_at: float | None = None
    duration: float = 0.0  # seconds, monotonic
    attempts: int = 0
    retries: tuple[RetryCount, ...] = ()  # requests to the cluster or MLflow repeated, by cause
    tolerated: bool = False  # failed, but continueOnError let the run go on
    previous_attempt: bool = False  # succeeded in an earlier attempt of a resumed run; not run again
    destructive: bool = False  # from the step's plan
    checklist_items: tuple[ChecklistItemReport, ...] = ()
    parity: ParityReport | None = None  # a predictionParity step's per-model verdicts
    diff: DiffReport | None = None  # a reproductionDiff step's missing, extra and changed objects
    collected: CollectedReport | None = None  # what was gathered for on-call after the step failed
    # The kind's typed result, read from `details` (drkit.report.results): what the renderers show. Not
    # compared: it is derived from the details, which are (so a copy with other details reads it again).
    summary: StepSummary | None = field(default=None, compare=False)

    @property
    def path(self) -> str:
        return f"{self.phase}/{self.name}"

    @property
    def fails_the_run(self) -> bool:
        """Failed, and not tolerated by continueOnError: what decides a run's failure."""
        return self.status is StepState.FAILED and not self.tolerated

    @property
    def retried(self) -> int:
        """How many requests this step repeated."""
        return sum(r.count for r in self.retries)

    @property
    def retries_text(self) -> str:
        """ "5 retried requests (3 HTTP 503, 2 no answer (connection dropped))", or "" when none were."""
        if not self.retries:
            return ""
        causes = ", ".join(f"{r.count} {r.cause}" for r in self.retries)
        noun = "request" if self.retried == 1 else "requests"
        return f"{self.retried} retried {noun} ({causes})"

    @property
    def label(self) -> str:
        """The status as people read it."""
        if self.previous_attempt:
            return "succeeded (previous attempt)"
        if self.tolerated:
            return "failed (tolerated)"
        return str(self.status)

    def to_json(self) -> dict[str, object]:
        return {
            "phase": self.phase,
            "index": self.index,
            "name": self.name,
            "kind": self.kind,
            "status": str(self.status),
            "label": self.label,
            "message": self.message,
            "hint": self.hint,
            "details": dict(self.details),
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "duration": self.duration,
            "attempts": self.attempts,
            "retries": [r.to_json() for r in self.retries],
            "tolerated": self.tolerated,
            "previousAttempt": self.previous_attempt,
            "destructive": self.destructive,
            "checklistItems": [item.to_json() for item in self.checklist_items],
            **({"parity": self.parity.to_json()} if self.parity is not None else {}),
            **({"reproductionDiff": self.diff.to_json()} if self.diff is not None else {}),
            **({"collected": self.collected.to_json()} if self.collected is not None else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], results: ResultReaders) -> StepReport:
        """`results`: the step kinds' result readers (drkit.steps.registry.STEP_RESULTS)."""
        kind = str(data.get("kind", ""))
        details = dict(data.get("details") or {})
        return cls(
            phase=str(data["phase"]),
            index=int(data["index"]),
            name=str(data["name"]),
            kind=kind,
            status=StepState(data["status"]),
            message=str(data.get("message", "")),
            hint=data.get("hint"),
            details=details,
            started_at=_opt_float(data.get("startedAt")),
            finished_at=_opt_float(data.get("finishedAt")),
            duration=float(data.get("duration", 0.0)),
            attempts=int(data.get("attempts", 0)),
            retries=tuple(RetryCount.from_json(r) for r in data.get("retries") or ()),
            tolerated=bool(data.get("tolerated", False)),
            previous_attempt=bool(data.get("previousAttempt", False)),
            destructive=bool(data.get("destructive", False)),
            checklist_items=tuple(ChecklistItemReport.from_json(i) for i in data.get("checklistItems") or ()),
            parity=ParityReport.from_json(data["parity"]) if data.get("parity") else None,
            diff=DiffReport.from_json(data["reproductionDiff"]) if data.get("reproductionDiff") else None,
            collected=CollectedReport.from_json(data["collected"]) if data.get("collected") else None,
            summary=read_summary(kind, details, results),
        )


@dataclass(frozen=True)
class PhaseReport:
    """One phase: its steps, its budget and whether it went over."""

    name: str
    steps: tuple[StepReport, ...]
    budget: float | None = None  # seconds
    drill_only: bool = False
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def duration(self) -> float:
        """Time spent in this phase's steps, including steps done by earlier attempts of a resumed run."""
        return sum(step.duration for step in self.steps)

    @property
    def over_budget(self) -> bool:
        return self.budget is not None and self.duration > self.budget

    @property
    def status(self) -> StepState:
        states = [s.status for s in self.steps]
        if any(s.fails_the_run for s in self.steps):
            return StepState.FAILED
        if states and all(s is StepState.PLANNED for s in states):
            return StepState.PLANNED
        if any(s is StepState.PENDING for s in states):
            return StepState.PENDING
        if states and all(s is StepState.NOT_RUN for s in states):
            return StepState.NOT_RUN
        if states and all(s is StepState.SKIPPED for s in states):
            return StepState.SKIPPED
        if any(s is StepState.NOT_RUN for s in states):
            return StepState.NOT_RUN
        return StepState.SUCCEEDED

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "status": str(self.status),
            "budget": self.budget,
            "overBudget": self.over_budget,
            "drillOnly": self.drill_only,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "duration": self.duration,
            "steps": [step.to_json() for step in self.steps],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], results: ResultReaders) -> PhaseReport:
        return cls(
            name=str(data["name"]),
            steps=tuple(StepReport.from_json(s, results) for s in data.get("steps") or ()),
            budget=_opt_float(data.get("budget")),
            drill_only=bool(data.get("drillOnly", False)),
            started_at=_opt_float(data.get("startedAt")),
            finished_at=_opt_float(data.get("finishedAt")),
        )


@dataclass(frozen=True)
class VariableReport:
    """A playbook variable as the run used it, and where its value came from (`drkit.playbook.model.VarOrigin`
    described: "playbook", "--set", "from $MLFLOW_TRACKING_URI"). A secret one has no value here."""

    name: str
    value: str | None  # None: secret, never recorded
    origin: str

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "value": self.value, "secret": self.value is None, "origin": self.origin}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VariableReport:
        value = data.get("value")
        return cls(str(data["name"]), None if value is None else str(value), str(data.get("origin", "")))

    def shown(self) -> str:
        return f"{self.name} = {'****' if self.value is None else self.value} ({self.origin})"


@dataclass(frozen=True)
class RunReport:
    """A whole run (report.json): its outcome, timing against the RTO, attempts, phases and steps."""

    run_id: str | None  # None for `drkit plan`, which records nothing
    playbook_name: str
    playbook_path: str
    mode: RunMode
    outcome: Outcome
    phases: tuple[PhaseReport, ...]
    rto: float | None = None
    rto_measured: float = 0.0  # the time compared with the RTO, see rto_basis
    rto_basis: RtoBasis = RtoBasis.WALL_CLOCK
    total_duration: float = 0.0  # this attempt's wall time, from its start to its end
    started_at: float | None = None  # this attempt's start
    finished_at: float | None = None
    resumed: bool = False
    first_started_at: float | None = None  # the first attempt's start
    elapsed: float = 0.0  # wall clock from the first start to this finish: the time to recovery
    step_time: float = 0.0  # time spent executing steps, in every attempt
    attempts: tuple[AttemptReport, ...] = ()  # oldest first; the last is this one
    cluster: ClusterRef | None = None  # None: the run needed no cluster
    message: str = ""  # one line: why the run failed, or what was refused
    drkit_version: str = ""
    variables: tuple[VariableReport, ...] = ()  # the playbook's variables and where each value came from
    finally_steps: tuple[StepReport, ...] = ()  # the playbook's `finally:` steps, apart from the phases

    @property
    def steps(self) -> tuple[StepReport, ...]:
        return tuple(step for phase in self.phases for step in phase.steps)

    @property
    def every_step(self) -> tuple[StepReport, ...]:
        """The phases' steps, then the `finally:` steps: all that ran, or would."""
        return (*self.steps, *self.finally_steps)

    @property
    def time_to_recovery(self) -> float:
        """What the RTO is judged on (see rto_basis): the history, metrics and notifications say this figure,
        so none of them can disagree with the outcome."""
        return self.rto_measured

    @property
    def over_budget_phases(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.phases if p.over_budget)

    def to_json(self) -> dict[str, object]:
        return {
            "schemaVersion": SCHEMA_VERSION,
            "runId": self.run_id,
            "playbook": {"name": self.playbook_name, "path": self.playbook_path},
            "mode": self.mode,
            "outcome": str(self.outcome),
            "message": self.message,
            "rto": self.rto,
            "rtoMeasured": self.rto_measured,
            "rtoBasis": str(self.rto_basis),
            "totalDuration": self.total_duration,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "resumed": self.resumed,
            "firstStartedAt": self.first_started_at,
            "elapsed": self.elapsed,
            "stepTime": self.step_time,
            "attempts": [attempt.to_json() for attempt in self.attempts],
            "cluster": None if self.cluster is None else self.cluster.to_json(),
            "overBudgetPhases": list(self.over_budget_phases),
            "drkitVersion": self.drkit_version,
            "variables": [variable.to_json() for variable in self.variables],
            "phases": [phase.to_json() for phase in self.phases],
            "finally": [step.to_json() for step in self.finally_steps],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], results: ResultReaders) -> RunReport:
        """`results`: the step kinds' result readers (drkit.steps.registry.STEP_RESULTS)."""
        playbook = data.get("playbook") or {}
        started_at = _opt_float(data.get("startedAt"))
        total = float(data.get("totalDuration", 0.0))
        measured = float(data.get("rtoMeasured", 0.0))
        return cls(
            run_id=data.get("runId"),
            playbook_name=str(playbook.get("name", "")),
            playbook_path=str(playbook.get("path", "")),
            mode=RunMode(data.get("mode", RunMode.DRILL)),
            outcome=Outcome(data.get("outcome", Outcome.RUNNING)),
            phases=tuple(PhaseReport.from_json(p, results) for p in data.get("phases") or ()),
            rto=_opt_float(data.get("rto")),
            rto_measured=measured,
            rto_basis=RtoBasis(data.get("rtoBasis", RtoBasis.THIS_RUN)),
            total_duration=total,
            started_at=started_at,
            finished_at=_opt_float(data.get("finishedAt")),
            resumed=bool(data.get("resumed", False)),
            # Schema 1 knew only the last attempt: its start and length, and the step time it was judged by.
            first_started_at=_opt_float(data.get("firstStartedAt", started_at)),
            elapsed=float(data.get("elapsed", total)),
            step_time=float(data.get("stepTime", measured)),
            attempts=tuple(AttemptReport.from_json(a) for a in data.get("attempts") or ()),
            cluster=ClusterRef.from_json(data.get("cluster")),
            message=str(data.get("message", "")),
            drkit_version=str(data.get("drkitVersion", "")),
            variables=tuple(VariableReport.from_json(v) for v in data.get("variables") or ()),
            finally_steps=tuple(StepReport.from_json(s, results) for s in data.get("finally") or ()),
        )


@dataclass(frozen=True)
class RunSummary:
    """One line of `drkit runs list`."""

    run_id: str
    playbook: str
    mode: str
    outcome: str  # an Outcome value, or "incomplete" when the run never finished (crash, kill -9)
    started_at: float | None
    duration: float | None


def _opt_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
