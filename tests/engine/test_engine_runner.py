"""The engine's run loop: order, selection, confirmation, retries, failures, budgets, RTO, journal, report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from engine_kinds import RecordingListener, run
from helpers import FakeClock, WritePlaybook

from drkit.context import Runtime
from drkit.engine.journal import read_journal
from drkit.engine.request import RunMode
from drkit.engine.run_errors import RunInterrupted
from drkit.engine.runs import existing_run_dir
from drkit.errors import InternalError, PlaybookError, RefusedError, UsageError
from drkit.report.model import Outcome, RtoBasis, StepState

THREE_PHASES = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: three}
phases:
  - name: teardown
    drillOnly: true
    steps:
      - name: delete
        script: {}
  - name: rebuild
    budget: 10s
    steps:
      - name: apply
        script: {takes: 2s}
      - name: secrets
        script: {takes: 1s}
  - name: validate
    steps:
      - name: probe
        script: {}
"""


def run_dirs(runtime: Runtime) -> list[Path]:
    base = runtime.state_dir / "runs"
    return sorted(base.iterdir()) if base.is_dir() else []


def test_phases_and_steps_run_in_order_and_are_journaled(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    listener = RecordingListener()
    report = run(write_playbook(THREE_PHASES), runtime, listener=listener)

    assert report.outcome is Outcome.SUCCEEDED
    assert [s.path for s in report.steps] == [
        "teardown/delete",
        "rebuild/apply",
        "rebuild/secrets",
        "validate/probe",
    ]
    assert all(s.status is StepState.SUCCEEDED and s.attempts == 1 for s in report.steps)
    started = [e for name, e in listener.events if name == "step-started"]
    assert started == ["teardown/delete", "rebuild/apply", "rebuild/secrets", "validate/probe"]
    assert report.phases[1].duration == pytest.approx(3.0)

    (directory,) = run_dirs(runtime)
    assert directory.name == report.run_id
    events = read_journal(directory / "journal.jsonl")
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run-started"
    assert kinds[-1] == "run-finished"
    assert kinds.count("step-started") == kinds.count("step-finished") == 4
    assert kinds.count("phase-finished") == 3
    assert events[0]["mode"] == "drill"
    assert events[-1]["outcome"] == "succeeded"
    saved = json.loads((directory / "report.json").read_text())
    assert saved["schemaVersion"] == 2
    assert saved["runId"] == report.run_id
    assert saved["phases"][1]["steps"][0]["duration"] == pytest.approx(2.0)


def test_run_id_has_the_documented_shape(write_playbook: WritePlaybook, runtime: Runtime) -> None:
    report = run(write_playbook(THREE_PHASES), runtime)
    assert report.run_id is not None
    date, time, suffix = report.run_id.split("-")
    assert (date, time) == ("20260101", "001640")  # the fake wall clock: epoch of 2026-01-01 plus 1000s
    assert re.fullmatch("[0-9a-f]{4}", suffix)  # lowercase hex, as `drkit report ID` and `runs list` expect
    assert existing_run_dir(runtime.state_dir, report.run_id).name == report.run_id


def test_from_phase_skips_earlier_phases(write_playbook: WritePlaybook, runtime: Runtime) -> None:
    report = run(write_playbook(THREE_PHASES), runtime, from_phase="rebuild")
    states = {s.path: s.status for s in report.steps}
    assert states["teardown/delete"] is StepState.SKIPPED
    assert states["rebuild/apply"] is StepState.SUCCEEDED
    assert states["validate/probe"] is StepState.SUCCEEDED
    assert "before --from-phase rebuild" in report.steps[0].message


def test_only_phase_runs_one_phase(write_playbook: WritePlaybook, runtime: Runtime) -> None:
    report = run(write_playbook(THREE_PHASES), runtime, only_phase="rebuild")
    assert [s.path for s in report.steps if s.status is StepState.SUCCEEDED] == [
        "rebuild/apply",
        "rebuild/secrets",
    ]


def test_unknown_phase_is_a_usage_error_with_the_closest_name(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    with pytest.raises(UsageError) as caught:
        run(write_playbook(THREE_PHASES), runtime, from_phase="rebiuld")
    assert "rebiuld" in caught.value.message
    assert caught.value.hint is not None
    assert "'rebuild'" in caught.value.hint
    assert run_dirs(runtime) == []


def test_recover_skips_drill_only_phases_and_needs_no_confirmation(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    report = run(write_playbook(THREE_PHASES), runtime, RunMode.RECOVER, assume_yes=False, confirm=None)
    assert report.outcome is Outcome.SUCCEEDED
    assert report.steps[0].status is StepState.SKIPPED
    assert "drill-only" in report.steps[0].message
    assert report.phases[0].status is StepState.SKIPPED


def test_drill_with_a_drill_only_phase_is_refused_without_a_terminal(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    listener = RecordingListener()
    with pytest.raises(RefusedError) as caught:
        run(write_playbook(THREE_PHASES), runtime, assume_yes=False, confirm=None, listener=listener)
    assert "--yes" in (caught.value.hint or "")
    assert listener.names() == ["plan"]  # the plan was shown, nothing ran
    assert run_dirs(runtime) == []


def test_declined_confirmation_runs_nothing_and_accepted_runs(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    questions: list[str] = []

    def decline(question: str) -> bool:
        questions.append(question)
        return False

    with pytest.raises(RefusedError):
        run(write_playbook(THREE_PHASES), runtime, assume_yes=False, confirm=decline)
    assert len(questions) == 1
    assert "three" in questions[0]
    assert run_dirs(runtime) == []

    report = run(write_playbook(THREE_PHASES), runtime, assume_yes=False, confirm=lambda q: True)
    assert report.outcome is Outcome.SUCCEEDED


def test_a_destructive_step_needs_confirmation_even_in_recover(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    path = write_playbook(
        """
        apiVersion: drkit.io/v1
        kind: Playbook
        metadata: {name: wipe}
        phases:
          - name: rebuild
            steps:
              - script: {destructive: true}
        """
    )
    with pytest.raises(RefusedError):
        run(path, runtime, RunMode.RECOVER, assume_yes=False, confirm=None)


def test_retries_wait_per_policy_then_succeed(
    write_playbook: WritePlaybook, runtime: Runtime, clock: FakeClock
) -> None:
    path = write_playbook(
        """
        apiVersion: drkit.io/v1
        kind: Playbook
        metadata: {name: flaky}
        phases:
          - name: p
            steps:
              - name: flaky
                script: {outcomes: [fail, error, ok]}
                retries: {count: 3, delay: 2s, backoff: 3}
        """
    )
    listener = RecordingListener()
    report = run(path, runtime, listener=listener)
    (step,) = report.steps
    assert step.status is StepState.SUCCEEDED
    assert step.attempts == 3
    assert clock.sleeps == [2.0, 6.0]
    assert step.duration == pytest.approx(8.0)
    progress = [text for name, text in listener.events if name == "progress"]
    assert any("attempt 1 failed" in str(t) and "retrying in 2s" in str(t) for t in progress)


FAILING = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: failing}
phases:
  - name: first
    steps:
      - name: ok
        script: {}
      - name: broken
        script: {outcomes: [error]}
        retries: 1
      - name: after
        script: {}
  - name: second
    steps:
      - name: never
        script: {}
"""


def test_a_failed_step_stops_the_run_and_the_rest_is_not_run(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    report = run(write_playbook(FAILING), runtime)
    assert report.outcome is Outcome.FAILED
    states = {s.path: s for s in report.steps}
    broken = states["first/broken"]
    assert broken.status is StepState.FAILED
    assert broken.attempts == 2
    assert broken.message == "the widget is stuck"
    assert broken.hint == "unstick the widget"
    for path in ("first/after", "second/never"):
        assert states[path].status is StepState.NOT_RUN
        assert states[path].message == "not run: step first/broken failed"
    assert "first/broken" in report.message


HEALTH = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: health}
phases:
  - name: p
    steps: [{script: {}}]
checklists:
  storage:
    timeout: 1s
    items:
      - {name: bucket, command: {run: "exit 3"}}
      - {name: quota, command: {run: "exit 4"}}
  network:
    timeout: 1s
    items: [{name: dns, command: {run: "true"}}]
  serving:
    timeout: 1s
    items: [{name: model, command: {run: "exit 5"}}]
"""


def test_a_health_check_evaluates_every_checklist_and_reports_every_failure(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    report = run(write_playbook(HEALTH), runtime, RunMode.CHECK)
    assert report.outcome is Outcome.FAILED
    states = {s.name: s for s in report.steps}
    assert [states[n].status for n in ("storage", "network", "serving")] == [
        StepState.FAILED,
        StepState.SUCCEEDED,
        StepState.FAILED,
    ]
    assert [(i.name, i.passed) for i in states["storage"].checklist_items] == [
        ("bucket", False),
        ("quota", False),
    ]
    assert report.message.startswith("2 steps failed: check/storage: ")
    assert "check/serving: 1 of 1 items of 'serving' still failing" in report.message


def test_continue_on_error_tolerates_a_failure(write_playbook: WritePlaybook, runtime: Runtime) -> None:
    path = write_playbook(FAILING.replace("retries: 1", "continueOnError: true"))
    report = run(path, runtime)
    assert report.outcome is Outcome.SUCCEEDED
    states = {s.path: s for s in report.steps}
    assert states["first/broken"].status is StepState.FAILED
    assert states["first/broken"].tolerated
    assert states["first/broken"].label == "failed (tolerated)"
    assert states["second/never"].status is StepState.SUCCEEDED


def test_phase_over_budget_is_flagged_but_does_not_fail(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    path = write_playbook(THREE_PHASES.replace("budget: 10s", "budget: 2500ms"))
    report = run(path, runtime)
    assert report.outcome is Outcome.SUCCEEDED
    assert report.over_budget_phases == ("rebuild",)
    assert report.to_json()["overBudgetPhases"] == ["rebuild"]


def test_over_rto_when_everything_passed_too_late(write_playbook: WritePlaybook, runtime: Runtime) -> None:
    path = write_playbook(THREE_PHASES.replace("phases:\n", "rto: 2s\nphases:\n", 1))
    report = run(path, runtime)
    assert report.outcome is Outcome.OVER_RTO
    assert report.rto == 2.0
    assert report.rto_measured == pytest.approx(3.0)
    assert report.rto_basis is RtoBasis.WALL_CLOCK
    assert "over the RTO" in report.message


def test_phases_not_selected_add_no_time_to_the_rto(write_playbook: WritePlaybook, runtime: Runtime) -> None:
    path = write_playbook(THREE_PHASES.replace("phases:\n", "rto: 2s\nphases:\n", 1))
    report = run(path, runtime, only_phase="validate")
    assert report.outcome is Outcome.SUCCEEDED
    assert report.rto_measured == 0.0


def test_an_unexpected_exception_is_recorded_then_raised_as_internal(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    path = write_playbook(FAILING.replace("outcomes: [error]", "outcomes: [crash]"))
    with pytest.raises(InternalError) as caught:
        run(path, runtime)
    assert "first/broken" in caught.value.message
    assert "RuntimeError" in caught.value.message
    (directory,) = run_dirs(runtime)
    saved = json.loads((directory / "report.json").read_text())
    assert saved["outcome"] == "failed"
    finished = [e for e in read_journal(directory / "journal.jsonl") if e["event"] == "step-finished"]
    assert finished[-1]["step"]["name"] == "broken"
    assert finished[-1]["step"]["status"] == "failed"


def test_ctrl_c_writes_the_journal_and_report_then_raises_interrupted(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    path = write_playbook(FAILING.replace("outcomes: [error]", "outcomes: [interrupt]"))
    with pytest.raises(RunInterrupted) as caught:
        run(path, runtime)
    assert caught.value.exit_code == 130
    assert "drkit resume" in (caught.value.hint or "")
    (directory,) = run_dirs(runtime)
    events = read_journal(directory / "journal.jsonl")
    assert events[-1]["event"] == "interrupted"
    assert events[-1]["step"] == "broken"
    saved = json.loads((directory / "report.json").read_text())
    assert saved["outcome"] == "interrupted"
    (attempt,) = saved["attempts"]
    assert (attempt["outcome"], attempt["signal"]) == ("interrupted", "SIGINT")
    assert attempt["startedAt"] == events[0]["at"]
    assert not (directory / "lock").exists()


def test_secret_values_never_reach_journal_or_report(write_playbook: WritePlaybook, runtime: Runtime) -> None:
    path = write_playbook(
        """
        apiVersion: drkit.io/v1
        kind: Playbook
        metadata: {name: secretive}
        vars: {db_password: placeholder, region: eu}
        phases:
          - name: p
            steps:
              - script: {say: "logged in with ${db_password} in ${region}"}
        """
    )
    report = run(path, runtime, overrides={"db_password": "hunter2-hunter2", "region": "us"})
    assert report.steps[0].message == "logged in with **** in us"
    (directory,) = run_dirs(runtime)
    for name in ("journal.jsonl", "report.json"):
        text = (directory / name).read_text()
        assert "hunter2" not in text
    started = read_journal(directory / "journal.jsonl")[0]
    assert started["overrides"] == {"db_password": "<redacted>", "region": "us"}


def test_plan_mode_calls_plans_and_writes_nothing(write_playbook: WritePlaybook, runtime: Runtime) -> None:
    report = run(write_playbook(THREE_PHASES), runtime, RunMode.PLAN, assume_yes=False)
    assert report.outcome is Outcome.PLANNED
    assert report.run_id is None
    assert {s.status for s in report.steps} == {StepState.PLANNED}
    assert report.steps[0].message == "would play ['ok']"
    assert not runtime.state_dir.exists()


def test_step_settings_errors_are_playbook_errors_at_the_step(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    path = write_playbook(
        """
        apiVersion: drkit.io/v1
        kind: Playbook
        metadata: {name: badregex}
        phases:
          - name: p
            steps:
              - name: grep
                command: {run: "true", successPattern: "(unclosed"}
        """
    )
    with pytest.raises(PlaybookError) as caught:
        run(path, runtime)
    (problem,) = caught.value.problems
    assert str(problem.position).startswith(f"{path}:7:")  # type: ignore[attr-defined]
    assert "successPattern" in problem.message  # type: ignore[attr-defined]
    assert run_dirs(runtime) == []
