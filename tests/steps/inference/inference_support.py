"""Requests, playbooks and step contexts for the inference tests."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from drkit.context import Runtime
from drkit.playbook.model import Playbook, Target
from drkit.playbook.source import Position
from drkit.steps import inference
from drkit.steps.base import StepContext
from drkit.steps.inference import InferenceProbe

LOAD_SECONDS = 120.0


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


@dataclass(frozen=True)
class ServedModels:
    url: str
    features: list[list[float]]  # a (2, 4) FP64 request's rows
    classes: list[int]  # what the classifier predicts for them, computed locally by sklearn
    values: list[float]  # what the regressor predicts for them
    log: Path

    def load(self, name: str) -> None:
        """Load a model of the repository (blocks until MLServer says it is loaded)."""
        _post(f"{self.url}/v2/repository/models/{name}/load", LOAD_SECONDS)
        wait_for(f"{self.url}/v2/models/{name}/ready", LOAD_SECONDS, self.log)


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return None


def _post(url: str, timeout: float) -> None:
    request = urllib.request.Request(url, data=b"{}", method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        answer.read()


def wait_for(url: str, seconds: float, log: Path) -> None:
    """Poll until `url` answers 200, with a deadline: waiting for the server's event, not for time."""
    deadline = time.monotonic() + seconds
    while _status(url) != 200:
        if time.monotonic() > deadline:
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"{url} did not answer 200 within {seconds:.0f}s; MLServer log:\n{tail}")
        time.sleep(0.1)
