"""`drkit history`: past drills with a trend per playbook, `--compare RUN_A RUN_B`, and `--chart FILE.png`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from drkit.cli.common import Output, format_option, runtime_of, write_json
from drkit.cli.completion import run_ids
from drkit.engine.compare import compare_runs
from drkit.engine.history import read_history
from drkit.errors import UsageError
from drkit.report.chart_png import write_ttr_png
from drkit.report.history import comparison_json, comparison_text, history_json, history_text
from drkit.report.ttr_chart import series_by_playbook


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
@click.option(
    "--chart",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.png",
    help="Draw time to recovery over time per playbook (the runs listed) into a PNG; needs drkit[charts].",
)
@format_option('json: {"runs": [...], "trends": [...]}; with --compare: {"a", "b", "phases", "steps"}.')
@click.pass_context
def history(  # noqa: PLR0917 (click passes options as arguments)
    ctx: click.Context,
    playbook: str | None,
    limit: int,
    compare: tuple[str, str] | None,
    chart: Path | None,
    output: Output,
) -> int:
    """Past runs, newest first, with each playbook's time-to-recovery trend (from the local history
    database, brought up to date from the runs' reports)."""
    runtime = runtime_of(ctx)
    if compare:
        if playbook or chart:
            raise UsageError("--compare takes two run ids; --playbook and --chart do not apply to it")
        comparison = compare_runs(*compare, runtime)
        if output == "json":
            write_json(runtime, json.dumps(comparison_json(comparison), indent=2) + "\n")
        else:
            runtime.stdout.write(comparison_text(comparison))
        return 0
    found = read_history(runtime.state_dir, playbook=playbook, limit=limit)
    if chart is not None:
        series = series_by_playbook(found.entries)
        write_ttr_png(series, runtime.cwd / chart)  # relative to the Runtime's cwd, not the process's
        runs = sum(len(s.points) for s in series)
        runtime.stderr.write(f"chart of {runs} run(s) of {len(series)} playbook(s) written to {chart}\n")
    if output == "json":
        write_json(runtime, json.dumps(history_json(found), indent=2) + "\n")
    else:
        runtime.stdout.write(history_text(found, runtime.state_dir))
    return 0
