"""report.html's time-to-recovery chart: this playbook's earlier runs on the same cluster and this one, with
the RTO as a line, as inline SVG (report.html must open without the network)."""

from __future__ import annotations

from html import escape

from drkit.playbook.durations import format_duration
from drkit.report.html_timeline import tick_step
from drkit.report.times import utc_minute
from drkit.report.ttr_chart import TtrSeries, scale_for

WIDTH, HEIGHT = 640, 220  # px of the plot area
LEFT, TOP, BOTTOM = 64, 12, 28  # px of margin for the axis labels
Y_TICKS = 5  # at most, on round durations


def render_ttr_svg(series: TtrSeries) -> str:
    scale = scale_for([series], WIDTH, HEIGHT)
    if scale is None:
        return ""

    def x(started_at: float) -> float:
        return LEFT + scale.x(started_at)

    def y(seconds: float) -> float:
        return TOP + scale.y(seconds)

    parts = [
        f'<svg id="ttr-chart" role="img" width="{LEFT + WIDTH + 16}" height="{TOP + HEIGHT + BOTTOM}"'
        f' data-runs="{len(series.points)}" aria-label="time to recovery of {escape(series.label)}">'
        f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + HEIGHT}"/>'
        f'<line class="axis" x1="{LEFT}" x2="{LEFT + WIDTH}" y1="{TOP + HEIGHT}" y2="{TOP + HEIGHT}"/>'
    ]
    step = tick_step(scale.top, at_most=Y_TICKS)
    for n in range(1, int(scale.top // step) + 1):
        seconds = n * step
        parts.append(
            f'<text class="tick-label" x="{LEFT - 6}" y="{y(seconds) + 4:.1f}" text-anchor="end">'
            f"{format_duration(seconds)}</text>"
        )
    # The oldest and the newest run's dates, each kept inside the plot's width (one run: in the middle).
    first, last = series.points[0], series.points[-1]
    dates = ((first, "start"), (last, "end")) if len(series.points) > 1 else ((first, "middle"),)
    for point, anchor in dates:
        parts.append(
            f'<text class="tick-label" x="{x(point.started_at):.1f}" y="{TOP + HEIGHT + 18}"'
            f' text-anchor="{anchor}">{utc_minute(point.started_at)}</text>'
        )
    if series.rto is not None:
        parts.append(
            f'<line id="ttr-rto" data-seconds="{series.rto:g}" x1="{LEFT}" x2="{LEFT + WIDTH}"'
            f' y1="{y(series.rto):.2f}" y2="{y(series.rto):.2f}"/>'
            f'<text class="rto-label" x="{LEFT + WIDTH - 4}" y="{y(series.rto) - 4:.1f}" text-anchor="end">'
            f"RTO {format_duration(series.rto)}</text>"
        )
    recovered = series.recovered
    if len(recovered) > 1:
        line = " ".join(f"{x(p.started_at):.2f},{y(p.seconds):.2f}" for p in recovered)
        parts.append(f'<polyline class="ttr-line" points="{line}"/>')
    for p in series.points:
        kind = "recovered" if p.recovered else "not-recovered"
        classes = f"ttr-point {kind}" + (" current" if p.current else "")
        title = f"{p.run_id}, {utc_minute(p.started_at)}: {format_duration(p.seconds)}" + (
            "" if p.recovered else " (did not recover)"
        )
        parts.append(
            f'<circle class="{classes}" data-run="{escape(p.run_id)}" data-seconds="{p.seconds:g}"'
            f' cx="{x(p.started_at):.2f}" cy="{y(p.seconds):.2f}" r="{5 if p.current else 4}">'
            f"<title>{escape(title)}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)
