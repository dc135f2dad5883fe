"""`drkit plan|drill|recover|check|resume`: build a request, run it, let the report layer render it."""

from __future__ import annotations

from pathlib import Path

import click

from drkit import engine
from drkit.cli.common import (
    Output,
    cluster_options,
    confirm_for,
    exit_code_of,
    listener_for,
    output_option,
    parse_overrides,
    report_copy_options,
    runtime_of,
    set_option,
    write_json,
    write_report_copies,
    yes_option,
)
from drkit.cli.completion import checklist_names, phase_names, run_ids
from drkit.engine import RunMode, RunRequest
from drkit.report.console import make_console, render_plan
from drkit.report.json_report import dumps

playbook_argument = click.argument("playbook", type=click.Path(path_type=Path, dir_okay=False))
from_phase_option = click.option(
    "--from-phase", metavar="PHASE", shell_complete=phase_names, help="Start at this phase."
)
only_phase_option = click.option(
    "--only-phase", metavar="PHASE", shell_complete=phase_names, help="Run only this phase."
)


def _run(
    ctx: click.Context, request: RunRequest, output: Output, *, junit: Path | None, markdown: Path | None
) -> int:
    runtime = runtime_of(ctx)
    report = engine.execute(request, runtime, listener_for(runtime, output), confirm_for(runtime))
    write_report_copies(report, runtime, junit=junit, markdown=markdown)
    return exit_code_of(report)


def _run_command(mode: RunMode, doc: str) -> click.Command:
    @click.command(name=str(mode), help=doc)
    @playbook_argument
    @set_option
    @from_phase_option
    @only_phase_option
    @yes_option
    @cluster_options
    @output_option
    @report_copy_options
    @click.pass_context
    def command(
        ctx: click.Context,
        *,
        playbook: Path,
        overrides: tuple[str, ...],
        from_phase: str | None,
        only_phase: str | None,
        assume_yes: bool,
        kubeconfig: str | None,
        context: str | None,
        output: Output,
        junit_path: Path | None,
        markdown_path: Path | None,
    ) -> int:
        request = RunRequest(
            playbook_path=playbook,
            mode=mode,
            overrides=parse_overrides(overrides),
            from_phase=from_phase,
            only_phase=only_phase,
            assume_yes=assume_yes,
            kubeconfig=kubeconfig,
            context=context,
        )
        return _run(ctx, request, output, junit=junit_path, markdown=markdown_path)

    return command


drill = _run_command(
    RunMode.DRILL,
    "Run every phase of PLAYBOOK, teardown included, timed against its budgets and RTO.",
)
recover = _run_command(
    RunMode.RECOVER,
    "Recover with PLAYBOOK: every phase except drill-only (teardown) ones.",
)


@click.command()
@playbook_argument
@set_option
@from_phase_option
@only_phase_option
@click.option("--recover", "as_recover", is_flag=True, help="Plan a recovery (skip drill-only phases).")
@cluster_options
@output_option
@click.pass_context
def plan(
    ctx: click.Context,
    *,
    playbook: Path,
    overrides: tuple[str, ...],
    from_phase: str | None,
    only_phase: str | None,
    as_recover: bool,
    kubeconfig: str | None,
    context: str | None,
    output: Output,
) -> int:
    """Show what a drill of PLAYBOOK would do, step by step. Touches nothing, records nothing."""
    runtime = runtime_of(ctx)
    request = RunRequest(
        playbook_path=playbook,
        mode=RunMode.PLAN,
        overrides=parse_overrides(overrides),
        from_phase=from_phase,
        only_phase=only_phase,
        kubeconfig=kubeconfig,
        context=context,
    )
    report = engine.plan(request, runtime, recover=as_recover)
    if output == "json":
        write_json(runtime, dumps(report))
    else:
        render_plan(make_console(runtime.stdout, terminal=runtime.interactive), report)
    return exit_code_of(report)


@click.command()
@playbook_argument
@set_option
@click.option(
    "--checklist",
    "checklists",
    multiple=True,
    metavar="NAME",
    shell_complete=checklist_names,
    help="Run only this checklist (repeatable).",
)
@cluster_options
@output_option
@report_copy_options
@click.pass_context
def check(
    ctx: click.Context,
    *,
    playbook: Path,
    overrides: tuple[str, ...],
    checklists: tuple[str, ...],
    kubeconfig: str | None,
    context: str | None,
    output: Output,
    junit_path: Path | None,
    markdown_path: Path | None,
) -> int:
    """Run the checklists of PLAYBOOK (all, or the ones named) against the platform; no steps run."""
    request = RunRequest(
        playbook_path=playbook,
        mode=RunMode.CHECK,
        overrides=parse_overrides(overrides),
        checklists=checklists,
        kubeconfig=kubeconfig,
        context=context,
    )
    return _run(ctx, request, output, junit=junit_path, markdown=markdown_path)


@click.command()
@click.argument("run_id", shell_complete=run_ids)
@yes_option
@click.option(
    "--force", is_flag=True, help="Resume even though the playbook file changed since the run started."
)
@click.option(
    "--other-cluster",
    is_flag=True,
    help="Resume even though the kubeconfig now points at another cluster than the run started on.",
)
@output_option
@report_copy_options
@click.pass_context
def resume(
    ctx: click.Context,
    run_id: str,
    *,
    assume_yes: bool,
    force: bool,
    other_cluster: bool,
    output: Output,
    junit_path: Path | None,
    markdown_path: Path | None,
) -> int:
    """Continue RUN_ID from the first step that did not finish; steps that succeeded are not run again."""
    runtime = runtime_of(ctx)
    report = engine.resume(
        run_id,
        runtime,
        listener_for(runtime, output),
        confirm_for(runtime),
        assume_yes=assume_yes,
        force=force,
        other_cluster=other_cluster,
    )
    write_report_copies(report, runtime, junit=junit_path, markdown=markdown_path)
    return exit_code_of(report)
