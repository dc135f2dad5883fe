"""`drkit rbac`: the least-privilege Roles and ClusterRole a playbook's drill needs, as manifests."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from drkit.cli.common import parse_overrides, remember_output, runtime_of, set_option, write_json
from drkit.engine.rbac import RbacRequest, least_privilege
from drkit.errors import UsageError
from drkit.report.rbac import render_json, render_yaml


def _service_account(value: str) -> tuple[str, str]:
    namespace, _, name = value.partition("/")
    if not namespace or not name or "/" in name:
        raise UsageError(f"--service-account must be NAMESPACE/NAME, got {value!r}")
    return namespace, name


@click.command()
@click.argument("playbook", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--service-account",
    "service_account",
    default="drkit/drkit",
    show_default=True,
    metavar="NAMESPACE/NAME",
    help="The ServiceAccount the drill runs as (the subject of the bindings).",
)
@set_option
@click.option(
    "--context",
    metavar="NAME",
    help="Read resource names from this cluster's discovery (default: a built-in table and the CRDs).",
)
@click.option("--kubeconfig", metavar="PATH", help="kubeconfig file for --context.")
@click.option(
    "-o",
    "--output",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
    callback=remember_output,
    help="yaml: commented manifests; json: a v1 List. Both go to `kubectl apply -f -`.",
)
@click.pass_context
def rbac(  # noqa: PLR0917 (click passes options as arguments)
    ctx: click.Context,
    playbook: Path,
    service_account: str,
    overrides: tuple[str, ...],
    context: str | None,
    kubeconfig: str | None,
    output: str,
) -> int:
    """Print the least-privilege RBAC that PLAYBOOK's drill needs: a Role and RoleBinding per namespace, and a
    ClusterRole and ClusterRoleBinding for cluster-wide needs, each rule naming the steps that need it."""
    runtime = runtime_of(ctx)
    request = RbacRequest(
        playbook_path=playbook,
        overrides=parse_overrides(overrides),
        service_account=_service_account(service_account),
        kubeconfig=kubeconfig,
        context=context,
    )
    grant = least_privilege(request, runtime)
    if output == "json":  # JSON has no comments: where the names came from goes to stderr
        runtime.stderr.write(f"resource names from {grant.kinds_from}\n")
        write_json(runtime, render_json(grant))
        return 0
    command = ["drkit", "rbac", str(playbook), "--service-account", service_account]
    command += [f"--set={item}" for item in overrides]
    command += ["--context", context] if context else []
    runtime.stdout.write(render_yaml(grant, shlex.join(command)))
    return 0
