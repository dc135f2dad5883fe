"""`drkit finalizers list|clear`: diagnose and clear deletions stuck on finalizers, without a playbook."""

from __future__ import annotations

import json

import click

from drkit.cli.common import Output, output_option, runtime_of, yes_option
from drkit.engine.finalizers import ClearRequest, ClusterChoice, ListRequest, clear_finalizers, list_stuck
from drkit.errors import ExitCode
from drkit.playbook.durations import DURATION_HINT, parse_duration
from drkit.report.console import make_console
from drkit.report.stuck_views import render_clear, render_diagnosis


class DurationType(click.ParamType[float]):
    name = "duration"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        try:
            seconds = parse_duration(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a duration: {DURATION_HINT}", param, ctx)
        if seconds < 0:
            self.fail(f"{value!r} is negative", param, ctx)
        return seconds


DURATION = DurationType()

namespace_option = click.option(
    "--namespace",
    "-n",
    "namespaces",
    multiple=True,
    required=True,
    metavar="NS",
    help="Namespace to look in (repeatable).",
)
list_namespace_option = click.option(
    "--namespace",
    "-n",
    "namespaces",
    multiple=True,
    metavar="NS",
    help="Namespace to look in (repeatable; any namespace, kube-system too: listing writes nothing).",
)
all_namespaces_option = click.option(
    "--all-namespaces",
    "-A",
    "all_namespaces",
    is_flag=True,
    help="Look in every namespace (one list per kind across the cluster).",
)
kind_option = click.option(
    "--kind", "kinds", multiple=True, metavar="KIND", help="Only objects of this kind (repeatable)."
)
after_option = click.option(
    "--after",
    type=DURATION,
    default="30s",
    show_default=True,
    help="Only objects deleted longer ago than this count as stuck.",
)
kubeconfig_option = click.option(
    "--kubeconfig", metavar="PATH", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)."
)
context_option = click.option(
    "--context", metavar="NAME", help="kubeconfig context (default: the current context)."
)


@click.group()
def finalizers() -> None:
    """Diagnose and clear deletions stuck on finalizers (on-call; no playbook needed)."""


@finalizers.command(name="list")
@list_namespace_option
@all_namespaces_option
@kind_option
@after_option
@kubeconfig_option
@context_option
@output_option
@click.pass_context
def list_command(  # noqa: PLR0917 (click passes options as arguments)
    ctx: click.Context,
    namespaces: tuple[str, ...],
    all_namespaces: bool,
    kinds: tuple[str, ...],
    after: float,
    kubeconfig: str | None,
    context: str | None,
    output: Output,
) -> int:
    """Show what is stuck in deletion in the namespaces, held by which finalizer and for how long."""
    if bool(namespaces) == all_namespaces:
        raise click.UsageError(
            "name the namespaces with -n NS, or look at all of them with -A (one or the other)"
        )
    runtime = runtime_of(ctx)
    request = ListRequest(
        namespaces=tuple(dict.fromkeys(namespaces)),
        cluster=ClusterChoice(kubeconfig, context),
        after=after,
        kinds=kinds,
        all_namespaces=all_namespaces,
    )
    view = list_stuck(request, runtime)
    if output == "json":
        runtime.stdout.write(json.dumps(view, indent=2) + "\n")
    else:
        render_diagnosis(make_console(runtime.stdout, terminal=runtime.interactive), view)
    return ExitCode.OK


@finalizers.command(name="clear")
@namespace_option
@click.option(
    "--finalizer", "finalizer_names", multiple=True, metavar="NAME", help="Remove only this finalizer."
)
@kind_option
@after_option
@click.option("--dry-run", is_flag=True, help="Write nothing; show what would be removed.")
@click.option(
    "--force",
    is_flag=True,
    help="Last resort: finalize a namespace that stays stuck (objects inside can be stranded).",
)
@click.option(
    "--timeout", type=DURATION, default="5m", show_default=True, help="Give up waiting after this long."
)
@yes_option
@kubeconfig_option
@context_option
@click.option(
    "--allow-context",
    "allow_contexts",
    multiple=True,
    metavar="CTX",
    help="Change nothing unless the context is CTX (repeatable; joins `contexts:` of the drkit config). "
    "--yes acts on an allowed context without asking.",
)
@output_option
@click.pass_context
def clear_command(  # noqa: PLR0917 (click passes options as arguments)
    ctx: click.Context,
    namespaces: tuple[str, ...],
    finalizer_names: tuple[str, ...],
    kinds: tuple[str, ...],
    after: float,
    dry_run: bool,
    force: bool,
    timeout: float,
    assume_yes: bool,
    kubeconfig: str | None,
    context: str | None,
    allow_contexts: tuple[str, ...],
    output: Output,
) -> int:
    """Remove the finalizers of objects stuck in deletion, then wait for them and their namespaces to go.

    The clearing is recorded as a run (`drkit runs list`); a dry run changes and records nothing. --yes
    skips the question only for a context named with --context or allowed (--allow-context, the config's
    `contexts:`); on the current context picked up implicitly drkit asks, naming it and its API server.
    """
    runtime = runtime_of(ctx)
    request = ClearRequest(
        namespaces=tuple(dict.fromkeys(namespaces)),
        cluster=ClusterChoice(kubeconfig, context),
        after=after,
        finalizers=finalizer_names,
        kinds=kinds,
        force=force,
        dry_run=dry_run,
        assume_yes=assume_yes,
        timeout=timeout,
        allow_contexts=tuple(dict.fromkeys(allow_contexts)),
    )
    console = make_console(runtime.stdout, terminal=runtime.interactive)
    errors = make_console(runtime.stderr, terminal=False)

    def confirm(question: str, actions: list[str]) -> bool:
        for action in actions:
            errors.print(f"  {action}", markup=False)
        return click.confirm(question, default=False, err=True)

    result = clear_finalizers(
        request,
        runtime,
        confirm if runtime.interactive else None,
        progress=lambda text: errors.print(text, markup=False),
    )
    if output == "json":
        payload = {**result.view, "complete": result.complete, "runId": result.run_id}
        runtime.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        render_clear(console, result.view)
        console.print(result.message, markup=False)
        if result.run_id is not None:
            console.print(f"recorded as run {result.run_id} (drkit runs show {result.run_id})", markup=False)
    return ExitCode.OK if result.complete else ExitCode.DRILL_FAILED
