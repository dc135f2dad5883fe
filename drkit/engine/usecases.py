"""The use cases the CLI calls: one function per command, each taking a frozen request and a Runtime."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from drkit.context import Runtime
from drkit.engine.build import build_steps
from drkit.engine.finally_steps import finally_selection
from drkit.engine.history import earlier_runs
from drkit.engine.journal import read_journal
from drkit.engine.listener import NullListener, RunListener
from drkit.engine.playbook_run import Confirm, PreviousRun, RunOptions, run_playbook
from drkit.engine.redaction import REDACTED
from drkit.engine.request import RunMode, RunRequest
from drkit.engine.runs import RunPaths, existing_run_dir, recorded_run_ids, run_dir
from drkit.errors import PlaybookError, UsageError
from drkit.playbook.json_schema import playbook_json_schema
from drkit.playbook.loader import load_playbook
from drkit.playbook.model import FINALLY_PHASE, Playbook
from drkit.report.files import write_run_reports
from drkit.report.json_report import read_report
from drkit.report.model import (
    AttemptReport,
    ClusterRef,
    Outcome,
    PhaseReport,
    RtoBasis,
    RunReport,
    RunSummary,
    StepReport,
    StepState,
)
from drkit.steps.registry import PROBE_KINDS, STEP_KINDS, STEP_RESULTS, probe_schemas, step_schemas


def load(
    path: Path, overrides: Mapping[str, str], runtime: Runtime, env: Mapping[str, str] | None = None
) -> Playbook:
    """Load and validate a playbook (relative paths are taken from the runtime's working directory);
    `${env:NAME}` in its `vars` is read from `env`, by default the runtime's environment."""
    return load_playbook(
        _absolute(path, runtime),
        overrides=dict(overrides),
        step_kinds=step_schemas(),
        check_kinds=probe_schemas(),
        shown_as=str(path),  # errors point at the path as the user typed it
        env=runtime.env if env is None else env,
    )


def _absolute(path: Path, runtime: Runtime) -> Path:
    return path if path.is_absolute() else runtime.cwd / path


def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise PlaybookError(f"cannot read playbook {path}: {exc.strerror or exc}") from exc


@dataclass(frozen=True)
class ValidationSummary:
    playbook: Playbook
    phases: int
    steps: int
    checklists: int
    finally_steps: int = 0


def validate(path: Path, overrides: Mapping[str, str], runtime: Runtime) -> ValidationSummary:
    """Load the playbook and build every step, exactly as a run would before touching anything."""
    playbook = load(path, overrides, runtime)
    final = finally_selection(playbook, RunMode.DRILL)
    build_steps(playbook, (*playbook.phases, *([final.phase] if final else [])), STEP_KINDS, PROBE_KINDS)
    return ValidationSummary(
        playbook=playbook,
        phases=len(playbook.phases),
        steps=sum(len(p.steps) for p in playbook.phases),
        checklists=len(playbook.checklists),
        finally_steps=len(playbook.finally_steps),
    )


def json_schema() -> dict[str, object]:
    return playbook_json_schema(step_schemas(), probe_schemas())


def execute(
    request: RunRequest,
    runtime: Runtime,
    listener: RunListener,
    confirm: Confirm | None,
) -> RunReport:
    """Load the playbook, then drill, recover, check or plan it (see drkit.engine.playbook_run)."""
    path = _absolute(request.playbook_path, runtime)
    playbook = load(path, request.overrides, runtime)
    return run_playbook(
        playbook,
        replace(request, playbook_path=path),
        runtime,
        listener,
        confirm,
        options=RunOptions(playbook_sha256=_sha256(path)),
    )


def plan(request: RunRequest, runtime: Runtime, *, recover: bool = False) -> RunReport:
    """What a drill (or, with `recover`, a recovery) would do: every selected step's plan. Records nothing."""
    playbook = load(request.playbook_path, request.overrides, runtime)
    return run_playbook(
        playbook,
        replace(request, mode=RunMode.PLAN),
        runtime,
        NullListener(),
        None,
        options=RunOptions(plan_as=RunMode.RECOVER if recover else RunMode.DRILL),
    )


def resume(
    run_id: str,
    runtime: Runtime,
    listener: RunListener,
    confirm: Confirm | None,
    *,
    assume_yes: bool = False,
    force: bool = False,
    other_cluster: bool = False,
) -> RunReport:
    """Continue a recorded run from the first step that did not finish; steps that succeeded are not rerun.
    It goes on on the cluster it started on: another one is refused unless `other_cluster`."""
    paths = RunPaths(existing_run_dir(runtime.state_dir, run_id))
    events = read_journal(paths.journal)
    started = next((e for e in events if e.get("event") == "run-started"), None)
    if started is None:
        raise UsageError(f"run {run_id} has no run-started event in {paths.journal}; it cannot be resumed")
    mode = started.get("mode")
    if mode not in set(RunMode) or not RunMode(mode).plays_a_playbook:  # `drkit finalizers clear`'s record
        raise UsageError(
            f"run {run_id} is a {started.get('mode')} record, not a playbook run; it cannot be resumed",
            hint="run the command again: it acts on what is still there",
        )
    last = events[-1] if events else {}
    if last.get("event") == "run-finished" and last.get("outcome") in (Outcome.SUCCEEDED, Outcome.OVER_RTO):
        raise UsageError(
            f"run {run_id} already finished ({last['outcome']}); there is nothing to resume",
            hint="start a new run instead",
        )
    mode = RunMode(started["mode"])
    if mode is RunMode.PLAN:
        raise UsageError(f"run {run_id} was a plan; plans cannot be resumed")
    path = Path(str(started["playbook"]))
    overrides = _restore_overrides(started.get("overrides") or {}, runtime, run_id)
    sha = _sha256(_absolute(path, runtime))
    if started.get("sha256") and sha != started["sha256"] and not force:
        raise UsageError(
            f"playbook {path} changed since run {run_id} started",
            hint="resuming with a different playbook may skip or repeat work; rerun with --force if intended",
        )
    request = RunRequest(
        playbook_path=path,
        mode=mode,
        overrides=overrides,
        from_phase=started.get("fromPhase"),
        only_phase=started.get("onlyPhase"),
        assume_yes=assume_yes,
        checklists=tuple(started.get("checklists") or ()),
        kubeconfig=started.get("kubeconfig"),
        context=started.get("context"),
    )
    playbook = load(path, overrides, runtime, _recorded_environment(started.get("environment"), runtime))
    previous = _previous_run(run_id, events)
    return run_playbook(
        playbook,
        request,
        runtime,
        listener,
        confirm,
        options=RunOptions(playbook_sha256=sha, previous=previous, other_cluster=other_cluster),
    )


def _restore_overrides(recorded: Mapping[str, Any], runtime: Runtime, run_id: str) -> dict[str, str]:
    """The run's --set values; secret ones were never journaled and must come from DRKIT_SET_<NAME> again."""
    restored: dict[str, str] = {}
    for name, value in recorded.items():
        if value != REDACTED:
            restored[name] = str(value)
            continue
        env_names = (f"DRKIT_SET_{name}", f"DRKIT_SET_{name.upper()}")
        found = next((runtime.env[n] for n in env_names if n in runtime.env), None)
        if found is None:
            raise UsageError(
                f"run {run_id} was started with a secret override `--set {name}=...`, which was not recorded",
                hint=f"provide it again in the environment: DRKIT_SET_{name}=... drkit resume {run_id}",
            )
        restored[name] = found
    return restored


def _recorded_environment(recorded: object, runtime: Runtime) -> dict[str, str]:
    """The environment as the run's variables saw it when it started (the values recorded then, unset ones
    removed), so a resume in another shell acts on the same MLflow; what was not recorded is read again."""
    env = dict(runtime.env)
    for name, value in (recorded if isinstance(recorded, Mapping) else {}).items():
        if value is None:
            env.pop(str(name), None)
        else:
            env[str(name)] = str(value)
    return env


def attempts_in(events: list[dict[str, Any]]) -> tuple[AttemptReport, ...]:
    """Each attempt the journal saw: a `run-started`, ended by `run-finished` or `interrupted` (or by
    nothing, when drkit died)."""
    attempts: list[AttemptReport] = []
    for event in events:
        kind, at = event.get("event"), _event_time(event)
        if kind == "run-started" and at is not None:
            attempts.append(AttemptReport(started_at=at, finished_at=None, outcome=None))
        elif kind in ("run-finished", "interrupted") and attempts and attempts[-1].outcome is None:
            outcome = Outcome.INTERRUPTED if kind == "interrupted" else Outcome(str(event.get("outcome")))
            signal = event.get("signal") if kind == "interrupted" else None
            attempts[-1] = replace(attempts[-1], finished_at=at, outcome=outcome, signal=signal)
    return tuple(attempts)


def _previous_run(run_id: str, events: list[dict[str, Any]]) -> PreviousRun:
    finished: dict[tuple[str, str], StepReport] = {}
    executed = 0.0
    for event in events:
        if event.get("event") != "step-finished" or not isinstance(event.get("step"), dict):
            continue
        step = StepReport.from_json(event["step"], STEP_RESULTS)
        finished[(step.phase, step.name)] = step
        counted = step.phase != FINALLY_PHASE  # finally steps are never part of the RTO
        if counted and not step.previous_attempt and step.status in (StepState.SUCCEEDED, StepState.FAILED):
            executed += step.duration
    # Where the run goes on: where its latest attempt was (a resume told `--other-cluster` moved it there).
    clusters = [e.get("cluster") for e in events if e.get("event") == "run-started"]
    return PreviousRun(
        run_id=run_id,
        finished=finished,
        executed_seconds=executed,
        attempts=attempts_in(events),
        cluster=ClusterRef.from_json(clusters[-1]) if clusters else None,
    )


def list_runs(runtime: Runtime, limit: int = 20) -> list[RunSummary]:
    """The most recent runs, newest first."""
    summaries: list[RunSummary] = []
    for run_id in recorded_run_ids(runtime.state_dir)[:limit]:
        paths = RunPaths(run_dir(runtime.state_dir, run_id))
        if paths.report.is_file():
            try:
                report = read_report(paths.report, STEP_RESULTS)
            except (OSError, ValueError, KeyError):
                report = None
            if report is not None:
                summaries.append(
                    RunSummary(
                        run_id=run_id,
                        playbook=report.playbook_name,
                        mode=report.mode,
                        outcome=str(report.outcome),
                        started_at=report.first_started_at,
                        duration=report.elapsed,
                    )
                )
                continue
        events = read_journal(paths.journal)
        started = next((e for e in events if e.get("event") == "run-started"), {})
        summaries.append(
            RunSummary(
                run_id=run_id,
                playbook=str(started.get("playbookName", "?")),
                mode=str(started.get("mode", "?")),
                outcome="incomplete",
                started_at=started.get("at"),
                duration=None,
            )
        )
    return summaries


def regenerate_reports(run_id: str, runtime: Runtime) -> tuple[RunReport, tuple[Path, ...]]:
    """Write a recorded run's report files again with this drkit's renderers, from what the run recorded
    (report.json, else its journal); report.json itself only for a finished run (it marks one)."""
    paths = RunPaths(existing_run_dir(runtime.state_dir, run_id))
    report = show_run(run_id, runtime)
    finished, earlier = paths.report.is_file(), earlier_runs(runtime.state_dir, report)
    return report, write_run_reports(report, paths.directory, finished=finished, earlier=earlier)


def show_run(run_id: str, runtime: Runtime) -> RunReport:
    """The report of a recorded run (rebuilt from its journal when drkit died before writing one)."""
    paths = RunPaths(existing_run_dir(runtime.state_dir, run_id))
    if paths.report.is_file():
        return read_report(paths.report, STEP_RESULTS)
    events = read_journal(paths.journal)
    started = next((e for e in events if e.get("event") == "run-started"), {})
    previous = _previous_run(run_id, events)
    phases: dict[str, list[StepReport]] = {}
    for step in previous.finished.values():
        phases.setdefault(step.phase, []).append(step)
    final = tuple(phases.pop(FINALLY_PHASE, ()))
    so_far = _recovery_so_far(events)
    return RunReport(
        run_id=run_id,
        playbook_name=str(started.get("playbookName", "")),
        playbook_path=str(started.get("playbook", "")),
        mode=RunMode(started.get("mode", RunMode.DRILL)),
        outcome=Outcome.RUNNING,
        phases=tuple(PhaseReport(name=name, steps=tuple(steps)) for name, steps in phases.items()),
        rto_measured=so_far,
        rto_basis=RtoBasis.WALL_CLOCK,
        elapsed=so_far,
        step_time=previous.executed_seconds,
        started_at=previous.attempts[-1].started_at if previous.attempts else None,
        first_started_at=started.get("at"),
        attempts=previous.attempts,
        cluster=previous.cluster,
        message="the run did not finish (drkit was stopped); `drkit resume` continues it",
        finally_steps=final,
    )


def _recovery_so_far(events: list[dict[str, Any]]) -> float:
    """Judged as a finished run's report is: wall clock from the first start to the last event recorded, or to
    where the last attempt's `finally:` steps began (they are not recovery)."""
    times = [at for at in map(_event_time, events) if at is not None]
    if not times:
        return 0.0
    starts = [i for i, e in enumerate(events) if e.get("event") == "run-started"]
    finally_began = [
        _event_time(e)
        for e in events[starts[-1] if starts else 0 :]
        if e.get("event") == "step-started" and e.get("phase") == FINALLY_PHASE
    ]
    end = finally_began[0] if finally_began and finally_began[0] is not None else times[-1]
    return max(0.0, end - times[0])


def _event_time(event: Mapping[str, Any]) -> float | None:
    at = event.get("at")
    return float(at) if isinstance(at, int | float) else None
