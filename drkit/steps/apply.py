"""The `apply` step: server-side apply of a kustomize directory or manifest files, in waves, then wait.

Server-side apply (field manager `drkit`) makes re-running a recovery idempotent and leaves fields other
managers own alone. Objects go in waves (see `drkit.steps.waves`) and in parallel within a wave; the CRDs of
the first wave are waited for until Established, so custom resources in the same kustomization can follow at
once. With `wait`, the step ends when every applied object is Current (kstatus) and records when each became
so: that time is what a drill measures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drkit.errors import DrkitError
from drkit.kube import (
    Cluster,
    NotFound,
    ObjectRef,
    ReadinessRules,
    UnknownKind,
    compute_status,
    ready,
    wait_for,
)
from drkit.kube.watch import WaitResult
from drkit.playbook.fields import Bool, Field, KindSchema, Obj
from drkit.playbook.model import StepSpec
from drkit.steps.access import APPLY, AccessScope, StepAccess, of_manifests
from drkit.steps.awaiting import AwaitedObjects, ready_state
from drkit.steps.base import StepContext, StepKind, StepPlan, StepResult, StepStatus
from drkit.steps.results import ReadyTimes
from drkit.steps.settings import as_mapping, opt_bool
from drkit.steps.sources import SOURCE_FIELDS, Manifest, Source, check_source, parse_source, render
from drkit.steps.waves import Wave, apply_wave, group_into_waves, in_parallel, is_crd

DEFAULT_TIMEOUT_SECONDS = 10 * 60.0

SCHEMA = KindSchema(
    kind="apply",
    body=Obj(
        description="Server-side apply (field manager drkit) of a kustomize directory or manifest files.",
        fields={
            **SOURCE_FIELDS,
            "wait": Field(Bool(), description="Wait until every applied object is ready (default true)."),
            "dryRun": Field(
                Bool(), description="Ask the server to validate only (dryRun=All); nothing changes."
            ),
        },
        exactly_one_of=(("kustomize", "files"),),
        not_offered={"prune": "apply does not prune: delete what is gone with a `delete` step"},
    ),
    description="Apply manifests in dependency waves (CRDs and namespaces first) and wait until ready.",
    examples=({"kustomize": "manifests/financial-mlops/base"}, {"files": ["crds.yaml"], "wait": False}),
)


@dataclass(frozen=True)
class ApplySettings:
    source: Source
    wait: bool = True
    dry_run: bool = False


def parse_settings(body: object) -> ApplySettings:
    data = as_mapping(body, "apply")
    return ApplySettings(
        source=parse_source(data),
        wait=opt_bool(data, "wait", default=True),
        dry_run=opt_bool(data, "dryRun", default=False),
    )


@dataclass(frozen=True)
class Applied:
    """What one apply request did: the object's ref, and either the server's answer or why it failed."""

    ref: ObjectRef
    live: Mapping[str, Any] | None = None
    error: str | None = None
    skipped: str | None = None  # dry run only: why it could not be checked


def _crd_kinds(manifests: list[Manifest]) -> set[tuple[str, str]]:
    """(group, kind) of every CRD in the source: their objects cannot be dry-run before the CRD exists."""
    kinds: set[tuple[str, str]] = set()
    for m in manifests:
        if is_crd(ObjectRef.of(m)):
            spec = m.get("spec") or {}
            kinds.add((str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", ""))))
    return kinds


class ApplyStep:
    def __init__(self, spec: StepSpec, settings: ApplySettings) -> None:
        self.spec = spec
        self.settings = settings

    def check_inputs(self, ctx: StepContext) -> None:
        check_source(self.settings.source, ctx.base_dir, ctx.runtime.env, monotonic=ctx.runtime.monotonic)

    def _render(self, ctx: StepContext) -> list[Manifest]:
        return render(
            self.settings.source,
            ctx.base_dir,
            ctx.runtime.env,
            monotonic=ctx.runtime.monotonic,
            timeout=ctx.remaining(),
        )

    def access(self, ctx: StepContext, scope: AccessScope) -> StepAccess:
        return of_manifests(self._render(ctx), APPLY, scope)

    # --- plan ----------------------------------------------------------------------------------------

    def plan(self, ctx: StepContext) -> StepPlan:
        manifests = self._render(ctx)
        cluster = ctx.cluster()
        created_kinds = _crd_kinds(manifests)
        actions: list[str] = []
        for wave, objs in group_into_waves(manifests, ObjectRef.of, apply_wave):
            if not ctx.plan_reads_state:
                actions += [f"wave {int(wave)} ({wave.label}): apply {ObjectRef.of(m)}" for m in objs]
                continue
            states = in_parallel(lambda m: _exists(cluster, ObjectRef.of(m), created_kinds), objs)
            actions += [
                f"wave {int(wave)} ({wave.label}): apply {ObjectRef.of(m)} ({s})"
                for m, s in zip(objs, states, strict=True)
            ]
        verb = "would validate (dry run)" if self.settings.dry_run else "would apply"
        wait = " and wait until ready" if self.settings.wait and not self.settings.dry_run else ""
        return StepPlan(
            summary=f"{verb} {len(manifests)} object(s) from {self.settings.source.describe()}{wait}",
            actions=tuple(actions),
        )

    # --- run -----------------------------------------------------------------------------------------

    def run(self, ctx: StepContext) -> StepResult:
        started = ctx.runtime.monotonic()
        deadline = _deadline(ctx)
        manifests = self._render(ctx)
        cluster = ctx.cluster()
        created_kinds = _crd_kinds(manifests)
        new_namespaces = {ObjectRef.of(m).name for m in manifests if ObjectRef.of(m).kind == "Namespace"}
        dry_run = self.settings.dry_run
        details: dict[str, object] = {"source": self.settings.source.describe(), "dryRun": dry_run}
        waves_done: list[dict[str, object]] = []
        applied: list[Applied] = []
        for wave, objs in group_into_waves(manifests, ObjectRef.of, apply_wave):
            ctx.progress(f"applying {len(objs)} object(s): {wave.label}")
            results = in_parallel(
                lambda m: _apply_one(cluster, m, dry_run, created_kinds, new_namespaces), objs
            )
            waves_done.append({"wave": wave.label, "objects": [str(r.ref) for r in results]})
            applied += results
            failed = [r for r in results if r.error]
            if failed:
                details["waves"] = waves_done
                details["failed"] = [{"object": str(r.ref), "error": r.error} for r in failed]
                lines = "; ".join(f"{r.error}" for r in failed[:5])
                more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
                return StepResult(
                    StepStatus.FAILED,
                    f"{len(failed)} of {len(objs)} object(s) of wave {wave.label!r} could not be applied: "
                    f"{lines}{more}",
                    details,
                )
            if wave is Wave.NAMESPACES_AND_CRDS and not dry_run:
                problem = _wait_for_crds(cluster, [r.ref for r in results if is_crd(r.ref)], deadline, ctx)
                if problem:
                    details["waves"] = waves_done
                    return StepResult(StepStatus.FAILED, problem, details)
        details["waves"] = waves_done
        details["applied"] = len(applied)
        skipped = [r for r in applied if r.skipped]
        if skipped:
            details["notValidated"] = [{"object": str(r.ref), "reason": r.skipped} for r in skipped]
        if dry_run or not self.settings.wait:
            what = "validated (dry run)" if dry_run else "applied"
            return StepResult(StepStatus.SUCCEEDED, f"{what} {len(applied)} object(s)", details)
        return _wait_ready([r.ref for r in applied], cluster, ctx, started, deadline, details)


def _deadline(ctx: StepContext) -> float:
    if ctx.deadline is not None:
        return ctx.deadline
    return ctx.runtime.monotonic() + DEFAULT_TIMEOUT_SECONDS


def _exists(cluster: Cluster, ref: ObjectRef, created_kinds: set[tuple[str, str]]) -> str:
    try:
        live = cluster.get(ref.api_version, ref.kind, ref.name, ref.namespace)
    except UnknownKind:
        if (ref.group, ref.kind) in created_kinds:
            return "would create: its CRD is applied first"
        return "kind not served by the cluster: the apply would fail"
    except DrkitError as exc:
        return f"cannot tell whether it exists: {exc.message}"
    return "exists: would update" if live is not None else "would create"


def _apply_one(
    cluster: Cluster,
    manifest: Manifest,
    dry_run: bool,
    created_kinds: set[tuple[str, str]],
    new_namespaces: set[str],
) -> Applied:
    ref = ObjectRef.of(manifest)
    try:
        live = cluster.apply(manifest, dry_run=dry_run)
    except UnknownKind as exc:
        if dry_run and (ref.group, ref.kind) in created_kinds:
            return Applied(ref, skipped="its CRD is created by this apply; a dry run creates nothing")
        return Applied(ref, error=f"{ref}: {exc.message}")
    except NotFound as exc:
        if dry_run and ref.namespace in new_namespaces:
            return Applied(ref, skipped=f"namespace {ref.namespace} is created by this apply")
        return Applied(ref, error=f"{ref}: {exc.message}")
    except DrkitError as exc:
        # Invalid/Conflict/Forbidden messages already name the object, the operation and the fields.
        return Applied(ref, error=exc.message if str(ref) in exc.message else f"{ref}: {exc.message}")
    return Applied(ObjectRef.of(live), live=live)


def _wait_for_crds(cluster: Cluster, crds: list[ObjectRef], deadline: float, ctx: StepContext) -> str | None:
    """Wait until the CRDs are Established, then forget discovery so their kinds are found. None: all good."""
    if not crds:
        return None
    ctx.progress(f"waiting for {len(crds)} CRD(s) to be established")
    result = wait_for(cluster, crds, ready(), deadline)
    cluster.invalidate_discovery()
    if result.complete:
        return None
    pending = "; ".join(
        f"{ref.name}: {compute_status(result.last_seen.get(ref)).message}" for ref in result.pending
    )
    return f"CRD(s) not established in time, so their objects were not applied: {pending}"


def _wait_ready(  # noqa: PLR0917
    refs: list[ObjectRef],
    cluster: Cluster,
    ctx: StepContext,
    started: float,
    deadline: float,
    details: dict[str, object],
) -> StepResult:
    total = len(refs)
    # Each object still awaited is shown with its state: "Server ns/mlserver: Ready=False (...)".
    awaited = AwaitedObjects(ctx.progress, "object(s) ready", ready_state(ReadinessRules()))
    result = wait_for(cluster, refs, _applied_ready, deadline, awaited.changed)
    details["ready"] = _ready_times(result, started)
    if result.complete:
        waited = ctx.runtime.monotonic() - started
        return StepResult(
            StepStatus.SUCCEEDED, f"applied {total} object(s), all ready after {waited:.1f}s", details
        )
    not_ready = [(ref, compute_status(result.last_seen.get(ref))) for ref in result.pending]
    details["notReady"] = [
        {"object": str(ref), "status": str(s.status), "message": s.message} for ref, s in not_ready
    ]
    lines = "; ".join(f"{ref}: {s.status} ({s.message})" for ref, s in not_ready[:8])
    more = f"; and {len(not_ready) - 8} more" if len(not_ready) > 8 else ""
    waited = ctx.runtime.monotonic() - started
    return StepResult(
        StepStatus.FAILED,
        f"{len(not_ready)} of {total} applied object(s) not ready after {waited:.1f}s: {lines}{more}",
        details,
        objects=tuple(ref for ref, _ in not_ready),
    )


def _applied_ready(obj: dict[str, Any] | None) -> bool:
    return compute_status(obj).ready


def _ready_times(result: WaitResult, started: float) -> list[dict[str, object]]:
    return [
        {"object": str(ref), "readyAfterSeconds": round(max(0.0, at - started), 3)}
        for ref, at in sorted(result.satisfied_at.items(), key=lambda pair: pair[1])
    ]


def _build(spec: StepSpec) -> ApplyStep:
    return ApplyStep(spec, parse_settings(spec.body))


STEP_KIND = StepKind(
    schema=SCHEMA,
    build=_build,
    default_timeout=DEFAULT_TIMEOUT_SECONDS,
    needs_cluster=True,
    result=ReadyTimes.from_details,
)
