"""A finished run goes to its sinks (history, metrics, a notification) after its reports are written; a sink
that fails is one line for the user and never changes the run's outcome."""

from __future__ import annotations

import json

from engine_kinds import RecordingListener, run
from helpers import WritePlaybook

from drkit.context import Runtime
from drkit.engine.afterwards import FinishedRun
from drkit.report.model import Outcome

PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: sinks}
phases:
  - name: only
    steps:
      - name: work
        script: {outcomes: [OUTCOME]}
"""


class Keeps:
    name = "history"

    def __init__(self) -> None:
        self.seen: list[FinishedRun] = []

    def record(self, run: FinishedRun) -> str | None:
        # What a sink may rely on: report.json is already on disk and says what the report says.
        on_disk = json.loads((run.directory / "report.json").read_text(encoding="utf-8"))
        assert on_disk["outcome"] == str(run.report.outcome)
        self.seen.append(run)
        return f"recorded {run.report.run_id}"


class Breaks:
    name = "webhook"

    def record(self, run: FinishedRun) -> str | None:
        raise ConnectionError("https://hooks.example/T0/B0/tok-3f9a refused\nsecond line")


class Quiet:
    name = "metrics"

    def record(self, run: FinishedRun) -> str | None:
        return None


def test_every_sink_gets_the_finished_run_and_a_broken_one_costs_nothing(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    path = write_playbook(PLAYBOOK.replace("OUTCOME", "fail"))
    listener = RecordingListener()
    runtime.secrets.add("tok-3f9a")
    keeps = Keeps()

    report = run(path, runtime, listener=listener, sinks=(Breaks(), Quiet(), keeps))

    assert report.outcome is Outcome.FAILED  # the run's own outcome, whatever the sinks did
    [seen] = keeps.seen
    assert seen.report.run_id == report.run_id
    assert seen.directory == runtime.state_dir / "runs" / str(report.run_id)
    recorded = [lines for name, lines in listener.events if name == "recorded"]
    assert recorded == [
        [
            "webhook: not recorded (ConnectionError: https://hooks.example/T0/B0/**** refused)",
            f"history: recorded {report.run_id}",
        ]
    ]
    # After the summary: the user reads the outcome first, then where the run went.
    assert listener.names()[-2:] == ["run-finished", "recorded"]


def test_a_run_with_nothing_to_say_prints_no_recorded_lines(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    listener = RecordingListener()
    report = run(
        write_playbook(PLAYBOOK.replace("OUTCOME", "ok")), runtime, listener=listener, sinks=(Quiet(),)
    )
    assert report.outcome is Outcome.SUCCEEDED
    assert "recorded" not in listener.names()
