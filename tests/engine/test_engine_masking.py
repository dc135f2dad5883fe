"""Secrets never reach what a run prints or records: the console listener, report.json, report.md, junit.xml
and the journal, whether a command printed them, a step's message quoted them, or the run learnt them only
halfway (as when a step reads a Secret)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from pathlib import Path

from engine_kinds import SCRIPT_SCHEMA, TEST_STEP_KINDS, RecordingListener
from helpers import WritePlaybook, run_drkit

from drkit.context import Runtime
from drkit.engine.playbook_run import RunOptions, run_playbook
from drkit.engine.request import RunMode, RunRequest
from drkit.playbook.fields import Field, KindSchema, Obj, Str
from drkit.playbook.loader import load_playbook
from drkit.playbook.model import StepSpec
from drkit.report.model import RunReport
from drkit.steps.base import StepContext, StepKind, StepPlan, StepResult, StepStatus
from drkit.steps.registry import PROBE_KINDS, probe_schemas, step_schemas

PASSWORD = "mlflow-pw-6c1f0e"
LEARNT = "learnt-halfway-9a7b3c"
VAR_SECRET = "var-secret-2d4e8f"

LEARN_SCHEMA = KindSchema(
    kind="learn",
    description="test step: registers a secret, as a step reading a Secret does",
    body=Obj(fields={"value": Field(Str())}),
)


class LearnStep:
    def __init__(self, spec: StepSpec) -> None:
        body = spec.body if isinstance(spec.body, Mapping) else {}
        self.value = str(body.get("value", ""))

    def plan(self, ctx: StepContext) -> StepPlan:
        return StepPlan(summary="would read a Secret")

    def run(self, ctx: StepContext) -> StepResult:
        ctx.runtime.secrets.add_secret_object(
            {"apiVersion": "v1", "kind": "Secret", "stringData": {"token": self.value}}
        )
        return StepResult(StepStatus.SUCCEEDED, "read a Secret")


PLAYBOOK = f"""
apiVersion: drkit.io/v1
kind: Playbook
metadata: {{name: leaky}}
vars: {{db_password: {VAR_SECRET}}}
phases:
  - name: one
    steps:
      - name: early
        script: {{say: "the token will be {LEARNT}"}}
      - name: echo
        command: {{run: 'echo "password=$MLFLOW_TRACKING_PASSWORD var=${{db_password}}"'}}
      - name: read-secret
        learn: {{value: {LEARNT}}}
      - name: late
        script: {{say: "the token is {LEARNT}"}}
      - name: fail-with-it
        command: {{run: 'echo "$MLFLOW_TRACKING_PASSWORD {LEARNT}"; exit 3'}}
        continueOnError: true
"""


def _run(path: Path, runtime: Runtime, listener: RecordingListener) -> RunReport:
    playbook = load_playbook(
        path,
        step_kinds={**step_schemas(), "script": SCRIPT_SCHEMA, "learn": LEARN_SCHEMA},
        check_kinds=probe_schemas(),
    )
    kinds = {**TEST_STEP_KINDS, "learn": StepKind(schema=LEARN_SCHEMA, build=LearnStep, default_timeout=60.0)}
    return run_playbook(
        playbook,
        RunRequest(playbook_path=path, mode=RunMode.DRILL, assume_yes=True),
        runtime,
        listener,
        None,
        options=RunOptions(
            step_kinds=kinds,
            probe_kinds=PROBE_KINDS,
            playbook_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        ),
    )


def _recorded(runtime: Runtime) -> dict[str, str]:
    (directory,) = (runtime.state_dir / "runs").iterdir()
    return {p.name: p.read_text(encoding="utf-8") for p in directory.iterdir() if p.is_file()}


def test_a_command_echoing_the_password_and_a_secret_learnt_halfway_leave_no_trace(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    runtime = dataclasses.replace(runtime, env={**runtime.env, "MLFLOW_TRACKING_PASSWORD": PASSWORD})
    listener = RecordingListener()

    report = _run(write_playbook(PLAYBOOK), runtime, listener)

    steps = {s.name: s for s in report.steps}
    # The values really were printed: the command's output is there, masked where they stood.
    assert steps["echo"].details["outputTail"] == ["password=**** var=****"]
    assert steps["late"].message == "the token is ****"
    assert steps["fail-with-it"].status.value == "failed"
    assert steps["fail-with-it"].message.endswith("exited with 3 (expected 0): **** ****")
    # Learnt after `early` finished, but report files are masked as a whole at the end of the run.
    assert steps["early"].message == "the token will be ****"
    files = _recorded(runtime)
    assert set(files) >= {"journal.jsonl", "report.json", "report.md", "report.html", "junit.xml"}
    for name, text in files.items():
        assert PASSWORD not in text, name
        assert VAR_SECRET not in text, name
        # metrics.prom holds figures under names and no message, so no value was there to mask.
        assert "****" in text or name == "metrics.prom", name
    for name in ("report.json", "report.md", "report.html", "junit.xml", "metrics.prom"):
        assert LEARNT not in files[name], name
    # The journal is append-only: only what was written before the run knew the value can hold it.
    leaking = [line for line in files["journal.jsonl"].splitlines() if LEARNT in line]
    assert all('"name":"early"' in line for line in leaking), leaking
    shown = repr(listener.events)
    assert PASSWORD not in shown
    assert VAR_SECRET not in shown


def test_the_cli_boundary_masks_errors_with_the_environments_secrets(tmp_path: Path) -> None:
    missing = tmp_path / f"playbook-{PASSWORD}.yaml"

    result = run_drkit("validate", str(missing), cwd=tmp_path, env={"MLFLOW_TRACKING_PASSWORD": PASSWORD})

    assert result.exit_code == 2
    assert "playbook-****.yaml" in result.stderr
    assert PASSWORD not in result.stderr + result.stdout
