"""`drkit history --chart FILE.png`: time to recovery over time per playbook, drawn by matplotlib.

matplotlib is the optional `charts` extra, imported only here and only when a chart is asked for, so drkit
starts as fast without it and a missing install is a clear usage error instead of an ImportError. The Agg
canvas draws without a display and without pyplot's global figure state.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path

from drkit.errors import MissingExtraError
from drkit.report.json_report import write_atomically
from drkit.report.ttr_chart import TtrPoint, TtrSeries

SIZE = (9.0, 4.5)  # inches
DPI = 100
DAY = 86_400.0  # seconds


def render_ttr_png(series: Sequence[TtrSeries]) -> bytes:
    """The PNG of every series (one line each, failed runs as crosses, each RTO a dashed line)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - optional extra
        from matplotlib.figure import Figure  # noqa: PLC0415 - optional extra
    except ImportError as exc:
        raise MissingExtraError("drkit history --chart", "matplotlib", "charts") from exc
    figure = Figure(figsize=SIZE, dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.xaxis_date(tz=UTC)  # x values are matplotlib date numbers

    def when(points: Sequence[TtrPoint]) -> list[float]:
        return [p.started_at / DAY for p in points]  # matplotlib's date numbers: days since its 1970 epoch

    for one in series:
        (line,) = axes.plot(
            when(one.recovered), [p.seconds / 60 for p in one.recovered], marker="o", label=one.label
        )
        failed = [p for p in one.points if not p.recovered]
        if failed:
            axes.scatter(
                when(failed),
                [p.seconds / 60 for p in failed],
                marker="x",
                color=line.get_color(),
                label=f"{one.label}: did not recover",
            )
        if one.rto is not None:
            axes.axhline(
                one.rto / 60, linestyle="--", color=line.get_color(), alpha=0.6, label=f"RTO {one.label}"
            )
    axes.set_title("Time to recovery over time")
    axes.set_ylabel("minutes")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    if series:
        axes.legend(fontsize="small")
    figure.autofmt_xdate()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def write_ttr_png(series: Sequence[TtrSeries], path: Path) -> Path:
    write_atomically(path, render_ttr_png(series))
    return path
