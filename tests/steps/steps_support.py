"""Building step contexts and specs for step tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from drkit.context import Runtime
from drkit.errors import PlaybookError
from drkit.playbook.loader import load_playbook_text
from drkit.playbook.model import Playbook, StepSpec, Target
from drkit.playbook.problems import Problem
from drkit.playbook.source import Position
from drkit.steps.base import StepContext
from drkit.steps.registry import probe_schemas, step_schemas

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


# A one-step playbook; the step (or checklist item) body is written on BODY_LINE.
_PLAYBOOK = "apiVersion: drkit.io/v1\nkind: Playbook\nmetadata: {name: t}\nphases:\n  - name: p\n    steps:\n"
BODY_LINE = 7
ITEM_BODY_LINE = 12


def _load(kind: str, body: str, item: bool, variables: str = "") -> Playbook:
    if item:
        checklist = "checklists:\n  c:\n    items:\n      - name: i\n"
        text = f"{_PLAYBOOK}      - check: c\n{checklist}        {kind}: {body}\n"
    else:
        text = f"{_PLAYBOOK}      - {kind}: {body}\n"
    text += f"vars: {variables}\n" if variables else ""  # after the body: its line stays BODY_LINE
    return load_playbook_text(text, filename="t.yaml", step_kinds=step_schemas(), check_kinds=probe_schemas())


def loaded_body(kind: str, body: str, *, item: bool = False) -> object:
    """`body` (YAML) as the loader validates it for a `kind` step, or with `item` a checklist item."""
    playbook = _load(kind, body, item)
    return playbook.checklists["c"].items[0].body if item else playbook.phases[0].steps[0].body


def load_problem(kind: str, body: str, *, item: bool = False, variables: str = "") -> Problem:
    """The one problem the loader finds in `body` (see loaded_body), with `variables` (a YAML mapping)."""
    with pytest.raises(PlaybookError) as caught:
        _load(kind, body, item, variables)
    problems = caught.value.problems
    assert len(problems) == 1, problems
    problem = problems[0]
    assert isinstance(problem, Problem)
    return problem


def pointed_at(problem: Problem) -> str:
    """The text of its line from the problem's column on: what the caret points at."""
    return problem.line_text[problem.position.column - 1 :]
