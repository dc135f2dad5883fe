"""report.md and junit.xml: the structure people and CI systems rely on, written next to report.json."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

from report_support import FAILING_MESSAGE

from drkit.report.collected import CollectedReport
from drkit.report.files import write_run_reports
from drkit.report.html import render_html
from drkit.report.json_report import read_report
from drkit.report.junit import render_junit
from drkit.report.markdown import render_markdown
from drkit.report.model import AttemptReport, ClusterRef, Outcome, RunReport, StepReport, StepState
from drkit.steps.registry import STEP_RESULTS


def test_markdown_of_a_resumed_run_starts_at_its_first_attempt_and_lists_each(report: RunReport) -> None:
    first = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    resumed = dataclasses.replace(
        report,
        outcome=Outcome.SUCCEEDED,
        resumed=True,
        started_at=first + 180.0,
        first_started_at=first,
        rto_measured=186.8,
        elapsed=186.8,
        step_time=6.8,
        attempts=(
            AttemptReport(first, first + 60.0, Outcome.INTERRUPTED, "SIGTERM"),
            AttemptReport(first + 120.0, None, None),
            AttemptReport(first + 180.0, first + 186.8, Outcome.SUCCEEDED),
        ),
        cluster=ClusterRef("drkit-lab", "https://127.0.0.1:6443"),
    )
    text = render_markdown(resumed)
    assert "| RTO | 3m07s of 10m00s (within the RTO): wall clock since the first start |" in text
    assert "| Step time | 6.8s spent in steps |" in text
    assert "| Started | 2026-01-01 00:00:00 UTC |" in text
    assert "| Last resumed | 2026-01-01 00:03:00 UTC |" in text
    assert "| Cluster | context `drkit-lab` (`https://127.0.0.1:6443`) |" in text
    attempts = text.split("## Attempts\n\n")[1].split("\n\n")[0].splitlines()
    assert attempts[2:] == [
        "| 1 | 2026-01-01 00:00:00 UTC | 2026-01-01 00:01:00 UTC | 1m00s | interrupted (SIGTERM) |",
        "| 2 | 2026-01-01 00:02:00 UTC | - | - | no end recorded (drkit was stopped) |",
        "| 3 | 2026-01-01 00:03:00 UTC | 2026-01-01 00:03:06 UTC | 6.8s | succeeded |",
    ]
    assert "earlier attempts" not in text


def test_markdown_has_outcome_phases_failure_checklist_and_audit(report: RunReport) -> None:
    text = render_markdown(report)
    assert text.startswith("# ❌ drill platform: failed\n")
    assert "| RTO | 1m29s wall clock since the first start, recovery not complete (RTO 10m00s) |" in text
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings[1:] == [
        "## Phases",
        "## Failures",
        "### ✘ validate/check-1 (failed after 30s)",
        "## Steps",
        "### Step details",
        "## Finalizers removed (audit)",
    ]
    assert "| rebuild | 52s | 30s | ✔ succeeded ⚠️ **over budget** |" in text
    assert text.count(FAILING_MESSAGE) == 1
    assert "| ✔ pods | passed after 1.2s | 1.2s | 1 |" in text
    assert (
        "| Model ml/baseline | seldon.model.finalizer | 6.5s | Seldon Core v2 scheduler "
        "| 2026-01-01T00:00:08Z" in text
    )
    assert "- Seldon scheduler never unloaded model baseline (Model ml/baseline)" in text
    assert "Not run: `validate/notify`" in text


def test_markdown_table_cells_cannot_break_the_table(report: RunReport) -> None:
    step = dataclasses.replace(report.phases[1].steps[1], message="a | b <script>")
    odd = dataclasses.replace(
        report, phases=(report.phases[0], dataclasses.replace(report.phases[1], steps=(step,)))
    )
    row = next(line for line in render_markdown(odd).splitlines() if line.startswith("| `rebuild/train`"))
    assert row.endswith("| a \\| b &lt;script&gt; |")


def junit_of(report: RunReport) -> ET.Element:
    return ET.fromstring(render_junit(report))


def test_junit_has_a_suite_for_the_finally_steps_where_their_failure_is_one(report: RunReport) -> None:
    restore = StepReport("finally", 1, "restore", "command", StepState.FAILED, "exit status 1", duration=2.0)
    root = junit_of(dataclasses.replace(report, finally_steps=(restore,)))

    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["teardown", "rebuild", "validate", "finally", "rto"]
    (case,) = suites[3].findall("testcase")
    assert (case.get("classname"), case.get("name")) == ("platform.finally", "restore")
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == "exit status 1"


def test_junit_counts_steps_items_failures_and_skips(report: RunReport) -> None:
    root = junit_of(report)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["teardown", "rebuild", "validate", "rto"]
    validate = suites[2]
    cases = [(c.get("classname"), c.get("name")) for c in validate.findall("testcase")]
    assert cases == [
        ("platform.validate", "check-1"),
        ("platform.validate.check-1", "pods"),
        ("platform.validate.check-1", "api"),
        ("platform.validate", "notify"),
    ]
    assert (validate.get("tests"), validate.get("failures"), validate.get("skipped")) == ("4", "2", "1")
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == (
        "8",
        "2",
        "2",
    )  # 1 + 2 + 4 + the RTO
    failures = {
        c.get("name"): c.find("failure") for c in root.iter("testcase") if c.find("failure") is not None
    }
    assert set(failures) == {"check-1", "api"}
    assert failures["api"].get("message") == FAILING_MESSAGE  # type: ignore[union-attr]
    assert validate.find("testcase[@name='pods']").get("time") == "1.250"  # type: ignore[union-attr]
    assert suites[1].find("testcase[@name='train']").get("time") == "43.000"  # type: ignore[union-attr]
    rto = suites[3].find("testcase")
    assert rto is not None
    assert rto.find("skipped") is not None


def test_junit_fails_the_rto_case_when_over_rto(report: RunReport) -> None:
    steps = tuple(
        dataclasses.replace(s, status=StepState.SUCCEEDED, checklist_items=()) for s in report.phases[2].steps
    )
    over = dataclasses.replace(
        report,
        outcome=Outcome.OVER_RTO,
        message="recovered in 700s, over the RTO of 600s",
        phases=(*report.phases[:2], dataclasses.replace(report.phases[2], steps=steps)),
    )
    root = junit_of(over)
    assert root.get("failures") == "1"
    failure = root.find("testsuite[@name='rto']/testcase/failure")
    assert failure is not None
    assert "over the RTO" in (failure.get("message") or "")


def test_tolerated_failures_are_not_junit_failures(report: RunReport) -> None:
    health = dataclasses.replace(report.phases[2].steps[0], tolerated=True)
    tolerated = dataclasses.replace(
        report,
        outcome=Outcome.SUCCEEDED,
        phases=(*report.phases[:2], dataclasses.replace(report.phases[2], steps=(health,))),
    )
    root = junit_of(tolerated)
    assert root.get("failures") == "0"
    out = root.find("testsuite[@name='validate']/testcase[@name='check-1']/system-out")
    assert out is not None
    assert "failed (tolerated)" in (out.text or "")


def test_junit_stays_parseable_with_control_characters(report: RunReport) -> None:
    step = dataclasses.replace(
        report.phases[2].steps[0], message="\x1b[31mred\x1b[0m \x00 done", checklist_items=()
    )
    odd = dataclasses.replace(report, phases=(dataclasses.replace(report.phases[2], steps=(step,)),))
    failure = junit_of(odd).find(".//failure")
    assert failure is not None
    assert "red" in (failure.text or "")


def test_run_directory_gets_all_four_files(report: RunReport, tmp_path: Path) -> None:
    write_run_reports(report, tmp_path)
    names = ["junit.xml", "report.html", "report.json", "report.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    assert read_report(tmp_path / "report.json", STEP_RESULTS) == report
    assert (tmp_path / "report.md").read_text(encoding="utf-8") == render_markdown(report)
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == render_html(report)
    ET.parse(tmp_path / "junit.xml")


def test_markdown_lists_finally_steps_and_what_was_collected_for_a_failed_one(report: RunReport) -> None:
    collected = CollectedReport(
        "collected/finally-1", files=("events.txt",), warnings=("Pod ml/x: BackOff: restarting",)
    )
    restore = StepReport(
        "finally",
        1,
        "restore",
        "command",
        StepState.FAILED,
        "exit status 1",
        hint="check",
        collected=collected,
    )

    text = render_markdown(dataclasses.replace(report, finally_steps=(restore,)))

    section = text.split("## Finally", 1)[1]
    assert "| `finally/restore` | command | ✘ failed | 0s | exit status 1 (hint: check) |" in section
    assert "- `finally/restore` gathered into collected/finally-1/: events.txt" in section
    assert "- `finally/restore` warning event: Pod ml/x: BackOff: restarting" in section
