"""The `delete` step: tear objects down in a safe order, wait until they are really gone, and say why not.

Protected namespaces are checked before the first write, in `plan()` as well, so a playbook that would touch
`kube-system` is refused (exit 3) before a drill starts. Custom resources go first and are waited for while
their controllers still run; CRDs come from `objects:` only (see `drkit.steps.waves`). A wave that does not
finish gets at most half of the remaining time before the next wave is deleted anyway: the namespaces must
still be deleted so that their conditions explain what holds them. When time runs out, every object left is
reported with its finalizers, how long it has been Terminating, the controller that should have removed each
finalizer, and the namespace's deletion conditions, so the on-call engineer knows whether `clearFinalizers` is
the right next step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from drkit.domain.safety import refuse_protected
from drkit.domain.stuck import likely_owner, namespace_state
from drkit.domain.timestamps import parse_time
from drkit.errors import DrkitError
from drkit.kube import Cluster, Deleted, ObjectRef, UnknownKind, gone, wait_for
from drkit.playbook.fields import Bool, Field, KindSchema, Obj, Str
from drkit.playbook.model import Playbook, StepSpec
from drkit.steps.access import READ, AccessScope, StepAccess, Verb, defined_kinds, on_objects
from drkit.steps.awaiting import AwaitedObjects, gone_state
from drkit.steps.base import StepContext, StepKind, StepPlan, StepResult, StepStatus
from drkit.steps.results import Deletion
from drkit.steps.settings import as_mapping, opt_bool, opt_choice
from drkit.steps.sources import (
    REF_FIELDS,
    SOURCE_FIELDS,
    Source,
    check_source,
    parse_source,
    refs_of,
    render,
)
from drkit.steps.waves import delete_wave, group_into_waves, in_parallel, is_crd

DEFAULT_TIMEOUT_SECONDS = 10 * 60.0
DELETE: tuple[Verb, ...] = (*READ, "delete")
Propagation = Literal["Background", "Foreground", "Orphan"]
PROPAGATIONS: tuple[Propagation, ...] = ("Background", "Foreground", "Orphan")

SCHEMA = KindSchema(
    kind="delete",
    body=Obj(
        description="Delete objects (custom resources first, namespaces last) and wait until they are gone.",
        fields={
            **SOURCE_FIELDS,
            **REF_FIELDS,
            "wait": Field(Bool(), description="Wait until every deleted object is gone (default true)."),
            "propagation": Field(
                Str(enum=PROPAGATIONS), description="Deletion propagation policy (default Background)."
            ),
        },
        exactly_one_of=(("kustomize", "files", "objects", "namespaces"),),
    ),
    description="Delete what a kustomize directory, files, refs or namespaces name; refuses protected ones.",
    examples=(
        {"kustomize": "manifests/financial-mlops/base", "wait": True},
        {"namespaces": ["financial-inference"]},
    ),
)


@dataclass(frozen=True)
class DeleteSettings:
    source: Source
    wait: bool = True
    propagation: Propagation = "Background"


def parse_settings(body: object) -> DeleteSettings:
    data = as_mapping(body, "delete")
    return DeleteSettings(
        source=parse_source(data),
        wait=opt_bool(data, "wait", default=True),
        propagation=opt_choice(data, "propagation", PROPAGATIONS, "Background"),
    )


@dataclass(frozen=True)
class Targets:
    """What the step deletes (namespace settled), and the CRDs of a rendered source it leaves alone."""

    refs: tuple[ObjectRef, ...]
    kept_crds: tuple[ObjectRef, ...] = ()
    unserved: tuple[ObjectRef, ...] = ()  # kinds the cluster does not serve: nothing of them can exist


class DeleteStep:
    def __init__(self, spec: StepSpec, settings: DeleteSettings) -> None:
        self.spec = spec
        self.settings = settings

    def check_inputs(self, ctx: StepContext) -> None:
        if not self.settings.source.is_literal:
            check_source(self.settings.source, ctx.base_dir, ctx.runtime.env, monotonic=ctx.runtime.monotonic)

    def access(self, ctx: StepContext, scope: AccessScope) -> StepAccess:
        """Delete, and read to wait until gone; the CRDs a rendered source holds are left alone."""
        source = self.settings.source
        manifests = (
            []
            if source.is_literal
            else render(source, ctx.base_dir, ctx.runtime.env, monotonic=ctx.runtime.monotonic)
        )
        deleted = (
            source.literal_refs() if source.is_literal else [r for r in refs_of(manifests) if not is_crd(r)]
        )
        namespaces = tuple(r.name for r in deleted if r.kind == "Namespace" and r.api_version == "v1")
        return StepAccess(
            tuple(on_objects(deleted, DELETE, scope)), tuple(defined_kinds(manifests)), namespaces
        )

    def check_safety(self, playbook: Playbook) -> None:
        """Literal refs and namespaces are refused as soon as the playbook is loaded."""
        source = self.settings.source
        if source.is_literal:
            refuse_protected(source.literal_refs(), playbook, f"delete {source.describe()}")

    def _targets(self, ctx: StepContext) -> Targets:
        """Refuses protected objects twice: as written (before opening the cluster), then as resolved (an
        object without a namespace lands in the context's namespace, which may be `default`)."""
        source = self.settings.source
        if source.is_literal:
            written = source.literal_refs()
            kept: list[ObjectRef] = []
        else:
            rendered = refs_of(render(source, ctx.base_dir, ctx.runtime.env, monotonic=ctx.runtime.monotonic))
            kept = [r for r in rendered if is_crd(r)]
            written = [r for r in rendered if not is_crd(r)]
        refuse_protected(written, ctx.playbook, f"delete {source.describe()}")
        cluster = ctx.cluster()
        resolved: list[ObjectRef] = []
        unserved: list[ObjectRef] = []
        for ref in written:
            try:
                resolved.append(cluster.resolve(ref)[1])
            except UnknownKind:
                unserved.append(ref)
        refuse_protected(resolved, ctx.playbook, f"delete {source.describe()}")
        return Targets(tuple(dict.fromkeys(resolved)), tuple(kept), tuple(unserved))

    # --- plan ----------------------------------------------------------------------------------------

    def plan(self, ctx: StepContext) -> StepPlan:
        targets = self._targets(ctx)
        cluster = ctx.cluster()
        actions: list[str] = []
        for wave, refs in group_into_waves(list(targets.refs), _same, delete_wave):
            if not ctx.plan_reads_state:
                actions += [f"wave {int(wave)} ({wave.label}): delete {r}" for r in refs]
                continue
            states = in_parallel(lambda r: _exists(cluster, r), refs)
            actions += [
                f"wave {int(wave)} ({wave.label}): delete {r} ({s})"
                for r, s in zip(refs, states, strict=True)
            ]
        actions += [
            f"keep {r} (CRDs are deleted only when listed under `objects`)" for r in targets.kept_crds
        ]
        actions += [f"skip {r} (its kind is not served: nothing to delete)" for r in targets.unserved]
        wait = ", waiting until gone" if self.settings.wait else ""
        return StepPlan(
            summary=f"would delete {len(targets.refs)} object(s) from {self.settings.source.describe()}"
            f"{wait}",
            actions=tuple(actions),
            destructive=True,
        )

    # --- run -----------------------------------------------------------------------------------------

    def run(self, ctx: StepContext) -> StepResult:
        started = ctx.runtime.monotonic()
        deadline = ctx.deadline if ctx.deadline is not None else started + DEFAULT_TIMEOUT_SECONDS
        targets = self._targets(ctx)
        cluster = ctx.cluster()
        details: dict[str, object] = {
            "source": self.settings.source.describe(),
            "propagation": self.settings.propagation,
            "keptCrds": [str(r) for r in targets.kept_crds],
        }
        waves = group_into_waves(list(targets.refs), _same, delete_wave)
        results: list[Deleted] = []
        gone_at: dict[ObjectRef, float] = {}
        for number, (wave, refs) in enumerate(waves, start=1):
            ctx.progress(f"deleting {len(refs)} object(s): {wave.label}")
            outcomes = in_parallel(lambda r: _delete_one(cluster, r, self.settings.propagation), refs)
            errors = [o for o in outcomes if isinstance(o, str)]
            done = [o for o in outcomes if isinstance(o, Deleted)]
            results += done
            if errors:
                details["deleted"] = [_deleted_json(d, gone_at, started) for d in results]
                return StepResult(
                    StepStatus.FAILED,
                    f"{len(errors)} object(s) of wave {wave.label!r} could not be deleted: "
                    f"{'; '.join(errors[:5])}",
                    details,
                )
            if self.settings.wait and number < len(waves):
                # Give a wave at most half the time left, so the later waves (namespaces) still happen.
                now = ctx.runtime.monotonic()
                wave_deadline = min(deadline, now + max(0.0, deadline - now) / 2)
                result = wait_for(cluster, [d.ref for d in done if d.existed], gone, wave_deadline)
                gone_at.update(result.satisfied_at)
        if not self.settings.wait:
            details["deleted"] = [_deleted_json(d, gone_at, started) for d in results]
            return StepResult(
                StepStatus.SUCCEEDED, f"deletion of {len(results)} object(s) requested", details
            )
        ctx.progress("waiting until every deleted object is gone")
        present = [d.ref for d in results if d.existed and d.ref not in gone_at]
        # Each object still there is shown with what holds it ("still there (waiting for finalizers ...)").
        awaited = AwaitedObjects(ctx.progress, "gone", gone_state)
        final = wait_for(cluster, present, gone, deadline, awaited.changed)
        gone_at.update(final.satisfied_at)
        details["deleted"] = [_deleted_json(d, gone_at, started) for d in results]
        waited = ctx.runtime.monotonic() - started
        if final.complete:
            return StepResult(
                StepStatus.SUCCEEDED,
                f"deleted {len(results)} object(s), all gone after {waited:.1f}s",
                details,
            )
        now = ctx.runtime.wall_clock()
        leftovers = [_leftover(ref, final.last_seen.get(ref), now) for ref in final.pending]
        details["remaining"] = leftovers
        namespaces = sorted({str(item["namespace"]) for item in leftovers if item.get("namespace")})
        lines = "; ".join(str(item["summary"]) for item in leftovers[:10])
        more = f"; and {len(leftovers) - 10} more" if len(leftovers) > 10 else ""
        hint_ns = ", ".join(namespaces) or "NAMESPACE"
        return StepResult(
            StepStatus.FAILED,
            f"{len(leftovers)} of {len(results)} object(s) still present after {waited:.1f}s: {lines}{more}. "
            "If the owning controller is down for good, add a "
            f"`clearFinalizers: {{namespaces: [{hint_ns}]}}` step after this one "
            "(it names what removing each finalizer may orphan)",
            details,
            objects=tuple(final.pending),
        )


def _same(ref: ObjectRef) -> ObjectRef:
    return ref


def _exists(cluster: Cluster, ref: ObjectRef) -> str:
    try:
        live = cluster.get(ref.api_version, ref.kind, ref.name, ref.namespace)
    except DrkitError as exc:
        return f"cannot tell whether it exists: {exc.message}"
    if live is None:
        return "already gone"
    if (live.get("metadata") or {}).get("deletionTimestamp"):
        return "exists, already being deleted"
    return "exists"


def _delete_one(cluster: Cluster, ref: ObjectRef, propagation: Propagation) -> Deleted | str:
    try:
        return cluster.delete(ref, propagation=propagation)
    except DrkitError as exc:
        return exc.message if str(ref) in exc.message else f"{ref}: {exc.message}"


def _deleted_json(d: Deleted, gone_at: Mapping[ObjectRef, float], started: float) -> dict[str, object]:
    at = gone_at.get(d.ref)
    return {
        "object": str(d.ref),
        "existed": d.existed,
        "goneAfterSeconds": None if at is None else round(max(0.0, at - started), 3),
    }


def _leftover(ref: ObjectRef, obj: Mapping[str, Any] | None, now: float) -> dict[str, object]:
    """Why `ref` is still there: finalizers and their likely owners, Terminating age, namespace conditions."""
    meta: Mapping[str, Any] = (obj or {}).get("metadata") or {}
    finalizers = [str(f) for f in meta.get("finalizers") or ()]
    item: dict[str, object] = {"object": str(ref), "namespace": ref.namespace or ""}
    deleted_at = parse_time(meta.get("deletionTimestamp"))
    parts: list[str] = []
    if deleted_at is None:
        parts.append("not being deleted (the delete did not take effect)")
    else:
        item["terminatingSeconds"] = round(max(0.0, now - deleted_at), 1)
        parts.append(f"Terminating for {item['terminatingSeconds']}s")
    if ref.kind == "Namespace" and ref.group == "":
        state = namespace_state(ref.name, obj, now)
        finalizers += [f for f in state.finalizers if f not in finalizers]
        item["namespace"] = ref.name
        item["conditions"] = [c.to_view() for c in state.conditions if c.status == "True"]
        if finalizers:
            parts.append(_finalizer_text(finalizers))
        parts.append(f"conditions: {state.summary()}")
    elif finalizers:
        parts.append(_finalizer_text(finalizers))
    item["finalizers"] = finalizers
    item["likelyOwners"] = {f: likely_owner(f) for f in finalizers}
    item["summary"] = f"{ref}: {', '.join(parts)}"
    return item


def _finalizer_text(finalizers: list[str]) -> str:
    return "waiting for finalizer(s) " + ", ".join(
        f"{f} (removed by the {likely_owner(f)})" for f in finalizers
    )


def _build(spec: StepSpec) -> DeleteStep:
    return DeleteStep(spec, parse_settings(spec.body))


STEP_KIND = StepKind(
    schema=SCHEMA,
    build=_build,
    default_timeout=DEFAULT_TIMEOUT_SECONDS,
    needs_cluster=True,
    result=Deletion.from_details,
)
