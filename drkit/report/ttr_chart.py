"""Time to recovery over time, per playbook: the points a chart draws, computed apart from any drawing.

The report.html chart (inline SVG) and `drkit history --chart FILE.png` (matplotlib) both plot these series,
so they cannot disagree on which runs count or where each one sits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from drkit.report.history import HistoryEntry
from drkit.report.model import Outcome, RunReport
from drkit.run_mode import RunMode

# A drill (teardown included) and a recovery recover something; checks and finalizer clears do not.
RECOVERY_MODES = (RunMode.DRILL, RunMode.RECOVER)
# Runs that got through: a failed or refused run's time says how long it took to fail, not to recover.
RECOVERED_OUTCOMES = (Outcome.SUCCEEDED, Outcome.OVER_RTO)


@dataclass(frozen=True)
class TtrPoint:
    run_id: str
    started_at: float  # the first attempt's start, seconds since the epoch
    seconds: float  # time to recovery (what the RTO judged)
    recovered: bool  # False: the run failed (or was refused) after `seconds`; drawn apart from the line
    current: bool = False  # the run whose report shows the chart


@dataclass(frozen=True)
class TtrSeries:
    playbook: str
    mode: str  # drill or recover: each has a series of its own, as each has a trend
    rto: float | None  # the newest run's RTO
    points: tuple[TtrPoint, ...]  # oldest first

    @property
    def label(self) -> str:
        return f"{self.playbook} ({self.mode})"

    @property
    def recovered(self) -> tuple[TtrPoint, ...]:
        return tuple(p for p in self.points if p.recovered)


def _point(entry: HistoryEntry) -> TtrPoint | None:
    if entry.started_at is None:
        return None
    return TtrPoint(
        entry.run_id, entry.started_at, entry.time_to_recovery, entry.outcome in RECOVERED_OUTCOMES
    )


def series_by_playbook(entries: Iterable[HistoryEntry]) -> tuple[TtrSeries, ...]:
    """One series per playbook and recovery mode, sorted by name; runs without a start are left out."""
    grouped: dict[tuple[str, str], list[HistoryEntry]] = {}
    for entry in entries:
        if entry.mode in RECOVERY_MODES and entry.started_at is not None:
            grouped.setdefault((entry.playbook, entry.mode), []).append(entry)
    out = []
    for (playbook, mode), runs in sorted(grouped.items()):
        runs.sort(key=lambda e: (e.started_at or 0.0, e.run_id))
        points = tuple(p for p in map(_point, runs) if p is not None)
        out.append(TtrSeries(playbook, mode, runs[-1].rto, points))
    return tuple(out)


def report_series(report: RunReport, earlier: Sequence[HistoryEntry]) -> TtrSeries | None:
    """The report's playbook over time: its earlier runs (as the history holds them) and this run last; None
    when this run is no drill or recovery, or never started."""
    start = report.first_started_at if report.first_started_at is not None else report.started_at
    if report.mode not in RECOVERY_MODES or start is None or report.run_id is None:
        return None
    mine = [
        p
        for e in earlier
        if e.playbook == report.playbook_name and e.mode == report.mode and e.run_id != report.run_id
        if (p := _point(e)) is not None and p.started_at <= start
    ]
    this = TtrPoint(report.run_id, start, report.time_to_recovery, report.outcome in RECOVERED_OUTCOMES, True)
    points = (*sorted(mine, key=lambda p: (p.started_at, p.run_id)), this)
    return TtrSeries(report.playbook_name, str(report.mode), report.rto, points)


@dataclass(frozen=True)
class Scale:
    """Where a point sits in a plot of `width` x `height` units (y grows downwards, as in SVG)."""

    first: float  # the oldest run's start
    last: float
    top: float  # the longest time shown: the slowest run or the RTO, with headroom
    width: float
    height: float

    def x(self, started_at: float) -> float:
        if self.last == self.first:
            return self.width / 2  # one run: in the middle
        return (started_at - self.first) / (self.last - self.first) * self.width

    def y(self, seconds: float) -> float:
        return self.height - seconds / self.top * self.height


HEADROOM = 1.1  # the slowest run (or the RTO) sits a tenth below the top


def scale_for(series: Sequence[TtrSeries], width: float, height: float) -> Scale | None:
    """One scale for every series (None when there is no point): the RTO lines must fit too."""
    points = [p for s in series for p in s.points]
    if not points:
        return None
    highest = max([p.seconds for p in points] + [s.rto for s in series if s.rto is not None])
    starts = [p.started_at for p in points]
    return Scale(min(starts), max(starts), (highest or 1.0) * HEADROOM, width, height)
