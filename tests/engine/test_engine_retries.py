"""Retried requests are counted per step with their causes, and each burst shows once (live view, journal)."""

from __future__ import annotations

import dataclasses

from engine_kinds import RecordingListener, run
from helpers import WritePlaybook
from kube_lab import Lab

from drkit.context import Runtime
from drkit.engine.journal import read_journal
from drkit.engine.retry_tally import RetryTally, burst_line
from drkit.errors import DrkitError
from drkit.report.model import StepState
from drkit.retries import RetryNotice

CONFIGMAPS = "\n---\n".join(
    f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}, namespace: default}}\ndata: {{k: v{i}}}"
    for i in range(12)
)
PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: retried}
target: {contexts: [drkit-lab]}
phases:
  - name: rebuild
    steps:
      - name: apply-configmaps
        apply: {files: [configmaps.yaml], wait: false}
"""


def _run(lab: Lab, runtime: Runtime, write_playbook: WritePlaybook) -> tuple[object, RecordingListener]:
    (runtime.cwd / "configmaps.yaml").write_text(CONFIGMAPS, encoding="utf-8")
    env = {**runtime.env, "KUBECONFIG": str(lab.kubeconfig)}
    listener = RecordingListener()
    report = run(write_playbook(PLAYBOOK), dataclasses.replace(runtime, env=env), listener=listener)
    return report, listener


def test_retried_requests_are_counted_per_step_with_their_causes(
    lab: Lab, runtime: Runtime, write_playbook: WritePlaybook
) -> None:
    # Seeded: the same requests fail every run (a sequence that leaves each request a retry that passes).
    lab.set_faults(error_rate=0.3, error_codes=(503, 500), seed=1)
    report, listener = _run(lab, runtime, write_playbook)
    (step,) = report.steps  # type: ignore[attr-defined]
    assert step.status is StepState.SUCCEEDED, step.message
    causes = {r.cause for r in step.retries}
    assert causes, "the faults made no request fail"
    assert causes <= {"HTTP 503 ServiceUnavailable", "HTTP 500 InternalError"}, causes
    assert step.retried == sum(r.count for r in step.retries) >= 1
    journal = read_journal(next((runtime.state_dir / "runs").iterdir()) / "journal.jsonl")
    bursts = [e for e in journal if e["event"] == "retry"]
    # The step's own bursts: not the drill lease's, taken before it and given back after the journal closed.
    started, finished = listener.names().index("step-started"), listener.names().index("step-finished")
    during = listener.events[started:finished]
    lines = [text for name, text in during if name == "progress" and str(text).startswith("retrying")]
    assert len(bursts) == len(lines) >= 1  # one line and one event per burst, not one per retry
    assert len(bursts) <= step.retried
    assert all(b["cause"] in causes for b in bursts)


def test_a_run_without_faults_reports_no_retries(
    lab: Lab, runtime: Runtime, write_playbook: WritePlaybook
) -> None:
    report, listener = _run(lab, runtime, write_playbook)
    (step,) = report.steps  # type: ignore[attr-defined]
    assert step.status is StepState.SUCCEEDED
    assert step.retries == ()
    assert not [text for name, text in listener.events if name == "progress" and "retrying" in str(text)]


def test_the_tally_announces_a_burst_once_and_starts_again_after_a_take() -> None:
    told: list[str] = []
    tally = RetryTally(lambda notice: told.append(notice.operation))
    error = DrkitError("x")
    for attempt in (1, 2, 3):
        tally(RetryNotice("get a", attempt, 5, 0.1, "HTTP 503", error))
    tally(RetryNotice("get b", 1, 5, 0.1, "no answer (connection dropped)", error))
    assert told == ["get a", "get b"]
    counted = tally.take()
    assert [(c.cause, c.count) for c in counted] == [("HTTP 503", 3), ("no answer (connection dropped)", 1)]
    assert tally.take() == ()


def test_a_burst_line_says_what_failed_in_the_adapters_words() -> None:
    error = DrkitError("MLflow GET http://mlflow:5000/ajax-api/2.0/mlflow/runs: cannot connect (refused)")
    line = burst_line(RetryNotice("MLflow POST runs/search", 1, 4, 0.5, "no answer", error))
    assert line == (
        "retrying: MLflow GET http://mlflow:5000/ajax-api/2.0/mlflow/runs: cannot connect (refused) "
        "(attempt 2 of 4 in 0.5s)"
    )
