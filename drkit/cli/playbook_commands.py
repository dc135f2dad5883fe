"""`drkit validate` and `drkit schema`: the playbook language without running anything."""

from __future__ import annotations

import json
from pathlib import Path

import click

from drkit import engine
from drkit.cli.common import parse_overrides, runtime_of, set_option


@click.command()
@click.argument("playbook", type=click.Path(path_type=Path, dir_okay=False))
@set_option
@click.pass_context
def validate(ctx: click.Context, playbook: Path, overrides: tuple[str, ...]) -> int:
    """Check PLAYBOOK: syntax, fields, variables and every step's settings. Exit 2 on problems."""
    runtime = runtime_of(ctx)
    summary = engine.validate(playbook, parse_overrides(overrides), runtime)
    runtime.stdout.write(
        f"{playbook} is valid: {summary.phases} phases, {summary.steps} steps, "
        f"{summary.checklists} checklists\n"
    )
    return 0


@click.command()
@click.option(
    "-o", "--output", "output_file", type=click.Path(path_type=Path, dir_okay=False), help="Write here."
)
@click.pass_context
def schema(ctx: click.Context, output_file: Path | None) -> int:
    """Print the playbook JSON Schema (for editors: `# yaml-language-server: $schema=...`)."""
    runtime = runtime_of(ctx)
    text = json.dumps(engine.json_schema(), indent=2) + "\n"
    if output_file is None:
        runtime.stdout.write(text)
    else:
        target = output_file if output_file.is_absolute() else runtime.cwd / output_file
        target.write_text(text, encoding="utf-8")
        runtime.stderr.write(f"wrote {target}\n")
    return 0
