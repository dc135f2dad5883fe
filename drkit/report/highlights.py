"""What matters in a step's result, picked out once for every human-readable form (console, Markdown, JUnit).

Step details are kept whole in report.json; people need a few lines of them: which finalizers drkit removed
and what they may have orphaned, which objects were slowest to become ready, which workflow ran and how long.
The renderers share these plain-text highlights so the three forms never disagree, and since they read only
report data (which the engine has already masked), no renderer can show more than report.json does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from drkit.playbook.durations import format_duration
from drkit.report.model import ChecklistItemReport, StepReport, StepState
from drkit.report.reproduction import Change, DiffReport, ParityReport

SLOWEST_SHOWN = 3  # ready times: the slowest few say where the time went; the rest is in report.json
LIST_LIMIT = 10  # longer lists (objects left, notes) are cut with "and N more"


@dataclass(frozen=True)
class Highlight:
    """A titled group of lines under a step, e.g. "finalizers removed" and one line per audit record."""

    title: str
    lines: tuple[str, ...]
    warning: bool = False  # something a person should follow up (orphaned state, objects left behind)


@dataclass(frozen=True)
class AuditRow:
    """One object whose finalizers a clearFinalizers step removed (or, in a dry run, would have removed)."""

    step: str  # phase/step
    object: str
    removed: tuple[str, ...]
    kept: tuple[str, ...]
    age: float | None  # seconds between the deletion request and the removal
    owner: str
    at: str  # when drkit removed them (RFC 3339), "" in a dry run
    dry_run: bool


@dataclass(frozen=True)
class ModelUriRow:
    """One Seldon Model a modelUris step pointed at the model MLflow holds (or left, or failed to)."""

    step: str  # phase/step
    model: str  # namespace/name
    old: str
    new: str
    changed: bool
    error: str  # "" unless the model could not be resolved or patched


def model_uri_rows(steps: Sequence[StepReport]) -> tuple[ModelUriRow, ...]:
    """The models of every modelUris step that ran, in run order."""
    return tuple(
        row
        for step in steps
        if step.kind == "modelUris" and step.status in (StepState.SUCCEEDED, StepState.FAILED)
        for row in _model_uri_records(step.path, step.details)
    )


def audit_rows(steps: Sequence[StepReport]) -> tuple[AuditRow, ...]:
    """The finalizer audit records of every clearFinalizers step, in run order."""
    rows: list[AuditRow] = []
    for step in steps:
        if step.kind != "clearFinalizers":
            continue
        dry_run = bool(step.details.get("dryRun"))
        for record in _records(step.details.get("removed")):
            age = record.get("ageSeconds")
            rows.append(
                AuditRow(
                    step=step.path,
                    object=str(record.get("object", "")),
                    removed=tuple(str(f) for f in record.get("finalizersRemoved") or ()),
                    kept=tuple(str(f) for f in record.get("finalizersKept") or ()),
                    age=float(age) if isinstance(age, int | float) else None,
                    owner=str(record.get("owner") or "unknown"),
                    at="" if dry_run else str(record.get("at") or ""),
                    dry_run=dry_run,
                )
            )
    return tuple(rows)


def orphan_notes(steps: Sequence[StepReport]) -> tuple[str, ...]:
    """What removed finalizers were guarding, so a person can check it by hand."""
    return tuple(
        note
        for step in steps
        if step.kind == "clearFinalizers"
        for note in _strings(step.details.get("orphaned"))
    )


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
    """The highlights of one step's details, by kind; () for kinds (or results) with nothing to add."""
    if step.status not in (StepState.SUCCEEDED, StepState.FAILED):
        return ()
    reader = _READERS.get(step.kind)
    found = reader(step.details) if reader is not None else ()
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
    return (Highlight(title, _limited(lines) if lines else ("no differences",), warning=not diff.passed),)


def _tolerance(absolute: float, relative: float) -> str:
    parts = [f"absolute {absolute:g}" if absolute else "", f"relative {relative:g}" if relative else ""]
    shown = [p for p in parts if p]
    return f" (tolerance {', '.join(shown)})" if shown else " (exact)"


def _clear_finalizers(details: Mapping[str, object]) -> tuple[Highlight, ...]:
    dry_run = bool(details.get("dryRun"))
    out: list[Highlight] = []
    removed = [
        _audit_line(record)
        for record in _records(details.get("removed"))
        if isinstance(record.get("finalizersRemoved"), list)
    ]
    if removed:
        out.append(
            Highlight("finalizers drkit would remove" if dry_run else "finalizers removed", tuple(removed))
        )
    forced = [
        f"namespace {ns.get('name')}: {ns.get('message')}"
        for ns in _records(details.get("namespaces"))
        if ns.get("finalized")
    ]
    if forced:
        out.append(
            Highlight("namespaces finalized by force (objects inside may be stranded)", tuple(forced), True)
        )
    orphaned = _strings(details.get("orphaned"))
    if orphaned:
        out.append(Highlight("may be orphaned (check by hand)", _limited(orphaned), True))
    remaining = _strings(details.get("remaining"))
    if remaining:
        out.append(Highlight("still there", _limited(remaining), True))
    return tuple(out)


def _audit_line(record: Mapping[str, Any]) -> str:
    removed = ", ".join(str(f) for f in record.get("finalizersRemoved") or [])
    age = record.get("ageSeconds")
    when = (
        f"deleted {format_duration(float(age))} ago"
        if isinstance(age, int | float)
        else "deletion time unknown"
    )
    owner = record.get("owner") or "unknown"
    line = f"{record.get('object')}: {removed} ({when}; owner: {owner})"
    kept = record.get("finalizersKept") or []
    if kept:
        line += f"; kept {', '.join(str(f) for f in kept)}"
    return line


def _ready_times(details: Mapping[str, object]) -> tuple[Highlight, ...]:
    """apply (`ready`) and wait (`objects`): the slowest objects, then the ones that never got there."""
    timed = [
        (float(after), str(record.get("object")))
        for record in _records(details.get("ready") or details.get("objects"))
        if isinstance(after := record.get("readyAfterSeconds"), int | float)
    ]
    out: list[Highlight] = []
    if len(timed) > 0:
        slowest = sorted(timed, key=lambda pair: pair[0], reverse=True)[:SLOWEST_SHOWN]
        title = "slowest to become ready" if len(timed) > 1 else "ready after"
        out.append(Highlight(title, tuple(f"{obj}  {format_duration(after)}" for after, obj in slowest)))
    not_ready = [
        f"{record.get('object')}: {record.get('status')}"
        + (f" ({record['message']})" if record.get("message") else "")
        for record in _records(details.get("notReady"))
    ]
    not_ready += [
        f"{record.get('object')}: {record.get('status')}"
        + (f" ({record['message']})" if record.get("message") else "")
        for record in _records(details.get("objects"))
        if record.get("done") is False
    ]
    if not_ready:
        out.append(Highlight("not ready", _limited(not_ready), True))
    failed = [f"{record.get('object')}: {record.get('error')}" for record in _records(details.get("failed"))]
    if failed:
        out.append(Highlight("not applied", _limited(failed), True))
    return tuple(out)


def _pipeline(details: Mapping[str, object]) -> tuple[Highlight, ...]:
    name = details.get("workflow")
    if not isinstance(name, str) or not name:
        return ()
    namespace = details.get("namespace")
    full = f"{namespace}/{name}" if namespace else name
    duration = details.get("duration")
    took = f" in {format_duration(float(duration))}" if isinstance(duration, int | float) else ""
    phase = details.get("phase") or "unknown"
    lines = [f"{full}: {phase}{took}" + (" (reattached)" if details.get("reattached") else "")]
    if details.get("timedOut"):
        lines.append("drkit stopped waiting (timeout); the workflow may still be running")
    failed_nodes = [
        f"node {node.get('name')}: {node.get('phase')}"
        + (f" ({node['message']})" if node.get("message") else "")
        for node in _records(details.get("nodes"))
        if node.get("phase") in ("Failed", "Error")
    ]
    lines += failed_nodes
    return (Highlight("workflow", tuple(lines), warning=bool(failed_nodes)),)


def _delete(details: Mapping[str, object]) -> tuple[Highlight, ...]:
    remaining = _strings(details.get("remaining"))
    return (Highlight("still there", _limited(remaining), True),) if remaining else ()


def _model_uris(details: Mapping[str, object]) -> tuple[Highlight, ...]:
    lines = []
    for model in _model_uri_records("", details):
        if model.error:
            lines.append(f"{model.model}: {model.error}")
        elif model.changed:
            lines.append(f"{model.model}: {model.new}")
        else:
            lines.append(f"{model.model}: unchanged, {model.old}")
    return (Highlight("model storage URIs", tuple(lines)),) if lines else ()


def _model_uri_records(step: str, details: Mapping[str, object]) -> list[ModelUriRow]:
    rows = []
    for model in _records(details.get("models")):
        name = (
            f"{model.get('namespace')}/{model.get('name')}"
            if model.get("namespace")
            else str(model.get("name"))
        )
        rows.append(
            ModelUriRow(
                step=step,
                model=name,
                old=str(model.get("old") or ""),
                new=str(model.get("new") or ""),
                changed=bool(model.get("changed")),
                error=str(model.get("error") or ""),
            )
        )
    return rows


def _records(value: object) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _limited(lines: Sequence[str]) -> tuple[str, ...]:
    if len(lines) <= LIST_LIMIT:
        return tuple(lines)
    return (*lines[:LIST_LIMIT], f"and {len(lines) - LIST_LIMIT} more (see report.json)")


_READERS = {
    "clearFinalizers": _clear_finalizers,
    "apply": _ready_times,
    "wait": _ready_times,
    "pipeline": _pipeline,
    "delete": _delete,
    "modelUris": _model_uris,
}
