"""The playbook model: plain, frozen, typed data. Every node keeps the position it was read from.

Step bodies stay as validated plain values (`body`): each step kind turns its own body into typed settings, so
the model does not need to know the step kinds that exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal

from drkit.playbook.source import Position

API_VERSION = "drkit.io/v1"
KIND = "Playbook"
# The `finally:` steps are reported as this phase, so no phase of the playbook may take its name.
FINALLY_PHASE = "finally"

# Namespaces drkit never deletes in, whatever a playbook says; a playbook can only add to this list.
ALWAYS_PROTECTED_NAMESPACES: tuple[str, ...] = ("kube-system", "kube-public", "kube-node-lease", "default")


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed step attempt is retried: `count` retries after the first attempt, waiting
    `delay * backoff**n` seconds (at most `max_delay`) before retry n."""

    count: int = 0
    delay: float = 1.0
    backoff: float = 2.0
    max_delay: float = 60.0

    def wait_before(self, retry_number: int) -> float:
        """Seconds to wait before retry `retry_number` (1-based)."""
        return min(self.max_delay, self.delay * self.backoff ** (retry_number - 1))


@dataclass(frozen=True)
class CollectSpec:
    """Evidence gathered when a step fails, besides what the step names itself: the events of a namespace, or
    the last `tail` log lines of the pods `selector` picks there."""

    what: Literal["events", "logs"]
    namespace: str
    selector: str = ""  # a label selector; logs only
    container: str = ""  # logs only; empty: every container of each pod
    tail: int = 100  # logs only: last lines per container


@dataclass(frozen=True)
class StepSpec:
    kind: str  # the step kind's YAML key, e.g. "command"
    name: str  # given by the playbook, or derived from the kind and its position in the phase
    body: object  # validated plain value of the kind's body (dict, str, ...), variables substituted
    position: Position
    timeout: float | None = None  # seconds; None means the kind's own default
    retries: RetryPolicy = field(default_factory=RetryPolicy)
    continue_on_error: bool = False
    collect: tuple[CollectSpec, ...] = ()  # gathered when this step fails, with the playbook's own `collect`


@dataclass(frozen=True)
class Phase:
    name: str
    steps: tuple[StepSpec, ...]
    position: Position
    budget: float | None = None  # seconds
    drill_only: bool = False  # teardown-like phases: run by `drkit drill`, skipped by `drkit recover`


@dataclass(frozen=True)
class ChecklistItem:
    kind: str  # the item kind's YAML key, e.g. "http", "command", later "resource", "pods"
    name: str
    body: object
    position: Position


@dataclass(frozen=True)
class Checklist:
    name: str
    items: tuple[ChecklistItem, ...]
    position: Position
    timeout: float | None = None  # seconds every item has to pass by; None: the check step's timeout


@dataclass(frozen=True)
class Target:
    contexts: tuple[str, ...] = ()  # kubeconfig contexts the playbook may act on; empty: none declared
    protected_namespaces: tuple[str, ...] = ALWAYS_PROTECTED_NAMESPACES


class VarSource(StrEnum):
    PLAYBOOK = "playbook"  # the value written under `vars:`
    ENVIRONMENT = "environment"  # `${env:NAME}`, from the environment
    ENV_DEFAULT = "env-default"  # `${env:NAME:-default}`, NAME unset or empty
    SET = "set"  # `--set name=value`


@dataclass(frozen=True)
class VarOrigin:
    """Where a variable's value came from, for `drkit plan` and the report (never the value itself)."""

    source: VarSource = VarSource.PLAYBOOK
    env_vars: tuple[str, ...] = ()  # the environment variables its value refers to

    def describe(self) -> str:
        names = ", ".join(f"${name}" for name in self.env_vars)
        if self.source is VarSource.ENVIRONMENT:
            return f"from {names}"
        if self.source is VarSource.ENV_DEFAULT:
            return f"default ({names} not set)"
        if self.source is VarSource.SET:
            return "--set"
        return "playbook"


@dataclass(frozen=True)
class Playbook:
    name: str
    path: Path  # the file it was loaded from; relative paths in steps are resolved against its directory
    position: Position
    target: Target
    vars: Mapping[str, str]  # after --set overrides
    phases: tuple[Phase, ...]
    checklists: Mapping[str, Checklist]
    rto: float | None = None  # seconds
    description: str = ""
    secret_vars: frozenset[str] = frozenset()  # names whose values are never echoed
    var_origins: Mapping[str, VarOrigin] = field(default_factory=dict)  # absent: written in the playbook
    # Run after the phases whatever their outcome (failure, interruption); see drkit.engine.finally_steps.
    finally_steps: tuple[StepSpec, ...] = ()
    collect: tuple[CollectSpec, ...] = ()  # gathered when any step fails

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def phase(self, name: str) -> Phase | None:
        return next((p for p in self.phases if p.name == name), None)
