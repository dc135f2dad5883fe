"""The webhook message: what on-call acts on, with every value from the run masked."""

from __future__ import annotations

import json
from dataclasses import replace

from report_support import FAILING_MESSAGE

from drkit.report.model import ClusterRef, Outcome, RunReport
from drkit.report.notification import webhook_message
from drkit.secret_registry import SecretRegistry


def test_a_failed_run_names_the_failing_step_and_its_message(report: RunReport) -> None:
    body = webhook_message(replace(report, cluster=ClusterRef("prod-east", "")), SecretRegistry().mask)
    text = str(body["text"])
    assert "platform" in text
    assert "failed on context prod-east" in text
    assert "RTO 10m" in text
    failed_step = report.phases[2].steps[0]
    assert f"failed step validate/check-1: {failed_step.message}" in text
    assert FAILING_MESSAGE in text
    assert str(report.run_id) in text
    blocks = json.dumps(body["blocks"])
    assert "validate/check-1" in blocks
    assert str(report.run_id) in blocks


def test_an_over_rto_run_says_why_without_a_failing_step(report: RunReport) -> None:
    ok_phases = report.phases[:2]
    over = replace(
        report,
        phases=ok_phases,
        outcome=Outcome.OVER_RTO,
        message="recovered in 700.0s, over the RTO of 600.0s",
    )
    text = str(webhook_message(over, SecretRegistry().mask)["text"])
    assert "over-rto" in text
    assert "recovered in 700.0s, over the RTO of 600.0s" in text
    assert "failed step" not in text


def test_no_registered_secret_reaches_the_message(report: RunReport) -> None:
    secrets = SecretRegistry(["api.local", "prod-east"])
    body = webhook_message(replace(report, cluster=ClusterRef("prod-east", "")), secrets.mask)
    dumped = json.dumps(body)
    assert "api.local" not in dumped
    assert "prod-east" not in dumped
    assert "****" in dumped
