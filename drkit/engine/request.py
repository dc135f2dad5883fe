"""What the CLI asks the engine to do: one frozen request per run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class RunMode(StrEnum):
    DRILL = "drill"  # every phase, teardown included
    RECOVER = "recover"  # skips drill-only phases: never tears down what is left of a platform
    CHECK = "check"  # checklists only, no steps
    PLAN = "plan"  # every selected step's plan(); nothing runs, nothing is written


@dataclass(frozen=True)
class RunRequest:
    playbook_path: Path
    mode: RunMode
    overrides: Mapping[str, str] = field(default_factory=dict)
    from_phase: str | None = None
    only_phase: str | None = None
    assume_yes: bool = False
    checklists: tuple[str, ...] = ()  # CHECK mode: the checklists to run; empty means all
    kubeconfig: str | None = None  # default: $KUBECONFIG, ~/.kube/config, in-cluster
    context: str | None = None  # default: the kubeconfig's current-context
