"""A finished run's Prometheus metrics: metrics.prom in the run directory, the textfile-collector copy
(replaced by rename) and the Pushgateway push, from a real engine run on the fake clock."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from engine_kinds import RecordingListener, run
from helpers import FakeClock, WritePlaybook
from http_receiver import receiving
from prometheus_client.parser import text_string_to_metric_families

from drkit.context import Runtime
from drkit.engine.metrics_sink import MetricsSink
from drkit.report.model import Outcome, RunReport

PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: metrics-drill}
rto: 1m
phases:
  - name: rebuild
    steps:
      - name: apply
        script: {outcomes: [ok], takes: 20s}
  - name: validate
    steps:
      - name: probe
        script: {outcomes: [ok], takes: 50s}
"""

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def labelled(**extra: str) -> frozenset[tuple[str, str]]:
    return frozenset({"playbook": "metrics-drill", "cluster": "", "mode": "drill", **extra}.items())


def drill(write_playbook: WritePlaybook, runtime: Runtime, listener: RecordingListener) -> RunReport:
    return run(write_playbook(PLAYBOOK), runtime, listener=listener, sinks=(MetricsSink(),))


def test_the_run_directory_holds_the_runs_figures_as_prometheus_text(
    write_playbook: WritePlaybook, runtime: Runtime, clock: FakeClock
) -> None:
    listener = RecordingListener()
    report = drill(write_playbook, runtime, listener)

    assert report.outcome is Outcome.OVER_RTO  # 70 s of steps against a 1 minute RTO
    text = (runtime.state_dir / "runs" / str(report.run_id) / "metrics.prom").read_text(encoding="utf-8")
    got = samples(text)
    run_labels = labelled()
    assert got[("drkit_run_duration_seconds", run_labels)] == report.elapsed >= 70
    assert got[("drkit_rto_seconds", run_labels)] == 60
    assert got[("drkit_run_success", run_labels)] == 0
    assert got[("drkit_run_over_rto", run_labels)] == 1
    assert got[("drkit_last_run_timestamp_seconds", run_labels)] == report.finished_at == clock.wall()
    assert got[("drkit_step_duration_seconds", labelled(phase="rebuild", step="apply"))] == 20
    assert got[("drkit_step_duration_seconds", labelled(phase="validate", step="probe"))] == 50
    assert got[("drkit_phase_duration_seconds", labelled(phase="validate"))] == 50
    assert got[("drkit_finalizers_cleared", run_labels)] == 0
    assert not [key for key in got if key[0] == "drkit_retried_requests"]  # no retries, no series
    assert "recorded" not in listener.names()  # only the run directory: nothing new to tell the user


def test_the_collector_directory_file_is_replaced_by_rename(
    write_playbook: WritePlaybook, runtime: Runtime, tmp_path: Path
) -> None:
    collector = tmp_path / "textfile"
    collector.mkdir()
    target = collector / "drkit_metrics-drill.prom"
    target.write_text("# the previous run\n", encoding="utf-8")
    reader = tmp_path / "held-by-a-reader.prom"
    os.link(target, reader)  # a collector that opened the old file keeps reading the old file, whole
    listener = RecordingListener()

    report = drill(
        write_playbook, replace(runtime, env={**runtime.env, "DRKIT_METRICS_DIR": str(collector)}), listener
    )

    assert reader.read_text(encoding="utf-8") == "# the previous run\n"
    assert not os.path.samefile(reader, target)
    assert [p.name for p in collector.iterdir()] == [target.name]  # no temporary file left behind
    in_run_dir = runtime.state_dir / "runs" / str(report.run_id) / "metrics.prom"
    assert target.read_text(encoding="utf-8") == in_run_dir.read_text(encoding="utf-8")
    assert listener.recorded_lines() == [f"metrics: written to {target}"]


def test_the_pushgateway_gets_the_run_grouped_by_playbook_and_cluster(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    listener = RecordingListener()
    with receiving([200]) as gateway:
        env = {**runtime.env, "DRKIT_PUSHGATEWAY_URL": gateway.url}
        report = drill(write_playbook, replace(runtime, env=env), listener)
    [pushed] = gateway.requests()
    assert pushed.method == "PUT"  # the group is replaced: a phase renamed since leaves no stale series
    # An empty label value travels base64-encoded, as the Pushgateway's URL scheme requires.
    assert pushed.path == "/metrics/job/drkit/cluster@base64/=/playbook/metrics-drill"
    got = samples(pushed.body.decode("utf-8"))
    assert got[("drkit_run_duration_seconds", labelled())] == report.elapsed
    assert listener.recorded_lines() == ["metrics: pushed to 127.0.0.1"]


def test_an_unreachable_pushgateway_is_one_line_and_the_files_are_still_written(
    write_playbook: WritePlaybook, runtime: Runtime, tmp_path: Path
) -> None:
    with receiving([200]) as gateway:
        dead = gateway.url  # closed once the block ends: nothing listens there any more
    collector = tmp_path / "textfile"
    env = {**runtime.env, "DRKIT_PUSHGATEWAY_URL": dead, "DRKIT_METRICS_DIR": str(collector)}
    listener = RecordingListener()

    report = drill(write_playbook, replace(runtime, env=env), listener)

    assert report.outcome is Outcome.OVER_RTO
    target = collector / "drkit_metrics-drill.prom"
    assert target.is_file()
    [line] = listener.recorded_lines()
    assert line.startswith(f"metrics: written to {target}; not pushed (Pushgateway 127.0.0.1: no answer")
