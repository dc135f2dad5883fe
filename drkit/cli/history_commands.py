"""`drkit history`: past drills with a trend per playbook, and `--compare RUN_A RUN_B`."""

from __future__ import annotations

import json

import click

from drkit.cli.common import Output, format_option, runtime_of, write_json
from drkit.cli.completion import run_ids
from drkit.engine.compare import compare_runs
from drkit.engine.history import read_history
from drkit.errors import UsageError
from drkit.report.history import comparison_json, comparison_text, history_json, history_text


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
            write_json(runtime, json.dumps(comparison_json(comparison), indent=2) + "\n")
        else:
            runtime.stdout.write(comparison_text(comparison))
        return 0
    found = read_history(runtime.state_dir, playbook=playbook, limit=limit)
    if output == "json":
        write_json(runtime, json.dumps(history_json(found), indent=2) + "\n")
    else:
        runtime.stdout.write(history_text(found, runtime.state_dir))
    return 0
