"""Run one scenario on both planes, normalise both transcripts and compare them.

Both planes run the scenario at once (two threads): the real server's asynchronous waits overlap with the
emulator's work. The verdict of each scenario (and a short diff) is kept for the terminal summary and the
results file the conftest writes.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fidelity_normalise import normalise_transcript
from fidelity_planes import Client, Plane

Scenario = Callable[[Client], None]
DIFF_LINES = 60


@dataclass
class Outcome:
    equal: bool
    diff: str = ""


@dataclass
class Ledger:
    """Per test node id: what the comparison found (filled during the run, read by the summary hooks)."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)


LEDGER = Ledger()


def namespace_for(test_name: str) -> str:
    """A namespace name per scenario, the same on both planes, so names never need masking."""
    slug = re.sub(r"[^a-z0-9-]+", "-", test_name.lower().removeprefix("test_").replace("_", "-")).strip("-")
    return ("fid-" + slug)[:63].rstrip("-")


def _run(plane: Plane, namespace: str, workdir: Path, scenario: Scenario) -> list[Any]:
    client = Client(plane, namespace, workdir)
    created = client.post("/api/v1/namespaces", {"metadata": {"name": namespace}}, record=False)
    assert created.status == 201, f"{plane.name}: could not create namespace {namespace}: {created.body}"
    scenario(client)
    return normalise_transcript(client.transcript, address=plane.address)


def _dump(transcript: list[Any]) -> list[str]:
    return json.dumps(transcript, indent=1, sort_keys=True).splitlines()


def compare(
    node_id: str, planes: tuple[Plane, Plane], test_name: str, workdir: Path, scenario: Scenario
) -> None:
    """Fail with a diff unless both planes gave the same normalised transcript."""
    emulated, real = planes
    namespace = namespace_for(test_name)
    with ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(_run, plane, namespace, workdir / plane.name, scenario) for plane in (emulated, real)
        ]
        results = [f.result() for f in futures]
    if results[0] == results[1]:
        LEDGER.outcomes[node_id] = Outcome(True)
        return
    diff = list(
        difflib.unified_diff(
            _dump(results[1]), _dump(results[0]), fromfile="real", tofile="emulated", lineterm="", n=2
        )
    )
    shown = "\n".join(diff[:DIFF_LINES]) + (
        f"\n... {len(diff) - DIFF_LINES} more lines" if len(diff) > DIFF_LINES else ""
    )
    LEDGER.outcomes[node_id] = Outcome(False, shown)
    raise AssertionError(f"the planes answered differently:\n{shown}")
