"""`drkit finalizers list|clear`: the on-call use of the clearFinalizers procedure, without a playbook.

There is no playbook, hence no `target.contexts` allow-list: the person at the keyboard chooses the cluster.
What stays non-negotiable is the protected namespaces (kube-system and friends), refused before anything is
read, and confirmation before any write: with no terminal to ask and no --yes, nothing is written (exit 3).
A dry run reads only: it sends no PATCH, PUT or DELETE at all.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from drkit.context import Runtime
from drkit.errors import RefusedError
from drkit.kube import Cluster, open_cluster
from drkit.playbook.model import ALWAYS_PROTECTED_NAMESPACES
from drkit.report.stuck import ClearView, DiagnosisView
from drkit.steps.finalizers import (
    DEFAULT_AFTER_SECONDS,
    DEFAULT_FORCE_AFTER_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    ClearSettings,
    Clock,
    clear_stuck,
    describe_removals,
)
from drkit.steps.safety import refuse_in
from drkit.steps.sources import namespace_ref
from drkit.steps.stuck import diagnose

Confirm = Callable[[str, list[str]], bool]  # (question, the actions) -> go ahead?


@dataclass(frozen=True)
class ClusterChoice:
    kubeconfig: str | None = None
    context: str | None = None


@dataclass(frozen=True)
class ListRequest:
    namespaces: tuple[str, ...]
    cluster: ClusterChoice = ClusterChoice()
    after: float = DEFAULT_AFTER_SECONDS
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClearRequest:
    namespaces: tuple[str, ...]
    cluster: ClusterChoice = ClusterChoice()
    after: float = DEFAULT_AFTER_SECONDS
    finalizers: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    force: bool = False
    force_after: float = DEFAULT_FORCE_AFTER_SECONDS
    dry_run: bool = False
    assume_yes: bool = False
    timeout: float = DEFAULT_TIMEOUT_SECONDS

    def settings(self) -> ClearSettings:
        return ClearSettings(
            namespaces=self.namespaces,
            after=self.after,
            finalizers=self.finalizers,
            kinds=self.kinds,
            force=self.force,
            force_after=self.force_after,
        )


@dataclass(frozen=True)
class ClearResult:
    view: ClearView
    complete: bool
    message: str


def _refuse(namespaces: tuple[str, ...], what: str) -> None:
    refuse_in([namespace_ref(n) for n in namespaces], ALWAYS_PROTECTED_NAMESPACES, what)


def _open(runtime: Runtime, choice: ClusterChoice, state_dir: Path) -> Cluster:
    return open_cluster(runtime, state_dir=state_dir, kubeconfig=choice.kubeconfig, context=choice.context)


def list_stuck(request: ListRequest, runtime: Runtime) -> DiagnosisView:
    """Diagnose the namespaces: what is stuck in deletion, held by what, and the namespace conditions."""
    _refuse(request.namespaces, "`drkit finalizers list`")
    with (
        tempfile.TemporaryDirectory(prefix="drkit-finalizers-") as tmp,
        _open(runtime, request.cluster, Path(tmp)) as cluster,
    ):
        found = diagnose(
            cluster, request.namespaces, now=runtime.wall_clock(), after=request.after, kinds=request.kinds
        )
    return found.to_view()


def clear_finalizers(
    request: ClearRequest,
    runtime: Runtime,
    confirm: Confirm | None,
    progress: Callable[[str], None] = lambda _: None,
) -> ClearResult:
    """Clear what is stuck (see drkit.steps.finalizers), after confirmation unless --yes or --dry-run."""
    _refuse(request.namespaces, "`drkit finalizers clear`")
    needs_consent = not request.dry_run and not request.assume_yes
    if needs_consent and confirm is None:
        raise RefusedError(
            f"clearing finalizers in {', '.join(request.namespaces)} needs confirmation, but there is no "
            "terminal to ask; nothing was written",
            hint="look first with --dry-run, then rerun with --yes",
        )
    settings = request.settings()
    clock = Clock(wall=runtime.wall_clock, monotonic=runtime.monotonic)
    with (
        tempfile.TemporaryDirectory(prefix="drkit-finalizers-") as tmp,
        _open(runtime, request.cluster, Path(tmp)) as cluster,
    ):
        if needs_consent and confirm is not None:
            found = diagnose(
                cluster, request.namespaces, now=clock.wall(), after=settings.after, kinds=settings.kinds
            )
            actions = describe_removals(found, settings)
            if not confirm(f"Remove these finalizers in {', '.join(request.namespaces)}?", actions):
                raise RefusedError("clearing finalizers was not confirmed; nothing was written")
        outcome = clear_stuck(
            cluster,
            settings,
            clock=clock,
            deadline=runtime.monotonic() + request.timeout,
            progress=progress,
            dry_run=request.dry_run,
        )
    return ClearResult(outcome.view, outcome.complete, outcome.message)
