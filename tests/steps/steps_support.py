"""Building step contexts and specs for step tests."""

from __future__ import annotations

from pathlib import Path

from drkit.context import Runtime
from drkit.playbook.model import Playbook, StepSpec, Target
from drkit.playbook.source import Position
from drkit.steps.base import StepContext

HERE = Position("test.yaml", 1, 1)


def playbook_in(directory: Path, **fields: object) -> Playbook:
    values: dict[str, object] = {
        "name": "t",
        "path": directory / "playbook.yaml",
        "position": HERE,
        "target": Target(),
        "vars": {},
        "phases": (),
        "checklists": {},
    }
    values.update(fields)
    return Playbook(**values)  # type: ignore[arg-type]


def context(
    runtime: Runtime, *, timeout: float | None = None, progress: list[str] | None = None
) -> StepContext:
    lines = progress if progress is not None else []
    return StepContext(
        runtime=runtime,
        playbook=playbook_in(runtime.cwd),
        run_id="20260101-000000-abcd",
        run_dir=runtime.cwd / ".drkit" / "runs" / "x",
        deadline=None if timeout is None else runtime.monotonic() + timeout,
        progress=lines.append,
    )


def spec(kind: str, body: object, name: str = "s") -> StepSpec:
    return StepSpec(kind=kind, name=name, body=body, position=HERE)
