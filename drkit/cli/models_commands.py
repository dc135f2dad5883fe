"""`drkit models rewrite`: point Seldon Model manifests at the models MLflow really holds."""

from __future__ import annotations

import json
from pathlib import Path

import click

from drkit.cli.common import format_option, runtime_of, write_json
from drkit.domain.model_resolution import DEFAULT_STORAGE_ROOT
from drkit.engine.models_rewrite import RewriteRequest, rewrite_models
from drkit.errors import ExitCode


@click.group()
def models() -> None:
    """Model manifests and MLflow."""


@models.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--mlflow-endpoint", metavar="URL", help="Tracking server (default: $MLFLOW_TRACKING_URI).")
@click.option(
    "--model-variant",
    "variants",
    multiple=True,
    metavar="V",
    help="Only Models of this variant (repeatable).",
)
@click.option(
    "--storage-root",
    default=DEFAULT_STORAGE_ROOT,
    show_default=True,
    help="What mlflow-artifacts:/ maps to for the model servers.",
)
@click.option("--dry-run", is_flag=True, help="Show the diff; write nothing.")
@click.option("--ca-bundle", type=click.Path(dir_okay=False, path_type=Path), help="CA file of the server.")
@click.option("--insecure", is_flag=True, help="Do not verify the server's TLS certificate.")
@format_option("json: the rewrite as a JSON document on stdout.")
@click.pass_context
def rewrite(  # noqa: PLR0917 (click passes options as arguments)
    ctx: click.Context,
    paths: tuple[str, ...],
    mlflow_endpoint: str | None,
    variants: tuple[str, ...],
    storage_root: str,
    dry_run: bool,
    ca_bundle: Path | None,
    insecure: bool,
    output: str,
) -> int:
    """Rewrite spec.storageUri of the Seldon Models in PATHS (files, directories, globs) from MLflow.

    A Model opts in with the annotations drkit.io/mlflow-experiment + drkit.io/mlflow-filter, or
    drkit.io/mlflow-model (name@alias or name/version). Exit 0: rewritten or already right; 1: a model could
    not be resolved (then no file is changed); 5: MLflow did not answer (nothing changed).
    """
    runtime = runtime_of(ctx)
    request = RewriteRequest(
        paths=paths,
        mlflow_url=mlflow_endpoint,
        variants=variants,
        storage_root=storage_root,
        dry_run=dry_run,
        ca_bundle=ca_bundle,
        verify_tls=not insecure,
    )
    outcome = rewrite_models(request, runtime)
    plan = outcome.plan
    if output == "json":
        document = {**plan.details(), "written": [str(p) for p in outcome.written], "dryRun": dry_run}
        write_json(runtime, json.dumps(document, indent=2) + "\n")
    else:
        out = runtime.stdout
        for update in plan.updates:
            if update.error:
                out.write(f"✗ {update.target.name}: {update.error}\n")
            elif update.location is not None:
                state = "changes" if update.changed else "already right"
                out.write(f"✓ {update.target.name} ({state}): {update.location.describe()}\n")
        for name in plan.skipped:
            out.write(f"- {name}: skipped (not opted in or not a selected variant)\n")
        out.write(plan.diff())
        if plan.failures:
            out.write("no file was changed\n")
        elif dry_run:
            out.write(f"dry run: {len(plan.changes)} file(s) would change\n")
        else:
            out.write(f"{len(outcome.written)} file(s) written\n")
    return int(ExitCode.DRILL_FAILED if plan.failures else ExitCode.OK)
