"""`drkit validate` and `drkit schema`: the playbook language without running anything."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click

from drkit import engine
from drkit.cli.common import parse_overrides, runtime_of, set_option
from drkit.errors import UsageError, exit_code_reference
from drkit.playbook.reference import playbook_reference, step_kinds_page
from drkit.report.schema import report_json_schema, report_reference
from drkit.steps.registry import STEP_KINDS, probe_schemas, step_schemas


@click.command()
@click.argument("playbook", type=click.Path(path_type=Path, dir_okay=False))
@set_option
@click.pass_context
def validate(ctx: click.Context, playbook: Path, overrides: tuple[str, ...]) -> int:
    """Check PLAYBOOK: syntax, fields, variables and every step's settings. Exit 2 on problems."""
    runtime = runtime_of(ctx)
    summary = engine.validate(playbook, parse_overrides(overrides), runtime)
    counts = ", ".join(
        _count(n, what)
        for n, what in ((summary.phases, "phase"), (summary.steps, "step"), (summary.checklists, "checklist"))
    ) + (f", {_count(summary.finally_steps, 'finally step')}" if summary.finally_steps else "")
    runtime.stdout.write(f"{playbook} is valid: {counts}\n")
    return 0


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


@click.command()
@click.option(
    "--of",
    "subject",
    type=click.Choice(["playbook", "step-kinds", "report", "exit-codes"]),
    default="playbook",
    show_default=True,
    help="playbook: the playbook language; report: report.json (docs/report.schema.json, "
    "docs/report-schema.md); step-kinds (docs/step-kinds.md) and exit-codes (docs/exit-codes.md): markdown.",
)
@click.option(
    "-o",
    "--output",
    "--format",
    "output_format",
    type=click.Choice(["json", "markdown"]),
    help="json (the default where there is one): the JSON Schema, for editors and validators; markdown: "
    "the reference (docs/playbook-reference.md for the playbook).",
)
@click.option(
    "--file",
    "output_file",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="PATH",
    help="Write to PATH instead of stdout.",
)
@click.pass_context
def schema(ctx: click.Context, subject: str, output_format: str | None, output_file: Path | None) -> int:
    """Print the playbook JSON Schema (for editors: `# yaml-language-server: $schema=...`) or reference; with
    --of, the schema and reference of report.json, the step kinds' examples or the exit-code table."""
    runtime = runtime_of(ctx)
    fmt = output_format or ("json" if (subject, "json") in _RENDERERS else "markdown")
    render = _RENDERERS.get((subject, fmt))
    if render is None:
        raise UsageError(f"drkit schema --of {subject} has no {fmt} form", hint="use -o markdown")
    text = render()
    if output_file is None:
        runtime.stdout.write(text)
    else:
        target = output_file if output_file.is_absolute() else runtime.cwd / output_file
        target.write_text(text, encoding="utf-8")
        runtime.stderr.write(f"wrote {target}\n")
    return 0


def _json(schema: object) -> str:
    return json.dumps(schema, indent=2) + "\n"


def _playbook_reference() -> str:
    timeouts = {kind: k.default_timeout for kind, k in STEP_KINDS.items()}
    return playbook_reference(step_schemas(), probe_schemas(), timeouts)


_RENDERERS: dict[tuple[str, str], Callable[[], str]] = {
    ("playbook", "json"): lambda: _json(engine.json_schema()),
    ("playbook", "markdown"): _playbook_reference,
    ("step-kinds", "markdown"): lambda: step_kinds_page(step_schemas(), probe_schemas()),
    ("report", "json"): lambda: _json(report_json_schema()),
    ("report", "markdown"): report_reference,
    ("exit-codes", "markdown"): exit_code_reference,
}
