"""Clearing finalizers that hang a deletion: the procedure the `clearFinalizers` step and `drkit finalizers
clear` share.

It does what an on-call engineer does by hand in seed 003, in the safe order kubernetes.md gives: diagnose
first; then, for each object stuck in deletion longer than `after`, remove only the selected finalizers with
a merge patch guarded by the resourceVersion that was read (a controller that came back and changed the
object wins; drkit re-reads and decides again); then watch the objects and the namespace go. Only with
`force` does it PUT the namespace's /finalize, the last resort that can strand objects (kubernetes #60807).
Every removal is an audit record (the object, the finalizers removed and kept, the resourceVersion before and
after, when), with what the removed finalizer was guarding outside the cluster; `on_removed` hears of each
one as soon as the server accepted it, so the on-call command journals it before doing anything else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from drkit.domain.stuck import (
    Diagnosis,
    StuckObject,
    SweepMemo,
    diagnose,
    namespace_state,
    orphan_note,
)
from drkit.domain.timestamps import format_time
from drkit.errors import StepFailure
from drkit.kube import REQUESTS_IN_FLIGHT, Cluster, Conflict, NotFound, ObjectRef, gone, wait_for
from drkit.playbook.durations import format_duration
from drkit.report.stuck_views import AuditRecord, ClearView, NamespaceOutcomeView

DEFAULT_TIMEOUT_SECONDS = 5 * 60.0
DEFAULT_AFTER_SECONDS = 30.0
DEFAULT_FORCE_AFTER_SECONDS = 30.0
_CONFLICT_ATTEMPTS = 5
_ROUNDS = 3  # clearing can let the namespace controller delete more content, which can stick in turn
_STRANDING = "objects still inside are stranded in etcd (kubernetes #60807)"


@dataclass(frozen=True)
class ClearSettings:
    namespaces: tuple[str, ...]
    after: float = DEFAULT_AFTER_SECONDS
    finalizers: tuple[str, ...] = ()  # empty: every finalizer
    kinds: tuple[str, ...] = ()
    force: bool = False
    force_after: float = DEFAULT_FORCE_AFTER_SECONDS

    def selects(self, finalizer: str) -> bool:
        return not self.finalizers or finalizer in self.finalizers


@dataclass(frozen=True)
class Removal:
    """The finalizers drkit would remove from one stuck object, and the ones it would leave."""

    obj: StuckObject  # as last read: its resource_version is the one the removal is guarded by
    remove: tuple[str, ...]
    keep: tuple[str, ...]

    def record(self, at: str, version_after: str | None) -> AuditRecord:
        """The audit record; `version_after`: the object's resourceVersion in the server's answer to the
        patch (None in a dry run, which sends none)."""
        return {
            "object": str(self.obj.ref),
            "uid": self.obj.uid,
            "finalizersRemoved": list(self.remove),
            "finalizersKept": list(self.keep),
            "deletionTimestamp": self.obj.deletion_timestamp,
            "ageSeconds": round(self.obj.age, 3),
            "owner": self.obj.owner,
            "at": at,
            "resourceVersionBefore": self.obj.resource_version,
            "resourceVersionAfter": version_after,
        }


def removal_for(obj: StuckObject, settings: ClearSettings) -> Removal:
    remove = tuple(f for f in obj.finalizers if settings.selects(f))
    return Removal(obj, remove, tuple(f for f in obj.finalizers if f not in remove))


def describe_removals(diagnosis: Diagnosis, settings: ClearSettings) -> list[str]:
    """One line per action, for plans and confirmations."""
    lines: list[str] = []
    for obj in diagnosis.stuck:
        removal = removal_for(obj, settings)
        if removal.remove:
            lines.append(
                f"remove {', '.join(removal.remove)} from {obj.ref} (deleted {format_duration(obj.age)} ago;"
                f" owner: {obj.owner})"
            )
    for obj in diagnosis.not_stuck_yet:
        lines.append(f"leave {obj.ref} alone: deleted {format_duration(obj.age)} ago, not stuck yet")
    for ns in diagnosis.namespaces:
        if ns.terminating:
            lines.append(f"wait for namespace {ns.name} to finish terminating ({ns.summary()})")
            if settings.force:
                lines.append(f"if it stays stuck: finalize namespace {ns.name} (force; {_STRANDING})")
    return lines


@dataclass(frozen=True)
class Clock:
    wall: Callable[[], float]  # seconds since the epoch: ages and audit times
    monotonic: Callable[[], float]  # deadlines (the Cluster's clock)


@dataclass(frozen=True)
class ClearOutcome:
    view: ClearView
    complete: bool  # everything cleared is gone, and so is every namespace that was Terminating
    message: str


class _Clearing:
    """One clearing run: the state the rounds share (what was removed, what the audit says)."""

    def __init__(
        self,
        cluster: Cluster,
        settings: ClearSettings,
        clock: Clock,
        deadline: float,
        progress: Callable[[str], None],
        *,
        on_removed: Callable[[AuditRecord], None],
    ) -> None:
        self.cluster = cluster
        self.settings = settings
        self.clock = clock
        self.deadline = deadline
        self.progress = progress
        self.on_removed = on_removed
        self.records: list[AuditRecord] = []
        self.orphaned: list[str] = []
        self.handled: set[str] = set()  # uids already cleared (or found gone)
        self.memo = SweepMemo()  # the rounds re-diagnose: a namespace that did not change is not swept again

    def diagnose(self) -> Diagnosis:
        return diagnose(
            self.cluster,
            self.settings.namespaces,
            now=self.clock.wall(),
            after=self.settings.after,
            kinds=self.settings.kinds,
            memo=self.memo,
        )

    def give_controllers_time(self, diagnosis: Diagnosis) -> Diagnosis:
        """Wait until every young object is gone or old enough to count as stuck; then look again."""
        young = diagnosis.not_stuck_yet
        remaining = max(0.0, self.settings.after - min(o.age for o in young))
        limit = min(self.deadline, self.clock.monotonic() + remaining)
        self.progress(
            f"giving controllers {remaining:.0f}s to remove the finalizers of {len(young)} objects themselves"
        )
        wait_for(self.cluster, [o.ref for o in young], gone, limit)
        return self.diagnose()

    def clear_round(self, diagnosis: Diagnosis) -> int:
        """Remove the selected finalizers of every stuck object not handled yet, REQUESTS_IN_FLIGHT patches
        at a time (one object's patch does not wait on another's); wait for those to go. Each removal is
        heard by `on_removed` as soon as the server accepted it; the records keep the diagnosis' order."""
        removals: list[Removal] = []
        for obj in diagnosis.stuck:
            if obj.uid in self.handled:
                continue
            removal = removal_for(obj, self.settings)
            if removal.remove:
                self.handled.add(obj.uid)
                removals.append(removal)
        done: list[tuple[int, Removal, AuditRecord]] = []
        failure: Exception | None = None
        workers = max(1, min(REQUESTS_IN_FLIGHT, len(removals)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="drkit-clear") as pool:
            futures = {pool.submit(self.remove, removal): index for index, removal in enumerate(removals)}
            for future in as_completed(futures):
                try:
                    removed = future.result()
                except Exception as exc:  # raised once what is in flight has been recorded
                    failure = failure or exc
                    for waiting in futures:
                        waiting.cancel()
                    continue
                if removed is not None:
                    made, version_after = removed
                    record = made.record(format_time(self.clock.wall()), version_after)
                    self.on_removed(record)
                    done.append((futures[future], made, record))
        done.sort(key=lambda entry: entry[0])
        for _, made, record in done:
            self.records.append(record)
            self.orphaned.extend(orphan_note(made.obj.ref, f) for f in made.remove)
        if failure is not None:
            raise failure
        cleared = [made.obj.ref for _, made, _ in done if not made.keep]
        if cleared:
            self.progress(f"removed finalizers from {len(cleared)} objects; waiting for them to go")
            wait_for(self.cluster, cleared, gone, self.deadline)
        return len(cleared)

    def remove(self, removal: Removal) -> tuple[Removal, str | None] | None:
        """Patch the object's finalizers down to the kept ones, guarded by resourceVersion; the removal as
        made and the resourceVersion the server answered with. On a conflict (someone changed it, perhaps its
        controller came back), re-read and decide again."""
        obj = removal.obj
        for _ in range(_CONFLICT_ATTEMPTS):
            try:
                answer = self.cluster.patch_merge(
                    obj.ref,
                    {"metadata": {"finalizers": list(removal.keep)}},
                    resource_version=removal.obj.resource_version,
                )
                version_after = (answer.get("metadata") or {}).get("resourceVersion")
                return removal, str(version_after) if version_after else None
            except NotFound:
                return None  # gone meanwhile: its controller finished after all
            except Conflict:
                current = self.cluster.get(obj.ref.api_version, obj.ref.kind, obj.ref.name, obj.ref.namespace)
                if current is None or _uid(current) != obj.uid:
                    return None
                meta = current.get("metadata") or {}
                finalizers = tuple(str(f) for f in meta.get("finalizers") or ())
                version = str(meta.get("resourceVersion") or "")
                removal = removal_for(_reread(obj, finalizers, version), self.settings)
                if not removal.remove:
                    return None  # the finalizers drkit meant to remove are gone already
        raise StepFailure(
            f"{obj.ref} kept changing while drkit removed its finalizers "
            f"({_CONFLICT_ATTEMPTS} conflicting writes in a row)",
            hint="is its controller running again? then let it finish; else retry the step",
        )

    def settle_namespaces(self, diagnosis: Diagnosis) -> list[NamespaceOutcomeView]:
        outcomes: list[NamespaceOutcomeView] = []
        for ns in diagnosis.namespaces:
            if not ns.terminating:
                message = "not found" if not ns.exists else "not terminating"
                outcomes.append(
                    {"name": ns.name, "gone": not ns.exists, "finalized": False, "message": message}
                )
                continue
            outcomes.append(self.settle_namespace(ns.name, diagnosis))
        return outcomes

    def settle_namespace(self, name: str, diagnosis: Diagnosis) -> NamespaceOutcomeView:
        ref = ObjectRef("v1", "Namespace", None, name)
        # What is still held after the clearing rounds: not stuck long enough, or finalizers not selected.
        blocked = [o for o in diagnosis.objects if o.ref.namespace == name]
        if not (self.settings.force and blocked):
            limit = self.deadline
            if self.settings.force:
                limit = min(limit, self.clock.monotonic() + self.settings.force_after)
            self.progress(f"waiting for namespace {name} to finish terminating")
            if wait_for(self.cluster, [ref], gone, limit).complete:
                return {"name": name, "gone": True, "finalized": False, "message": "gone"}
        current = self.cluster.get("v1", "Namespace", name)
        if current is None:
            return {"name": name, "gone": True, "finalized": False, "message": "gone"}
        if not self.settings.force:
            still = namespace_state(name, current, self.clock.wall()).summary()
            return {"name": name, "gone": False, "finalized": False, "message": f"still terminating: {still}"}
        left = [o for o in self.diagnose().objects if o.ref.namespace == name]
        self.progress(f"finalizing namespace {name} (force)")
        self.cluster.finalize_namespace(name, [])
        self.orphaned.extend(f"{o.ref} stranded when namespace {name} was finalized" for o in left)
        is_gone = wait_for(self.cluster, [ref], gone, self.deadline).complete
        stranded = f"; {len(left)} objects still inside were stranded" if left else ""
        return {
            "name": name,
            "gone": is_gone,
            "finalized": True,
            "message": f"finalized with /finalize (force: {_STRANDING}){stranded}"
            + ("" if is_gone else "; still there afterwards"),
        }


def _uid(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


def _reread(obj: StuckObject, finalizers: tuple[str, ...], version: str) -> StuckObject:
    return StuckObject(obj.ref, obj.uid, version, finalizers, obj.deletion_timestamp, obj.age)


def clear_stuck(
    cluster: Cluster,
    settings: ClearSettings,
    *,
    clock: Clock,
    deadline: float,
    progress: Callable[[str], None] = lambda _: None,
    dry_run: bool = False,
    grace: bool = False,
    on_removed: Callable[[AuditRecord], None] = lambda _: None,
) -> ClearOutcome:
    """Clear what is stuck in `settings.namespaces` (see the module docstring). A dry run only reads.

    With `grace`, objects deleted less than `settings.after` ago are first given the rest of that time to go
    by themselves (watched, not polled); whatever is still there then counts as stuck and is cleared.
    """
    clearing = _Clearing(cluster, settings, clock, deadline, progress, on_removed=on_removed)
    first = clearing.diagnose()
    if grace and not dry_run and first.not_stuck_yet:
        first = clearing.give_controllers_time(first)
    if dry_run:
        return _dry_run(first, settings, format_time(clock.wall()))
    diagnosis = first
    for _ in range(_ROUNDS):
        if not clearing.clear_round(diagnosis):
            break
        diagnosis = clearing.diagnose()
    namespaces = clearing.settle_namespaces(diagnosis)
    final = clearing.diagnose()
    view = _view(
        first,
        final,
        dry_run=False,
        records=clearing.records,
        orphaned=clearing.orphaned,
        namespaces=namespaces,
    )
    stuck_left = [o for o in final.objects if o.uid in clearing.handled]
    ns_left = [n for n in namespaces if not n["gone"] and n["message"] != "not terminating"]
    complete = not stuck_left and not ns_left
    removed = f"removed finalizers from {len(clearing.records)} objects"
    if complete:
        return ClearOutcome(view, True, removed)
    problems = [f"namespace {n['name']} {n['message']}" for n in ns_left]
    problems += [f"{o.ref} is still there with finalizers {', '.join(o.finalizers)}" for o in stuck_left]
    return ClearOutcome(view, False, f"{removed}, but " + "; ".join(problems))


def _dry_run(found: Diagnosis, settings: ClearSettings, at: str) -> ClearOutcome:
    """What a clearing would do, from one diagnosis: nothing is sent, so nothing is "still there" either."""
    would = [r for r in (removal_for(o, settings) for o in found.stuck) if r.remove]
    namespaces: list[NamespaceOutcomeView] = []
    for ns in found.namespaces:
        if not ns.terminating:
            message = "not found" if not ns.exists else "not terminating: nothing to wait for"
        else:
            message = f"would wait for it to finish terminating ({ns.summary()})"
            if settings.force:
                message += f"; if it stays stuck, would finalize it (force: {_STRANDING})"
        namespaces.append({"name": ns.name, "gone": not ns.exists, "finalized": False, "message": message})
    view = _view(
        found,
        None,
        dry_run=True,
        records=[r.record(at, None) for r in would],
        orphaned=[orphan_note(r.obj.ref, f) for r in would for f in r.remove],
        namespaces=namespaces,
    )
    return ClearOutcome(
        view, True, f"would remove finalizers from {len(would)} objects (dry run: nothing was changed)"
    )


def _view(
    first: Diagnosis,
    final: Diagnosis | None,
    *,
    dry_run: bool,
    records: list[AuditRecord],
    orphaned: list[str],
    namespaces: list[NamespaceOutcomeView],
) -> ClearView:
    return {
        "dryRun": dry_run,
        "removed": records,
        "notStuckYet": [str(o.ref) for o in first.not_stuck_yet],
        "kept": [str(o.ref) for o in first.stuck if not any(r["uid"] == o.uid for r in records)],
        "orphaned": list(dict.fromkeys(orphaned)),
        "namespaces": namespaces,
        "remaining": [str(o.ref) for o in final.objects] if final is not None else [],
        "diagnosis": first.to_view(),
    }
