"""A finished run as Prometheus metrics, in the text format node_exporter's textfile collector and a
Pushgateway read.

Pure: one fresh `CollectorRegistry` per run (never the process-global one, so two runs in one process cannot
mix their figures), rendered with `generate_latest`. Every metric is a gauge: it says what the last run of a
playbook did, and the file (or the Pushgateway group) is replaced as a whole by the next run. The names are
documented in docs/operations.md; label values pass through `mask`, so a secret that reached a step name or a
retry cause never becomes a label.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from drkit.report.highlights import audit_rows
from drkit.report.model import Outcome, RunReport

RUN_LABELS = ("playbook", "cluster", "mode")


def run_labels(report: RunReport, mask: Callable[[str], str]) -> dict[str, str]:
    """The labels every metric of the run carries (and the Pushgateway grouping key draws from)."""
    cluster = report.cluster.context if report.cluster is not None else ""
    return {"playbook": mask(report.playbook_name), "cluster": mask(cluster), "mode": mask(report.mode)}


def finalizers_cleared(report: RunReport) -> int:
    """Finalizers drkit removed (a dry run removes none), from the same audit records the report shows."""
    return sum(len(row.removed) for row in audit_rows(report.steps) if not row.dry_run)


def render_metrics(report: RunReport, mask: Callable[[str], str]) -> str:
    """The run's metrics as exposition text."""
    return exposition(build_registry(report, mask))


def exposition(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode("utf-8")


def build_registry(report: RunReport, mask: Callable[[str], str]) -> CollectorRegistry:
    """A registry holding only this run's metrics (what `render_metrics` prints and the Pushgateway gets)."""
    registry = CollectorRegistry(auto_describe=True)
    labels = run_labels(report, mask)

    def gauge(name: str, doc: str, *extra: str) -> Gauge:
        return Gauge(name, doc, (*RUN_LABELS, *extra), registry=registry)

    def run_gauge(name: str, doc: str, value: float) -> None:
        gauge(name, doc).labels(**labels).set(value)

    recovery = "Time to recovery, as the RTO judged it (first start to the end of the phases)."
    run_gauge("drkit_run_duration_seconds", recovery, report.time_to_recovery)
    if report.rto is not None:
        run_gauge("drkit_rto_seconds", "The playbook's recovery time objective.", report.rto)
    succeeded = report.outcome is Outcome.SUCCEEDED
    run_gauge("drkit_run_success", "1 when the run succeeded (healthy within its RTO), else 0.", succeeded)
    over_rto = report.rto is not None and report.rto_measured > report.rto
    run_gauge("drkit_run_over_rto", "1 when the run took longer than its RTO, else 0.", over_rto)
    if report.finished_at is not None:
        run_gauge("drkit_last_run_timestamp_seconds", "When the run finished.", report.finished_at)
    run_gauge("drkit_finalizers_cleared", "Finalizers the run removed.", finalizers_cleared(report))
    phases = gauge("drkit_phase_duration_seconds", "Time spent in a phase's steps.", "phase")
    steps = gauge("drkit_step_duration_seconds", "Time a step took.", "phase", "step")
    for phase in report.phases:
        phases.labels(**labels, phase=mask(phase.name)).set(phase.duration)
        for step in phase.steps:
            steps.labels(**labels, phase=mask(phase.name), step=mask(step.name)).set(step.duration)
    retries = gauge("drkit_retried_requests", "Requests the run repeated, by cause.", "cause")
    by_cause: Counter[str] = Counter()
    for step in report.every_step:
        for retry in step.retries:
            by_cause[mask(retry.cause)] += retry.count
    for cause, count in sorted(by_cause.items()):
        retries.labels(**labels, cause=cause).set(count)
    return registry
