"""Snapshots in the run directory: `<run dir>/snapshots/<phase>.<step>.json`, one per snapshot step.

They are taken before the teardown and read after the rebuild, possibly by a later `drkit resume` of the same
run (which keeps its run directory), so they are plain JSON written atomically: a crash leaves the previous
file or the new one, never half of one. They never hold secret values: golden predictions keep the request
and the answers (no headers), inventories keep Secret data as salted digests only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drkit.errors import StepFailure
from drkit.report.json_report import write_atomically

SNAPSHOTS = "snapshots"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def snapshot_path(run_dir: Path, phase: str, step: str) -> Path:
    return run_dir / SNAPSHOTS / f"{_UNSAFE.sub('_', phase)}.{_UNSAFE.sub('_', step)}.json"


def write_snapshot(path: Path, document: Mapping[str, Any]) -> None:
    write_atomically(path, json.dumps(document, indent=2, sort_keys=True) + "\n")


def read_snapshot(path: Path, schema: str) -> dict[str, Any] | None:
    """The snapshot, or None when there is none; StepFailure when it is not one of `schema`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StepFailure(f"cannot read snapshot {path}: {exc.strerror or exc}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise StepFailure(f"snapshot {path} is not JSON: {exc}", hint="was it edited by hand?") from None
    if not isinstance(document, dict) or document.get("schema") != schema:
        raise StepFailure(f"{path} is not a {schema} snapshot", hint="was it edited by hand?")
    return document
