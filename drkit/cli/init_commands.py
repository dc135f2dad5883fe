"""`drkit init` and `drkit examples`: a first playbook of one's own, and the complete ones drkit ships."""

from __future__ import annotations

from pathlib import Path

import click

from drkit.cli.common import runtime_of
from drkit.engine.examples import copy_examples, list_examples
from drkit.engine.starter import InitRequest, init_playbook


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--context", required=True, metavar="NAME", help="The kubeconfig context the playbook may act on."
)
@click.option(
    "--namespace",
    "-n",
    "namespaces",
    multiple=True,
    required=True,
    metavar="NS",
    help="A namespace the platform lives in (repeatable).",
)
@click.option("--name", metavar="NAME", help="metadata.name (default: from the file name).")
@click.option("--force", is_flag=True, help="Overwrite PATH (and the schema beside it) if they exist.")
@click.pass_context
def init(  # noqa: PLR0917 (click passes options as arguments)
    ctx: click.Context, path: Path, context: str, namespaces: tuple[str, ...], name: str | None, force: bool
) -> int:
    """Write a starter playbook for a cluster context and its namespaces, valid as written, with the JSON
    Schema beside it (playbook.schema.json) for editors."""
    runtime = runtime_of(ctx)
    request = InitRequest(path=path, context=context, namespaces=namespaces, name=name, force=force)
    result = init_playbook(request, runtime)
    runtime.stdout.write(f"wrote {result.playbook}\n")
    kept = " (already there: kept; --force rewrites it)" if result.schema_kept else ""
    runtime.stdout.write(f"schema {result.schema}{kept}\n")
    runtime.stdout.write(f"next: drkit validate {path}; drkit check {path} (read-only)\n")
    return 0


@click.group()
def examples() -> None:
    """The example playbooks shipped with drkit (the lab's drill, recovery, validation, failure scenarios)."""


@examples.command(name="list")
@click.pass_context
def list_command(ctx: click.Context) -> int:
    """Each shipped playbook with its path (valid as it is: `drkit validate PATH`)."""
    runtime = runtime_of(ctx)
    for example in list_examples():
        runtime.stdout.write(f"{example.name}\n    {example.summary}\n    {example.path}\n")
    runtime.stdout.write("copy them (with the manifests they use) to edit or run: drkit examples copy DIR\n")
    return 0


@examples.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--force", is_flag=True, help="Copy into a non-empty DIRECTORY, overwriting files of the same name."
)
@click.pass_context
def copy(ctx: click.Context, directory: Path, force: bool) -> int:
    """Copy the examples into DIRECTORY: playbooks/, the manifests/ they use and docs/playbook.schema.json."""
    runtime = runtime_of(ctx)
    copied = copy_examples(directory, cwd=runtime.cwd, force=force)
    runtime.stdout.write(f"copied the examples into {copied.directory}:\n")
    for playbook in copied.playbooks:
        runtime.stdout.write(f"  {playbook}\n")
    return 0
