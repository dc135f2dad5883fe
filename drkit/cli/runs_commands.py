"""`drkit runs list|show|prune` and `drkit report`: the history of recorded runs and their report files."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Literal

import click

from drkit import engine
from drkit.cli.common import Output, exit_code_of, format_option, remember_output, runtime_of, write_json
from drkit.cli.completion import run_ids
from drkit.engine.prune import PruneRequest, prune_runs
from drkit.errors import ExitCode
from drkit.playbook.durations import DURATION_HINT, parse_duration
from drkit.report.console import make_console, render_runs, render_summary
from drkit.report.json_report import dumps
from drkit.report.markdown import render_markdown
from drkit.report.model import RunSummary
from drkit.report.times import utc_minute


@click.group()
def runs() -> None:
    """Recorded runs, in one directory per user ($DRKIT_HOME, else $XDG_STATE_HOME/drkit, else
    ~/.local/state/drkit)."""


@runs.command(name="list")
@click.option("--limit", default=20, show_default=True, help="How many of the latest runs to show.")
@format_option('json: {"runs": [{"runId", "playbook", "mode", "outcome", "startedAt", "duration", ...}]}.')
@click.pass_context
def list_command(ctx: click.Context, limit: int, output: Output) -> int:
    """The latest runs with their outcome and duration, newest first."""
    runtime = runtime_of(ctx)
    summaries = engine.list_runs(runtime, limit)
    if output == "json":
        write_json(runtime, json.dumps({"runs": [_summary_json(s) for s in summaries]}, indent=2) + "\n")
    else:
        render_runs(make_console(runtime.stdout, terminal=runtime.interactive), summaries)
    return 0


def _summary_json(summary: RunSummary) -> dict[str, object]:
    """Every field of the summary, camelCase as in report.json (`started_at` -> `startedAt`)."""
    return {_camel(f.name): getattr(summary, f.name) for f in fields(summary)}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


ShowFormat = Literal["text", "json", "markdown"]


@runs.command()
@click.argument("run_id", shell_complete=run_ids)
@click.option(
    "-o",
    "--output",
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    callback=remember_output,
    help="text: the summary; json: report.json; markdown: report.md.",
)
@click.pass_context
def show(ctx: click.Context, run_id: str, fmt: ShowFormat) -> int:
    """The report of RUN_ID; exits with the code the run itself exited with."""
    runtime = runtime_of(ctx)
    report = engine.show_run(run_id, runtime)
    if fmt == "json":
        write_json(runtime, dumps(report))
    elif fmt == "markdown":
        runtime.stdout.write(render_markdown(report))
    else:
        render_summary(make_console(runtime.stdout, terminal=runtime.interactive), report)
    return exit_code_of(report)


def _duration(_ctx: click.Context, _param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a duration: {DURATION_HINT}") from None


@runs.command()
@click.option(
    "--older-than",
    metavar="DURATION",
    callback=_duration,
    help="Remove runs whose last event is older than this (30d, 12h, 90m).",
)
@click.option("--keep", type=click.IntRange(min=0), metavar="N", help="Keep the N newest runs.")
@click.option("--dry-run", is_flag=True, help="Only say which runs would be removed.")
@click.pass_context
def prune(ctx: click.Context, older_than: float | None, keep: int | None, dry_run: bool) -> int:
    """Remove old runs; with both options, only runs beyond the N newest and older. A running run (its lock
    held by a live drkit) is never removed."""
    runtime = runtime_of(ctx)
    result = prune_runs(
        PruneRequest(older_than=older_than, keep=keep, dry_run=dry_run), runtime.state_dir, runtime.wall_clock
    )
    verb = "would remove" if dry_run else "removed"
    for run in result.removed:
        runtime.stdout.write(
            f"{verb} {run.run_id}  {run.playbook}  {run.mode} {run.outcome}  "
            f"(last event {utc_minute(run.last_event_at)})\n"
        )
    for skipped in result.skipped:
        runtime.stdout.write(f"kept {skipped.run_id}: {skipped.reason}\n")
    runs_word = "run" if len(result.removed) == 1 else "runs"
    runtime.stdout.write(
        f"{verb} {len(result.removed)} {runs_word} of {result.kept + len(result.removed)} in "
        f"{result.state_dir / 'runs'}; {result.kept} kept\n"
    )
    return 0


@click.command(name="report")
@click.argument("run_id", shell_complete=run_ids)
@format_option("text: the files written; json: {runId, outcome, files}.")
@click.pass_context
def report_command(ctx: click.Context, run_id: str, output: Output) -> int:
    """Write the report files of RUN_ID again (report.md, junit.xml, report.json) with this drkit's renderers.

    They are rebuilt from what the run recorded: its report.json, or its journal when drkit was stopped
    before it finished (then report.json is not written: it marks a finished run). Useful after an upgrade
    of drkit, or when a report file was lost."""
    runtime = runtime_of(ctx)
    report, files = engine.regenerate_reports(run_id, runtime)
    if output == "json":
        payload = {"runId": run_id, "outcome": str(report.outcome), "files": [str(f) for f in files]}
        write_json(runtime, json.dumps(payload, indent=2) + "\n")
    else:
        for path in files:
            runtime.stdout.write(f"wrote {path}\n")
    return ExitCode.OK
