"""report.html on its own (no browser): the timeline's geometry, which sections appear, escaping, and that the
page links nothing outside itself."""

from __future__ import annotations

import dataclasses
import re

import pytest
from report_support import DIFF, FAILING_MESSAGE, PARITY, as_reported

from drkit.report.collected import CollectedReport
from drkit.report.html import render_html
from drkit.report.html_timeline import RowKind, tick_step, timeline_of
from drkit.report.model import RunReport, StepReport, StepState
from drkit.run_mode import RunMode

SECTIONS = ("summary", "timeline", "failures", "checklists", "steps", "finalizers")
OPTIONAL = ("model-uris", "collected", "parity", "reproduction-diff")


def _ids(page: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', page))


def _with_step(report: RunReport, step: StepReport) -> RunReport:
    rebuild = report.phases[1]
    phases = (report.phases[0], dataclasses.replace(rebuild, steps=(*rebuild.steps, step)), report.phases[2])
    return dataclasses.replace(report, phases=phases)


def _model_uris_step() -> StepReport:
    models = [
        {
            "name": "baseline",
            "namespace": "ml",
            "old": "s3://b/1/old",
            "new": "s3://b/1/new",
            "changed": True,
        },
        {"name": "enhanced", "namespace": "ml", "old": "s3://b/2", "new": "s3://b/2", "changed": False},
    ]
    collected = CollectedReport("collected/rebuild-3", files=("events.txt",), warnings=("Pod ml/x: BackOff",))
    return as_reported(StepReport(
        "rebuild", 3, "rewrite", "modelUris", StepState.SUCCEEDED, "rewrote 1", details={"models": models},
        duration=1.0, parity=PARITY, diff=DIFF, collected=collected,
    ))  # fmt: skip


def test_steps_sit_on_one_axis_one_after_another_with_widths_as_their_durations(report: RunReport) -> None:
    timeline = timeline_of(report)
    steps = timeline.bars(RowKind.STEP)
    # unstick has a wall-clock start (the run's first start); the others follow one another.
    assert [(r.path, r.start, r.duration) for r in steps] == [
        ("teardown/unstick", 0.0, 7.0),
        ("rebuild/apply-base", 7.0, 9.2),
        ("rebuild/train", 16.2, 43.0),
        ("validate/check-1", pytest.approx(59.2), 30.0),
    ]
    phases = {r.path: r for r in timeline.bars(RowKind.PHASE)}
    assert phases["rebuild"].over_budget
    assert not phases["teardown"].over_budget
    assert phases["rebuild"].duration == report.phases[1].duration
    assert timeline.span == report.rto  # the RTO is the furthest thing to show
    [not_run] = [r for r in timeline.rows if r.path == "validate/notify"]
    assert not_run.start is None


def test_finally_steps_come_after_the_phases_under_their_own_heading(report: RunReport) -> None:
    cleanup = StepReport("finally", 1, "cleanup", "command", StepState.SUCCEEDED, "ok", duration=2.0)
    timeline = timeline_of(dataclasses.replace(report, finally_steps=(cleanup,)))
    assert [r.kind for r in timeline.rows[-2:]] == [RowKind.SEPARATOR, RowKind.FINALLY]
    assert timeline.rows[-1].start == pytest.approx(89.2)


def test_the_svg_draws_one_bar_per_step_that_ran_and_the_rto_line(report: RunReport) -> None:
    page = render_html(report)
    bars = re.findall(r'<rect class="bar step [^"]*" data-step="([^"]+)"[^>]*width="([\d.]+)"', page)
    assert [path for path, _ in bars] == [
        "teardown/unstick",
        "rebuild/apply-base",
        "rebuild/train",
        "validate/check-1",
    ]
    widths = [float(w) for _, w in bars]
    assert widths[2] / widths[0] == pytest.approx(43.0 / 7.0, rel=1e-3)
    assert 'id="rto-line" data-seconds="600"' in page
    assert re.search(r'class="bar phase succeeded over-budget" data-phase="rebuild"', page)
    assert 'class="budget" data-phase="rebuild" data-seconds="30"' in page


def test_tick_steps_are_round_and_few() -> None:
    assert (tick_step(8), tick_step(59), tick_step(600), tick_step(3 * 3600)) == (1, 10, 60, 1800)


def test_the_failed_run_shows_its_sections_and_leaves_out_what_it_has_not(report: RunReport) -> None:
    page = render_html(report)
    assert set(SECTIONS) <= _ids(page)
    assert not set(OPTIONAL) & _ids(page)
    failure = page.split('<section id="failures">')[1].split("</section>")[0]
    assert "api: GET http://api.local/health: status 503, expected 200" in failure
    assert 'data-item="validate/check-1/pods" data-passed="true" data-first-passed="1.25"' in page
    assert 'data-object="Model ml/baseline"' in page
    assert "Seldon scheduler never unloaded model baseline" in page


def test_model_uris_parity_diff_and_collected_material_get_their_sections(report: RunReport) -> None:
    page = render_html(_with_step(report, _model_uris_step()))
    assert set(OPTIONAL) <= _ids(page)
    assert 'data-model="ml/baseline" data-changed="true"' in page
    assert 'data-model="ml/enhanced" data-changed="false"' in page
    assert 'data-model="enhanced-predictor" data-verdict="different"' in page
    assert 'data-change="missing"' in page
    assert "gathered into collected/rebuild-3/: events.txt" in page


def test_a_hint_is_shown_with_its_failure(report: RunReport) -> None:
    check = dataclasses.replace(report.phases[2].steps[0], hint="look at the ingress")
    phases = (
        *report.phases[:2],
        dataclasses.replace(report.phases[2], steps=(check, report.phases[2].steps[1])),
    )
    page = render_html(dataclasses.replace(report, phases=phases))
    assert '<p class="hint"><strong>Hint:</strong> look at the ingress</p>' in page


def test_every_value_is_escaped(report: RunReport) -> None:
    evil = '<script>alert("x")</script>'
    step = dataclasses.replace(
        report.phases[1].steps[0], name='a"><img src=x onerror=1>', message=evil, hint=evil
    )
    page = render_html(dataclasses.replace(_with_step(report, step), playbook_name=evil, message=evil))
    assert "<script>" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert 'data-step="rebuild/a&quot;&gt;&lt;img src=x onerror=1&gt;"' in page


def test_the_page_links_nothing_outside_itself(report: RunReport) -> None:
    page = render_html(_with_step(report, _model_uris_step()))
    links = re.findall(r'\b(?:src|href|action|xlink:href)\s*=\s*"([^"]*)"', page)
    assert all(link.startswith(("#", "data:")) for link in links), links
    assert "@import" not in page
    assert "url(" not in page
    assert FAILING_MESSAGE in page  # a URL in the text is only text


def test_the_chart_section_is_there_for_a_drill_and_not_for_a_check(report: RunReport) -> None:
    assert "ttr" in _ids(render_html(report))  # this run alone is a point already
    assert "ttr" not in _ids(render_html(dataclasses.replace(report, mode=RunMode.CHECK)))
