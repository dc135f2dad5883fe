"""The run history as people and scripts read it: past runs with their RTO margin, a time-to-recovery trend
per playbook, and two runs compared phase by phase and step by step (`drkit history`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from drkit.playbook.durations import format_duration
from drkit.report.times import utc_minute


@dataclass(frozen=True)
class HistoryEntry:
    run_id: str
    playbook: str
    context: str  # "" when the run needed no cluster
    mode: str
    outcome: str
    started_at: float | None  # the first attempt's start
    time_to_recovery: float  # wall clock from the first start to the finish
    rto: float | None

    @property
    def rto_margin(self) -> float | None:
        """Seconds over the RTO (positive) or under it (negative); None without an RTO."""
        return None if self.rto is None else self.time_to_recovery - self.rto


@dataclass(frozen=True)
class Trend:
    playbook: str
    mode: str  # drill or recover: each has a trend of its own
    figures: tuple[float, ...]  # times to recovery, oldest first, the latest last
    median: float
    median_before: float | None  # of all but the latest; None with one run

    @property
    def change(self) -> float | None:
        """The latest against the median of those before it."""
        return None if self.median_before is None else self.figures[-1] - self.median_before

    @property
    def change_ratio(self) -> float | None:
        change = self.change
        return None if change is None or not self.median_before else change / self.median_before


@dataclass(frozen=True)
class History:
    entries: tuple[HistoryEntry, ...]  # newest first
    trends: tuple[Trend, ...]


@dataclass(frozen=True)
class Side:
    """One thing (a phase or a step) as one run had it; absent from that run when None."""

    status: str
    duration: float


@dataclass(frozen=True)
class Row:
    name: str  # a phase's name, or a step's `phase/step`
    a: Side | None
    b: Side | None

    @property
    def delta(self) -> float | None:
        """B's time minus A's; None when only one run has it."""
        return None if self.a is None or self.b is None else self.b.duration - self.a.duration


@dataclass(frozen=True)
class RunSide:
    run_id: str
    playbook: str
    outcome: str
    time_to_recovery: float


@dataclass(frozen=True)
class Comparison:
    a: RunSide
    b: RunSide
    phases: tuple[Row, ...]
    steps: tuple[Row, ...]

    @property
    def delta(self) -> float:
        return self.b.time_to_recovery - self.a.time_to_recovery


def _signed(seconds: float) -> str:
    return ("+" if seconds >= 0 else "-") + format_duration(abs(seconds))


def _rto_text(entry: HistoryEntry) -> str:
    margin = entry.rto_margin
    if entry.rto is None or margin is None:
        return "no RTO"
    if margin == 0:
        return f"RTO {format_duration(entry.rto)}, just met"
    side = "over" if margin > 0 else "under"
    return f"RTO {format_duration(entry.rto)}, {side} by {format_duration(abs(margin))}"


def _trend_text(trend: Trend) -> str:
    """`last 4: 2m10s 2m05s 2m20s 3m12s; median 2m15s; latest slower by 57s (+42%)`."""
    if not trend.figures:
        return "no finished drills yet"
    figures = " ".join(format_duration(f) for f in trend.figures)
    text = f"last {len(trend.figures)}: {figures}; median {format_duration(trend.median)}"
    if trend.change is None:
        return text
    ratio = trend.change_ratio
    percent = "" if ratio is None else f" ({ratio:+.0%})"
    if trend.change == 0:
        return f"{text}; latest as the median before it"
    word = "slower" if trend.change > 0 else "faster"
    return f"{text}; latest {word} by {format_duration(abs(trend.change))}{percent}"


def history_text(found: History, state_dir: Path) -> str:
    """`drkit history`: one line per run, then a trend line per playbook."""
    if not found.entries:
        return f"no finished runs recorded under {state_dir}\n"
    runs = "".join(
        f"{e.run_id}  {e.playbook}  {e.context or '-'}  {utc_minute(e.started_at)}  {e.mode} {e.outcome}  "
        f"{format_duration(e.time_to_recovery)}  {_rto_text(e)}\n"
        for e in found.entries
    )
    trends = "".join(f"  {trend.playbook} ({trend.mode}): {_trend_text(trend)}\n" for trend in found.trends)
    title = "trends (time to recovery of succeeded and over-RTO drills and recoveries, oldest first)"
    return f"{runs}\n{title}:\n{trends}"


def history_json(found: History) -> dict[str, object]:
    return {
        "runs": [
            {
                "runId": e.run_id,
                "playbook": e.playbook,
                "context": e.context,
                "startedAt": e.started_at,
                "mode": e.mode,
                "outcome": e.outcome,
                "timeToRecovery": e.time_to_recovery,
                "rto": e.rto,
                "overRtoBy": e.rto_margin,
            }
            for e in found.entries
        ],
        "trends": [
            {
                "playbook": t.playbook,
                "mode": t.mode,
                "timesToRecovery": list(t.figures),
                "median": t.median,
                "latestChange": t.change,
                "latestChangeRatio": t.change_ratio,
            }
            for t in found.trends
        ],
    }


def _side_text(side: Side | None) -> str:
    return "(not in this run)" if side is None else f"{format_duration(side.duration)} {side.status}"


def _row_text(row: Row) -> str:
    delta = "" if row.delta is None else f"  {_signed(row.delta)}"
    return f"  {row.name}: {_side_text(row.a)} -> {_side_text(row.b)}{delta}\n"


def comparison_text(c: Comparison) -> str:
    head = (
        f"A {c.a.run_id}  {c.a.playbook}  {c.a.outcome}  {format_duration(c.a.time_to_recovery)}\n"
        f"B {c.b.run_id}  {c.b.playbook}  {c.b.outcome}  {format_duration(c.b.time_to_recovery)}\n"
        f"time to recovery: {_signed(c.delta)}\n"
    )
    phases, steps = "".join(map(_row_text, c.phases)), "".join(map(_row_text, c.steps))
    return f"{head}phases:\n{phases}steps:\n{steps}"


def _side_json(side: Side | None) -> dict[str, object] | None:
    return None if side is None else {"status": side.status, "duration": side.duration}


def comparison_json(c: Comparison) -> dict[str, object]:
    def rows(items: tuple[Row, ...]) -> list[dict[str, object]]:
        return [{"name": r.name, "a": _side_json(r.a), "b": _side_json(r.b), "delta": r.delta} for r in items]

    def run(side: RunSide) -> dict[str, object]:
        return {
            "runId": side.run_id,
            "playbook": side.playbook,
            "outcome": side.outcome,
            "timeToRecovery": side.time_to_recovery,
        }

    return {"a": run(c.a), "b": run(c.b), "delta": c.delta, "phases": rows(c.phases), "steps": rows(c.steps)}
