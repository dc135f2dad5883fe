"""`drkit runs list|show`: the history of recorded runs."""

from __future__ import annotations

from typing import Literal

import click

from drkit import engine
from drkit.cli.common import exit_code_of, runtime_of
from drkit.report.console import make_console, render_runs, render_summary
from drkit.report.json_report import dumps
from drkit.report.markdown import render_markdown


@click.group()
def runs() -> None:
    """Recorded runs, in one directory per user ($DRKIT_HOME, else $XDG_STATE_HOME/drkit, else
    ~/.local/state/drkit)."""


@runs.command(name="list")
@click.option("--limit", default=20, show_default=True, help="How many of the latest runs to show.")
@click.pass_context
def list_command(ctx: click.Context, limit: int) -> int:
    """The latest runs with their outcome and duration, newest first."""
    runtime = runtime_of(ctx)
    render_runs(make_console(runtime.stdout, terminal=runtime.interactive), engine.list_runs(runtime, limit))
    return 0


ShowFormat = Literal["text", "json", "markdown"]


@runs.command()
@click.argument("run_id")
@click.option(
    "--format",
    "-o",
    "--output",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="text: the summary; json: report.json; markdown: report.md.",
)
@click.pass_context
def show(ctx: click.Context, run_id: str, fmt: ShowFormat) -> int:
    """The report of RUN_ID; exits with the code the run itself exited with."""
    runtime = runtime_of(ctx)
    report = engine.show_run(run_id, runtime)
    if fmt == "json":
        runtime.stdout.write(dumps(report))
    elif fmt == "markdown":
        runtime.stdout.write(render_markdown(report))
    else:
        render_summary(make_console(runtime.stdout, terminal=runtime.interactive), report)
    return exit_code_of(report)
