"""The text summary as an on-call engineer reads it: each failure once, items as a list, the finalizer audit,
the slowest objects and workflows; plain output stays one fact a line, a terminal wraps under the indent."""

from __future__ import annotations

import dataclasses
import io

from report_support import FAILING_MESSAGE
from rich.console import Console

from drkit.report.console import PlainListener, make_console, render_summary
from drkit.report.model import Outcome, RunReport, StepReport, StepState


def summary_of(report: RunReport, console: Console | None = None) -> str:
    stream = io.StringIO()
    render_summary(console or make_console(stream, terminal=False), report)
    return stream.getvalue() if console is None else console.file.getvalue()  # type: ignore[attr-defined]


def test_failed_checklist_message_appears_once_with_items_listed(report: RunReport) -> None:
    text = summary_of(report)
    assert text.count("status 503, expected 200") == 1
    assert "✘ validate/check-1 failed after 30s" in text
    assert "1 of 2 items of checklist platform-health still failing after 30s" in text
    lines = text.splitlines()
    assert "  ✔ pods  passed after 1.2s" in lines
    assert any(line.startswith("  ✘ api  failing: GET http://api.local/health") for line in lines)


def test_an_item_message_of_joined_facts_is_printed_one_fact_a_line(report: RunReport) -> None:
    health = report.phases[2].steps[0]
    pods, api = health.checklist_items
    joined = dataclasses.replace(api, message=f"{FAILING_MESSAGE} | connection reset twice")
    step = dataclasses.replace(health, checklist_items=(pods, joined))
    failing = dataclasses.replace(
        report,
        phases=(
            *report.phases[:2],
            dataclasses.replace(report.phases[2], steps=(step, *report.phases[2].steps[1:])),
        ),
    )
    text = summary_of(failing)
    lines = text.splitlines()
    assert f"  ✘ api  failing: {FAILING_MESSAGE}" in lines
    assert "      connection reset twice" in lines  # the second fact on its own line, under the item
    assert " | " not in text


def test_outcome_points_at_the_failure_and_what_to_do_next(report: RunReport) -> None:
    tail = summary_of(report).split("drill failed:", 1)[1]
    assert "failed at validate/check-1 (see above)" in tail
    assert "not run: validate/notify" in tail
    assert "drkit resume 20260101-000000-abcd" in tail
    assert "status 503" not in tail


def test_audit_records_orphans_ready_times_and_workflow(report: RunReport) -> None:
    lines = summary_of(report).splitlines()
    assert "teardown/unstick:" in lines
    assert (
        "    Model ml/baseline: seldon.model.finalizer (deleted 6.5s ago; owner: Seldon Core v2 scheduler)"
        in lines
    )
    assert (
        "  may be orphaned (check by hand): "
        "Seldon scheduler never unloaded model baseline (Model ml/baseline)" in lines
    )
    slowest = lines.index("  slowest to become ready:")
    assert lines[slowest + 1 : slowest + 4] == [
        "    Deployment ml/d9  9s",
        "    Deployment ml/d4  4s",
        "    Deployment ml/d3  3s",
    ]
    assert "Deployment ml/d1" not in "\n".join(lines)  # only the slowest few
    assert "  workflow: argo/train-x1: Succeeded in 42s" in lines


def test_checklist_block_is_named_after_the_checklist(report: RunReport) -> None:
    health = dataclasses.replace(report.phases[2].steps[0], status=StepState.SUCCEEDED)
    passed = dataclasses.replace(
        report, phases=(*report.phases[:2], dataclasses.replace(report.phases[2], steps=(health,)))
    )
    text = summary_of(passed)
    assert "checklist platform-health (validate/check-1):" in text
    assert "checklist check-1" not in text


def test_plain_output_keeps_long_lines_whole(report: RunReport) -> None:
    long_message = "x" * 150 + " | second fact"
    step = dataclasses.replace(report.phases[1].steps[0], status=StepState.FAILED, message=long_message)
    failing = dataclasses.replace(
        report, phases=(report.phases[0], dataclasses.replace(report.phases[1], steps=(step,)))
    )
    lines = summary_of(failing).splitlines()
    assert "    " + "x" * 150 in lines  # whole, and the second fact on its own line
    assert "    second fact" in lines


def test_terminal_wraps_long_messages_under_their_indent(report: RunReport) -> None:
    step = dataclasses.replace(
        report.phases[1].steps[0], status=StepState.FAILED, message=" ".join(["word"] * 40)
    )
    failing = dataclasses.replace(
        report, phases=(report.phases[0], dataclasses.replace(report.phases[1], steps=(step,)))
    )
    console = Console(file=io.StringIO(), force_terminal=True, width=60, no_color=True)
    lines = summary_of(failing, console).splitlines()
    wrapped = [line for line in lines if line.strip().startswith("word")]
    assert len(wrapped) >= 3
    assert all(line.startswith("    word") and len(line) <= 60 for line in wrapped)


def test_plain_progress_leaves_the_failure_message_to_the_summary(report: RunReport) -> None:
    stream = io.StringIO()
    listener = PlainListener(make_console(stream, terminal=False), summary=None, failures_in_summary=True)
    listener.step_finished(report.phases[2].steps[0])
    assert stream.getvalue() == "  ✘ validate/check-1  30s  failed, see below\n"


def test_finally_steps_are_listed_apart_and_a_failing_one_is_named_in_the_outcome(report: RunReport) -> None:
    restore = StepReport("finally", 1, "restore", "command", StepState.FAILED, "exit status 1", duration=2.0)
    notify = StepReport("finally", 2, "notify", "http", StepState.SUCCEEDED, "POST 200", duration=0.5)
    passed = dataclasses.replace(
        report,
        outcome=Outcome.FAILED,
        phases=(),
        finally_steps=(restore, notify),
        message="finally step failed: finally/restore: exit status 1",
    )

    text = summary_of(passed)

    head, tail = text.split("drill failed:", 1)
    assert "finally (run whatever happened, not part of the RTO):" in head
    assert "  ✔ finally/notify  500ms" in head.splitlines()
    assert "✘ finally/restore failed after 2s" in head
    assert head.count("exit status 1") == 1
    assert "failed at finally/restore (see above)" in tail
