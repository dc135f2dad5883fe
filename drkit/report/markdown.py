"""`report.md`: the run as a document to paste into an incident ticket or a CI job summary.

It follows the console summary (outcome and RTO first, then phases against budgets, failures, checklists and
the finalizer audit) so people find things in the same place, and it is built from the report only: what
report.json does not hold (secret values, which the engine masked) cannot appear here either.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from drkit.playbook.durations import format_duration
from drkit.report.collected import collected_lines
from drkit.report.highlights import (
    audit_rows,
    checklist_name,
    headline,
    in_finalizer_audit,
    item_status,
    message_parts,
    orphan_notes,
    step_highlights,
)
from drkit.report.model import Outcome, RunReport, StepReport, StepState
from drkit.report.reproduction import Verdict
from drkit.report.results import Highlight
from drkit.report.times import across_attempts, attempt_outcome, basis_text, utc_timestamp

OUTCOME_MARK = {
    Outcome.SUCCEEDED: "✅",
    Outcome.FAILED: "❌",
    Outcome.OVER_RTO: "⚠️",
    Outcome.REFUSED: "⛔",
    Outcome.INTERRUPTED: "⚠️",
    Outcome.PLANNED: "📝",
    Outcome.RUNNING: "⏳",
}
STATUS_MARK = {
    StepState.SUCCEEDED: "✔",
    StepState.FAILED: "✘",
    StepState.SKIPPED: "↷",
    StepState.NOT_RUN: "·",
    StepState.PENDING: "○",
    StepState.PLANNED: "•",
}


def render_markdown(report: RunReport) -> str:
    sections = [
        _title(report),
        _overview(report),
        _phases(report),
        _attempts(report),
        _variables(report),
        _failures(report),
        _steps(report),
        _finally(report),
        _checklists(report),
        _parity(report),
        _reproduction_diff(report),
        _audit(report),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def _title(report: RunReport) -> str:
    mark = OUTCOME_MARK.get(report.outcome, "")
    return f"# {mark} {report.mode} {_text(report.playbook_name)}: {report.outcome}".replace("#  ", "# ")


def _overview(report: RunReport) -> str:
    rows = [("Outcome", f"**{report.outcome}**")]
    measured, basis = format_duration(report.rto_measured), basis_text(report)
    if report.rto is not None and report.outcome in (Outcome.SUCCEEDED, Outcome.OVER_RTO):
        verdict = "over the RTO" if report.outcome is Outcome.OVER_RTO else "within the RTO"
        rows.append(("RTO", f"{measured} of {format_duration(report.rto)} ({verdict}): {basis}"))
    elif report.rto is not None:
        rows.append(("RTO", f"{measured} {basis}, recovery not complete (RTO {format_duration(report.rto)})"))
    else:
        rows.append(("Time", f"{measured} {basis}"))
    if report.step_time or across_attempts(report):
        rows.append(("Step time", f"{format_duration(report.step_time)} spent in steps"))
    if across_attempts(report):
        rows.append(("Attempts", f"{len(report.attempts)} (see Attempts below)"))
    if report.message and not _failed_steps(report):
        rows.append(("Why", _cell(report.message)))
    if report.run_id:
        rows.append(("Run", f"`{report.run_id}`"))
    rows.append(("Playbook", f"{_cell(report.playbook_name)} (`{_code(report.playbook_path)}`)"))
    if report.cluster is not None:
        server = f" (`{_code(report.cluster.server)}`)" if report.cluster.server else ""
        rows.append(("Cluster", f"context `{_code(report.cluster.context)}`{server}"))
    first = report.first_started_at if report.first_started_at is not None else report.started_at
    if first is not None:
        rows.append(("Started", utc_timestamp(first)))
    if across_attempts(report) and report.started_at is not None:
        rows.append(("Last resumed", utc_timestamp(report.started_at)))
    if report.drkit_version:
        rows.append(("drkit", report.drkit_version))
    return _table(("", ""), rows)


def _phases(report: RunReport) -> str:
    rows = []
    for phase in report.phases:
        budget = format_duration(phase.budget) if phase.budget is not None else "-"
        status = f"{STATUS_MARK[phase.status]} {phase.status}"
        if phase.over_budget:
            status += " ⚠️ **over budget**"
        name = phase.name + (" (drill only)" if phase.drill_only else "")
        rows.append((_cell(name), format_duration(phase.duration), budget, status))
    return "## Phases\n\n" + _table(("Phase", "Duration", "Budget", "Status"), rows, right=(1, 2))


def _attempts(report: RunReport) -> str:
    """A resumed run's attempts, oldest first: when each ran and how it ended."""
    if not across_attempts(report):
        return ""
    rows = [
        (
            str(number),
            utc_timestamp(a.started_at),
            "-" if a.finished_at is None else utc_timestamp(a.finished_at),
            "-" if a.finished_at is None else format_duration(a.finished_at - a.started_at),
            _cell(attempt_outcome(a)),
        )
        for number, a in enumerate(report.attempts, start=1)
    ]
    return "## Attempts\n\n" + _table(("#", "Started", "Finished", "Took", "Outcome"), rows, right=(3,))


def _variables(report: RunReport) -> str:
    """What the run was given: each variable's value (secret ones masked) and where it came from."""
    if not report.variables:
        return ""
    rows = [
        (f"`{_code(v.name)}`", "****" if v.value is None else f"`{_code(v.value)}`", _cell(v.origin))
        for v in report.variables
    ]
    return "## Variables\n\n" + _table(("Variable", "Value", "From"), rows)


def _failed_steps(report: RunReport) -> list[StepReport]:
    return [s for s in report.steps if s.status is StepState.FAILED]


def _failures(report: RunReport) -> str:
    failed = _failed_steps(report)
    if not failed:
        return ""
    blocks = ["## Failures"]
    for step in failed:
        attempts = f", {step.attempts} attempts" if step.attempts > 1 else ""
        lines = [
            f"### ✘ {_text(step.path)} ({step.label} after {format_duration(step.duration)}{attempts})",
            "",
        ]
        if step.retries:
            lines += [_text(step.retries_text.capitalize()), ""]
        if step.checklist_items:
            lines.append(_text(headline(step)))
            lines.append("")
            lines.append(_items_table(step))
        else:
            lines += [f"- {_text(part)}" for part in message_parts(step.message)]
        lines += _highlight_lines(step_highlights(step))
        if step.hint:
            lines += ["", f"**Hint:** {_text(step.hint)}"]
        if step.collected is not None:
            lines += ["", "**Collected for on-call:**", ""]
            lines += [f"- {_text(line)}" for line in collected_lines(step.collected)]
        blocks.append("\n".join(lines))
    not_run = [s.path for s in report.steps if s.status is StepState.NOT_RUN]
    if not_run:
        blocks.append("Not run: " + ", ".join(f"`{_code(p)}`" for p in not_run))
    if report.run_id and report.outcome is Outcome.FAILED and report.mode.tears_down_or_rebuilds:
        blocks.append(f"After fixing it: `drkit resume {report.run_id}`")
    return "\n\n".join(blocks)


def _steps(report: RunReport) -> str:
    rows = []
    for step in report.steps:
        timed = step.status in (StepState.SUCCEEDED, StepState.FAILED)
        if step.status is StepState.FAILED:
            result = "see Failures"
        elif step.checklist_items:
            result = f"see checklist {checklist_name(step)}"
        else:
            result = step.message
        rows.append(
            (
                f"`{_code(step.path)}`",
                step.kind,
                f"{STATUS_MARK[step.status]} {step.label}",
                format_duration(step.duration) if timed else "-",
                str(step.attempts) if step.attempts else "-",
                str(step.retried) if step.retries else "-",
                _cell(result),
            )
        )
    text = "## Steps\n\n" + _table(
        ("Step", "Kind", "Status", "Duration", "Attempts", "Retried requests", "Result"),
        rows,
        right=(3, 4, 5),
    )
    details = []
    for step in report.steps:
        if step.status is StepState.FAILED or in_finalizer_audit(step):
            continue  # shown under Failures, or in the finalizer audit
        for highlight in step_highlights(step):
            mark = "⚠️ " if highlight.warning else ""
            head = f"- {mark}`{_code(step.path)}` {_text(highlight.title)}:"
            if len(highlight.lines) == 1:
                details.append(f"{head} {_text(highlight.lines[0])}")
            else:
                details.append("\n".join([head, *(f"  - {_text(line)}" for line in highlight.lines)]))
    if details:
        text += "\n\n### Step details\n\n" + "\n".join(details)
    retried = [f"- `{_code(s.path)}`: {_text(s.retries_text)}" for s in report.steps if s.retries]
    if retried:
        text += "\n\n### Retried requests\n\n" + "\n".join(retried)
    return text


def _finally(report: RunReport) -> str:
    """The `finally:` steps, apart from the phases: they ran whatever happened, outside the RTO."""
    if not report.finally_steps:
        return ""
    rows = []
    for step in report.finally_steps:
        timed = step.status in (StepState.SUCCEEDED, StepState.FAILED)
        result = step.message + (f" (hint: {step.hint})" if step.hint else "")
        rows.append(
            (
                f"`{_code(step.path)}`",
                step.kind,
                f"{STATUS_MARK[step.status]} {step.label}",
                format_duration(step.duration) if timed else "-",
                _cell(result),
            )
        )
    collected = [
        f"- `{_code(step.path)}` {_text(line)}"
        for step in report.finally_steps
        if step.collected is not None
        for line in collected_lines(step.collected)
    ]
    return (
        "## Finally\n\nRun after the phases whatever their outcome; their time is not part of the RTO.\n\n"
        + _table(("Step", "Kind", "Status", "Duration", "Result"), rows, right=(3,))
        + ("\n\n**Collected for on-call:**\n\n" + "\n".join(collected) if collected else "")
    )


def _checklists(report: RunReport) -> str:
    blocks = []
    for step in report.steps:
        if not step.checklist_items or step.status is not StepState.SUCCEEDED:
            continue
        blocks.append(f"### {_text(checklist_name(step))} (`{_code(step.path)}`)\n\n{_items_table(step)}")
    return "\n\n".join(["## Checklists", *blocks]) if blocks else ""


def _parity(report: RunReport) -> str:
    """Per model: the verdict, which model answered before and after, and the worst difference."""
    blocks = []
    for step in report.steps:
        if step.parity is None:
            continue
        rows = [
            (
                f"{'✔' if m.passed else '✘'} {_cell(m.name)}",
                f"**{m.verdict}**" if not m.passed else str(m.verdict),
                _cell(m.identity_line()),
                _cell(m.worst.describe() if m.worst is not None and m.verdict is not Verdict.EQUAL else "-"),
                _cell(m.endpoint),
            )
            for m in step.parity.models
        ]
        head = f"### `{_code(step.path)}` against `{_code(step.parity.snapshot)}`"
        table = _table(("Model", "Verdict", "Model id before → after", "Worst difference", "Endpoint"), rows)
        blocks.append(f"{head}\n\n{table}")
    return "\n\n".join(["## Prediction parity", *blocks]) if blocks else ""


def _reproduction_diff(report: RunReport) -> str:
    """The counts, then every object that differs with its changed paths (Secret values never shown)."""
    blocks = []
    for step in report.steps:
        diff = step.diff
        if diff is None:
            continue
        head = f"### `{_code(step.path)}`: {_text(diff.before)} → {_text(diff.after)}"
        lines = [head, "", _text(diff.summary())]
        rows = [
            (
                str(o.change) + (" (expected)" if o.accepted else ""),
                _cell(o.target),
                _cell("; ".join(f.describe() for f in o.fields) or "-"),
            )
            for o in diff.objects
        ]
        if rows:
            lines += ["", _table(("Change", "Object", "Fields (old → new)"), rows)]
        if diff.unreadable:
            lines += ["", "Not compared: " + "; ".join(_text(u) for u in diff.unreadable)]
        blocks.append("\n".join(lines))
    return "\n\n".join(["## Reproduction diff", *blocks]) if blocks else ""


def _items_table(step: StepReport) -> str:
    rows = []
    for item in step.checklist_items:
        first = format_duration(item.first_passed_after) if item.first_passed_after is not None else "-"
        result = item_status(item) if item.passed else "failing: " + " · ".join(message_parts(item.message))
        rows.append(
            (
                f"{'✔' if item.passed else '✘'} {_cell(item.name)}",
                _cell(result),
                first,
                str(item.attempts),
            )
        )
    return _table(("Item", "Result", "First passed after", "Attempts"), rows, right=(2, 3))


def _audit(report: RunReport) -> str:
    rows = audit_rows(report.steps)
    notes = orphan_notes(report.steps)
    clear_steps = [s for s in report.steps if in_finalizer_audit(s) and s.status is StepState.SUCCEEDED]
    if not rows and not notes and not clear_steps:
        return ""
    lines = ["## Finalizers removed (audit)", ""]
    if rows:
        lines.append(
            _table(
                (
                    "Object",
                    "Finalizers removed",
                    "Deleted before removal",
                    "Likely owner",
                    "Removed at",
                    "Step",
                ),
                [
                    (
                        _cell(row.object),
                        _cell(", ".join(row.removed))
                        + (f" (kept: {_cell(', '.join(row.kept))})" if row.kept else ""),
                        format_duration(row.age) if row.age is not None else "-",
                        _cell(row.owner),
                        "dry run" if row.dry_run else _cell(row.at),
                        f"`{_code(row.step)}`",
                    )
                    for row in rows
                ],
            )
        )
    else:
        lines.append("No finalizers were removed.")
    if notes:
        lines += ["", "**May be orphaned** (the removed finalizers guarded this; check by hand):", ""]
        lines += [f"- {_text(note)}" for note in notes]
    for step in clear_steps:
        warnings = [
            h for h in step_highlights(step) if h.warning and not h.title.startswith("may be orphaned")
        ]
        lines += _highlight_lines(warnings)
    return "\n".join(lines)


def _highlight_lines(highlights: Iterable[Highlight]) -> list[str]:
    lines: list[str] = []
    for highlight in highlights:
        mark = "⚠️ " if highlight.warning else ""
        lines += ["", f"{mark}**{_text(highlight.title)}:**", ""]
        lines += [f"- {_text(line)}" for line in highlight.lines]
    return lines


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], right: Sequence[int] = ()) -> str:
    rule = ["---:" if i in right else "---" for i in range(len(header))]
    lines = [_row(header), _row(rule)]
    lines += [_row(row) for row in rows]
    return "\n".join(lines)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _text(text: str) -> str:
    """Paragraph text: no raw HTML, no line that could start a heading or a list."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def _cell(text: str) -> str:
    """Table cell text: as `_text`, and a `|` must not end the cell."""
    return _text(text).replace("|", "\\|")


def _code(text: str) -> str:
    """Inside `backticks`: a backtick would end the span."""
    return text.replace("`", "'").replace("|", "\\|")
