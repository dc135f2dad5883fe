"""What the CLI asks the engine to do: one frozen request per run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from drkit.run_mode import RunMode


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


__all__ = ["RunMode", "RunRequest"]
