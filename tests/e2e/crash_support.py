"""Crashing a real `drkit` run on purpose and resuming it: the crash suite of tests/e2e/test_playbooks.py
(docs/reliability.md, "Crashes and interruption").

`run_with_crashes` starts a drill as a real process and, for each CrashPoint in turn, waits for the event the
point names (a journal line of the running attempt, a Model being deleted, a Running Workflow of this run)
by polling it with a deadline, sends the point's signal (SIGKILL, or SIGINT for a Ctrl-C), checks how the
process ended, and starts `drkit resume RUN_ID`; after the last point the resume runs to the end. Nothing
sleeps to synchronise: the short waits between polls only pace the looking at another process.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers import as_in_a_terminal, subprocess_env
from playbooks_support import PIPELINES_NS, Platform, shows_finished, steps

from drkit.steps.pipeline import RUN_ID_LABEL, STEP_LABEL

POINT_DEADLINE = 180.0  # seconds for a run to reach a crash point (a pipeline trains for ~10 s)
FINISH_DEADLINE = 300.0  # seconds for the last resume to finish the drill
POLL = 0.02


class Attempt:
    """One `drkit` process driving the run, and what the journal shows of it (the events it wrote)."""

    def __init__(self, workdir: Path, args: Sequence[str], skip: int) -> None:
        self.workdir = workdir
        self.skip = skip  # journal events written by earlier attempts
        logs = workdir / "attempts"
        logs.mkdir(exist_ok=True)
        number = len(list(logs.glob("*.out")))
        self.out, self.err = logs / f"{number}.out", logs / f"{number}.err"
        # Output to files: a pipe nobody reads while the drill runs would fill up and stall it.
        with self.out.open("wb") as stdout, self.err.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "drkit", *args, "-o", "json"],
                cwd=workdir,
                env=subprocess_env({"DRKIT_HOME": str(workdir / ".drkit")}),
                stdout=stdout,
                stderr=stderr,
                preexec_fn=as_in_a_terminal,  # noqa: PLW1509 (point 9 is a Ctrl-C)
            )

    def events(self) -> list[dict[str, Any]]:
        journal = find_journal(self.workdir)
        return [] if journal is None else read_events(journal)[self.skip :]

    def started_step(self, phase: str, step: str) -> bool:
        return any(
            e["event"] == "step-started" and (e.get("phase"), e.get("name")) == (phase, step)
            for e in self.events()
        )

    def finished_step(self, phase: str, step: str) -> bool:
        return shows_finished(self.events(), phase, step)

    def run_id(self) -> str:
        journal = find_journal(self.workdir)
        assert journal is not None, self.output()
        return journal.parent.name

    def output(self) -> str:
        return f"stdout:\n{self.out.read_text()[-4000:]}\nstderr:\n{self.err.read_text()[-4000:]}"


Reached = Callable[[Attempt, Platform], bool]


@dataclass(frozen=True)
class CrashPoint:
    phase: str
    where: str  # what the suite waits for, in words (the table in docs/reliability.md)
    reached: Reached
    signal: signal.Signals = signal.SIGKILL


def started(phase: str, step: str) -> Reached:
    return lambda attempt, _: attempt.started_step(phase, step)


def finished(phase: str, step: str) -> Reached:
    return lambda attempt, _: attempt.finished_step(phase, step)


def model_deleting(name: str) -> Reached:
    """A Model of the first delete wave marked for deletion (its finalizer holds it while Seldon's scheduler
    is down): the later waves, the namespaces last, are still to be deleted."""

    def reached(attempt: Attempt, platform: Platform) -> bool:
        if not attempt.started_step("teardown", "delete-platform"):
            return False
        found = platform.model(name)
        return found is not None and bool(found["metadata"].get("deletionTimestamp"))

    return reached


def recreated(namespace: str) -> Reached:
    def reached(attempt: Attempt, platform: Platform) -> bool:
        if not attempt.started_step("rebuild", "apply-base"):
            return False
        found = platform.cluster.get("v1", "Namespace", namespace)
        return found is not None and not found["metadata"].get("deletionTimestamp")

    return reached


def workflow_running(step: str) -> Reached:
    def reached(attempt: Attempt, platform: Platform) -> bool:
        if not attempt.started_step("pipelines", step):
            return False
        mine = f"{STEP_LABEL}=pipelines.{step},{RUN_ID_LABEL}={attempt.run_id()}"
        return any((w.get("status") or {}).get("phase") == "Running" for w in platform.workflows(mine))

    return reached


INTERRUPTED_STEP = ("pipelines", "train-baseline")
CRASH_POINTS = (
    CrashPoint("snapshot", "step-started golden-predictions", started("snapshot", "golden-predictions")),
    CrashPoint("snapshot", "step-started platform-inventory", started("snapshot", "platform-inventory")),
    CrashPoint(
        "teardown", "delete-platform: Model baseline-predictor deleting", model_deleting("baseline-predictor")
    ),
    CrashPoint("teardown", "step-started unstick-finalizers", started("teardown", "unstick-finalizers")),
    CrashPoint("rebuild", f"apply-base: namespace {PIPELINES_NS} back", recreated(PIPELINES_NS)),
    CrashPoint("rebuild", "step-started platform-secrets", started("rebuild", "platform-secrets")),
    CrashPoint(
        "rebuild", "step-finished serving-infrastructure", finished("rebuild", "serving-infrastructure")
    ),
    CrashPoint("pipelines", "data-pipeline: its Workflow Running", workflow_running("data-pipeline")),
    CrashPoint(
        "pipelines", "train-baseline: its Workflow Running", workflow_running("train-baseline"), signal.SIGINT
    ),
    CrashPoint("pipelines", "train-enhanced: its Workflow Running", workflow_running("train-enhanced")),
    CrashPoint("deploy", "step-finished model-uris (manifests rewritten)", finished("deploy", "model-uris")),
    CrashPoint("deploy", "step-started deploy-models", started("deploy", "deploy-models")),
    CrashPoint(
        "validate", "step-started infrastructure-health", started("validate", "infrastructure-health")
    ),
    CrashPoint("validate", "step-started reproduction-diff", started("validate", "reproduction-diff")),
)


@dataclass
class CrashedRun:
    run_id: str
    report: dict[str, Any]  # the last attempt's JSON report
    journal: Path
    died_at: list[str] = field(default_factory=list)  # per point: the last journal event before the signal
    seconds: float = 0.0


def run_with_crashes(
    platform: Platform, workdir: Path, args: Sequence[str], points: Sequence[CrashPoint] = CRASH_POINTS
) -> CrashedRun:
    """Run `drkit ARGS` in workdir (its own .drkit/runs), crashed at each point and resumed (module doc)."""
    began = time.monotonic()
    attempt = Attempt(workdir, args, skip=0)
    died_at = []
    for number, point in enumerate(points, start=1):
        _wait_for(point, attempt, platform)
        attempt.process.send_signal(point.signal)
        code = attempt.process.wait(timeout=60)
        events = attempt.events()
        assert events, attempt.output()
        last = events[-1]
        assert last["event"] != "run-finished", (
            f"point {number} ({point.where}): the run had already finished"
        )
        if point.signal is signal.SIGKILL:
            assert code == -signal.SIGKILL, attempt.output()
        else:
            _assert_interrupted(attempt, code)
        died_at.append(f"{last['event']} {_what(last)}")
        run_id = attempt.run_id()
        journal = find_journal(workdir)
        assert journal is not None
        attempt = Attempt(workdir, ["resume", run_id, "--yes"], skip=len(read_events(journal)))
    code = attempt.process.wait(timeout=FINISH_DEADLINE)
    assert code == 0, attempt.output()
    journal = find_journal(workdir)
    assert journal is not None
    report = json.loads(attempt.out.read_text())
    return CrashedRun(report["runId"], report, journal, died_at, time.monotonic() - began)


def find_journal(workdir: Path) -> Path | None:
    found = list((workdir / ".drkit" / "runs").glob("*/journal.jsonl"))
    assert len(found) <= 1, f"more than one run in {workdir}: {found}"
    return found[0] if found else None


def read_events(journal: Path) -> list[dict[str, Any]]:
    """The journal's whole events, read while another process writes it (a line being written is skipped)."""
    events = []
    for line in journal.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


def _wait_for(point: CrashPoint, attempt: Attempt, platform: Platform) -> None:
    deadline = time.monotonic() + POINT_DEADLINE
    while not point.reached(attempt, platform):
        code = attempt.process.poll()
        if code is not None:
            raise AssertionError(f"drkit exited ({code}) before {point.where}\n{attempt.output()}")
        if time.monotonic() > deadline:
            attempt.process.kill()
            raise AssertionError(
                f"not reached within {POINT_DEADLINE:.0f}s: {point.where}\n{attempt.output()}"
            )
        time.sleep(POLL)  # paces the polling of another process; not a synchronisation


def _assert_interrupted(attempt: Attempt, code: int) -> None:
    """Ctrl-C: exit 130; the journal and the report say where; the message says how to go on."""
    assert code == 130, attempt.output()
    phase, step = INTERRUPTED_STEP
    last = attempt.events()[-1]
    assert (last["event"], last["phase"], last["step"]) == ("interrupted", phase, step), last
    journal = find_journal(attempt.workdir)
    assert journal is not None
    report = json.loads((journal.parent / "report.json").read_text(encoding="utf-8"))
    assert report["outcome"] == "interrupted"
    assert report["message"] == f"interrupted during step {phase}/{step}"
    by_step = steps(report)
    assert by_step[f"{phase}/{step}"]["status"] == "failed"
    assert by_step[f"{phase}/{step}"]["message"] == "interrupted (Ctrl-C)"
    assert by_step["pipelines/train-enhanced"]["status"] == "not-run"
    assert f"drkit resume {attempt.run_id()}" in attempt.err.read_text()


def _what(event: dict[str, Any]) -> str:
    if isinstance(event.get("step"), dict):
        return f"{event['step']['phase']}/{event['step']['name']}"
    return "/".join(str(event[k]) for k in ("phase", "name", "step") if event.get(k))
