"""Running a loaded playbook: selection, plans, confirmation, then every step in order, timed and journaled.

This is the one place that decides what a failure means for the rest of a run (stop, or go on when the step
tolerates it), what an interruption leaves behind (a journal and a report that `drkit resume` continues from),
and how time is judged (phase budgets are warnings, the RTO decides the outcome).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import NoReturn

import drkit
from drkit.context import Runtime
from drkit.engine.afterwards import FinishedRun, RunSink, record_finished, run_sinks
from drkit.engine.build import BuiltStep, build_steps, check_inputs, config_problem
from drkit.engine.cluster import ClusterAccess, check_context_allowed
from drkit.engine.collect import FailureEvidence, collect_failure
from drkit.engine.drill_lease import DrillLease
from drkit.engine.finally_steps import finally_failures, finally_selection, with_finally_failures
from drkit.engine.history import earlier_runs
from drkit.engine.journal import Journal
from drkit.engine.listener import RunListener
from drkit.engine.lock import RunLock
from drkit.engine.redaction import (
    Masker,
    redact_overrides,
    register_environment_secrets,
    register_playbook_secrets,
)
from drkit.engine.request import RunMode, RunRequest
from drkit.engine.retry_tally import RetryTally, burst_line
from drkit.engine.run_errors import FailedBeforeFirstStep, RunInterrupted, RunTerminated
from drkit.engine.runs import RunPaths, new_run_id, run_dir
from drkit.engine.selection import PhaseSelection, closest_hint, select_phases
from drkit.errors import AdapterError, DrkitError, InternalError, RefusedError, Terminated, UsageError
from drkit.playbook.language import CHECK_KIND
from drkit.playbook.model import Phase, Playbook, StepSpec, VarOrigin
from drkit.report.collected import CollectedReport
from drkit.report.files import write_run_reports
from drkit.report.model import (
    AttemptReport,
    ClusterRef,
    Outcome,
    PhaseReport,
    RtoBasis,
    RunReport,
    StepReport,
    StepState,
    VariableReport,
)
from drkit.report.reproduction import DiffReport, ParityReport
from drkit.retries import RetryNotice
from drkit.steps.base import ProbeKind, StepContext, StepKind, StepPlan, StepResult, StepStatus, results_of
from drkit.steps.registry import PROBE_KINDS, STEP_KINDS
from drkit.steps.settings import StepConfigError

Confirm = Callable[[str], bool]
_STATE_OF = {
    StepStatus.SUCCEEDED: StepState.SUCCEEDED,
    StepStatus.FAILED: StepState.FAILED,
    StepStatus.SKIPPED: StepState.SKIPPED,
}


@dataclass(frozen=True)
class PreviousRun:
    """What earlier attempts of a resumed run finished, read back from its journal."""

    run_id: str
    finished: Mapping[tuple[str, str], StepReport]  # (phase, step) -> the last report of that step
    executed_seconds: float  # time spent in steps by the earlier attempts
    attempts: tuple[AttemptReport, ...] = ()  # the earlier attempts, oldest first
    cluster: ClusterRef | None = None  # the cluster its latest attempt acted on; None: it needed none


@dataclass(frozen=True)
class RunOptions:
    step_kinds: Mapping[str, StepKind] = field(default_factory=lambda: STEP_KINDS)
    probe_kinds: Mapping[str, ProbeKind] = field(default_factory=lambda: PROBE_KINDS)
    playbook_sha256: str = ""
    previous: PreviousRun | None = None
    plan_as: RunMode = RunMode.DRILL  # PLAN mode: plan the phases a drill (or a recovery) would run
    other_cluster: bool = False  # resume on another cluster than the run started on (`--other-cluster`)
    sinks: Sequence[RunSink] | None = None  # where a finished run goes besides its reports; None: run_sinks()


def run_playbook(
    playbook: Playbook,
    request: RunRequest,
    runtime: Runtime,
    listener: RunListener,
    confirm: Confirm | None,
    *,
    options: RunOptions | None = None,
) -> RunReport:
    """Run (or, in PLAN mode, only plan) an already-loaded playbook. See the module docstring."""
    options = options or RunOptions()
    selections = _selections(playbook, request, options.plan_as)
    final = finally_selection(playbook, options.plan_as if request.mode is RunMode.PLAN else request.mode)
    phases = tuple(s.phase for s in [*selections, *([final] if final else [])])
    built = build_steps(playbook, phases, options.step_kinds, options.probe_kinds)
    run_id = options.previous.run_id if options.previous else new_run_id(runtime.wall_clock)
    paths = RunPaths(run_dir(runtime.state_dir, run_id))
    run = _Run(
        playbook=playbook,
        request=request,
        runtime=runtime,
        listener=listener,
        options=options,
        run_id=run_id,
        paths=paths,
        selections=selections,
        built=built,
        final=final,
    )
    try:
        run.prepare()
        if request.mode is RunMode.PLAN:
            return run.plan_report()
        run.confirm_destructive(confirm)
        return run.execute()
    finally:
        run.cluster.close()  # whatever opened it: a plan, a step, or nothing yet


def _selections(playbook: Playbook, request: RunRequest, plan_as: RunMode) -> list[PhaseSelection]:
    if request.mode is RunMode.PLAN:
        return select_phases(playbook, replace(request, mode=plan_as))
    if request.mode is not RunMode.CHECK:
        return select_phases(playbook, request)
    names = list(playbook.checklists)
    for name in request.checklists:
        if name not in playbook.checklists:
            raise UsageError(
                f"--checklist {name!r}: playbook {playbook.name!r} has no such checklist",
                hint=closest_hint(name, names, "checklists"),
            )
    chosen = request.checklists or tuple(names)
    if not chosen:
        raise UsageError(
            f"playbook {playbook.name!r} defines no checklists", hint="add a `checklists:` section"
        )
    steps = tuple(
        StepSpec(kind=CHECK_KIND, name=name, body=name, position=playbook.checklists[name].position)
        for name in chosen
    )
    return [PhaseSelection(Phase(name="check", steps=steps, position=playbook.position), True)]


def needs_cluster(selections: list[PhaseSelection], built: Mapping[str, list[BuiltStep]]) -> bool:
    """Whether any selected step (or an item of a checklist it runs) talks to the cluster."""
    return any(b.needs_cluster for s in selections if s.selected for b in built[s.phase.name])


@dataclass(frozen=True)
class _Times:
    """A report's clock readings: this attempt's, and across every attempt of the run."""

    now: float | None  # wall clock; None before the run started (a plan)
    this_attempt: float  # seconds since this attempt started
    first_start: float | None  # the first attempt's start
    elapsed: float  # seconds since the first start: the time to recovery
    attempts: tuple[AttemptReport, ...]


class _Run:
    """The mutable state of one run; everything it hands out is frozen."""

    def __init__(
        self,
        *,
        playbook: Playbook,
        request: RunRequest,
        runtime: Runtime,
        listener: RunListener,
        options: RunOptions,
        run_id: str,
        paths: RunPaths,
        selections: list[PhaseSelection],
        built: dict[str, list[BuiltStep]],
        final: PhaseSelection | None = None,
    ) -> None:
        self.playbook = playbook
        self.request = request
        self.runtime = runtime
        self.listener = listener
        self.options = options
        self.run_id = run_id
        self.paths = paths
        self.selections = selections
        self.built = built
        self.final = final  # the `finally:` steps, run after the phases whatever happened
        self.finally_started: float | None = None  # monotonic; the recovery's time stops there
        register_environment_secrets(runtime.secrets, runtime.env)
        register_playbook_secrets(runtime.secrets, playbook, request.overrides)
        self.masker = Masker(runtime.secrets)  # the kube adapter adds credentials and Secret data as it reads
        self.journal: Journal | None = None
        self.lease: DrillLease | None = None
        self.retries = RetryTally(self._retry_burst)
        self.last_progress = ""  # the running step's latest progress text
        self.cluster = ClusterAccess(
            runtime,
            playbook,
            kubeconfig=request.kubeconfig,
            context=request.context,
            on_retry=self.retries,
        )
        self.previous_done = self._previous_done()
        self.uses_cluster = needs_cluster(self._all_selections(), built)
        # Set by prepare(), which reads inputs and the kubeconfig and plans every step: the I/O before a run.
        self.where: ClusterRef | None = None  # the cluster this run acts on; None: it needs none
        self.moved_from: ClusterRef | None = None
        self.plans: dict[tuple[str, int], StepPlan] = {}
        self.steps: dict[str, list[StepReport]] = {}
        self.phase_times: dict[str, tuple[float | None, float | None]] = {}
        self.started_at: float | None = None
        self.started_mono = 0.0
        self.signal: str | None = None  # what interrupted this attempt

    # -- before running: plans, the report skeleton, confirmation --

    def prepare(self) -> None:
        """Everything a run checks before its first step, in the order that sends nothing it need not."""
        # Manifests are read before the context is checked and before any plan: a broken one is a playbook
        # problem (exit 2), and no request has been sent.
        check_inputs(self._pending(), self._context(deadline=None, with_cluster=False))
        if self.uses_cluster:
            # Safety: refuse a kubeconfig context the playbook does not target before any plan or step, so
            # `drkit plan` refuses too and not one request (not even a GET) reaches that cluster.
            check_context_allowed(self.playbook, self.cluster.context_name())
            self.where = self.cluster.where()
        self.moved_from = self._moved_from(self.where)
        self.plans = self._plans()
        self.steps = self._skeleton()

    def _moved_from(self, here: ClusterRef | None) -> ClusterRef | None:
        """Safety: a resumed run goes on on the cluster it was acting on, though the kubeconfig (or
        $KUBECONFIG, or its current context) of this shell may now name another: refused before any request,
        unless told to go on there. Returns the cluster it was told to leave, if any."""
        previous = self.options.previous
        before = previous.cluster if previous is not None else None
        if before is None or here is None or before == here:
            return None
        if self.options.other_cluster:
            return before
        raise RefusedError(
            f"run {self.run_id} acted on {before.where}, but the kubeconfig now points at {here.where}",
            hint=f"point KUBECONFIG/--context back at {before.context}, or rerun with --other-cluster "
            "if the run really is to go on there",
        )

    def _previous_done(self) -> set[tuple[str, int]]:
        """Steps an earlier attempt finished: everything before the first step that did not (resume point)."""
        previous = self.options.previous
        if previous is None:
            return set()
        done: set[tuple[str, int]] = set()
        for selection in self.selections:
            if not selection.selected:
                continue
            for b in self.built[selection.phase.name]:
                report = previous.finished.get((b.phase.name, b.spec.name))
                if report is None or report.status not in (StepState.SUCCEEDED, StepState.SKIPPED):
                    return done
                done.add((b.phase.name, b.index))
        return done

    def _context(self, deadline: float | None, *, with_cluster: bool = True, phase: str = "") -> StepContext:
        context = StepContext(
            phase=phase,
            runtime=self.runtime,
            playbook=self.playbook,
            run_id=self.run_id,
            run_dir=self.paths.directory,
            deadline=deadline,
            progress=self._progress,
            on_retry=self.retries,
        )
        return replace(context, cluster=self.cluster.get) if with_cluster else context

    def _progress(self, text: str) -> None:
        self.last_progress = text
        self.listener.step_progress(self.masker.text(text))

    def _retry_burst(self, notice: RetryNotice) -> None:
        """A request is being repeated: one line in the live view and one journal event per burst. The line
        goes above what the step last said it waits for, which stays in view."""
        line = burst_line(notice)
        self.listener.step_progress(self.masker.text("\n".join(filter(None, (line, self.last_progress)))))
        if self.journal is not None and self.journal.is_open:  # plans run before it opens
            self.journal.append("retry", operation=self.masker.text(notice.operation), cause=notice.cause)

    def _event(self, event: str, **fields: object) -> None:
        if self.journal is None:
            raise InternalError(f"journal event {event!r} before the run started")
        self.journal.append(event, **fields)

    def _pending(self) -> list[BuiltStep]:
        """The selected steps this run will plan and run (not those an earlier attempt finished)."""
        return [
            b
            for selection in self._all_selections()
            if selection.selected
            for b in self.built[selection.phase.name]
            if (b.phase.name, b.index) not in self.previous_done
        ]

    def _all_selections(self) -> list[PhaseSelection]:
        """The phases, then the `finally:` steps as a phase of their own."""
        return [*self.selections, *([self.final] if self.final is not None else [])]

    def _run_finally(self) -> tuple[list[StepReport], tuple[BuiltStep, KeyboardInterrupt] | None]:
        """Run every `finally:` step, whatever an earlier one did; returns their failures, and the step a
        Ctrl-C or SIGTERM interrupted (the rest are then not run)."""
        if self.final is None:
            return [], None
        phase = self.final.phase
        self.finally_started = self.runtime.monotonic()
        self.listener.phase_started(phase.name)
        interrupted: tuple[BuiltStep, KeyboardInterrupt] | None = None
        for b in self.built[phase.name]:
            if interrupted is not None:
                self._set(b, StepState.NOT_RUN, "not run: the run was interrupted")
                continue
            lost = self.lease.lost() if self.lease is not None else None
            try:
                if lost is not None:
                    self._lease_lost(b, lost)
                else:
                    self._execute_step(b)
            except KeyboardInterrupt as exc:
                self._set(b, StepState.FAILED, _interrupted_text(exc))
                interrupted = (b, exc)
            except Exception as exc:  # a bug in one finally step must not keep the others from running
                text = f"internal error: {type(exc).__name__}: {self.masker.text(str(exc))[:300]}"
                self._record(replace(self._get(b), status=StepState.FAILED, message=text))
        self._finish_phase(phase)
        return finally_failures(self.steps[phase.name]), interrupted

    def _plans(self) -> dict[tuple[str, int], StepPlan]:
        plans: dict[tuple[str, int], StepPlan] = {}
        ctx = replace(self._context(deadline=None), plan_reads_state=self.request.mode is RunMode.PLAN)
        for b in self._pending():
            try:
                plans[(b.phase.name, b.index)] = b.step.plan(replace(ctx, phase=b.phase.name))
            except StepConfigError as exc:
                raise config_problem(b.spec, exc) from exc
            except AdapterError as exc:  # the cluster or MLflow failed a plan: say so before any step ran
                raise FailedBeforeFirstStep(f"cannot plan step {b.phase.name}/{b.spec.name}", exc) from exc
        return plans

    def _skeleton(self) -> dict[str, list[StepReport]]:
        previous = self.options.previous
        steps: dict[str, list[StepReport]] = {}
        for selection in self._all_selections():
            phase = selection.phase
            reports: list[StepReport] = []
            for index, spec in enumerate(phase.steps, start=1):
                base = StepReport(
                    phase=phase.name, index=index, name=spec.name, kind=spec.kind, status=StepState.PENDING
                )
                if not selection.selected:
                    reports.append(replace(base, status=StepState.SKIPPED, message=selection.skip_reason))
                elif previous is not None and (phase.name, index) in self.previous_done:
                    old = previous.finished[(phase.name, spec.name)]
                    reports.append(
                        replace(old, index=index, previous_attempt=old.status is StepState.SUCCEEDED)
                    )
                else:
                    plan = self.plans.get((phase.name, index))
                    reports.append(replace(base, destructive=bool(plan and plan.destructive)))
            steps[phase.name] = reports
        return steps

    def plan_report(self) -> RunReport:
        """What every pending step would do; no run id: a plan records nothing."""
        phases = []
        for selection in self._all_selections():
            reports = []
            for step in self.steps[selection.phase.name]:
                plan = self.plans.get((selection.phase.name, step.index))
                report = step
                if plan is not None and step.status is StepState.PENDING:
                    report = replace(
                        step,
                        status=StepState.PLANNED,
                        message=self.masker.text(plan.summary),
                        details={"actions": [self.masker.text(a) for a in plan.actions]},
                        destructive=plan.destructive,
                    )
                reports.append(report)
            phases.append(self._phase_report(selection.phase, reports))
        final = phases.pop().steps if self.final is not None else ()
        return self._report(Outcome.PLANNED, "", phases=tuple(phases), finally_steps=final)

    def destructive_reasons(self) -> list[str]:
        reasons = [
            f"{phase}/{self._spec(phase, index).name}: {plan.summary}"
            for (phase, index), plan in self.plans.items()
            if plan.destructive
        ]
        if self.request.mode is RunMode.DRILL:
            reasons += [
                f"phase {s.phase.name!r} is drill-only (teardown)"
                for s in self.selections
                if s.selected and s.phase.drill_only
            ]
        return reasons

    def _spec(self, phase: str, index: int) -> StepSpec:
        return next(s for s in self._all_selections() if s.phase.name == phase).phase.steps[index - 1]

    def confirm_destructive(self, confirm: Confirm | None) -> None:
        reasons = self.destructive_reasons()
        if not reasons or self.request.assume_yes:
            return
        self.listener.plan_ready(self.plan_report())
        what = f"{self.request.mode} of playbook {self.playbook.name!r}"
        if confirm is None:
            raise RefusedError(
                f"the {what} deletes or overwrites state and needs confirmation, "
                "but there is no terminal to ask",
                hint="review `drkit plan`, then rerun with --yes",
            )
        question = f"Run the {what}? It deletes or overwrites state ({len(reasons)} destructive item(s))."
        if not confirm(question):
            raise RefusedError(f"the {what} was not confirmed; nothing was run")

    # -- running: steps in order, journaled as they finish --

    def execute(self) -> RunReport:
        # The drill lease comes first: a run refused because another drill holds the cluster writes
        # nothing, not even its own run directory (made only once the journal opens).
        self.lease = self._take_lease()
        try:
            return self._execute()
        finally:
            if self.lease is not None:
                self.lease.release()

    def _take_lease(self) -> DrillLease | None:
        """Runs that may write to the cluster hold its drill lease; checklist-only runs only read."""
        writes = self.request.mode in (RunMode.DRILL, RunMode.RECOVER)
        if not writes or not self.uses_cluster:
            return None
        lease = DrillLease(self.cluster.get(), self.runtime, self.run_id, self.playbook.name)
        try:
            lease.acquire()
        except RefusedError:
            self.cluster.close()
            raise
        return lease

    def _execute(self) -> RunReport:
        self.paths.directory.mkdir(parents=True, exist_ok=True)
        with (
            RunLock(self.paths.lock, self.run_id),
            Journal(self.paths.journal, self.runtime.wall_clock, mask=self.masker.data) as journal,
        ):
            self.journal = journal
            self.started_at = self.runtime.wall_clock()
            self.started_mono = self.runtime.monotonic()
            journal.append("run-started", **self._run_started_fields())
            self.listener.run_started(self._report(Outcome.RUNNING, ""))
            current: BuiltStep | None = None
            try:
                failed: StepReport | None = None  # the failure that stops the run
                failures: list[StepReport] = []
                for selection in self.selections:
                    phase = selection.phase
                    if not selection.selected:
                        self._finish_phase(phase)
                        continue
                    if failed is not None:
                        self._mark_pending(
                            phase.name, StepState.NOT_RUN, f"not run: step {failed.path} failed"
                        )
                        self._finish_phase(phase)
                        continue
                    self.listener.phase_started(phase.name)
                    for b in self.built[phase.name]:
                        if (phase.name, b.index) in self.previous_done:
                            continue
                        if failed is not None:
                            self._set(b, StepState.NOT_RUN, f"not run: step {failed.path} failed")
                            continue
                        lost = self.lease.lost() if self.lease is not None else None
                        if lost is not None:
                            failed = self._lease_lost(b, lost)
                            failures.append(failed)
                            continue
                        current = b
                        report = self._execute_step(b)
                        current = None
                        if report.fails_the_run:
                            failures.append(report)
                            # A health check reports every checklist: one failing does not stop the others.
                            if self.request.mode is not RunMode.CHECK:
                                failed = report
                    self._finish_phase(phase)
            except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (drkit.errors.Terminated)
                return self._interrupted(current, exc)
            except Exception as exc:
                self._internal_error(current, exc)
            return self._finish(failures)

    def _run_started_fields(self) -> dict[str, object]:
        request = self.request
        return {
            "runId": self.run_id,
            "playbook": str(request.playbook_path),
            "playbookName": self.playbook.name,
            "sha256": self.options.playbook_sha256,
            "mode": str(request.mode),
            "overrides": redact_overrides(request.overrides, self.playbook.secret_vars),
            "environment": self._environment_used(),
            "fromPhase": request.from_phase,
            "onlyPhase": request.only_phase,
            "checklists": list(request.checklists),
            "kubeconfig": request.kubeconfig,
            "context": request.context,
            "cluster": None if self.where is None else self.where.to_json(),
            "resumed": self.options.previous is not None,
            **({"otherCluster": True, "movedFrom": self.moved_from.to_json()} if self.moved_from else {}),
            "drkitVersion": drkit.__version__,
        }

    def _execute_step(self, b: BuiltStep) -> StepReport:
        pending = self._get(b)
        self.last_progress = ""
        self.listener.step_started(pending)
        self._event("step-started", phase=b.phase.name, index=b.index, name=b.spec.name)
        started_at = self.runtime.wall_clock()
        started = self.runtime.monotonic()
        self.retries.take()  # what was repeated before this step (plans, an earlier step's stragglers)
        phase_start, _ = self.phase_times.get(b.phase.name, (None, None))
        self.phase_times[b.phase.name] = (phase_start or started_at, None)
        attempts = 0
        while True:
            attempts += 1
            timeout = b.timeout
            deadline = None if timeout is None else self.runtime.monotonic() + timeout
            result, hint = self._attempt(b, deadline)
            if result.status is not StepStatus.FAILED or attempts > b.spec.retries.count:
                break
            wait = b.spec.retries.wait_before(attempts)
            self._progress(f"attempt {attempts} failed: {result.message} (retrying in {wait:g}s)")
            self.runtime.sleep(wait)
        failed = result.status is StepStatus.FAILED
        masked_details = self.masker.data(dict(result.details))
        details: dict[str, object] = masked_details if isinstance(masked_details, dict) else {}
        masked = self.masker.text
        report = replace(
            pending,
            status=_STATE_OF[result.status],
            message=self.masker.text(result.message),
            hint=None if hint is None else self.masker.text(hint),
            details=details,
            started_at=started_at,
            finished_at=self.runtime.wall_clock(),
            duration=self.runtime.monotonic() - started,
            attempts=attempts,
            retries=self.retries.take(),
            tolerated=failed and b.spec.continue_on_error,
            checklist_items=tuple(
                replace(item, message=masked(item.message), description=masked(item.description))
                for item in result.checklist_items
            ),
            parity=None if result.parity is None else ParityReport.from_json(self._masked(result.parity)),
            diff=None if result.diff is None else DiffReport.from_json(self._masked(result.diff)),
            # Read from the masked details, as `drkit report` reads it back: no renderer shows more.
            summary=None if b.kind.result is None else b.kind.result(details),
        )
        if failed:
            report = replace(report, collected=self._collect(b, result))
        self._record(report)
        return report

    def _collect(self, b: BuiltStep, result: StepResult) -> CollectedReport | None:
        """What on-call would look at next, gathered once the step was timed (drkit.engine.collect)."""
        extra = (*self.playbook.collect, *b.spec.collect)
        evidence = FailureEvidence(b.phase.name, b.index, result.objects, extra)
        if not self.uses_cluster or not (evidence.objects or evidence.extra):
            return None
        self._progress("gathering the state, events and logs of what failed")
        try:
            return collect_failure(
                self.cluster.get, evidence, self.paths.directory, self.masker, self.runtime.monotonic
            )
        except Exception as exc:  # gathering evidence never changes what the run reports
            text = f"gathering failed: {type(exc).__name__}: {self.masker.text(str(exc))[:200]}"
            return CollectedReport(evidence.directory, notes=(text,))

    def _masked(self, value: ParityReport | DiffReport) -> dict[str, object]:
        """Typed report data with secret variable values masked, as details are (an endpoint URL may hold
        one): through its JSON form, which is also what the journal and report.json keep."""
        masked = self.masker.data(value.to_json())
        return masked if isinstance(masked, dict) else {}

    def _attempt(self, b: BuiltStep, deadline: float | None) -> tuple[StepResult, str | None]:
        try:
            return b.step.run(self._context(deadline, phase=b.phase.name)), None
        except DrkitError as exc:  # StepConfigError too: a body only the run could find wrong
            return StepResult(StepStatus.FAILED, exc.message), exc.hint

    def _lease_lost(self, b: BuiltStep, why: str) -> StepReport:
        """Another run took the cluster's drill lease over (this one stopped renewing for too long)."""
        report = replace(
            self._get(b),
            status=StepState.FAILED,
            message=f"not run: {why}, so another drill may be acting on this cluster",
            hint="find that run (`drkit runs list` on its machine) and let one drill finish before the other",
        )
        self._record(report)
        return report

    def _record(self, report: StepReport) -> None:
        self.steps[report.phase][report.index - 1] = report
        self._event("step-finished", step=report.to_json())
        self.listener.step_finished(report)

    def _get(self, b: BuiltStep) -> StepReport:
        return self.steps[b.phase.name][b.index - 1]

    def _set(self, b: BuiltStep, status: StepState, message: str) -> None:
        self.steps[b.phase.name][b.index - 1] = replace(self._get(b), status=status, message=message)

    def _mark_pending(self, phase: str, status: StepState, message: str) -> None:
        self.steps[phase] = [
            replace(s, status=status, message=message) if s.status is StepState.PENDING else s
            for s in self.steps[phase]
        ]

    def _finish_phase(self, phase: Phase) -> None:
        start, _ = self.phase_times.get(phase.name, (None, None))
        self.phase_times[phase.name] = (start, self.runtime.wall_clock() if start is not None else None)
        report = self._phase_report(phase, self.steps[phase.name])
        self._event(
            "phase-finished",
            phase=phase.name,
            status=str(report.status),
            duration=report.duration,
            budget=report.budget,
            overBudget=report.over_budget,
        )
        self.listener.phase_finished(report)

    def _phase_report(self, phase: Phase, steps: list[StepReport]) -> PhaseReport:
        start, end = self.phase_times.get(phase.name, (None, None))
        return PhaseReport(
            name=phase.name,
            steps=tuple(steps),
            budget=phase.budget,
            drill_only=phase.drill_only,
            started_at=start,
            finished_at=end,
        )

    def _report(
        self,
        outcome: Outcome,
        message: str,
        *,
        phases: tuple[PhaseReport, ...] | None = None,
        finally_steps: tuple[StepReport, ...] | None = None,
    ) -> RunReport:
        if phases is None:
            phases = tuple(self._phase_report(s.phase, self.steps[s.phase.name]) for s in self.selections)
        if finally_steps is None:
            finally_steps = tuple(self.steps[self.final.phase.name]) if self.final is not None else ()
        executed = sum(
            s.duration
            for p in phases
            for s in p.steps
            if not s.previous_attempt and s.status in (StepState.SUCCEEDED, StepState.FAILED)
        )
        previous = self.options.previous
        times = self._times(outcome)
        return RunReport(
            run_id=None if outcome is Outcome.PLANNED else self.run_id,
            playbook_name=self.playbook.name,
            playbook_path=str(self.request.playbook_path),
            mode=self.request.mode,
            outcome=outcome,
            phases=phases,
            rto=self.playbook.rto,
            rto_measured=max(0.0, times.elapsed - self._finally_seconds()),
            rto_basis=RtoBasis.WALL_CLOCK,
            total_duration=times.this_attempt,
            started_at=self.started_at,
            finished_at=times.now,
            resumed=previous is not None,
            first_started_at=times.first_start,
            elapsed=times.elapsed,
            step_time=executed + (previous.executed_seconds if previous else 0.0),
            attempts=times.attempts,
            cluster=self.where,
            message=message,
            drkit_version=drkit.__version__,
            variables=self._variables(),
            finally_steps=finally_steps,
        )

    def _finally_seconds(self) -> float:
        """Time since the `finally:` steps started: not part of the time to recovery."""
        return 0.0 if self.finally_started is None else self.runtime.monotonic() - self.finally_started

    def _times(self, outcome: Outcome) -> _Times:
        if self.started_at is None:  # a plan: nothing started
            return _Times(now=None, this_attempt=0.0, first_start=None, elapsed=0.0, attempts=())
        previous = self.options.previous
        earlier = previous.attempts if previous is not None else ()
        now, this_attempt = self.runtime.wall_clock(), self.runtime.monotonic() - self.started_mono
        ended = outcome not in (Outcome.RUNNING, Outcome.PLANNED)
        current = AttemptReport(
            self.started_at, now if ended else None, outcome if ended else None, self.signal
        )
        first_start = earlier[0].started_at if earlier else self.started_at
        return _Times(
            now=now,
            this_attempt=this_attempt,
            first_start=first_start,
            # Only the wall clock spans attempts (other processes); within one, monotonic time is steadier.
            elapsed=now - first_start if earlier else this_attempt,
            attempts=(*earlier, current),
        )

    def _environment_used(self) -> dict[str, str | None]:
        """The environment variables the playbook's variables took (None: unset), so `drkit resume` uses the
        same values in another shell. Those behind a secret variable are left out: never recorded, they are
        read from the environment again."""
        playbook = self.playbook
        secret = {e for n in playbook.secret_vars for e in playbook.var_origins.get(n, VarOrigin()).env_vars}
        used = {e for origin in playbook.var_origins.values() for e in origin.env_vars} - secret
        return {name: self.runtime.env.get(name) or None for name in sorted(used)}

    def _variables(self) -> tuple[VariableReport, ...]:
        """Each variable with where its value came from; secret ones without their value."""
        playbook = self.playbook
        return tuple(
            VariableReport(
                name,
                None if name in playbook.secret_vars else self.masker.text(value),
                playbook.var_origins.get(name, VarOrigin()).describe(),
            )
            for name, value in playbook.vars.items()
        )

    def _finish(self, failures: list[StepReport]) -> RunReport:
        finally_failed, interrupted = self._run_finally()
        if interrupted is not None:
            return self._interrupted(*interrupted, finally_ran=True)
        report = self._report(Outcome.RUNNING, "")
        if len(failures) == 1:
            outcome, message = Outcome.FAILED, f"step {failures[0].path} failed: {failures[0].message}"
        elif failures:
            outcome = Outcome.FAILED
            each = "; ".join(f"{f.path}: {f.message}" for f in failures)
            message = f"{len(failures)} steps failed: {each}"
        elif report.rto is not None and report.rto_measured > report.rto:
            outcome = Outcome.OVER_RTO
            message = f"recovered in {report.rto_measured:.1f}s, over the RTO of {report.rto:.1f}s"
        else:
            outcome, message = Outcome.SUCCEEDED, ""
        outcome, message = with_finally_failures(outcome, message, finally_failed)
        # The outcome was judged on this report's times: only this attempt's end is filled in.
        this_attempt = replace(report.attempts[-1], finished_at=report.finished_at, outcome=outcome)
        report = replace(
            report, outcome=outcome, message=message, attempts=(*report.attempts[:-1], this_attempt)
        )
        self._event("run-finished", outcome=str(outcome), message=message, rtoMeasured=report.rto_measured)
        return self._close(report)

    def _close(self, report: RunReport) -> RunReport:
        # Masked again as a whole: a secret learnt late in the run (a Secret read in the last phase) may have
        # shown up in a step that finished before it was known.
        masked = self.masker.data(report.to_json())
        results = results_of(self.options.step_kinds)
        report = RunReport.from_json(masked, results) if isinstance(masked, dict) else report
        earlier = earlier_runs(self.runtime.state_dir, report)
        write_run_reports(report, self.paths.directory, earlier=earlier)
        self.listener.run_finished(report)  # the outcome first; then where the run went, as it goes there
        finished = FinishedRun(
            report, self.paths.directory, self.runtime, say=lambda text: self.listener.recorded([text])
        )
        sinks = self.options.sinks if self.options.sinks is not None else run_sinks(self.runtime)
        if lines := record_finished(finished, sinks):
            self.listener.recorded(lines)
        return report

    def _interrupted(
        self, current: BuiltStep | None, cause: KeyboardInterrupt, *, finally_ran: bool = False
    ) -> RunReport:
        terminated = isinstance(cause, Terminated)
        where = ""
        if current is not None:
            where = f" during step {current.phase.name}/{current.spec.name}"
            self._set(current, StepState.FAILED, _interrupted_text(cause))
        message = f"interrupted{' by SIGTERM' if terminated else ''}{where}"
        self.signal = Terminated.signal_name if terminated else "SIGINT"
        self._event(
            "interrupted",
            phase=current.phase.name if current else None,
            step=current.spec.name if current else None,
            signal=self.signal,
        )
        if not finally_ran:
            message = self._finally_after_abort(Outcome.INTERRUPTED, message, "the run was interrupted")
        for name in self.steps:
            self._mark_pending(name, StepState.NOT_RUN, "not run: the run was interrupted")
        self._close(self._report(Outcome.INTERRUPTED, message))
        error = RunTerminated if terminated else RunInterrupted
        raise error(f"run {self.run_id} {message}", hint=f"continue it with `drkit resume {self.run_id}`")

    def _finally_after_abort(self, outcome: Outcome, message: str, why: str) -> str:
        """Run the `finally:` steps after the phases stopped early; the phases' pending steps say `why` first,
        so the live view does not show them waiting. A second interruption stops the finally steps only."""
        for selection in self.selections:
            self._mark_pending(selection.phase.name, StepState.NOT_RUN, f"not run: {why}")
        finally_failed, _ = self._run_finally()
        return with_finally_failures(outcome, message, finally_failed)[1]

    def _internal_error(self, current: BuiltStep | None, exc: Exception) -> NoReturn:
        text = f"internal error: {type(exc).__name__}: {self.masker.text(str(exc))[:300]}"
        if current is not None:
            self._set(current, StepState.FAILED, text)
            self._event("step-finished", step=self._get(current).to_json())
            label = f"step {current.phase.name}/{current.spec.name}"
        else:
            label = "the engine"
        message = self._finally_after_abort(Outcome.FAILED, f"{label}: {text}", "internal error")
        for name in self.steps:
            self._mark_pending(name, StepState.NOT_RUN, "not run: internal error")
        self._event("run-finished", outcome=str(Outcome.FAILED), message=message)
        self._close(self._report(Outcome.FAILED, message))
        raise InternalError(
            f"{label} raised {type(exc).__name__}: {self.masker.text(str(exc))[:200]}"
        ) from exc


def _interrupted_text(cause: KeyboardInterrupt) -> str:
    return f"interrupted ({'SIGTERM' if isinstance(cause, Terminated) else 'Ctrl-C'})"
