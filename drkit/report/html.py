"""`report.html`: the run as one self-contained page to attach to a postmortem or open from a CI artifact.

A timeline of phases and steps against budgets and the RTO (html_timeline), this playbook's time to recovery
over its earlier runs (html_chart), then the summary's sections: checklists with when each item first
passed, failures with their diagnosis and hints, finalizers cleared, model URIs rewritten, what was gathered
for on-call, prediction parity and the reproduction diff.

It opens without the network: the CSS and the SVG are inline, and nothing links outside the page. It is
built from the RunReport alone (which the engine has masked) plus the history's times, and every value goes
through html.escape, so no renderer shows more than report.json holds and no value can inject markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from drkit.playbook.durations import format_duration
from drkit.report.collected import collected_lines
from drkit.report.highlights import (
    audit_rows,
    checklist_name,
    failing_items,
    headline,
    item_status,
    message_parts,
    model_uri_rows,
    orphan_notes,
    step_highlights,
)
from drkit.report.history import HistoryEntry
from drkit.report.html_chart import render_ttr_svg
from drkit.report.html_timeline import render_timeline_svg, timeline_of
from drkit.report.model import Outcome, RunReport, StepReport, StepState
from drkit.report.times import attempt_outcome, basis_text, utc_timestamp
from drkit.report.ttr_chart import report_series

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1d2327; max-width: 1200px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0; } td, th { border: 1px solid #ddd; padding: 3px 8px;
  text-align: left; vertical-align: top; } th { background: #f3f4f6; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-family: ui-monospace, monospace; font-size: 13px; }
.outcome { padding: 2px 8px; border-radius: 4px; color: #fff; }
.outcome.succeeded { background: #2e7d32; } .outcome.failed, .outcome.refused { background: #c62828; }
.outcome.over-rto, .outcome.interrupted { background: #ef6c00; } .outcome.running, .outcome.planned
  { background: #546e7a; }
.hint { background: #fff8e1; border-left: 4px solid #f9a825; padding: 4px 8px; }
.warning { color: #b71c1c; }
svg text { font: 12px system-ui, sans-serif; fill: #1d2327; }
svg .tick { stroke: #e5e7eb; } svg .tick-label { fill: #6b7280; font-size: 11px; }
svg .bar.phase { fill: #90a4ae; } svg .bar.step.succeeded { fill: #43a047; }
svg .bar.failed { fill: #e53935; } svg .bar.finally { fill: #8e24aa; }
svg .bar.finally.failed { fill: #e53935; } svg .bar.phase.failed { fill: #ef9a9a; }
svg .bar.phase.over-budget { fill: #fb8c00; }
svg .budget { stroke: #263238; stroke-width: 2; stroke-dasharray: 3 2; }
svg #rto-line, svg #ttr-rto { stroke: #b71c1c; stroke-width: 2; stroke-dasharray: 6 3; }
svg .rto-label { fill: #b71c1c; font-weight: 600; }
svg .row-label.phase, svg .row-label.separator { font-weight: 600; }
svg .not-timed { fill: #9ca3af; font-style: italic; }
svg .axis { stroke: #6b7280; } svg .ttr-line { fill: none; stroke: #1e88e5; stroke-width: 2; }
svg .ttr-point.recovered { fill: #1e88e5; } svg .ttr-point.not-recovered { fill: #e53935; }
svg .ttr-point.current { stroke: #111; stroke-width: 2; }
"""


def render_html(report: RunReport, earlier: Sequence[HistoryEntry] = ()) -> str:
    """The page; `earlier` is the history's runs of this playbook for the time-to-recovery chart."""
    sections = [
        _summary(report),
        _timeline(report),
        _ttr(report, earlier),
        _failures(report),
        _checklists(report),
        _steps(report),
        _finalizers(report),
        _model_uris(report),
        _collected(report),
        _parity(report),
        _reproduction_diff(report),
    ]
    title = f"{report.mode} {report.playbook_name}: {report.outcome}"
    outcome = escape(str(report.outcome))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>\n"
        f'<body data-outcome="{escape(str(report.outcome))}">\n'
        f"<h1>{escape(f'{report.mode} {report.playbook_name}')}: "
        f'<span id="outcome" class="outcome {outcome}">{outcome}</span>'
        "</h1>\n" + "\n".join(s for s in sections if s) + "\n</body></html>\n"
    )


def _section(ident: str, title: str, *body: str) -> str:
    return f'<section id="{ident}"><h2>{escape(title)}</h2>\n' + "\n".join(body) + "\n</section>"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], *, attrs: Iterable[str] = ()) -> str:
    """Cells are markup already escaped by the caller; `attrs` adds attributes to each <tr>, in order."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    extra = list(attrs)
    body = "".join(
        f"<tr{(' ' + extra[i]) if i < len(extra) else ''}>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>"
        for i, row in enumerate(rows)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _list(lines: Iterable[str], css: str = "") -> str:
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return f'<ul class="{css}">{items}</ul>' if css else f"<ul>{items}</ul>"


def _summary(report: RunReport) -> str:
    rows: list[tuple[str, str, str]] = [
        (
            "playbook",
            "Playbook",
            f"{escape(report.playbook_name)} (<code>{escape(report.playbook_path)}</code>)",
        )
    ]
    if report.cluster is not None:
        rows.append(("cluster", "Cluster", escape(report.cluster.where)))
    rows.append(
        (
            "result",
            "Result",
            escape(str(report.outcome)) + (f": {escape(report.message)}" if report.message else ""),
        )
    )
    measured = f"{format_duration(report.time_to_recovery)} {basis_text(report)}"
    if report.rto is not None:
        verdict = "over the RTO" if report.time_to_recovery > report.rto else "within the RTO"
        measured += f", RTO {format_duration(report.rto)} ({verdict})"
    rows.append(("time-to-recovery", "Time to recovery", escape(measured)))
    first = report.first_started_at if report.first_started_at is not None else report.started_at
    if first is not None:
        rows.append(("first-start", "First start", escape(utc_timestamp(first))))
    if report.attempts:
        attempts = "; ".join(f"{utc_timestamp(a.started_at)} {attempt_outcome(a)}" for a in report.attempts)
        rows.append(("attempts", "Attempts", escape(f"{len(report.attempts)}: {attempts}")))
    if report.run_id:
        rows.append(("run", "Run", f"<code>{escape(report.run_id)}</code>"))
    if report.variables:
        rows.append(("variables", "Variables", escape(", ".join(v.shown() for v in report.variables))))
    if report.drkit_version:
        rows.append(("drkit", "drkit", escape(report.drkit_version)))
    body = "".join(
        f'<tr data-field="{key}"><th>{label}</th><td>{value}</td></tr>' for key, label, value in rows
    )
    return _section("summary", "Summary", f"<table>{body}</table>")


def _timeline(report: RunReport) -> str:
    timeline = timeline_of(report)
    over = report.over_budget_phases
    note = f'<p class="warning">Over budget: {escape(", ".join(over))}</p>' if over else ""
    legend = (
        "<p>Bars from the run's first start; a phase's bar is the time its steps took in all, its dashed"
        " marker its budget; the red line is the RTO.</p>"
    )
    return _section("timeline-section", "Timeline", legend, render_timeline_svg(timeline), note)


def _ttr(report: RunReport, earlier: Sequence[HistoryEntry]) -> str:
    series = report_series(report, earlier)
    if series is None:
        return ""
    where = f" on {report.cluster.where}" if report.cluster is not None else ""
    text = (
        f"<p>{escape(series.label)}{escape(where)}: {len(series.points)} run(s) from the history, this one"
        " ringed; red points failed.</p>"
    )
    return _section("ttr", "Time to recovery over time", text, render_ttr_svg(series))


def _failed(report: RunReport) -> list[StepReport]:
    return [s for s in report.every_step if s.status is StepState.FAILED]


def _failures(report: RunReport) -> str:
    failed = _failed(report)
    if not failed:
        return ""
    blocks = []
    for step in failed:
        attempts = f", {step.attempts} attempts" if step.attempts > 1 else ""
        took = f"{step.label} after {format_duration(step.duration)}{attempts}"
        parts = [f"<h3>{escape(step.path)} ({escape(took)})</h3>"]
        if step.retries:
            parts.append(f"<p>{escape(step.retries_text.capitalize())}</p>")
        if step.checklist_items:
            failing = [f"{i.name}: {part}" for i in failing_items(step) for part in message_parts(i.message)]
            parts.append(f"<p>{escape(headline(step))}</p>" + _list(failing, "diagnosis"))
        else:
            parts.append(_list(message_parts(step.message), "diagnosis"))
        for highlight in step_highlights(step):
            parts.append(f"<p><strong>{escape(highlight.title)}:</strong></p>" + _list(highlight.lines))
        if step.hint:
            parts.append(f'<p class="hint"><strong>Hint:</strong> {escape(step.hint)}</p>')
        blocks.append(f'<div class="failure" data-step="{escape(step.path)}">' + "".join(parts) + "</div>")
    not_run = [s.path for s in report.steps if s.status is StepState.NOT_RUN]
    if not_run:
        blocks.append("<p>Not run: " + ", ".join(f"<code>{escape(p)}</code>" for p in not_run) + "</p>")
    if report.run_id and report.outcome is Outcome.FAILED and report.mode.tears_down_or_rebuilds:
        blocks.append(f"<p>After fixing it: <code>drkit resume {escape(report.run_id)}</code></p>")
    return _section("failures", "Failures", *blocks)


def _checklists(report: RunReport) -> str:
    blocks = []
    for step in report.every_step:
        if not step.checklist_items:
            continue
        rows, attrs = [], []
        for item in step.checklist_items:
            first = item.first_passed_after
            rows.append(
                (
                    ("✔ " if item.passed else "✘ ") + escape(item.name),
                    escape(item.description),
                    escape(item_status(item)),
                    format_duration(first) if first is not None else "-",
                    str(item.attempts),
                )
            )
            attrs.append(
                f'data-item="{escape(f"{step.path}/{item.name}")}" data-passed="{str(item.passed).lower()}"'
                + (f' data-first-passed="{first:g}"' if first is not None else "")
            )
        table = _table(("Item", "Description", "Result", "First passed after", "Attempts"), rows, attrs=attrs)
        blocks.append(f"<h3>{escape(checklist_name(step))} (<code>{escape(step.path)}</code>)</h3>{table}")
    return _section("checklists", "Checklists", *blocks) if blocks else ""


def _steps(report: RunReport) -> str:
    rows, attrs = [], []
    for step in report.every_step:
        timed = step.status in (StepState.SUCCEEDED, StepState.FAILED)
        rows.append(
            (
                f"<code>{escape(step.path)}</code>",
                escape(step.kind),
                escape(step.label),
                format_duration(step.duration) if timed else "-",
                str(step.attempts) if step.attempts else "-",
                escape(step.retries_text or "-"),
                escape(step.message),
            )
        )
        attrs.append(f'data-step="{escape(step.path)}" data-status="{escape(str(step.status))}"')
    header = ("Step", "Kind", "Status", "Duration", "Attempts", "Retried requests", "Result")
    return _section("steps", "Steps", _table(header, rows, attrs=attrs))


def _finalizers(report: RunReport) -> str:
    rows = audit_rows(report.every_step)
    notes = orphan_notes(report.every_step)
    if not rows and not notes:
        return ""
    table = _table(
        (
            "Object",
            "Finalizers removed",
            "Kept",
            "Deleted before removal",
            "Likely owner",
            "Removed at",
            "Step",
        ),
        (
            (
                escape(r.object),
                escape(", ".join(r.removed)),
                escape(", ".join(r.kept) or "-"),
                format_duration(r.age) if r.age is not None else "-",
                escape(r.owner),
                "dry run" if r.dry_run else escape(r.at),
                f"<code>{escape(r.step)}</code>",
            )
            for r in rows
        ),
        attrs=(f'data-object="{escape(r.object)}"' for r in rows),
    )
    orphaned = (
        '<p class="warning">May be orphaned (the removed finalizers guarded this; check by hand):</p>'
        + _list(notes)
        if notes
        else ""
    )
    return _section(
        "finalizers", "Finalizers cleared", table if rows else "<p>No finalizers were removed.</p>", orphaned
    )


def _model_uris(report: RunReport) -> str:
    rows = model_uri_rows(report.every_step)
    if not rows:
        return ""
    table = _table(
        ("Model", "Before", "After", "Step"),
        (
            (
                escape(r.model),
                f"<code>{escape(r.old)}</code>",
                f'<span class="warning">{escape(r.error)}</span>'
                if r.error
                else (f"<code>{escape(r.new)}</code>" if r.changed else "unchanged"),
                f"<code>{escape(r.step)}</code>",
            )
            for r in rows
        ),
        attrs=(f'data-model="{escape(r.model)}" data-changed="{str(r.changed).lower()}"' for r in rows),
    )
    return _section("model-uris", "Model URIs rewritten", table)


def _collected(report: RunReport) -> str:
    blocks = [
        f'<div class="collected" data-step="{escape(step.path)}"><h3><code>{escape(step.path)}</code></h3>'
        + _list(collected_lines(step.collected))
        + "</div>"
        for step in report.every_step
        if step.collected is not None
    ]
    return _section("collected", "Collected for on-call", *blocks) if blocks else ""


def _parity(report: RunReport) -> str:
    blocks = []
    for step in report.every_step:
        if step.parity is None:
            continue
        rows = [
            (
                ("✔ " if m.passed else "✘ ") + escape(m.name),
                escape(str(m.verdict)),
                escape(m.identity_line()),
                escape(m.worst.describe() if m.worst is not None else "-"),
                escape(m.endpoint),
            )
            for m in step.parity.models
        ]
        attrs = [
            f'data-model="{escape(m.name)}" data-verdict="{escape(str(m.verdict))}"'
            for m in step.parity.models
        ]
        head = (
            f"<h3><code>{escape(step.path)}</code> against <code>{escape(step.parity.snapshot)}</code></h3>"
        )
        header = ("Model", "Verdict", "Model id before → after", "Worst difference", "Endpoint")
        blocks.append(head + _table(header, rows, attrs=attrs))
    return _section("parity", "Prediction parity", *blocks) if blocks else ""


def _reproduction_diff(report: RunReport) -> str:
    blocks = []
    for step in report.every_step:
        diff = step.diff
        if diff is None:
            continue
        rows = [
            (
                escape(str(o.change) + (" (expected)" if o.accepted else "")),
                escape(o.target),
                escape("; ".join(f.describe() for f in o.fields) or "-"),
            )
            for o in diff.objects
        ]
        attrs = [
            f'data-object="{escape(o.target)}" data-change="{escape(str(o.change))}"' for o in diff.objects
        ]
        parts = [
            f"<h3><code>{escape(step.path)}</code>: {escape(diff.before)} → {escape(diff.after)}</h3>",
            f"<p>{escape(diff.summary())}</p>",
        ]
        if rows:
            parts.append(_table(("Change", "Object", "Fields (old → new)"), rows, attrs=attrs))
        if diff.unreadable:
            parts.append("<p>Not compared:</p>" + _list(diff.unreadable))
        blocks.append("".join(parts))
    return _section("reproduction-diff", "Reproduction diff", *blocks) if blocks else ""
