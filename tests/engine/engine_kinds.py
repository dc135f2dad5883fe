"""A scripted step kind for engine tests: each attempt plays the next outcome of its `outcomes` list."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from drkit.context import Runtime
from drkit.engine.afterwards import RunSink
from drkit.engine.listener import NullListener
from drkit.engine.playbook_run import Confirm, RunOptions, run_playbook
from drkit.engine.request import RunMode, RunRequest
from drkit.errors import StepFailure
from drkit.playbook.fields import Bool, Duration, Field, KindSchema, ListOf, Obj, Str
from drkit.playbook.loader import load_playbook
from drkit.playbook.model import Playbook, StepSpec
from drkit.report.model import PhaseReport, RunReport, StepReport
from drkit.steps.base import StepContext, StepKind, StepPlan, StepResult, StepStatus
from drkit.steps.registry import PROBE_KINDS, STEP_KINDS, probe_schemas, step_schemas

OUTCOMES = ("ok", "fail", "error", "crash", "interrupt", "skip")

SCRIPT_SCHEMA = KindSchema(
    kind="script",
    description="test step",
    body=Obj(
        fields={
            "outcomes": Field(ListOf(Str(enum=OUTCOMES)), description="one per attempt; the last repeats"),
            "takes": Field(Duration(), description="fake time each attempt takes"),
            "destructive": Field(Bool()),
            "say": Field(Str(), description="message of a successful attempt"),
        }
    ),
)


class ScriptStep:
    def __init__(self, spec: StepSpec) -> None:
        self.spec = spec
        body = spec.body if isinstance(spec.body, Mapping) else {}
        self.outcomes = list(body.get("outcomes") or ["ok"])
        self.takes = float(body.get("takes") or 0.0)
        self.destructive = bool(body.get("destructive", False))
        self.say = str(body.get("say") or "done")
        self.attempts = 0

    def plan(self, ctx: StepContext) -> StepPlan:
        return StepPlan(summary=f"would play {self.outcomes}", destructive=self.destructive)

    def run(self, ctx: StepContext) -> StepResult:
        outcome = self.outcomes[min(self.attempts, len(self.outcomes) - 1)]
        self.attempts += 1
        if self.takes:
            ctx.runtime.sleep(self.takes)  # the fake clock moves; tests tell these from retry waits
        if outcome == "ok":
            return StepResult(StepStatus.SUCCEEDED, self.say, {"attempt": self.attempts})
        if outcome == "skip":
            return StepResult(StepStatus.SKIPPED, "nothing to do")
        if outcome == "fail":
            return StepResult(StepStatus.FAILED, f"attempt {self.attempts} failed")
        if outcome == "error":
            raise StepFailure("the widget is stuck", hint="unstick the widget")
        if outcome == "crash":
            raise RuntimeError("boom")
        raise KeyboardInterrupt


SCRIPT_KIND = StepKind(schema=SCRIPT_SCHEMA, build=ScriptStep, default_timeout=60.0)
TEST_STEP_KINDS = {**STEP_KINDS, "script": SCRIPT_KIND}


def load(path: Path, overrides: Mapping[str, str] | None = None) -> Playbook:
    return load_playbook(
        path,
        overrides=overrides,
        step_kinds={**step_schemas(), "script": SCRIPT_SCHEMA},
        check_kinds=probe_schemas(),
    )


@dataclass
class RecordingListener(NullListener):
    events: list[tuple[str, object]] = field(default_factory=list)

    def plan_ready(self, plan: RunReport) -> None:
        self.events.append(("plan", plan))

    def run_started(self, overview: RunReport) -> None:
        self.events.append(("run-started", overview))

    def phase_started(self, phase: str) -> None:
        self.events.append(("phase-started", phase))

    def step_started(self, step: StepReport) -> None:
        self.events.append(("step-started", step.path))

    def step_progress(self, text: str) -> None:
        self.events.append(("progress", text))

    def step_finished(self, step: StepReport) -> None:
        self.events.append(("step-finished", step))

    def phase_finished(self, phase: PhaseReport) -> None:
        self.events.append(("phase-finished", phase))

    def run_finished(self, report: RunReport) -> None:
        self.events.append(("run-finished", report))

    def recorded(self, lines: Sequence[str]) -> None:
        self.events.append(("recorded", list(lines)))

    def recorded_lines(self) -> list[str]:
        """What the sinks told the user, in order."""
        return [str(line) for name, lines in self.events if name == "recorded" for line in lines]  # type: ignore[attr-defined]

    def names(self) -> list[str]:
        return [name for name, _ in self.events]


def run(
    path: Path,
    runtime: Runtime,
    mode: RunMode = RunMode.DRILL,
    *,
    listener: RecordingListener | None = None,
    confirm: Confirm | None = None,
    assume_yes: bool = True,
    overrides: Mapping[str, str] | None = None,
    sinks: Sequence[RunSink] | None = (),  # none by default: tests do not write the user's history
    **request_fields: object,
) -> RunReport:
    request = RunRequest(
        playbook_path=path,
        mode=mode,
        overrides=dict(overrides or {}),
        assume_yes=assume_yes,
        **request_fields,  # type: ignore[arg-type]
    )
    return run_playbook(
        load(path, overrides),
        request,
        runtime,
        listener or RecordingListener(),
        confirm,
        options=RunOptions(
            step_kinds=TEST_STEP_KINDS,
            probe_kinds=PROBE_KINDS,
            playbook_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            sinks=sinks,
        ),
    )
