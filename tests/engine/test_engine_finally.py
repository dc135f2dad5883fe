"""The playbook's `finally:` steps: run whatever the phases did, reported apart, and the exit rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_kinds import RecordingListener, run
from helpers import WritePlaybook

from drkit.context import Runtime
from drkit.engine import NullListener, RunMode, resume, show_run
from drkit.engine.journal import read_journal
from drkit.engine.run_errors import RunInterrupted
from drkit.errors import ExitCode, InternalError
from drkit.report.model import Outcome, RunReport, StepState
from drkit.steps.registry import STEP_RESULTS


def playbook(phase_outcome: str, finally_outcome: str, *, second: str = "ok") -> str:
    return f"""
apiVersion: drkit.io/v1
kind: Playbook
metadata: {{name: with-finally}}
rto: 10s
phases:
  - name: rebuild
    budget: 5s
    steps:
      - name: scale-down
        script: {{outcomes: [{phase_outcome}], takes: 4s}}
      - name: after
        script: {{}}
finally:
  - name: scale-up
    script: {{outcomes: [{finally_outcome}], takes: 30s}}
  - name: notify
    script: {{outcomes: [{second}]}}
"""


def _finally_states(report: RunReport) -> list[tuple[str, StepState]]:
    return [(s.path, s.status) for s in report.finally_steps]


def test_finally_steps_run_after_a_failed_phase_and_keep_its_message(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    report = run(write_playbook(playbook("fail", "ok")), runtime)

    assert report.outcome is Outcome.FAILED
    assert report.message == "step rebuild/scale-down failed: attempt 1 failed"
    assert [s.status for s in report.steps] == [StepState.FAILED, StepState.NOT_RUN]
    assert _finally_states(report) == [
        ("finally/scale-up", StepState.SUCCEEDED),
        ("finally/notify", StepState.SUCCEEDED),
    ]


def test_finally_time_counts_in_neither_the_rto_nor_a_phase(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    report = run(write_playbook(playbook("ok", "ok")), runtime)

    # scale-up takes 30s, three times the RTO: the run still recovered in time.
    assert report.outcome is Outcome.SUCCEEDED
    assert report.rto_measured == pytest.approx(4.0)
    assert not report.over_budget_phases
    assert report.finally_steps[0].duration == pytest.approx(30.0)
    assert [p.name for p in report.phases] == ["rebuild"]


def test_a_failing_finally_step_fails_a_run_that_otherwise_succeeded(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    report = run(write_playbook(playbook("ok", "fail")), runtime)

    assert report.outcome is Outcome.FAILED
    assert report.message == "finally step failed: finally/scale-up: attempt 1 failed"
    # One failing finally step does not keep the next one from running.
    assert _finally_states(report)[1] == ("finally/notify", StepState.SUCCEEDED)
    assert all(s.status is StepState.SUCCEEDED for s in report.steps)


def test_a_failing_finally_step_after_a_failed_run_is_added_to_the_original_message(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    report = run(write_playbook(playbook("fail", "error", second="crash")), runtime)

    assert report.outcome is Outcome.FAILED
    assert report.message.startswith("step rebuild/scale-down failed: attempt 1 failed; ")
    assert "finally steps failed: finally/scale-up: the widget is stuck" in report.message
    assert "finally/notify: internal error: RuntimeError: boom" in report.message


def test_an_interrupted_run_runs_its_finally_steps_then_reports_interrupted(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    listener = RecordingListener()
    with pytest.raises(RunInterrupted) as caught:
        run(write_playbook(playbook("interrupt", "ok")), runtime, listener=listener)

    assert caught.value.exit_code == ExitCode.INTERRUPTED
    started = [e for name, e in listener.events if name == "step-started"]
    assert started == ["rebuild/scale-down", "finally/scale-up", "finally/notify"]
    (report,) = [e for name, e in listener.events if name == "run-finished"]
    assert isinstance(report, RunReport)
    assert report.outcome is Outcome.INTERRUPTED
    assert report.message == "interrupted during step rebuild/scale-down"
    assert _finally_states(report) == [
        ("finally/scale-up", StepState.SUCCEEDED),
        ("finally/notify", StepState.SUCCEEDED),
    ]
    assert report.steps[1].status is StepState.NOT_RUN


def test_interrupting_a_finally_step_stops_the_rest_and_the_run_is_interrupted(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    listener = RecordingListener()
    with pytest.raises(RunInterrupted):
        run(write_playbook(playbook("ok", "interrupt")), runtime, listener=listener)

    (report,) = [e for name, e in listener.events if name == "run-finished"]
    assert isinstance(report, RunReport)
    assert report.message == "interrupted during step finally/scale-up"
    assert _finally_states(report) == [
        ("finally/scale-up", StepState.FAILED),
        ("finally/notify", StepState.NOT_RUN),
    ]


def test_finally_steps_are_reported_apart_in_report_json_and_markdown(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    report = run(write_playbook(playbook("ok", "fail")), runtime)

    directory = runtime.state_dir / "runs" / str(report.run_id)
    saved = json.loads((directory / "report.json").read_text())
    assert [s["name"] for s in saved["finally"]] == ["scale-up", "notify"]
    assert [p["name"] for p in saved["phases"]] == ["rebuild"]
    assert RunReport.from_json(saved, STEP_RESULTS).finally_steps == report.finally_steps
    markdown = (directory / "report.md").read_text()
    assert "## Finally" in markdown
    assert "attempt 1 failed" in markdown.split("## Finally", 1)[1]


def test_plan_shows_finally_steps(write_playbook: WritePlaybook, runtime: Runtime) -> None:
    planned = run(write_playbook(playbook("ok", "ok")), runtime, RunMode.PLAN)

    assert _finally_states(planned) == [
        ("finally/scale-up", StepState.PLANNED),
        ("finally/notify", StepState.PLANNED),
    ]
    assert planned.finally_steps[0].message == "would play ['ok']"


def test_a_health_check_only_reads_and_runs_no_finally_step(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    text = playbook("ok", "fail") + "checklists:\n  alpha:\n    - command: {run: 'true'}\n"

    report = run(write_playbook(text), runtime, RunMode.CHECK)

    assert report.outcome is Outcome.SUCCEEDED
    assert report.finally_steps == ()


FINALLY_COUNTED = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: counted}
phases:
  - name: rebuild
    steps:
      - name: gate
        command: {run: "test -f open.txt"}
finally:
  - name: restore
    command: {run: "echo restore >> restored.txt"}
"""


def test_resume_runs_the_finally_steps_again_at_the_end(
    write_playbook: WritePlaybook, runtime: Runtime, tmp_path: Path
) -> None:
    first = run(write_playbook(FINALLY_COUNTED), runtime, RunMode.RECOVER)
    assert first.outcome is Outcome.FAILED
    assert (tmp_path / "restored.txt").read_text() == "restore\n"
    (tmp_path / "open.txt").write_text("")

    again = resume(str(first.run_id), runtime, NullListener(), None)

    assert again.outcome is Outcome.SUCCEEDED
    assert (tmp_path / "restored.txt").read_text() == "restore\nrestore\n"
    assert [s.status for s in again.finally_steps] == [StepState.SUCCEEDED]
    events = read_journal(runtime.state_dir / "runs" / str(first.run_id) / "journal.jsonl")
    finished = [e["step"]["phase"] for e in events if e["event"] == "step-finished"]
    assert finished.count("finally") == 2


def test_finally_steps_run_after_an_internal_error_too(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    listener = RecordingListener()
    with pytest.raises(InternalError):
        run(write_playbook(playbook("crash", "ok")), runtime, listener=listener)

    (report,) = [e for name, e in listener.events if name == "run-finished"]
    assert isinstance(report, RunReport)
    assert report.message.startswith("step rebuild/scale-down: internal error: RuntimeError: boom")
    assert _finally_states(report) == [
        ("finally/scale-up", StepState.SUCCEEDED),
        ("finally/notify", StepState.SUCCEEDED),
    ]


def test_a_report_rebuilt_from_the_journal_keeps_finally_steps_apart(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    report = run(write_playbook(playbook("fail", "ok")), runtime)
    directory = runtime.state_dir / "runs" / str(report.run_id)
    (directory / "report.json").unlink()  # as if drkit died before writing it

    rebuilt = show_run(str(report.run_id), runtime)

    assert [p.name for p in rebuilt.phases] == ["rebuild"]
    assert [s.path for s in rebuilt.finally_steps] == ["finally/scale-up", "finally/notify"]
    assert rebuilt.rto_measured == pytest.approx(4.0)  # the finally steps' 30 s are not in it
