"""report.html's timeline: phases and their steps as bars on one time axis from the run's first start, each
phase's budget as a marker, the RTO as a vertical line, and the `finally:` steps apart below.

The layout (where each bar starts and how long it is, in seconds) is computed apart from the SVG, so the
geometry can be tested without parsing markup. Everything written into the SVG is escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from html import escape

from drkit.playbook.durations import format_duration
from drkit.report.model import PhaseReport, RunReport, StepReport, StepState

LABEL_WIDTH = 250  # px for the row names
PLOT_WIDTH = 880  # px for the time axis
RIGHT_MARGIN = 48  # px past the axis's end, for its last tick label
ROW_HEIGHT = 22
AXIS_HEIGHT = 28
BAR_INSET = 4  # px between a bar and its row's edges
TICKS_AT_MOST = 10
_TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400)


class RowKind(StrEnum):
    PHASE = "phase"
    STEP = "step"
    FINALLY = "finally"  # a `finally:` step
    SEPARATOR = "separator"  # the heading of the `finally:` rows


@dataclass(frozen=True)
class Row:
    kind: RowKind
    path: str  # a phase's name, or a step's phase/step
    label: str
    status: str  # StepState value ("" for the separator)
    start: float | None = None  # seconds after the origin; None: nothing ran (no bar)
    duration: float = 0.0
    budget: float | None = None  # a phase's budget, in seconds from its start
    over_budget: bool = False

    @property
    def end(self) -> float:
        return (self.start or 0.0) + max(self.duration, self.budget or 0.0)


@dataclass(frozen=True)
class Timeline:
    rows: tuple[Row, ...]
    rto: float | None
    span: float  # seconds the axis covers: the last end, budget marker or the RTO, whichever is furthest

    def bars(self, kind: RowKind) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.kind is kind and r.start is not None)


def _ran(step: StepReport) -> bool:
    return step.status in (StepState.SUCCEEDED, StepState.FAILED)


class _Clock:
    """Where bars start: at the step's recorded wall-clock start when there is one, else right after the
    previous bar (a report rebuilt from an old journal may lack starts)."""

    def __init__(self, origin: float | None) -> None:
        self.origin = origin
        self.cursor = 0.0

    def place(self, step: StepReport) -> float:
        start = self.cursor
        if step.started_at is not None and self.origin is not None:
            start = max(step.started_at - self.origin, 0.0)
        self.cursor = max(self.cursor, start + step.duration)
        return start


def _step_row(step: StepReport, clock: _Clock, kind: RowKind) -> Row:
    if not _ran(step):
        return Row(kind, step.path, step.name, str(step.status))
    return Row(kind, step.path, step.name, str(step.status), clock.place(step), step.duration)


def _phase_rows(phase: PhaseReport, clock: _Clock) -> list[Row]:
    steps = [_step_row(step, clock, RowKind.STEP) for step in phase.steps]
    starts = [r.start for r in steps if r.start is not None]
    # The phase bar is as long as its steps took in all (what its budget is judged on), from its first step.
    head = Row(
        RowKind.PHASE,
        phase.name,
        phase.name + (" (drill only)" if phase.drill_only else ""),
        str(phase.status),
        min(starts) if starts else None,
        phase.duration,
        phase.budget,
        phase.over_budget,
    )
    return [head, *steps]


def _origin(report: RunReport) -> float | None:
    if report.first_started_at is not None:
        return report.first_started_at
    if report.started_at is not None:
        return report.started_at
    starts = [s.started_at for s in report.every_step if s.started_at is not None]
    return min(starts) if starts else None


def timeline_of(report: RunReport) -> Timeline:
    clock = _Clock(_origin(report))
    rows = [row for phase in report.phases for row in _phase_rows(phase, clock)]
    if report.finally_steps:
        rows.append(Row(RowKind.SEPARATOR, "finally", "finally (not part of the RTO)", ""))
        rows += [_step_row(step, clock, RowKind.FINALLY) for step in report.finally_steps]
    ends = [r.end for r in rows if r.start is not None]
    span = max([*ends, report.rto or 0.0, 1.0])
    return Timeline(tuple(rows), report.rto, span)


def tick_step(span: float, at_most: int = TICKS_AT_MOST) -> int:
    """The smallest round step (1s, 2s, 5s, ..., 1h, ...) giving at most `at_most` ticks over `span`."""
    return next((s for s in _TICK_STEPS if span / s <= at_most), _TICK_STEPS[-1])


def render_timeline_svg(timeline: Timeline) -> str:
    scale = PLOT_WIDTH / timeline.span
    height = AXIS_HEIGHT + ROW_HEIGHT * len(timeline.rows) + 6

    def x(seconds: float) -> float:
        return LABEL_WIDTH + seconds * scale

    parts = [
        f'<svg id="timeline" role="img" width="{LABEL_WIDTH + PLOT_WIDTH + RIGHT_MARGIN}"'
        f' height="{height}" data-seconds-per-px="{1 / scale:.6g}" aria-label="timeline of phases and steps">'
    ]
    step = tick_step(timeline.span)
    for n in range(int(timeline.span // step) + 1):
        at = x(n * step)
        parts.append(
            f'<line class="tick" x1="{at:.2f}" x2="{at:.2f}" y1="{AXIS_HEIGHT - 6}" y2="{height}"/>'
            f'<text class="tick-label" x="{at:.2f}" y="{AXIS_HEIGHT - 10}">{format_duration(n * step)}</text>'
        )
    for i, row in enumerate(timeline.rows):
        parts.append(_row_svg(row, AXIS_HEIGHT + i * ROW_HEIGHT, x, scale))
    if timeline.rto is not None:
        at = x(timeline.rto)
        parts.append(
            f'<line id="rto-line" data-seconds="{timeline.rto:g}" x1="{at:.2f}" x2="{at:.2f}"'
            f' y1="{AXIS_HEIGHT - 6}" y2="{height}"><title>RTO {format_duration(timeline.rto)}</title></line>'
            f'<text class="rto-label" x="{at - 3:.2f}" y="{AXIS_HEIGHT - 18}" text-anchor="end">'
            f"RTO {format_duration(timeline.rto)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _row_svg(row: Row, top: float, x: Callable[[float], float], scale: float) -> str:
    label_class = f"row-label {row.kind}"
    indent = 8 if row.kind is RowKind.PHASE or row.kind is RowKind.SEPARATOR else 22
    out = [
        f'<g class="row {row.kind}" data-path="{escape(row.path)}">'
        f'<text class="{label_class}" x="{indent}" y="{top + ROW_HEIGHT - 7}">{escape(row.label)}</text>'
    ]
    if row.start is not None:
        classes = f"bar {row.kind} {row.status}" + (" over-budget" if row.over_budget else "")
        data = "data-phase" if row.kind is RowKind.PHASE else "data-step"
        title = f"{row.path}: {format_duration(row.duration)} {row.status}"
        if row.over_budget and row.budget is not None:
            title += f", over its budget of {format_duration(row.budget)}"
        out.append(
            f'<rect class="{classes}" {data}="{escape(row.path)}" data-start="{row.start:g}"'
            f' data-duration="{row.duration:g}" x="{x(row.start):.3f}" y="{top + BAR_INSET}"'
            f' width="{row.duration * scale:.3f}" height="{ROW_HEIGHT - 2 * BAR_INSET}">'
            f"<title>{escape(title)}</title></rect>"
        )
        if row.budget is not None:
            at = x(row.start + row.budget)
            out.append(
                f'<line class="budget" data-phase="{escape(row.path)}" data-seconds="{row.budget:g}"'
                f' x1="{at:.3f}" x2="{at:.3f}" y1="{top + 1}" y2="{top + ROW_HEIGHT - 1}">'
                f"<title>budget {format_duration(row.budget)}</title></line>"
            )
    elif row.kind is not RowKind.SEPARATOR and row.kind is not RowKind.PHASE:
        at, baseline = LABEL_WIDTH + 4, top + ROW_HEIGHT - 7
        out.append(f'<text class="not-timed" x="{at}" y="{baseline}">{escape(row.status)}</text>')
    out.append("</g>")
    return "".join(out)
