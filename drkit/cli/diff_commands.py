"""`drkit diff`: compare the platform's objects in two clusters (post-migration validation)."""

from __future__ import annotations

import json

import click

from drkit.cli.common import Output, output_option, runtime_of
from drkit.engine.diff import DiffRequest, compare_clusters
from drkit.errors import ExitCode
from drkit.report.console import make_console
from drkit.report.reproduction import CHANGES
from drkit.report.reproduction_view import render_diff


@click.command(name="diff")
@click.option(
    "--from-context", required=True, metavar="NAME", help="The cluster as it was (kubeconfig context)."
)
@click.option("--to-context", required=True, metavar="NAME", help="The cluster it should match.")
@click.option(
    "--namespace",
    "-n",
    "namespaces",
    multiple=True,
    required=True,
    metavar="NS",
    help="Namespace (repeatable).",
)
@click.option("--kubeconfig", metavar="PATH", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config).")
@click.option("--to-kubeconfig", metavar="PATH", help="Another kubeconfig for --to-context.")
@click.option(
    "--kind", "kinds", multiple=True, metavar="KIND", help="Only this kind, Kind or Kind.group (repeatable)."
)
@click.option(
    "--ignore", "ignore", multiple=True, metavar="PATH", help="A JSON path not to compare (repeatable)."
)
@click.option(
    "--fail-on",
    "fail_on",
    multiple=True,
    type=click.Choice([*CHANGES, "none"]),
    help="Differences that make the exit code 1 (repeatable; default: missing, extra and changed).",
)
@output_option
@click.pass_context
def diff(  # noqa: PLR0917 (click passes options as arguments)
    ctx: click.Context,
    from_context: str,
    to_context: str,
    namespaces: tuple[str, ...],
    kubeconfig: str | None,
    to_kubeconfig: str | None,
    kinds: tuple[str, ...],
    ignore: tuple[str, ...],
    fail_on: tuple[str, ...],
    output: Output,
) -> int:
    """Missing, extra and changed objects between two clusters, with the changed fields (old → new).

    Reads only. Secret data is compared by digest: a changed Secret names its keys, never their values."""
    runtime = runtime_of(ctx)
    request = DiffRequest(
        from_context=from_context,
        to_context=to_context,
        namespaces=tuple(dict.fromkeys(namespaces)),
        kubeconfig=kubeconfig,
        to_kubeconfig=to_kubeconfig,
        kinds=kinds,
        ignore=ignore,
        fail_on=tuple(c for c in fail_on if c != "none") if fail_on else tuple(CHANGES),
    )
    report = compare_clusters(request, runtime)
    if output == "json":
        runtime.stdout.write(json.dumps(report.to_json(), indent=2, default=str) + "\n")
    else:
        render_diff(make_console(runtime.stdout, terminal=runtime.interactive), report)
    return ExitCode.OK if report.passed else ExitCode.DRILL_FAILED
