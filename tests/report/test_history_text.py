"""How `drkit history` words a trend and an RTO margin."""

from __future__ import annotations

from pathlib import Path

import pytest

from drkit.report.history import History, HistoryEntry, Trend, history_text


def _text(trend: Trend, rto: float | None = 60.0, took: float = 60.0) -> str:
    entry = HistoryEntry("20260101-000000-ab12", trend.playbook, "prod", "drill", "succeeded", 0.0, took, rto)
    return history_text(History((entry,), (trend,)), Path("/state"))


@pytest.mark.parametrize(
    ("trend", "says"),
    [
        (Trend("p", "drill", (100.0, 120.0, 66.0), 100.0, 110.0), "latest faster by 44s (-40%)"),
        (Trend("p", "drill", (100.0, 150.0), 125.0, 100.0), "latest slower by 50s (+50%)"),
        (Trend("p", "drill", (90.0, 90.0), 90.0, 90.0), "latest as the median before it"),
        (Trend("p", "drill", (75.0,), 75.0, None), "p (drill): last 1: 1m15s; median 1m15s\n"),
        (Trend("p", "drill", (), 0.0, None), "p (drill): no finished drills yet"),
    ],
)
def test_the_trend_line_says_how_the_latest_compares(trend: Trend, says: str) -> None:
    assert says in _text(trend)


@pytest.mark.parametrize(
    ("rto", "took", "says"),
    [
        (60.0, 72.0, "RTO 1m00s, over by 12s"),
        (60.0, 45.0, "RTO 1m00s, under by 15s"),
        (60.0, 60.0, "just met"),
        (None, 10.0, "no RTO"),
    ],
)
def test_each_run_says_how_far_over_or_under_its_rto(rto: float | None, took: float, says: str) -> None:
    assert says in _text(Trend("p", "drill", (took,), took, None), rto, took)
