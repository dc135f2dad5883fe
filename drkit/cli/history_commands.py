"""`drkit history`: past drills with a trend per playbook, and `--compare RUN_A RUN_B`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from drkit.cli.common import Output, format_option, runtime_of, write_json
from drkit.cli.completion import run_ids
from drkit.context import Runtime
from drkit.engine.compare import Comparison, Row, RunSide, Side, compare_runs
from drkit.engine.history import History, HistoryEntry, Trend, read_history
from drkit.errors import UsageError
from drkit.playbook.durations import format_duration


@click.command()
@click.option("--playbook", metavar="NAME", help="Only the runs of this playbook.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs.")
@click.option(
    "--compare",
    nargs=2,
    metavar="RUN_A RUN_B",
    shell_complete=run_ids,
    help="Phase-by-phase and step-by-step times of two runs, and how B differs from A.",
)
@format_option('json: {"runs": [...], "trends": [...]}; with --compare: {"a", "b", "phases", "steps"}.')
@click.pass_context
def history(
    ctx: click.Context, playbook: str | None, limit: int, compare: tuple[str, str] | None, output: Output
) -> int:
    """Past runs, newest first, with each playbook's time-to-recovery trend (from the local history
    database, brought up to date from the runs' reports)."""
    runtime = runtime_of(ctx)
    if compare:
        if playbook:
            raise UsageError("--compare takes two run ids; --playbook does not apply to it")
        comparison = compare_runs(*compare, runtime)
        if output == "json":
            write_json(runtime, json.dumps(_comparison_json(comparison), indent=2) + "\n")
        else:
            runtime.stdout.write(_comparison_text(comparison))
        return 0
    found = read_history(runtime.state_dir, playbook=playbook, limit=limit)
    if output == "json":
        write_json(runtime, json.dumps(_history_json(found), indent=2) + "\n")
    else:
        _write_history(runtime, found)
    return 0


def _when(at: float | None) -> str:
    return "?" if at is None else datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _signed(seconds: float) -> str:
    return ("+" if seconds >= 0 else "-") + format_duration(abs(seconds))


def _rto_text(entry: HistoryEntry) -> str:
    margin = entry.rto_margin
    if entry.rto is None or margin is None:
        return "no RTO"
    if margin == 0:
        return f"RTO {format_duration(entry.rto)}, just met"
    side = "over" if margin > 0 else "under"
    return f"RTO {format_duration(entry.rto)}, {side} by {format_duration(abs(margin))}"


def trend_text(trend: Trend) -> str:
    """`last 4: 2m10s 2m05s 2m20s 3m12s; median 2m15s; latest slower by 57s (+42%)`."""
    if not trend.figures:
        return "no finished drills yet"
    figures = " ".join(format_duration(f) for f in trend.figures)
    text = f"last {len(trend.figures)}: {figures}; median {format_duration(trend.median)}"
    if trend.change is None:
        return text
    ratio = trend.change_ratio
    percent = "" if ratio is None else f" ({ratio:+.0%})"
    if trend.change == 0:
        return f"{text}; latest as the median before it"
    word = "slower" if trend.change > 0 else "faster"
    return f"{text}; latest {word} by {format_duration(abs(trend.change))}{percent}"


def _write_history(runtime: Runtime, found: History) -> None:
    out = runtime.stdout
    if not found.entries:
        out.write(f"no finished runs recorded under {runtime.state_dir}\n")
        return
    for e in found.entries:
        out.write(
            f"{e.run_id}  {e.playbook}  {e.context or '-'}  {_when(e.started_at)}  {e.mode} {e.outcome}  "
            f"{format_duration(e.time_to_recovery)}  {_rto_text(e)}\n"
        )
    out.write("\ntrends (time to recovery of succeeded and over-RTO runs, oldest first):\n")
    for trend in found.trends:
        out.write(f"  {trend.playbook}: {trend_text(trend)}\n")


def _history_json(found: History) -> dict[str, object]:
    return {
        "runs": [
            {
                "runId": e.run_id,
                "playbook": e.playbook,
                "context": e.context,
                "startedAt": e.started_at,
                "mode": e.mode,
                "outcome": e.outcome,
                "timeToRecovery": e.time_to_recovery,
                "rto": e.rto,
                "overRtoBy": e.rto_margin,
            }
            for e in found.entries
        ],
        "trends": [
            {
                "playbook": t.playbook,
                "timesToRecovery": list(t.figures),
                "median": t.median,
                "latestChange": t.change,
                "latestChangeRatio": t.change_ratio,
            }
            for t in found.trends
        ],
    }


def _side_text(side: Side | None) -> str:
    return "(not in this run)" if side is None else f"{format_duration(side.duration)} {side.status}"


def _row_text(row: Row) -> str:
    delta = "" if row.delta is None else f"  {_signed(row.delta)}"
    return f"  {row.name}: {_side_text(row.a)} -> {_side_text(row.b)}{delta}\n"


def _comparison_text(c: Comparison) -> str:
    head = (
        f"A {c.a.run_id}  {c.a.playbook}  {c.a.outcome}  {format_duration(c.a.time_to_recovery)}\n"
        f"B {c.b.run_id}  {c.b.playbook}  {c.b.outcome}  {format_duration(c.b.time_to_recovery)}\n"
        f"time to recovery: {_signed(c.delta)}\n"
    )
    phases, steps = "".join(map(_row_text, c.phases)), "".join(map(_row_text, c.steps))
    return f"{head}phases:\n{phases}steps:\n{steps}"


def _side_json(side: Side | None) -> dict[str, object] | None:
    return None if side is None else {"status": side.status, "duration": side.duration}


def _comparison_json(c: Comparison) -> dict[str, object]:
    def rows(items: tuple[Row, ...]) -> list[dict[str, object]]:
        return [{"name": r.name, "a": _side_json(r.a), "b": _side_json(r.b), "delta": r.delta} for r in items]

    def run(side: RunSide) -> dict[str, object]:
        return {
            "runId": side.run_id,
            "playbook": side.playbook,
            "outcome": side.outcome,
            "timeToRecovery": side.time_to_recovery,
        }

    return {"a": run(c.a), "b": run(c.b), "delta": c.delta, "phases": rows(c.phases), "steps": rows(c.steps)}
