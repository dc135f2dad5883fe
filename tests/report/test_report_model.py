"""The report's JSON form is stable and reads back into the same objects; it is written atomically."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

from drkit.report.console import LiveListener, PlainListener, make_console, outcome_line, render_summary
from drkit.report.json_report import dumps, read_report, write_atomically
from drkit.report.model import (
    AttemptReport,
    ChecklistItemReport,
    ClusterRef,
    Outcome,
    PhaseReport,
    RtoBasis,
    RunReport,
    StepReport,
    StepState,
)
from drkit.run_mode import RunMode
from drkit.steps.registry import STEP_RESULTS

FIRST_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def sample() -> RunReport:
    ok = StepReport(
        phase="rebuild",
        index=1,
        name="apply",
        kind="command",
        status=StepState.SUCCEEDED,
        message="exited with 0",
        details={"exitCode": 0},
        started_at=10.0,
        finished_at=14.0,
        duration=4.0,
        attempts=1,
    )
    check = StepReport(
        phase="validate",
        index=1,
        name="health",
        kind="check",
        status=StepState.FAILED,
        message="1 of 1 items still failing",
        duration=2.0,
        attempts=1,
        tolerated=True,
        checklist_items=(ChecklistItemReport("api", "GET /", False, None, 3, "status 503, expected 200"),),
    )
    previous = StepReport(
        phase="rebuild",
        index=2,
        name="seal",
        kind="command",
        status=StepState.SUCCEEDED,
        previous_attempt=True,
    )
    return RunReport(
        run_id="20260101-000000-abcd",
        playbook_name="demo",
        playbook_path="/p.yaml",
        mode=RunMode.DRILL,
        outcome=Outcome.OVER_RTO,
        phases=(
            PhaseReport("rebuild", (ok, previous), budget=3.0),
            PhaseReport("validate", (check,), budget=None),
        ),
        rto=120.0,
        rto_measured=186.8,
        rto_basis=RtoBasis.WALL_CLOCK,
        total_duration=6.8,
        started_at=FIRST_START + 180.0,
        finished_at=FIRST_START + 186.8,
        resumed=True,
        first_started_at=FIRST_START,
        elapsed=186.8,
        step_time=6.8,
        attempts=(
            AttemptReport(FIRST_START, FIRST_START + 60.0, Outcome.INTERRUPTED, "SIGINT"),
            AttemptReport(FIRST_START + 180.0, FIRST_START + 186.8, Outcome.OVER_RTO),
        ),
        cluster=ClusterRef("drkit-lab", "https://127.0.0.1:6443"),
        message="recovered in 186.8s, over the RTO of 120.0s",
    )


def test_json_round_trip_and_schema_fields(tmp_path: Path) -> None:
    report = sample()
    data = report.to_json()
    assert data["schemaVersion"] == 2
    assert data["overBudgetPhases"] == ["rebuild"]
    assert data["firstStartedAt"] == FIRST_START
    assert data["elapsed"] == 186.8
    assert data["attempts"] == [
        {
            "startedAt": FIRST_START,
            "finishedAt": FIRST_START + 60.0,
            "outcome": "interrupted",
            "signal": "SIGINT",
        },
        {"startedAt": FIRST_START + 180.0, "finishedAt": FIRST_START + 186.8, "outcome": "over-rto"},
    ]
    assert data["cluster"] == {"context": "drkit-lab", "server": "https://127.0.0.1:6443"}
    steps = data["phases"][0]["steps"]  # type: ignore[index]
    assert [s["label"] for s in steps] == ["succeeded", "succeeded (previous attempt)"]
    path = tmp_path / "report.json"
    write_atomically(path, dumps(report))
    assert not (tmp_path / "report.json.tmp").exists()
    assert read_report(path, STEP_RESULTS) == report
    assert json.loads(path.read_text())["rtoBasis"] == "wall-clock-since-first-start"


def test_a_schema_1_report_reads_as_its_last_attempt_judged_on_step_time() -> None:
    old = {
        "schemaVersion": 1,
        "runId": "20260101-000000-abcd",
        "playbook": {"name": "demo", "path": "/p.yaml"},
        "mode": "recover",
        "outcome": "succeeded",
        "rtoMeasured": 6.8,
        "rtoBasis": "this-run+previous-attempts",
        "totalDuration": 4.5,
        "startedAt": FIRST_START + 180.0,
        "resumed": True,
        "phases": [],
    }
    report = RunReport.from_json(old, STEP_RESULTS)
    assert report.rto_basis is RtoBasis.WITH_PREVIOUS_ATTEMPTS
    assert (report.first_started_at, report.elapsed, report.step_time) == (FIRST_START + 180.0, 4.5, 6.8)
    assert report.attempts == ()
    assert report.cluster is None
    line = outcome_line(report).plain
    assert "6.8s spent in steps by this run and earlier attempts" in line
    assert "0 attempts" not in line


def test_phase_status_summarises_its_steps() -> None:
    report = sample()
    assert report.phases[0].status is StepState.SUCCEEDED
    assert report.phases[1].status is StepState.SUCCEEDED  # a tolerated failure does not fail its phase
    not_run = PhaseReport("x", (StepReport("x", 1, "a", "command", StepState.NOT_RUN),))
    assert not_run.status is StepState.NOT_RUN


def test_summary_shows_budgets_items_and_outcome() -> None:
    stream = io.StringIO()
    render_summary(make_console(stream, terminal=False), sample())
    text = stream.getvalue()
    assert "rebuild" in text
    assert "(over budget)" in text
    assert "✘ api  failing: status 503, expected 200" in text
    assert "drill over-rto: 3m07s wall clock since the first start against an RTO of 2m00s" in text
    assert "2 attempts, first started 2026-01-01 00:00:00 UTC; 6.8s spent in steps" in text
    assert "this run plus earlier attempts" not in text
    assert "\x1b[" not in text  # no colour codes off a terminal


def test_plain_listener_prints_one_line_per_step() -> None:
    stream = io.StringIO()
    listener = PlainListener(make_console(stream, terminal=False))
    for step in sample().steps:
        listener.step_finished(step)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "  ✔ rebuild/apply  4s"
    assert lines[1] == "  ✔ rebuild/seal  0s  (previous attempt)"
    assert lines[2].startswith("  ! validate/health  2s  1 of 1 items still failing")


def test_live_view_renders_running_step_and_progress() -> None:
    stream = io.StringIO()
    now = [100.0]
    summaries: list[RunReport] = []
    listener = LiveListener(make_console(stream, terminal=False), lambda: now[0], summary=summaries.append)
    report = sample()
    pending = StepReport("rebuild", 1, "apply", "command", StepState.PENDING)
    rebuild = PhaseReport("rebuild", (pending, report.phases[0].steps[1]), budget=3.0)
    overview = dataclasses.replace(report, outcome=Outcome.RUNNING, phases=(rebuild, report.phases[1]))
    listener.run_started(overview)
    try:
        listener.phase_started("rebuild")
        listener.step_started(pending)
        listener.step_progress("3/5 nodes running")
        now[0] += 4.0
        console = make_console(io.StringIO(), terminal=False)
        with console.capture() as capture:
            console.print(listener.render())
    finally:
        listener.run_finished(report)
    text = capture.get()
    assert "apply" in text
    assert "3/5 nodes running" in text
    assert "4s / 3s" in text  # elapsed against the phase budget
    assert summaries == [report]


def test_live_view_shows_the_finally_steps_as_they_run() -> None:
    now = [100.0]
    listener = LiveListener(make_console(io.StringIO(), terminal=False), lambda: now[0])
    restore = StepReport("finally", 1, "restore", "command", StepState.PENDING)
    overview = dataclasses.replace(sample(), outcome=Outcome.RUNNING, finally_steps=(restore,))
    listener.run_started(overview)
    try:
        listener.phase_started("finally")
        listener.step_started(restore)
        listener.step_progress("scaling the controller back")
        console = make_console(io.StringIO(), terminal=False)
        with console.capture() as capture:
            console.print(listener.render())
    finally:
        listener.run_finished(sample())
    lines = capture.get().splitlines()
    assert any(line.split()[:1] == ["finally"] for line in lines)  # its heading, after the phases
    assert any(line.split()[-2:] == ["restore", "0s"] for line in lines)  # the running step, timed
    assert "scaling the controller back" in capture.get()


def test_outcome_line_names_the_run() -> None:
    assert "run 20260101-000000-abcd" in outcome_line(sample()).plain
