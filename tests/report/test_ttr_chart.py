"""Time to recovery over time: which runs a chart plots, in which order, and where each point sits."""

from __future__ import annotations

import dataclasses

import pytest

from drkit.report.history import HistoryEntry
from drkit.report.model import ClusterRef, Outcome, RunReport
from drkit.report.ttr_chart import report_series, scale_for, series_by_playbook
from drkit.run_mode import RunMode

DAY = 86_400.0
T0 = 1_767_225_600.0


def _entry(
    run_id: str, day: int, seconds: float, *, outcome: str = "succeeded", **kw: object
) -> HistoryEntry:
    fields: dict[str, object] = {
        "run_id": run_id,
        "playbook": "platform",
        "context": "lab",
        "mode": "drill",
        "outcome": outcome,
        "started_at": T0 + day * DAY,
        "time_to_recovery": seconds,
        "rto": 600.0,
    }
    fields.update(kw)
    return HistoryEntry(**fields)  # type: ignore[arg-type]


def test_series_group_by_playbook_and_mode_oldest_first_and_leave_out_what_recovers_nothing() -> None:
    entries = [
        _entry("c", 3, 300.0),
        _entry("a", 1, 100.0),
        _entry("b", 2, 50.0, outcome="failed"),
        _entry("r", 2, 80.0, mode="recover", rto=None),
        _entry("k", 2, 1.0, mode="check"),
        _entry("x", 2, 9.0, started_at=None),
        _entry("o", 1, 70.0, playbook="other", rto=120.0),
    ]
    found = {s.label: s for s in series_by_playbook(entries)}
    assert list(found) == ["other (drill)", "platform (drill)", "platform (recover)"]
    platform = found["platform (drill)"]
    assert [p.run_id for p in platform.points] == ["a", "b", "c"]
    assert [p.run_id for p in platform.recovered] == ["a", "c"]  # the failed run is drawn apart
    assert (platform.rto, found["other (drill)"].rto) == (600.0, 120.0)


def test_a_reports_series_ends_with_the_run_itself_and_skips_later_or_other_runs(report: RunReport) -> None:
    mine = dataclasses.replace(
        report, first_started_at=T0 + 5 * DAY, cluster=ClusterRef("lab", ""), outcome=Outcome.SUCCEEDED
    )
    earlier = [
        _entry("later", 9, 10.0),  # started after this run: a regenerated old report must not show it
        _entry("older", 1, 120.0),
        _entry(str(report.run_id), 5, 1.0),  # this run, as the history already holds it
        _entry("elsewhere", 2, 5.0, playbook="other"),
    ]
    series = report_series(mine, earlier)
    assert series is not None
    assert [(p.run_id, p.current) for p in series.points] == [("older", False), (report.run_id, True)]
    assert series.points[-1].seconds == mine.time_to_recovery
    assert series.rto == mine.rto


def test_a_check_run_has_no_recovery_series(report: RunReport) -> None:
    assert report_series(dataclasses.replace(report, mode=RunMode.CHECK), []) is None


def test_the_scale_fits_the_slowest_run_and_the_rto_and_spreads_runs_over_the_width() -> None:
    [series] = series_by_playbook([_entry("a", 0, 100.0), _entry("b", 4, 300.0)])
    scale = scale_for([series], 400, 100)
    assert scale is not None
    assert (scale.x(T0), scale.x(T0 + 2 * DAY), scale.x(T0 + 4 * DAY)) == (0, 200, 400)
    assert scale.y(0) == 100
    assert scale.y(600.0) == pytest.approx(100 - 100 / 1.1)  # the RTO, the highest, below the top
    assert scale_for([], 400, 100) is None
