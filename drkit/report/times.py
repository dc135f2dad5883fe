"""How a run's times read in the console summary and report.md: UTC timestamps, what the RTO was judged on,
and a resumed run's attempts. One wording for both, so a postmortem quotes the same figure as the terminal."""

from __future__ import annotations

from datetime import UTC, datetime

from drkit.playbook.durations import format_duration
from drkit.report.model import AttemptReport, RtoBasis, RunReport

_BASIS = {
    RtoBasis.WALL_CLOCK: "wall clock since the first start",
    RtoBasis.THIS_RUN: "spent in steps",
    RtoBasis.WITH_PREVIOUS_ATTEMPTS: "spent in steps by this run and earlier attempts",
}


def utc_timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def utc_minute(seconds: float | None) -> str:
    """To the minute, for lists of runs (`drkit history`, `drkit runs prune`); "?" when unknown."""
    return "?" if seconds is None else datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def across_attempts(report: RunReport) -> bool:
    """Whether the run took more than one attempt (it was resumed): then its times need their labels."""
    return report.resumed or len(report.attempts) > 1


def basis_text(report: RunReport) -> str:
    """What the time the RTO judges is: "wall clock since the first start"."""
    return _BASIS[report.rto_basis]


def measured_text(report: RunReport) -> str:
    """The time the RTO judges, and on what: "3m07s wall clock since the first start"."""
    return f"{format_duration(report.rto_measured)} {basis_text(report)}"


def attempts_text(report: RunReport) -> str:
    """ "3 attempts, first started 2026-01-01 00:16:40 UTC; 6.8s spent in steps" """
    count = len(report.attempts)  # none in a schema 1 report, which recorded only the last attempt
    noun = "attempt" if count == 1 else "attempts"
    parts = [f"{count} {noun}"] if count else []
    if report.first_started_at is not None:
        parts.append(f"first started {utc_timestamp(report.first_started_at)}")
    return ", ".join(parts) + f"; {format_duration(report.step_time)} spent in steps"


def attempt_outcome(attempt: AttemptReport) -> str:
    """ "interrupted (SIGINT)", "succeeded", or what a run that died without a word left."""
    if attempt.outcome is None:
        return "no end recorded (drkit was stopped)"
    return str(attempt.outcome) + (f" ({attempt.signal})" if attempt.signal else "")
