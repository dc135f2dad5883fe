"""Resuming runs, the run lock, the journal's crash tolerance, and checklist-only runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from engine_kinds import RecordingListener, run
from helpers import FakeClock, WritePlaybook, run_drkit, start_drkit

from drkit.context import Runtime
from drkit.engine import NullListener, RunMode, list_runs, resume, show_run
from drkit.engine.journal import Journal, read_journal
from drkit.engine.lock import RunLock
from drkit.engine.usecases import attempts_in
from drkit.errors import UsageError
from drkit.report.model import AttemptReport, Outcome, RtoBasis, StepState

COUNTED = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: counted}
vars: {api_token: none}
phases:
  - name: rebuild
    steps:
      - name: count
        command: {run: "echo run >> counter.txt"}
      - name: gate
        command: {run: "test -f open.txt"}
  - name: validate
    steps:
      - name: after
        command: {run: "echo after >> after.txt"}
"""


def _first_run(write_playbook: WritePlaybook, runtime: Runtime, **kwargs: object) -> tuple[Path, str]:
    path = write_playbook(COUNTED)
    report = run(path, runtime, RunMode.RECOVER, **kwargs)  # type: ignore[arg-type]
    assert report.outcome is Outcome.FAILED
    assert report.run_id is not None
    return path, report.run_id


def test_resume_continues_after_the_failed_step_without_rerunning_succeeded_ones(
    write_playbook: WritePlaybook, runtime: Runtime, tmp_path: Path
) -> None:
    _, run_id = _first_run(write_playbook, runtime)
    (tmp_path / "open.txt").write_text("")

    report = resume(run_id, runtime, NullListener(), None)

    assert report.outcome is Outcome.SUCCEEDED
    assert report.run_id == run_id
    assert report.resumed
    assert (tmp_path / "counter.txt").read_text() == "run\n"  # not run again
    assert (tmp_path / "after.txt").read_text() == "after\n"
    count, gate, after = report.steps
    assert count.previous_attempt
    assert count.label == "succeeded (previous attempt)"
    assert gate.status is StepState.SUCCEEDED
    assert not gate.previous_attempt
    assert after.status is StepState.SUCCEEDED
    assert report.rto_basis is RtoBasis.WALL_CLOCK
    events = read_journal(runtime.state_dir / "runs" / run_id / "journal.jsonl")
    assert [e["event"] for e in events].count("run-started") == 2
    assert (
        json.loads((runtime.state_dir / "runs" / run_id / "report.json").read_text())["outcome"]
        == "succeeded"
    )


def test_a_resumed_run_is_judged_on_the_wall_clock_since_its_first_start(
    write_playbook: WritePlaybook, runtime: Runtime, clock: FakeClock, tmp_path: Path
) -> None:
    path = write_playbook(COUNTED.replace("phases:\n", "rto: 2m\nphases:\n", 1))
    first = run(path, runtime, RunMode.RECOVER)
    assert first.outcome is Outcome.FAILED
    assert first.run_id is not None
    clock.advance(170.0)  # the on-call fixes what the gate waits for; the steps themselves take no time
    (tmp_path / "open.txt").write_text("")

    report = resume(first.run_id, runtime, NullListener(), None)

    assert report.outcome is Outcome.OVER_RTO  # 0s in steps, but 2m50s since the recovery began
    assert report.first_started_at == first.started_at
    assert report.started_at == clock.wall()
    assert report.elapsed == pytest.approx(170.0)
    assert report.rto_measured == report.elapsed
    assert report.step_time == 0.0
    assert [(a.started_at, a.outcome) for a in report.attempts] == [
        (first.started_at, Outcome.FAILED),
        (report.started_at, Outcome.OVER_RTO),
    ]
    saved = json.loads((runtime.state_dir / "runs" / first.run_id / "report.json").read_text())
    assert saved["firstStartedAt"] == first.started_at
    assert saved["rtoBasis"] == "wall-clock-since-first-start"
    assert len(saved["attempts"]) == 2


def test_the_attempts_of_a_run_are_read_from_its_journal() -> None:
    events = [
        {"event": "run-started", "at": 10.0},
        {"event": "step-finished", "at": 12.0},
        {"event": "interrupted", "at": 15.0, "signal": "SIGTERM"},
        {"event": "run-started", "at": 100.0},  # then drkit was killed: nothing ends this attempt
        {"event": "run-started", "at": 200.0},
        {"event": "run-finished", "at": 230.0, "outcome": "succeeded"},
    ]
    assert attempts_in(events) == (
        AttemptReport(10.0, 15.0, Outcome.INTERRUPTED, "SIGTERM"),
        AttemptReport(100.0, None, None),
        AttemptReport(200.0, 230.0, Outcome.SUCCEEDED),
    )


def test_runs_list_and_resume_ignore_a_directory_without_a_journal(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    _, run_id = _first_run(write_playbook, runtime)
    stray = runtime.state_dir / "runs" / "20990101-000000-beef"  # what older drkits left for plans
    (stray / "kube").mkdir(parents=True)
    assert [s.run_id for s in list_runs(runtime)] == [run_id]
    with pytest.raises(UsageError) as caught:
        resume(stray.name, runtime, NullListener(), None)
    assert "no run" in caught.value.message
    assert stray.name not in (caught.value.hint or "")


def test_resume_refuses_a_changed_playbook_unless_forced(
    write_playbook: WritePlaybook, runtime: Runtime, tmp_path: Path
) -> None:
    path, run_id = _first_run(write_playbook, runtime)
    path.write_text(path.read_text() + "\n# edited\n")
    with pytest.raises(UsageError) as caught:
        resume(run_id, runtime, NullListener(), None)
    assert "changed" in caught.value.message
    assert "--force" in (caught.value.hint or "")
    (tmp_path / "open.txt").write_text("")
    assert resume(run_id, runtime, NullListener(), None, force=True).outcome is Outcome.SUCCEEDED


def test_resume_asks_again_for_a_secret_override(
    write_playbook: WritePlaybook, runtime: Runtime, tmp_path: Path
) -> None:
    _, run_id = _first_run(write_playbook, runtime, overrides={"api_token": "s3cr3t-value"})
    journal = (runtime.state_dir / "runs" / run_id / "journal.jsonl").read_text()
    assert "s3cr3t-value" not in journal
    with pytest.raises(UsageError) as caught:
        resume(run_id, runtime, NullListener(), None)
    assert "DRKIT_SET_api_token" in (caught.value.hint or "")
    (tmp_path / "open.txt").write_text("")
    with_env = Runtime(**{**runtime.__dict__, "env": {**runtime.env, "DRKIT_SET_api_token": "again"}})
    assert resume(run_id, with_env, NullListener(), None).outcome is Outcome.SUCCEEDED


def test_resume_of_an_unknown_run_lists_recent_ones(runtime: Runtime) -> None:
    with pytest.raises(UsageError) as caught:
        resume("20990101-000000-abcd", runtime, NullListener(), None)
    assert "no run" in caught.value.message


def test_runs_are_listed_newest_first_and_shown(write_playbook: WritePlaybook, runtime: Runtime) -> None:
    _, run_id = _first_run(write_playbook, runtime)
    (summary,) = list_runs(runtime)
    assert (summary.run_id, summary.playbook, summary.mode, summary.outcome) == (
        run_id,
        "counted",
        "recover",
        "failed",
    )
    assert show_run(run_id, runtime).steps[1].status is StepState.FAILED


def test_a_live_lock_blocks_a_second_driver_and_a_stale_one_is_taken_over(tmp_path: Path) -> None:
    lock_path = tmp_path / "lock"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lock_path.write_text(f"{sleeper.pid}\n")
        with pytest.raises(UsageError) as caught, RunLock(lock_path, "r1"):
            pass
        assert str(sleeper.pid) in caught.value.message
    finally:
        sleeper.kill()
        sleeper.wait()
    # Now the owner is dead: the lock is stale.
    with RunLock(lock_path, "r1"):
        assert lock_path.read_text().strip() == str(os.getpid())
    assert not lock_path.exists()


def test_journal_lines_are_complete_json_and_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal(path, lambda: 5.0) as journal:
        journal.append("run-started", runId="x")
        journal.append("step-finished", step={"name": "a"})
    with path.open("a") as handle:
        handle.write('{"event": "step-fin')  # what a crash mid-write leaves
    events = read_journal(path)
    assert [e["event"] for e in events] == ["run-started", "step-finished"]
    assert events[0]["at"] == 5.0
    with Journal(path, lambda: 6.0) as journal:  # a resume: the torn tail goes, its event gets a line
        journal.append("run-started", runId="x", resumed=True)
    assert [json.loads(line)["event"] for line in path.read_text().splitlines()] == [
        "run-started",
        "step-finished",
        "run-started",
    ]


def test_a_journal_that_is_only_a_torn_line_is_emptied_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_text('{"event": "run-sta')
    with Journal(path, lambda: 5.0) as journal:
        journal.append("run-started", runId="x")
    assert [e["event"] for e in read_journal(path)] == ["run-started"]
    assert path.read_text().count("\n") == 1


CHECKS = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: checks}
phases:
  - name: p
    steps:
      - name: must-not-run
        command: {run: "echo ran > ran.txt"}
checklists:
  alpha:
    - name: yes
      command: {run: "true"}
  beta:
    - command: {run: "true"}
"""


def test_check_mode_runs_only_checklists(
    write_playbook: WritePlaybook, runtime: Runtime, tmp_path: Path
) -> None:
    listener = RecordingListener()
    report = run(write_playbook(CHECKS), runtime, RunMode.CHECK, listener=listener)
    assert report.outcome is Outcome.SUCCEEDED
    assert [s.name for s in report.steps] == ["alpha", "beta"]
    assert not (tmp_path / "ran.txt").exists()
    assert report.steps[0].checklist_items[0].name == "yes"
    assert report.steps[0].checklist_items[0].first_passed_after == 0.0


def test_check_mode_selects_checklists_and_rejects_unknown_ones(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    report = run(write_playbook(CHECKS), runtime, RunMode.CHECK, checklists=("beta",))
    assert [s.name for s in report.steps] == ["beta"]
    with pytest.raises(UsageError) as caught:
        run(write_playbook(CHECKS), runtime, RunMode.CHECK, checklists=("alpah",))
    assert "'alpha'" in (caught.value.hint or "")


CRASHING = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: crashing}
phases:
  - name: rebuild
    steps:
      - name: count
        command: {run: "echo run >> counter.txt"}
      - name: crash-once
        command:
          run: |
            # exit at once: a shell left running after drkit died must not write second.txt itself
            if [ ! -f crashed.txt ]; then touch crashed.txt; kill -9 $PPID; exit 0; fi
            echo second >> second.txt
      - name: later
        command: {run: "echo later >> later.txt"}
"""


def test_resume_after_drkit_was_killed_mid_phase(write_playbook: WritePlaybook, tmp_path: Path) -> None:
    write_playbook(CRASHING)
    crashed = start_drkit("recover", "playbook.yaml", cwd=tmp_path)
    crashed.communicate(timeout=60)
    assert crashed.returncode == -signal.SIGKILL
    (run_dir,) = (tmp_path / ".drkit" / "runs").iterdir()
    events = read_journal(run_dir / "journal.jsonl")
    assert [e["event"] for e in events][-1] == "step-started"  # died inside crash-once
    assert (run_dir / "lock").exists()  # stale: its pid is dead
    shown = run_drkit("runs", "show", run_dir.name, "--format", "json", cwd=tmp_path)
    (attempt,) = shown.json["attempts"]  # rebuilt from the journal: it began, nothing ended it
    assert (attempt["startedAt"], attempt["finishedAt"], attempt["outcome"]) == (events[0]["at"], None, None)

    resumed = start_drkit("resume", run_dir.name, "-o", "json", cwd=tmp_path)
    out, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, err
    assert (tmp_path / "counter.txt").read_text() == "run\n"
    assert (tmp_path / "second.txt").read_text() == "second\n"
    assert (tmp_path / "later.txt").read_text() == "later\n"
    report = json.loads(out)
    assert [s["label"] for s in report["phases"][0]["steps"]] == [
        "succeeded (previous attempt)",
        "succeeded",
        "succeeded",
    ]
    assert [a["outcome"] for a in report["attempts"]] == [None, "succeeded"]
    assert report["firstStartedAt"] == events[0]["at"]


def test_a_journal_with_a_torn_last_line_resumes_to_the_end(
    write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(CRASHING)
    crashed = start_drkit("recover", "playbook.yaml", cwd=tmp_path)
    crashed.communicate(timeout=60)
    assert crashed.returncode == -signal.SIGKILL
    (run_dir,) = (tmp_path / ".drkit" / "runs").iterdir()
    journal = run_dir / "journal.jsonl"
    complete = journal.read_bytes()
    # What a crash in the middle of writing the next event leaves: the first half of its line.
    event = json.dumps({"event": "step-finished", "at": 1.0, "step": {"name": "crash-once", "status": "ok"}})
    journal.write_bytes(complete + event[: len(event) // 2].encode())

    resumed = start_drkit("resume", run_dir.name, "-o", "json", cwd=tmp_path)
    out, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, err
    assert json.loads(out)["outcome"] == "succeeded"
    assert (tmp_path / "second.txt").read_text() == "second\n"
    # The torn half was cut off before the resume appended: every line is a whole event, the resume's too.
    text = journal.read_text()
    assert text.startswith(complete.decode())
    lines = text.splitlines()
    assert [json.loads(line)["event"] for line in lines].count("run-started") == 2
    assert [json.loads(line).get("resumed") for line in lines if '"run-started"' in line] == [False, True]
    assert json.loads(lines[-1])["event"] == "run-finished"


def test_a_finished_run_cannot_be_resumed(
    write_playbook: WritePlaybook, runtime: Runtime, tmp_path: Path
) -> None:
    (tmp_path / "open.txt").write_text("")
    report = run(write_playbook(COUNTED), runtime, RunMode.RECOVER)
    assert report.outcome is Outcome.SUCCEEDED
    assert report.run_id is not None
    with pytest.raises(UsageError) as caught:
        resume(report.run_id, runtime, NullListener(), None)
    assert "nothing to resume" in caught.value.message


def test_a_killed_runs_report_rebuilt_from_its_journal_counts_time_as_a_finished_one_would(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    text = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: killed}
phases:
  - name: rebuild
    steps:
      - {name: restore, script: {takes: 40s}}
      - {name: gate, script: {outcomes: [fail], takes: 5s}}
"""
    report = run(write_playbook(text), runtime, RunMode.RECOVER)
    directory = runtime.state_dir / "runs" / str(report.run_id)
    events = read_journal(directory / "journal.jsonl")
    (directory / "report.json").unlink()  # what `kill -9` leaves: the journal only

    rebuilt = show_run(str(report.run_id), runtime)

    assert rebuilt.outcome is Outcome.RUNNING
    assert rebuilt.rto_basis is RtoBasis.WALL_CLOCK
    so_far = events[-1]["at"] - events[0]["at"]  # first start to the last thing recorded
    assert rebuilt.step_time == 45
    assert so_far >= rebuilt.step_time
    assert rebuilt.rto_measured == rebuilt.elapsed == so_far
