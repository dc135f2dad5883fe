"""The run history database: the sink indexes a finished run, `drkit history` catches up on reports it lacks,
a resume replaces its run's row, runs finishing at once all land, and a pruned run leaves it."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from engine_kinds import run
from helpers import FakeClock, WritePlaybook

from drkit.context import Runtime
from drkit.engine import NullListener, RunMode, resume
from drkit.engine.history import HistorySink, database_path, earlier_runs, read_history, record_run
from drkit.engine.metrics_sink import MetricsSink
from drkit.engine.prune import PruneRequest, prune_runs
from drkit.report.model import Outcome, RunReport
from drkit.steps.registry import STEP_RESULTS

PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: NAME}
rto: 2m
phases:
  - name: restore
    steps:
      - name: copy
        script: {outcomes: [OUTCOME], takes: TAKES}
  - name: verify
    steps:
      - name: probe
        script: {outcomes: [ok], takes: 5s}
"""


def _drill(
    write_playbook: WritePlaybook,
    runtime: Runtime,
    takes: str,
    *,
    outcome: str = "ok",
    name: str = "nightly",
    mode: RunMode = RunMode.DRILL,
) -> RunReport:
    text = PLAYBOOK.replace("NAME", name).replace("OUTCOME", outcome).replace("TAKES", takes)
    report = run(write_playbook(text, f"{name}.yaml"), runtime, mode, sinks=(HistorySink(),))
    assert report.run_id is not None
    return report


def _rows(state_dir: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database_path(state_dir)) as db:
        return db.execute(sql).fetchall()


def test_the_sink_records_a_finished_run_with_its_phases_and_steps(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    report = _drill(write_playbook, runtime, "150s")

    [entry] = read_history(runtime.state_dir).entries
    assert (entry.run_id, entry.playbook, entry.mode, entry.outcome) == (
        report.run_id,
        "nightly",
        "drill",
        "over-rto",
    )
    assert entry.time_to_recovery == report.elapsed == 155
    assert entry.rto == 120
    assert entry.rto_margin == report.elapsed - 120
    steps = _rows(runtime.state_dir, "SELECT phase, name, status, duration FROM steps ORDER BY position")
    assert steps == [("restore", "copy", "succeeded", 150.0), ("verify", "probe", "succeeded", 5.0)]


def test_history_catches_up_on_reports_it_does_not_hold_and_losing_the_file_loses_nothing(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    text = PLAYBOOK.replace("NAME", "old").replace("OUTCOME", "ok").replace("TAKES", "10s")
    before = [run(write_playbook(text), runtime, sinks=()) for _ in range(2)]  # no sink: no database
    assert not database_path(runtime.state_dir).exists()

    ids = [e.run_id for e in read_history(runtime.state_dir).entries]
    assert ids == [before[1].run_id, before[0].run_id]

    database_path(runtime.state_dir).unlink()
    assert [e.run_id for e in read_history(runtime.state_dir).entries] == ids


def test_a_run_directory_removed_by_hand_leaves_the_history_too(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    kept, removed = (_drill(write_playbook, runtime, "10s") for _ in range(2))
    shutil.rmtree(runtime.state_dir / "runs" / str(removed.run_id))  # not `drkit runs prune`: rm -r

    assert [e.run_id for e in read_history(runtime.state_dir).entries] == [kept.run_id]
    assert _rows(runtime.state_dir, "SELECT DISTINCT run_id FROM steps") == [(kept.run_id,)]


def test_a_resumed_run_replaces_its_row(
    write_playbook: WritePlaybook, runtime: Runtime, clock: FakeClock, tmp_path: Path
) -> None:
    text = """
    apiVersion: drkit.io/v1
    kind: Playbook
    metadata: {name: gated}
    phases:
      - name: rebuild
        steps:
          - name: gate
            command: {run: "test -f open.txt"}
    """
    first = run(write_playbook(text), runtime, sinks=(HistorySink(),))
    assert first.run_id is not None
    clock.advance(600)
    (tmp_path / "open.txt").write_text("")
    resumed = resume(first.run_id, runtime, NullListener(), None)  # the real sinks: the history among them

    [entry] = read_history(runtime.state_dir).entries
    assert (entry.outcome, entry.time_to_recovery) == ("succeeded", resumed.elapsed)
    assert resumed.elapsed == 600  # the wall clock since the first start, not the resume alone
    assert _rows(runtime.state_dir, "SELECT status FROM steps") == [("succeeded",)]


def test_runs_finishing_at_once_all_land(write_playbook: WritePlaybook, runtime: Runtime) -> None:
    report = _drill(write_playbook, runtime, "1s")
    copies = [
        RunReport.from_json({**report.to_json(), "runId": f"20260101-000000-{n:04x}"}, STEP_RESULTS)
        for n in range(8)
    ]
    start = threading.Barrier(len(copies))
    errors: list[BaseException] = []

    def finish(copy: RunReport) -> None:
        start.wait()
        try:
            record_run(runtime.state_dir, copy)
        except BaseException as exc:  # a lost write must fail the test, not vanish with its thread
            errors.append(exc)

    threads = [threading.Thread(target=finish, args=(copy,)) for copy in copies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert _rows(runtime.state_dir, "SELECT count(*) FROM runs") == [(len(copies) + 1,)]
    assert _rows(runtime.state_dir, "SELECT count(*) FROM steps") == [(2 * (len(copies) + 1),)]


def test_the_trend_compares_the_latest_with_the_median_before_it(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    for takes in ("55s", "65s", "85s"):
        _drill(write_playbook, runtime, takes)  # 60s, 70s, 90s with the 5s probe
    _drill(write_playbook, runtime, "1s", outcome="fail")  # a failed drill says nothing about recovery
    _drill(write_playbook, runtime, "1s", mode=RunMode.RECOVER)  # a trend of its own, not a faster drill
    _drill(write_playbook, runtime, "1s", name="other")

    found = read_history(runtime.state_dir)
    [nightly] = [t for t in found.trends if (t.playbook, t.mode) == ("nightly", "drill")]
    assert nightly.figures == (60.0, 70.0, 90.0)
    assert nightly.median == 70.0
    assert nightly.change == 25.0  # 90 against the median of 60 and 70
    assert nightly.change_ratio == pytest.approx(25 / 65)
    assert [(t.playbook, t.mode) for t in found.trends] == [
        ("nightly", "drill"),
        ("nightly", "recover"),
        ("other", "drill"),
    ]
    only = read_history(runtime.state_dir, playbook="other", limit=5)
    assert [e.playbook for e in only.entries] == ["other"]
    assert len(read_history(runtime.state_dir, limit=2).entries) == 2


def test_an_unfinished_report_is_not_history(write_playbook: WritePlaybook, runtime: Runtime) -> None:
    report = _drill(write_playbook, runtime, "1s")
    running = RunReport.from_json(
        {**report.to_json(), "runId": "20260101-000000-beef", "outcome": "running"}, STEP_RESULTS
    )
    assert record_run(runtime.state_dir, running) is False
    assert [e.run_id for e in read_history(runtime.state_dir).entries] == [report.run_id]


def test_a_pruned_run_leaves_the_history(
    write_playbook: WritePlaybook, runtime: Runtime, clock: FakeClock
) -> None:
    old = _drill(write_playbook, runtime, "1s")
    clock.advance(3600)
    new = _drill(write_playbook, runtime, "1s")

    prune_runs(PruneRequest(keep=1), runtime.state_dir, runtime.wall_clock)

    assert _rows(runtime.state_dir, "SELECT run_id FROM runs") == [(new.run_id,)]
    assert _rows(runtime.state_dir, f"SELECT count(*) FROM steps WHERE run_id = '{old.run_id}'") == [(0,)]


def test_a_report_rewritten_without_the_sink_is_read_again(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    report = _drill(write_playbook, runtime, "1s", outcome="fail")
    path = runtime.state_dir / "runs" / str(report.run_id) / "report.json"
    # What a resume whose recording failed leaves: a newer report.json than the row.
    document = json.loads(path.read_text(encoding="utf-8"))
    rewritten = {**document, "outcome": "succeeded", "elapsed": 900.0, "rtoMeasured": 900.0}
    path.write_text(json.dumps(rewritten), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    [entry] = read_history(runtime.state_dir).entries
    assert (entry.outcome, entry.time_to_recovery) == ("succeeded", 900.0)


def test_the_time_to_recovery_of_history_and_metrics_is_the_one_the_rto_judged(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    # A slow `finally:` step (restoring a scaled-down controller) comes after recovery: 30 s of the run's
    # wall clock that neither the outcome nor anything that reports the time to recovery may count.
    text = PLAYBOOK.replace("NAME", "tidy").replace("OUTCOME", "ok").replace("TAKES", "100s")
    text += "finally:\n  - name: restore\n    script: {outcomes: [ok], takes: 30s}\n"
    report = run(write_playbook(text, "tidy.yaml"), runtime, sinks=(HistorySink(), MetricsSink()))

    assert report.outcome is Outcome.SUCCEEDED  # 105 s of phases within the 2m RTO
    assert report.elapsed == 135  # the finally step included
    [entry] = read_history(runtime.state_dir).entries
    assert entry.time_to_recovery == 105
    assert entry.rto_margin == -15
    metrics = (runtime.state_dir / "runs" / str(report.run_id) / "metrics.prom").read_text(encoding="utf-8")
    assert 'drkit_run_duration_seconds{cluster="",mode="drill",playbook="tidy"} 105.0' in metrics


def test_a_reports_chart_gets_the_playbooks_earlier_runs_on_its_cluster_in_its_mode(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    older = [_drill(write_playbook, runtime, takes) for takes in ("10s", "20s")]
    _drill(write_playbook, runtime, "1s", mode=RunMode.RECOVER)
    _drill(write_playbook, runtime, "1s", name="other")
    elsewhere = _drill(write_playbook, runtime, "1s")
    with sqlite3.connect(database_path(runtime.state_dir)) as db:
        db.execute("UPDATE runs SET context = 'prod' WHERE run_id = ?", (elsewhere.run_id,))
    latest = _drill(write_playbook, runtime, "30s")

    found = earlier_runs(runtime.state_dir, latest)

    assert [e.run_id for e in found] == [r.run_id for r in reversed(older)]  # newest first, this run left out
    assert earlier_runs(runtime.state_dir, dataclasses.replace(latest, mode=RunMode.CHECK)) == ()


def test_a_missing_or_unreadable_history_gives_a_chart_no_earlier_runs(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    report = _drill(write_playbook, runtime, "1s")
    database_path(runtime.state_dir).unlink()
    assert earlier_runs(runtime.state_dir, report) == ()
    assert not database_path(runtime.state_dir).exists()  # asking made none
    database_path(runtime.state_dir).write_bytes(b"not a database")
    assert earlier_runs(runtime.state_dir, report) == ()
