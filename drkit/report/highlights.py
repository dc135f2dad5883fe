"""What matters in a step's result, picked out once for every human-readable form (console, Markdown, JUnit).

Step details are kept whole in report.json; people need a few lines of them: which finalizers drkit removed
and what they may have orphaned, which objects were slowest to become ready, which workflow ran and how long.
Each kind's typed result says which (drkit.report.results); this module asks every step's result the same
questions, whatever its kind. The renderers share these plain-text highlights so the three forms never
disagree, and since results are read from report data (which the engine has already masked), no renderer can
show more than report.json does.
"""

from __future__ import annotations

from collections.abc import Sequence

from drkit.playbook.durations import format_duration
from drkit.report.model import ChecklistItemReport, StepReport, StepState
from drkit.report.reproduction import Change, DiffReport, ParityReport
from drkit.report.results import AuditRow, Highlight, ModelUriRow, limited


def model_uri_rows(steps: Sequence[StepReport]) -> tuple[ModelUriRow, ...]:
    """The models of every step that rewrote model storage URIs and ran, in run order."""
    return tuple(
        row
        for step in steps
        if step.summary is not None and step.status in (StepState.SUCCEEDED, StepState.FAILED)
        for row in step.summary.uri_rewrites(step.path)
    )


def audit_rows(steps: Sequence[StepReport]) -> tuple[AuditRow, ...]:
    """The finalizer audit records of every step that removed finalizers, in run order."""
    return tuple(
        row for step in steps if step.summary is not None for row in step.summary.audit_rows(step.path)
    )


def orphan_notes(steps: Sequence[StepReport]) -> tuple[str, ...]:
    """What removed finalizers were guarding, so a person can check it by hand."""
    return tuple(note for step in steps if step.summary is not None for note in step.summary.orphan_notes())


def in_finalizer_audit(step: StepReport) -> bool:
    """A step whose result the finalizer audit shows (a clearing), whether or not it removed any."""
    return step.summary is not None and step.summary.audits_finalizers()


def checklist_name(step: StepReport) -> str:
    """The checklist a `check` step ran (its step name is often different, e.g. the default `check-1`)."""
    name = step.details.get("checklist")
    return name if isinstance(name, str) and name else step.name


def failing_items(step: StepReport) -> tuple[ChecklistItemReport, ...]:
    return tuple(item for item in step.checklist_items if not item.passed)


def headline(step: StepReport) -> str:
    """The step's message, short enough for one line; a checklist's items are listed separately."""
    if step.checklist_items and step.status is StepState.FAILED:
        failing = len(failing_items(step))
        return (
            f"{failing} of {len(step.checklist_items)} items of checklist {checklist_name(step)} "
            f"still failing after {format_duration(step.duration)}"
        )
    return step.message


def message_parts(message: str) -> list[str]:
    """A long message split where its writer joined separate facts with " | " (not inside `backticks`,
    where a shell pipe may be)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    i = 0
    while i < len(message):
        if message[i] == "`":
            quoted = not quoted
        if not quoted and message.startswith(" | ", i):
            parts.append("".join(current))
            current = []
            i += 3
            continue
        current.append(message[i])
        i += 1
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def item_status(item: ChecklistItemReport) -> str:
    if item.passed and item.first_passed_after is not None:
        return f"passed after {format_duration(item.first_passed_after)}"
    if item.passed:
        return "passed"
    return f"failing: {item.message}" if item.message else "failing"


def step_highlights(step: StepReport) -> tuple[Highlight, ...]:
    """The highlights of one step's typed result; () for kinds (or results) with nothing to add."""
    if step.status not in (StepState.SUCCEEDED, StepState.FAILED):
        return ()
    found = step.summary.highlights() if step.summary is not None else ()
    return (*found, *parity_highlights(step.parity), *diff_highlights(step.diff))


def parity_highlights(parity: ParityReport | None) -> tuple[Highlight, ...]:
    """One line per model: verdict, same model or retrained (old id → new id), the worst difference."""
    if parity is None or not parity.models:
        return ()
    tolerance = _tolerance(parity.absolute, parity.relative)
    title = f"prediction parity with {parity.snapshot}{tolerance}"
    lines = tuple(
        f"{'✔' if m.passed else '✘'} {m.name}: {m.summary()}" + ("" if m.passed else f" (at {m.endpoint})")
        for m in parity.models
    )
    return (Highlight(title, lines, warning=not parity.passed),)


def diff_highlights(diff: DiffReport | None) -> tuple[Highlight, ...]:
    """The counts, then one line per object that differs (with its changed paths, old → new)."""
    if diff is None:
        return ()
    title = f"reproduction diff, {diff.before} → {diff.after}: {diff.summary()}"
    marks = {Change.MISSING: "-", Change.EXTRA: "+", Change.CHANGED: "~"}
    lines = [f"{marks[o.change]} {o.describe()}" for o in diff.objects]
    lines += [f"not compared: {u}" for u in diff.unreadable]
    return (Highlight(title, limited(lines) if lines else ("no differences",), warning=not diff.passed),)


def _tolerance(absolute: float, relative: float) -> str:
    parts = [f"absolute {absolute:g}" if absolute else "", f"relative {relative:g}" if relative else ""]
    shown = [p for p in parts if p]
    return f" (tolerance {', '.join(shown)})" if shown else " (exact)"
