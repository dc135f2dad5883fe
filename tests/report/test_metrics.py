"""The run's metrics as text: the figures the report holds, under labels no secret reaches."""

from __future__ import annotations

from dataclasses import replace

from prometheus_client.parser import text_string_to_metric_families
from report_support import as_reported

from drkit.report.metrics import render_metrics
from drkit.report.model import ClusterRef, PhaseReport, RetryCount, RunReport
from drkit.secret_registry import SecretRegistry


def families(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    return {
        family.name: [(dict(s.labels), s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


def with_retries(report: RunReport) -> RunReport:
    """The rebuild phase's two steps retried requests, one cause shared between them."""
    rebuild = report.phases[1]
    apply, train = rebuild.steps
    steps = (
        replace(apply, retries=(RetryCount("HTTP 503", 3), RetryCount("no answer (connection dropped)", 1))),
        replace(train, retries=(RetryCount("HTTP 503", 2),)),
    )
    phases = (report.phases[0], PhaseReport(rebuild.name, steps, budget=rebuild.budget), report.phases[2])
    return replace(report, phases=phases, cluster=ClusterRef("prod-east", "https://10.0.0.1:6443"))


def test_retries_are_summed_by_cause_and_finalizers_counted_from_the_audit(report: RunReport) -> None:
    got = families(render_metrics(with_retries(report), SecretRegistry().mask))

    retried = {labels["cause"]: value for labels, value in got["drkit_retried_requests"]}
    assert retried == {"HTTP 503": 5, "no answer (connection dropped)": 1}
    [(labels, cleared)] = got["drkit_finalizers_cleared"]
    assert cleared == len(report.phases[0].steps[0].details["removed"])  # type: ignore[arg-type]
    assert labels == {"playbook": "platform", "cluster": "prod-east", "mode": "drill"}


def test_a_dry_run_clears_no_finalizers(report: RunReport) -> None:
    teardown = report.phases[0]
    [unstick] = teardown.steps
    dry = as_reported(replace(unstick, details={**unstick.details, "dryRun": True}))
    phases = (replace(teardown, steps=(dry,)), *report.phases[1:])
    got = families(render_metrics(replace(report, phases=phases), SecretRegistry().mask))
    assert [value for _, value in got["drkit_finalizers_cleared"]] == [0]


def test_a_run_without_an_rto_has_no_rto_series_and_is_never_over_it(report: RunReport) -> None:
    got = families(render_metrics(replace(report, rto=None, rto_measured=10_000.0), SecretRegistry().mask))
    assert "drkit_rto_seconds" not in got
    assert [value for _, value in got["drkit_run_over_rto"]] == [0]


def test_no_secret_becomes_a_label_value(report: RunReport) -> None:
    secrets = SecretRegistry(["prod-east", "connection dropped"])
    text = render_metrics(with_retries(report), secrets.mask)
    assert "prod-east" not in text
    assert "connection dropped" not in text
    assert 'cluster="****"' in text
