"""The completion webhook: sent when a run fails (or always, when asked), retried on 5xx with backoff,
bounded, never carrying a secret, and never changing the run's outcome."""

from __future__ import annotations

import json
from dataclasses import replace

from engine_kinds import RecordingListener, run
from helpers import FakeClock, WritePlaybook
from http_receiver import receiving

from drkit.context import Runtime
from drkit.engine.webhook_sink import WebhookSink
from drkit.report.model import Outcome, RunReport

PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: notify}
phases:
  - name: only
    steps:
      - name: work-s3cr3t-value
        script: {outcomes: [OUTCOME]}
"""


def drill(
    write_playbook: WritePlaybook, runtime: Runtime, outcome: str, **env: str
) -> tuple[RunReport, list[str]]:
    listener = RecordingListener()
    runtime = replace(runtime, env={**runtime.env, **env})
    report = run(
        write_playbook(PLAYBOOK.replace("OUTCOME", outcome)),
        runtime,
        listener=listener,
        sinks=(WebhookSink(),),
    )
    return report, listener.recorded_lines()


def test_a_failed_run_is_posted_after_the_receiver_recovers_from_503s(
    write_playbook: WritePlaybook, runtime: Runtime, clock: FakeClock
) -> None:
    with receiving([503, 503, 200]) as hook:
        report, recorded = drill(write_playbook, runtime, "fail", DRKIT_WEBHOOK_URL=f"{hook.url}/T0/B0/tok")
    posted = hook.requests()
    assert [r.method for r in posted] == ["POST"] * 3
    assert clock.sleeps[-2:] == [1.0, 1.0]  # what the receiver's Retry-After asked
    body = json.loads(posted[-1].body)
    assert "only/work-" in body["text"]
    assert str(report.run_id) in body["text"]
    assert body["blocks"]
    # Each wait is said as it begins (nobody stares at a terminal that seems done), then the result.
    assert recorded == [
        "webhook: retrying: webhook 127.0.0.1 answered HTTP 503 (attempt 2 in 1.0s)",
        "webhook: retrying: webhook 127.0.0.1 answered HTTP 503 (attempt 3 in 1.0s)",
        "webhook: sent to 127.0.0.1 after 3 attempts",
    ]


def test_a_succeeded_run_is_not_posted_unless_asked_for_always(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    with receiving([200]) as hook:
        _, quiet = drill(write_playbook, runtime, "ok", DRKIT_WEBHOOK_URL=hook.url)
        assert hook.requests() == []
        assert quiet == []
        report, said = drill(
            write_playbook, runtime, "ok", DRKIT_WEBHOOK_URL=hook.url, DRKIT_WEBHOOK_ON="always"
        )
    [posted] = hook.requests()
    assert "succeeded" in json.loads(posted.body)["text"]
    assert report.outcome is Outcome.SUCCEEDED
    assert said == ["webhook: sent to 127.0.0.1"]


def test_the_message_never_carries_a_secret(write_playbook: WritePlaybook, runtime: Runtime) -> None:
    runtime.secrets.add("s3cr3t-value")
    with receiving([200]) as hook:
        report, _ = drill(write_playbook, runtime, "fail", DRKIT_WEBHOOK_URL=hook.url)
    [posted] = hook.requests()
    assert b"s3cr3t-value" not in posted.body
    assert b"only/work-****" in posted.body  # the step is named, masked
    assert report.outcome is Outcome.FAILED


def test_the_webhook_url_is_a_secret_of_the_whole_run(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    url = "https://hooks.example/services/T0/B0/hook-token"
    path = write_playbook(
        PLAYBOOK.replace("OUTCOME", "ok").replace(
            "script: {outcomes: [ok]}", f"script: {{say: 'echo {url}'}}"
        )
    )
    report = run(path, replace(runtime, env={**runtime.env, "DRKIT_WEBHOOK_URL": url}), sinks=())
    on_disk = (runtime.state_dir / "runs" / str(report.run_id) / "report.json").read_text(encoding="utf-8")
    assert url not in on_disk
    assert "echo ****" in on_disk


def test_a_dead_receiver_costs_one_line_a_bounded_wait_and_not_the_outcome(
    write_playbook: WritePlaybook, runtime: Runtime, clock: FakeClock
) -> None:
    with receiving([200]) as hook:
        dead = f"{hook.url}/T0/B0/tok"  # nothing listens there once the block ends
    before = len(clock.sleeps)
    report, recorded = drill(write_playbook, runtime, "fail", DRKIT_WEBHOOK_URL=dead)
    assert report.outcome is Outcome.FAILED
    *retried, last = recorded
    assert last == "webhook: not recorded (UnreachableError: webhook 127.0.0.1: no answer)"
    waits = clock.sleeps[before:]
    assert retried == [
        f"webhook: retrying: webhook 127.0.0.1: no answer (attempt {n} in {wait:.1f}s)"
        for n, wait in enumerate(waits, start=2)
    ]
    assert len(waits) >= 2  # it was retried
    assert sum(waits) < 15  # the bound on the whole exchange (issue 12: about 15 s)


def test_a_receiver_that_refuses_the_message_is_not_asked_again(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    with receiving([400]) as hook:
        _, recorded = drill(write_playbook, runtime, "fail", DRKIT_WEBHOOK_URL=hook.url)
    assert len(hook.requests()) == 1
    assert recorded == ["webhook: not recorded (WebhookRefused: webhook 127.0.0.1 answered HTTP 400)"]


def test_an_unknown_webhook_on_setting_is_a_line_not_a_guess(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    with receiving([200]) as hook:
        report, recorded = drill(
            write_playbook, runtime, "fail", DRKIT_WEBHOOK_URL=hook.url, DRKIT_WEBHOOK_ON="sometimes"
        )
    assert hook.requests() == []
    assert recorded == [
        "webhook: not recorded (UsageError: DRKIT_WEBHOOK_ON='sometimes' is not failure or always)"
    ]
    assert report.outcome is Outcome.FAILED
