"""The engine attaches each step's typed result, read by its kind's reader from the masked details: the live
view, the report files and a report read back from report.json all render the same lines, and none of them
a secret the details held."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from engine_kinds import RecordingListener
from helpers import WritePlaybook

from drkit.context import Runtime
from drkit.engine.playbook_run import RunOptions, run_playbook
from drkit.engine.request import RunMode, RunRequest
from drkit.playbook.fields import Field, KindSchema, Obj, Str
from drkit.playbook.loader import load_playbook
from drkit.playbook.model import StepSpec
from drkit.report.highlights import step_highlights
from drkit.report.json_report import read_report
from drkit.report.model import StepReport
from drkit.report.results import Highlight, StepSummary
from drkit.steps.base import StepContext, StepKind, StepPlan, StepResult, StepStatus
from drkit.steps.registry import PROBE_KINDS, STEP_KINDS, step_schemas

PASSWORD = "db-pw-51c9e2"

NOTE_SCHEMA = KindSchema(
    kind="note", description="test step: says its text", body=Obj({"text": Field(Str())})
)


class NoteStep:
    def __init__(self, spec: StepSpec) -> None:
        self.text = str(spec.body.get("text", "")) if isinstance(spec.body, Mapping) else ""

    def plan(self, ctx: StepContext) -> StepPlan:
        return StepPlan(summary="would say something")

    def run(self, ctx: StepContext) -> StepResult:
        return StepResult(StepStatus.SUCCEEDED, "said it", {"said": [self.text]})


@dataclass(frozen=True)
class Said(StepSummary):
    lines: tuple[str, ...]

    @classmethod
    def from_details(cls, details: Mapping[str, object]) -> Said:
        said = details.get("said")
        return cls(tuple(str(s) for s in said) if isinstance(said, list) else ())

    def highlights(self) -> tuple[Highlight, ...]:
        return (Highlight("said", self.lines),)


NOTE_KIND = StepKind(schema=NOTE_SCHEMA, build=NoteStep, result=Said.from_details)

PLAYBOOK = f"""
apiVersion: drkit.io/v1
kind: Playbook
metadata: {{name: notes}}
vars: {{db_password: {PASSWORD}}}
phases:
  - name: one
    steps:
      - name: say
        note: {{text: "connect with password ${{db_password}}"}}
"""


def test_a_steps_typed_result_is_read_from_its_masked_details_live_and_from_report_json(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    path = write_playbook(PLAYBOOK)
    playbook = load_playbook(path, step_kinds={**step_schemas(), "note": NOTE_SCHEMA}, check_kinds={})
    listener = RecordingListener()
    report = run_playbook(
        playbook,
        RunRequest(playbook_path=path, mode=RunMode.DRILL, assume_yes=True),
        runtime,
        listener,
        None,
        options=RunOptions(
            step_kinds={**STEP_KINDS, "note": NOTE_KIND},
            probe_kinds=PROBE_KINDS,
            playbook_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            sinks=(),
        ),
    )

    expected = (Highlight("said", ("connect with password ****",)),)
    [live] = [
        step for name, step in listener.events if name == "step-finished" and isinstance(step, StepReport)
    ]
    assert step_highlights(live) == expected
    [reported] = report.steps
    assert step_highlights(reported) == expected
    run_dir = runtime.state_dir / "runs" / str(report.run_id)
    [again] = read_report(run_dir / "report.json", {"note": Said.from_details}).steps
    assert step_highlights(again) == expected
    markdown = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "said: connect with password ****" in markdown
    assert PASSWORD not in markdown
