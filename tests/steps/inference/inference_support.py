"""Requests, playbooks and step contexts for the inference tests."""

from __future__ import annotations

from pathlib import Path

from drkit.context import Runtime
from drkit.playbook.model import Playbook, Target
from drkit.playbook.source import Position
from drkit.steps import inference
from drkit.steps.base import StepContext
from drkit.steps.inference import InferenceProbe


def request_for(rows: list[list[float]]) -> dict[str, object]:
    """A V2 request of FP64 rows, as the models' signatures (an unnamed (-1, 4) tensor) expect."""
    return {
        "inputs": [{"name": "input-0", "shape": [len(rows), len(rows[0])], "datatype": "FP64", "data": rows}]
    }


def playbook_in(directory: Path) -> Playbook:
    return Playbook(
        name="t",
        path=directory / "playbook.yaml",
        position=Position("playbook.yaml", 1, 1),
        target=Target(),
        vars={},
        phases=(),
        checklists={},
    )


def context(runtime: Runtime, *, timeout: float | None = None) -> StepContext:
    return StepContext(
        runtime=runtime,
        playbook=playbook_in(runtime.cwd),
        run_id="20260101-000000-abcd",
        run_dir=runtime.cwd / ".drkit" / "runs" / "x",
        deadline=None if timeout is None else runtime.monotonic() + timeout,
        progress=lambda _: None,
    )


def probe(body: dict[str, object], base_dir: Path) -> InferenceProbe:
    built = inference.PROBE_KIND.build("model-answers", body, playbook_in(base_dir))
    assert isinstance(built, InferenceProbe)
    return built
