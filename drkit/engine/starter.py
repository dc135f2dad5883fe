"""`drkit init`: write a starter playbook for a cluster context and its namespaces, and the JSON Schema
beside it (what the playbook's `$schema` comment names, so an editor finds it wherever the user put it).

Existing files are never overwritten without `force`; every check happens before the first write, so a
refused init leaves the directory as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from drkit.context import Runtime
from drkit.engine.usecases import json_schema
from drkit.errors import UsageError
from drkit.playbook.starter import SCHEMA_FILE, render_starter, starter_spec


@dataclass(frozen=True)
class InitRequest:
    path: Path  # as the user typed it (relative to the runtime's working directory)
    context: str
    namespaces: tuple[str, ...]
    name: str | None = None  # metadata.name; derived from the file name when None
    force: bool = False


@dataclass(frozen=True)
class InitResult:
    playbook: Path
    schema: Path
    schema_kept: bool  # the schema file was there already (and not --force): left as it was


def init_playbook(request: InitRequest, runtime: Runtime) -> InitResult:
    target = request.path if request.path.is_absolute() else runtime.cwd / request.path
    spec = starter_spec(
        file_stem=target.stem, context=request.context, namespaces=request.namespaces, name=request.name
    )
    if target.is_dir():
        raise UsageError(
            f"{request.path} is a directory", hint="give the playbook's file name, e.g. recovery.yaml"
        )
    if target.exists() and not request.force:
        raise UsageError(
            f"{request.path} exists already", hint="choose another name, or --force to overwrite it"
        )
    schema = target.parent / SCHEMA_FILE
    if schema.is_dir():
        raise UsageError(
            f"{schema} is a directory", hint=f"the playbook's schema is written as {SCHEMA_FILE}"
        )
    text = render_starter(spec, file_name=str(request.path))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    kept = schema.exists() and not request.force
    if not kept:
        schema.write_text(json.dumps(json_schema(), indent=2) + "\n", encoding="utf-8")
    return InitResult(playbook=target, schema=schema, schema_kept=kept)
