"""`junit.xml`: the run in the format CI systems (GitLab, Jenkins, GitHub test reporters) already display.

One testsuite per phase (and one for the `finally:` steps) and one testcase per step, timed; a checklist's
items are testcases too (classname `<playbook>.<phase>.<step>`), so a CI page lists which check of a
validation failed. A failure here means what makes drkit exit non-zero: a failed step, a failing item of a
failed checklist, and the RTO (its own suite); a tolerated failure (continueOnError) and an over-budget phase
are reported in system-out, not as failures, so the CI page agrees with the exit code. Built from the report
only, so it holds no more than report.json.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from drkit.playbook.durations import format_duration
from drkit.report.highlights import headline, item_status, message_parts, step_highlights
from drkit.report.model import ChecklistItemReport, Outcome, PhaseReport, RunReport, StepReport, StepState

FAILURE_TYPE = "drkit.StepFailed"
# XML 1.0 cannot carry most control characters (a command's colour codes, say): parsers reject the file.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
SKIP_REASONS = {
    StepState.SKIPPED: "skipped",
    StepState.NOT_RUN: "not run",
    StepState.PENDING: "did not finish",
    StepState.PLANNED: "planned, not run",
}


def render_junit(report: RunReport) -> str:
    root = ET.Element("testsuites", name=f"drkit {report.mode} {report.playbook_name}")
    suites = [_phase_suite(report, phase) for phase in report.phases]
    if report.finally_steps:  # a suite of their own, after the phases, as they ran
        suites.append(_phase_suite(report, PhaseReport(report.finally_steps[0].phase, report.finally_steps)))
    if report.rto is not None and report.outcome is not Outcome.PLANNED:
        suites.append(_rto_suite(report))
    for suite in suites:
        root.append(suite)
    _count(root, suites)
    root.set("time", _seconds(report.total_duration))
    _clean(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _phase_suite(report: RunReport, phase: PhaseReport) -> ET.Element:
    suite = ET.Element("testsuite", name=phase.name)
    if phase.started_at is not None:
        suite.set("timestamp", _timestamp(phase.started_at))
    suite.set("time", _seconds(phase.duration))
    classname = f"{report.playbook_name}.{phase.name}"
    cases: list[ET.Element] = []
    for step in phase.steps:
        cases.append(_step_case(classname, step))
        cases += [_item_case(f"{classname}.{step.name}", step, item) for item in step.checklist_items]
    suite.extend(cases)
    if phase.over_budget and phase.budget is not None:
        _system_out(
            suite,
            f"phase {phase.name} took {format_duration(phase.duration)}, "
            f"over its budget of {format_duration(phase.budget)}",
        )
    _count(suite, cases)
    return suite


def _step_case(classname: str, step: StepReport) -> ET.Element:
    case = ET.Element("testcase", classname=classname, name=step.name, time=_seconds(step.duration))
    out = [f"kind: {step.kind}", f"status: {step.label}"]
    if step.fails_the_run:
        failure = ET.SubElement(case, "failure", message=headline(step), type=FAILURE_TYPE)
        failure.text = "\n".join(_failure_text(step))
    elif step.status in SKIP_REASONS:
        reason = SKIP_REASONS[step.status]
        ET.SubElement(case, "skipped", message=step.message or reason)
    elif step.tolerated:
        out += _failure_text(step)
    elif step.message:
        out.append(step.message)
    for highlight in step_highlights(step):
        out.append(f"{highlight.title}:")
        out += [f"  {line}" for line in highlight.lines]
    _system_out(case, "\n".join(out))
    return case


def _failure_text(step: StepReport) -> list[str]:
    """The message, one fact a line; a checklist's items are testcases of their own, so only named here."""
    if step.checklist_items:
        lines = [
            headline(step),
            "items: " + ", ".join(f"{i.name} {'✔' if i.passed else '✘'}" for i in step.checklist_items),
        ]
    else:
        lines = message_parts(step.message)
    if step.hint:
        lines.append(f"hint: {step.hint}")
    return lines


def _item_case(classname: str, step: StepReport, item: ChecklistItemReport) -> ET.Element:
    time = item.first_passed_after if item.passed and item.first_passed_after is not None else step.duration
    case = ET.Element("testcase", classname=classname, name=item.name, time=_seconds(time))
    if item.passed:
        _system_out(case, item_status(item) + (f"\n{item.message}" if item.message else ""))
    elif step.fails_the_run:
        failure = ET.SubElement(case, "failure", message=item.message or "failing", type=FAILURE_TYPE)
        failure.text = "\n".join([item.description, *message_parts(item.message)]).strip()
    else:
        _system_out(case, f"{item_status(item)} ({step.label})")
    return case


def _rto_suite(report: RunReport) -> ET.Element:
    assert report.rto is not None
    suite = ET.Element("testsuite", name="rto", time=_seconds(report.rto_measured))
    case = ET.SubElement(suite, "testcase", classname=f"{report.playbook_name}.rto", name="within RTO")
    case.set("time", _seconds(report.rto_measured))
    verdict = f"{format_duration(report.rto_measured)} against an RTO of {format_duration(report.rto)}"
    if report.outcome not in (Outcome.SUCCEEDED, Outcome.OVER_RTO):
        ET.SubElement(case, "skipped", message=f"the recovery did not complete ({report.outcome}): {verdict}")
    elif report.outcome is Outcome.OVER_RTO:
        failure = ET.SubElement(case, "failure", message=f"over the RTO: {verdict}", type="drkit.OverRto")
        failure.text = report.message
    else:
        _system_out(case, verdict)
    _count(suite, [case])
    return suite


def _count(parent: ET.Element, children: list[ET.Element]) -> None:
    """tests/failures/errors/skipped of a suite from its cases, or of the root from its suites."""
    if parent.tag == "testsuites":
        totals = {
            key: sum(int(s.get(key, "0")) for s in children) for key in ("tests", "failures", "skipped")
        }
    else:
        totals = {
            "tests": len(children),
            "failures": sum(1 for c in children if c.find("failure") is not None),
            "skipped": sum(1 for c in children if c.find("skipped") is not None),
        }
    parent.set("tests", str(totals["tests"]))
    parent.set("failures", str(totals["failures"]))
    parent.set("errors", "0")
    parent.set("skipped", str(totals["skipped"]))


def _clean(root: ET.Element) -> None:
    for element in root.iter():
        if element.text:
            element.text = _NOT_XML.sub("\ufffd", element.text)
        for key, value in element.attrib.items():
            element.set(key, _NOT_XML.sub("\ufffd", value))


def _system_out(element: ET.Element, text: str) -> None:
    if text:
        ET.SubElement(element, "system-out").text = text


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
