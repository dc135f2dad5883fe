"""Parity and the reproduction diff in every form of the report: the console summary, report.json (typed,
round-tripped as the journal and `drkit resume` need), report.md's tables and junit.xml."""

from __future__ import annotations

import io
import json

from report_support import DIFF, NEW, OLD, PARITY

from drkit.report.console import make_console, render_summary
from drkit.report.junit import render_junit
from drkit.report.markdown import render_markdown
from drkit.report.model import Outcome, PhaseReport, RunReport, StepReport, StepState
from drkit.run_mode import RunMode
from drkit.steps.registry import STEP_RESULTS


def _report() -> RunReport:
    parity = StepReport(
        "validate", 1, "parity", "predictionParity", StepState.FAILED, "model ...", parity=PARITY
    )
    diff = StepReport("validate", 2, "diff", "reproductionDiff", StepState.FAILED, "1 missing ...", diff=DIFF)
    return RunReport(
        run_id="20260101-000000-abcd",
        playbook_name="p",
        playbook_path="p.yaml",
        mode=RunMode.DRILL,
        outcome=Outcome.FAILED,
        phases=(PhaseReport("validate", (parity, diff)),),
    )


def test_the_console_summary_shows_parity_per_model_and_the_diff_compactly() -> None:
    stream = io.StringIO()
    render_summary(make_console(stream, terminal=False), _report())
    text = stream.getvalue()
    assert "prediction parity with snapshot/golden (tolerance absolute 0.001)" in text
    assert f"✔ baseline-predictor: equal, same model ({OLD})" in text
    assert (
        f"✘ enhanced-predictor: different, retrained ({OLD} → {NEW}); 2 of 6 value(s) differ; "
        "worst output 'output-1'[3, 0]: expected 1, got 0 (off by 1)"
    ) in text
    assert "1 missing, 0 extra, 2 changed (1 expected) of 5 object(s) compared" in text
    assert "- missing ConfigMap financial-inference/retired" in text
    assert "data.password: value changed (compared by digest)" in text
    assert "spec.storageUri: 's3://x' → 's3://y' (expected)" in text


def test_report_json_holds_them_as_typed_data_and_reads_them_back() -> None:
    report = _report()
    data = json.loads(json.dumps(report.to_json()))
    parity, diff = data["phases"][0]["steps"]
    assert [m["verdict"] for m in parity["parity"]["models"]] == ["equal", "different"]
    assert parity["parity"]["models"][1]["sameness"] == "retrained"
    assert parity["parity"]["models"][1]["worst"]["index"] == [3, 0]
    assert diff["reproductionDiff"]["counts"] == {"missing": 1, "extra": 0, "changed": 2}
    assert diff["reproductionDiff"]["passed"] is False
    assert "parity" not in diff
    assert "reproductionDiff" not in parity
    again = RunReport.from_json(data, STEP_RESULTS)
    assert again.steps[0].parity == PARITY
    assert again.steps[1].diff == DIFF


def test_markdown_has_a_parity_table_and_the_diff_list() -> None:
    text = render_markdown(_report())
    assert "## Prediction parity" in text
    assert (
        f"| ✘ enhanced-predictor | **different** | retrained ({OLD} → {NEW}) | "
        "output 'output-1'[3, 0]: expected 1, got 0 (off by 1) |"
    ) in text
    assert "## Reproduction diff" in text
    assert "| missing | ConfigMap financial-inference/retired | - |" in text
    assert "| changed (expected) | Model financial-inference/baseline-predictor |" in text


def test_junit_carries_them_in_the_failure_text() -> None:
    text = render_junit(_report())
    assert "worst output 'output-1'[3, 0]" in text
    assert "missing ConfigMap financial-inference/retired" in text
