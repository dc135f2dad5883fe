"""`drkit finalizers list|clear`: the on-call use of the clearFinalizers procedure, without a playbook.

Reading is always allowed: `list` (and `clear --dry-run`, which sends no PATCH, PUT or DELETE at all) look at
any namespace of any context, kube-system included, and `list -A` at all of them. Writing is guarded as a
playbook run is, but for a person at 3 a.m. rather than a file:

- protected namespaces (kube-system and friends) are refused before anything is read;
- the context must be allowed when an allow-list exists: `--allow-context CTX` (repeatable) and `contexts:`
  of the drkit config file (drkit.engine.oncall_config). A context outside it is refused, exit 3, before a
  single request, however the command was invoked;
- `--yes` skips the question only for a context the person named (`--context`) or the allow-list holds. On
  the kubeconfig's current context, picked up implicitly, drkit asks even with `--yes`, naming the context
  and its API server; with no terminal to ask, it refuses (exit 3), and nothing was written;
- every question names the context and API server the clearing would act on.

A clearing that was consented to is recorded like a drill (drkit.engine.finalizers_record); a dry run records
nothing, since it changed nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from drkit.context import Runtime
from drkit.domain.finalizer_clearing import (
    DEFAULT_AFTER_SECONDS,
    DEFAULT_FORCE_AFTER_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    ClearOutcome,
    ClearSettings,
    Clock,
    clear_stuck,
    describe_removals,
)
from drkit.domain.safety import refuse_in
from drkit.domain.stuck import diagnose, diagnose_everywhere
from drkit.engine.finalizers_record import ClearRecord, ClearSelection
from drkit.engine.oncall_config import OncallConfig, load_oncall_config
from drkit.engine.run_errors import RunInterrupted
from drkit.errors import AdapterError, DrkitError, RefusedError, UnreachableError
from drkit.kube import Cluster, ClusterConfig, ObjectRef, open_cluster
from drkit.kube.identity import ContextIdentity, describe_context
from drkit.playbook.model import ALWAYS_PROTECTED_NAMESPACES
from drkit.report.model import Outcome
from drkit.report.stuck_views import ClearView, DiagnosisView

Confirm = Callable[[str, list[str]], bool]  # (question, the actions) -> go ahead?


@dataclass(frozen=True)
class ClusterChoice:
    kubeconfig: str | None = None
    context: str | None = None  # named with --context: a deliberate choice, which --yes may act on


@dataclass(frozen=True)
class ListRequest:
    namespaces: tuple[str, ...]  # empty with all_namespaces
    cluster: ClusterChoice = ClusterChoice()
    after: float = DEFAULT_AFTER_SECONDS
    kinds: tuple[str, ...] = ()
    all_namespaces: bool = False


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
    allow_contexts: tuple[str, ...] = ()  # --allow-context: added to the config file's `contexts:`

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
    run_id: str | None  # the run record; None for a dry run, which records nothing


def _refuse(namespaces: tuple[str, ...], what: str) -> None:
    refuse_in([ObjectRef.of_namespace(n) for n in namespaces], ALWAYS_PROTECTED_NAMESPACES, what)


def _open(runtime: Runtime, choice: ClusterChoice) -> Cluster:
    return open_cluster(runtime, kubeconfig=choice.kubeconfig, context=choice.context)


def list_stuck(request: ListRequest, runtime: Runtime) -> DiagnosisView:
    """Diagnose the namespaces (or, with all_namespaces, the cluster): what is stuck in deletion, held by
    what, and the namespace conditions. Reads only, so any namespace may be looked at."""
    with _open(runtime, request.cluster) as cluster:
        now = runtime.wall_clock()
        if request.all_namespaces:
            found = diagnose_everywhere(cluster, now=now, after=request.after, kinds=request.kinds)
        else:
            found = diagnose(cluster, request.namespaces, now=now, after=request.after, kinds=request.kinds)
    return found.to_view()


@dataclass(frozen=True)
class Consent:
    """Whether writing to this context needs a question (and why), decided before any request."""

    ask: bool
    why: str = ""  # said in the question when --yes was given but does not cover the context


def consent_for(request: ClearRequest, identity: ContextIdentity, config: OncallConfig) -> Consent:
    """The context gate of the module docstring for a clearing that writes; raises RefusedError for a
    context the allow-list leaves out."""
    allowed = tuple(dict.fromkeys((*request.allow_contexts, *config.contexts)))
    if allowed and identity.context not in allowed:
        sources = [f"--allow-context {c}" for c in request.allow_contexts]
        sources += [f"contexts: in {config.path}"] if config.contexts else []
        raise RefusedError(
            f"`drkit finalizers clear` may not change {identity.where}: the on-call allow-list holds "
            f"{', '.join(allowed)} ({'; '.join(sources)}); nothing was sent",
            hint=f"pass --context with one of {', '.join(allowed)}, or add {identity.context!r} to the "
            f"allow-list if it really is a cluster to change",
        )
    if not request.assume_yes:
        return Consent(ask=True)
    if request.cluster.context is not None or identity.context in allowed:
        return Consent(ask=False)
    return Consent(
        ask=True,
        why=f"--yes covers only a context named with --context or allowed with --allow-context or "
        f"`contexts:` in {config.path}; {identity.context!r} is only the kubeconfig's current context",
    )


def clear_finalizers(
    request: ClearRequest,
    runtime: Runtime,
    confirm: Confirm | None,
    progress: Callable[[str], None] = lambda _: None,
) -> ClearResult:
    """Clear what is stuck (see drkit.steps.finalizers) once the context gate lets it (module docstring);
    record the clearing as a run unless it is a dry run."""
    _refuse(request.namespaces, "`drkit finalizers clear`")
    where = ", ".join(request.namespaces)
    choice = request.cluster
    # The config first: a broken one is a usage error before the kubeconfig is read. A dry run writes
    # nothing, so it needs neither the allow-list nor consent (a broken config must not stop a look).
    config = None if request.dry_run else load_oncall_config(runtime.env)
    identity = describe_context(
        ClusterConfig.from_env(
            runtime.env, kubeconfig=choice.kubeconfig, context=choice.context, cwd=runtime.cwd
        )
    )
    consent = Consent(ask=False) if config is None else consent_for(request, identity, config)
    if consent.ask and confirm is None:
        reason = f" ({consent.why})" if consent.why else ""
        raise RefusedError(
            f"clearing finalizers in {where} on {identity.where} needs confirmation{reason}, but there is no "
            "terminal to ask; nothing was sent",
            hint=f"look first with --dry-run, then rerun with --context {identity.context} --yes",
        )
    settings = request.settings()
    clock = Clock(wall=runtime.wall_clock, monotonic=runtime.monotonic)
    with _open(runtime, choice) as cluster:
        if consent.ask and confirm is not None:
            found = diagnose(
                cluster, request.namespaces, now=clock.wall(), after=settings.after, kinds=settings.kinds
            )
            actions = describe_removals(found, settings) or [f"nothing is stuck in {where} right now"]
            note = f" ({consent.why})" if consent.why else ""
            question = f"Remove these finalizers in {where} on {identity.where}?{note}"
            if not confirm(question, actions):
                raise RefusedError(
                    f"clearing finalizers on {identity.where} was not confirmed; nothing was written"
                )
        deadline = runtime.monotonic() + request.timeout
        if request.dry_run:
            outcome = clear_stuck(cluster, settings, clock=clock, deadline=deadline, dry_run=True)
            return ClearResult(outcome.view, outcome.complete, outcome.message, None)
        selection = ClearSelection(
            request.namespaces, request.finalizers, request.kinds, request.after, request.force
        )
        with ClearRecord(runtime, identity, selection, choice.kubeconfig, progress) as record:
            outcome = _recorded(
                record,
                lambda: clear_stuck(
                    cluster,
                    settings,
                    clock=clock,
                    deadline=deadline,
                    progress=progress,
                    on_removed=record.removed,
                ),
            )
    return ClearResult(outcome.view, outcome.complete, outcome.message, record.run_id)


def _recorded(record: ClearRecord, clear: Callable[[], ClearOutcome]) -> ClearOutcome:
    """Run the clearing; whatever ends it (done, a failure, Ctrl-C), the run record gets its report."""
    try:
        outcome = clear()
    except KeyboardInterrupt:
        record.finish(Outcome.INTERRUPTED, "interrupted while clearing finalizers", None)
        raise RunInterrupted(
            f"run {record.run_id} was interrupted while clearing finalizers",
            hint="its journal lists what was removed; run `drkit finalizers clear` again for the rest",
        ) from None
    except UnreachableError as exc:
        record.finish(Outcome.FAILED, exc.message, None, exc.hint)
        if not record.records:
            raise  # exit 5: nothing was written before the cluster stopped answering
        landed = len(record.records)
        raise AdapterError(
            f"{exc.message}, after {landed} finalizer removal{'s' if landed != 1 else ''} had landed",
            hint=f"`drkit runs show {record.run_id}` lists them; once the cluster answers, run "
            "`drkit finalizers clear` again for the rest",
        ) from exc
    except DrkitError as exc:
        record.finish(Outcome.FAILED, exc.message, None, exc.hint)
        raise
    except Exception as exc:
        record.finish(Outcome.FAILED, f"internal error: {type(exc).__name__}", None)
        raise
    record.finish(Outcome.SUCCEEDED if outcome.complete else Outcome.FAILED, outcome.message, outcome.view)
    return outcome
