"""Finding and diagnosing deletions that hang on finalizers (clearFinalizers step, `drkit finalizers`).

A namespace stays Terminating while anything inside it still carries a finalizer, and a finalizer is only
removed by the controller that added it. When that controller is gone (the Seldon scheduler in seed 003), the
safe order is: diagnose, name the object, the finalizer and its likely owner, and say what outside state the
finalizer was guarding, before anyone removes it. The pure functions here take plain API dicts; `diagnose`
is the one that reads a cluster (lists only).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from drkit.kube import Cluster, KubeError, ObjectRef, ResourceInfo
from drkit.report.stuck import ConditionView, DiagnosisView, NamespaceView, StuckObjectView

# Who removes a finalizer: exact names first, then by domain. Used to say whose absence a stuck object shows.
FINALIZER_OWNERS: Mapping[str, str] = {
    "kubernetes": "namespace controller (kube-controller-manager)",
    "foregroundDeletion": "garbage collector (kube-controller-manager)",
    "orphan": "garbage collector (kube-controller-manager)",
    "kubernetes.io/pvc-protection": "PVC protection controller (kube-controller-manager)",
    "kubernetes.io/pv-protection": "PV protection controller (kube-controller-manager)",
    "batch.kubernetes.io/job-tracking": "Job controller (kube-controller-manager)",
    "customresourcecleanup.apiextensions.k8s.io": "API server (CRD clean-up)",
    "seldon.model.finalizer": "Seldon Core v2 scheduler",
    "seldon.experiment.finalizer": "Seldon Core v2 scheduler",
    "seldon.pipeline.finalizer": "Seldon Core v2 scheduler",
}
_DOMAIN_OWNERS: tuple[tuple[str, str], ...] = (
    ("seldon.io", "Seldon Core v2 operator"),
    ("argoproj.io", "Argo Workflows controller"),
    ("bitnami.com", "SealedSecrets controller"),
    ("kubernetes.io", "kube-controller-manager"),
    ("k8s.io", "kube-controller-manager"),
)
# What outside state a finalizer guards, phrased for the audit trail ({name}: the object's name).
_ORPHAN_NOTES: Mapping[str, str] = {
    "seldon.model.finalizer": "Seldon scheduler never unloaded model {name} (a server may still hold it)",
    "seldon.experiment.finalizer": "Seldon scheduler never stopped experiment {name}",
    "seldon.pipeline.finalizer": "Seldon scheduler never removed pipeline {name} (its Kafka topics remain)",
    "kubernetes.io/pvc-protection": "volume of {name} may still be mounted by a pod",
    "foregroundDeletion": "dependents of {name} may remain (owner references)",
}


def likely_owner(finalizer: str) -> str:
    """The controller that should remove `finalizer` (a best guess from its name)."""
    if finalizer in FINALIZER_OWNERS:
        return FINALIZER_OWNERS[finalizer]
    domain = finalizer.split("/", 1)[0]
    for suffix, owner in _DOMAIN_OWNERS:
        if domain == suffix or domain.endswith("." + suffix):
            return owner
    return f"the controller that added {finalizer!r}"


def orphan_note(ref: ObjectRef, finalizer: str) -> str:
    """What may be left behind outside the cluster once `finalizer` is removed without its controller."""
    template = _ORPHAN_NOTES.get(finalizer)
    if template:
        return f"{template.format(name=ref.name)} ({ref})"
    return f"whatever {likely_owner(finalizer)} cleans up for {ref} was not cleaned up ({finalizer})"


def parse_time(text: object) -> float | None:
    """Seconds since the epoch of an RFC 3339 timestamp (`2026-01-01T00:00:00Z`), None when unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def format_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class StuckObject:
    """An object with a deletionTimestamp that finalizers still hold."""

    ref: ObjectRef
    uid: str
    resource_version: str
    finalizers: tuple[str, ...]
    deletion_timestamp: str
    age: float  # seconds since deletionTimestamp (0 when the timestamp is unreadable)

    @property
    def owner(self) -> str:
        return "; ".join(dict.fromkeys(likely_owner(f) for f in self.finalizers))

    def is_stuck(self, after: float) -> bool:
        return self.age >= after

    def to_view(self, after: float) -> StuckObjectView:
        return {
            "object": str(self.ref),
            "apiVersion": self.ref.api_version,
            "kind": self.ref.kind,
            "namespace": self.ref.namespace or "",
            "name": self.ref.name,
            "uid": self.uid,
            "finalizers": list(self.finalizers),
            "owner": self.owner,
            "deletionTimestamp": self.deletion_timestamp,
            "ageSeconds": round(self.age, 3),
            "stuck": self.is_stuck(after),
        }


def stuck_object(obj: Mapping[str, Any], now: float) -> StuckObject | None:
    """The object as a StuckObject when it is being deleted and finalizers hold it, else None."""
    meta = obj.get("metadata") or {}
    deleted_at = meta.get("deletionTimestamp")
    finalizers = tuple(str(f) for f in meta.get("finalizers") or ())
    if not deleted_at or not finalizers:
        return None
    try:
        ref = ObjectRef.of(obj)
    except ValueError:
        return None
    since = parse_time(deleted_at)
    return StuckObject(
        ref=ref,
        uid=str(meta.get("uid") or ""),
        resource_version=str(meta.get("resourceVersion") or ""),
        finalizers=finalizers,
        deletion_timestamp=str(deleted_at),
        age=max(0.0, now - since) if since is not None else 0.0,
    )


@dataclass(frozen=True)
class NamespaceCondition:
    type: str
    status: str
    reason: str
    message: str

    def to_view(self) -> ConditionView:
        return {"type": self.type, "status": self.status, "reason": self.reason, "message": self.message}


@dataclass(frozen=True)
class NamespaceState:
    name: str
    exists: bool
    phase: str = ""
    deletion_timestamp: str | None = None
    age: float | None = None
    finalizers: tuple[str, ...] = ()  # spec.finalizers
    conditions: tuple[NamespaceCondition, ...] = ()

    @property
    def terminating(self) -> bool:
        return self.exists and self.deletion_timestamp is not None

    def summary(self) -> str:
        """The deletion conditions that explain why it is still there, in one line."""
        reasons = [f"{c.type}: {c.message}" for c in self.conditions if c.status == "True" and c.message]
        return "; ".join(reasons) or "no deletion condition reported"

    def to_view(self) -> NamespaceView:
        return {
            "name": self.name,
            "exists": self.exists,
            "phase": self.phase,
            "deletionTimestamp": self.deletion_timestamp,
            "ageSeconds": None if self.age is None else round(self.age, 3),
            "finalizers": list(self.finalizers),
            "conditions": [c.to_view() for c in self.conditions],
        }


def namespace_state(name: str, obj: Mapping[str, Any] | None, now: float) -> NamespaceState:
    if obj is None:
        return NamespaceState(name=name, exists=False)
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    deleted_at = meta.get("deletionTimestamp")
    since = parse_time(deleted_at)
    conditions = tuple(
        NamespaceCondition(
            type=str(c.get("type", "")),
            status=str(c.get("status", "")),
            reason=str(c.get("reason", "")),
            message=str(c.get("message", "")),
        )
        for c in status.get("conditions") or ()
        if isinstance(c, Mapping)
    )
    return NamespaceState(
        name=name,
        exists=True,
        phase=str(status.get("phase") or ""),
        deletion_timestamp=str(deleted_at) if deleted_at else None,
        age=None if since is None else max(0.0, now - since),
        finalizers=tuple(str(f) for f in (obj.get("spec") or {}).get("finalizers") or ()),
        conditions=conditions,
    )


@dataclass(frozen=True)
class Diagnosis:
    after: float
    namespaces: tuple[NamespaceState, ...]
    objects: tuple[StuckObject, ...]  # every object being deleted with finalizers, stuck or not yet
    unreadable: tuple[str, ...] = ()

    @property
    def stuck(self) -> tuple[StuckObject, ...]:
        return tuple(o for o in self.objects if o.is_stuck(self.after))

    @property
    def not_stuck_yet(self) -> tuple[StuckObject, ...]:
        return tuple(o for o in self.objects if not o.is_stuck(self.after))

    def to_view(self) -> DiagnosisView:
        return {
            "after": self.after,
            "namespaces": [n.to_view() for n in self.namespaces],
            "objects": [o.to_view(self.after) for o in self.objects],
            "unreadable": list(self.unreadable),
        }


def matches_kind(info: ResourceInfo, kinds: Iterable[str]) -> bool:
    """`Model`, `models`, `models.mlops.seldon.io` and `Model.mlops.seldon.io` all name the Seldon Model."""
    names = {info.kind.lower(), info.plural.lower(), info.group_resource.lower()}
    if info.group:
        names.add(f"{info.kind}.{info.group}".lower())
    return any(k.lower() in names for k in kinds)


def collect_stuck(objects: Iterable[Mapping[str, Any]], now: float) -> list[StuckObject]:
    found = [s for s in (stuck_object(o, now) for o in objects) if s is not None]
    return sorted(found, key=lambda s: (s.ref.namespace or "", s.ref.kind, s.ref.name))


def diagnose(
    cluster: Cluster,
    namespaces: Sequence[str],
    *,
    now: float,
    after: float,
    kinds: Sequence[str] = (),
    workers: int = 8,
) -> Diagnosis:
    """Read the namespaces and list every namespaced kind the cluster serves in each one that exists.

    `now`: wall-clock seconds since the epoch (the ages are measured against the server's timestamps). Kinds
    that cannot be listed (forbidden, an API that is down) are reported in `unreadable`, not fatal: the rest
    of the diagnosis is still worth having during an incident."""
    states = tuple(namespace_state(n, cluster.get("v1", "Namespace", n), now) for n in namespaces)
    present = [s.name for s in states if s.exists]
    served = cluster.served_resources("list")
    unreadable = [f"API group-version {failure}" for failure in served.failures]
    types = [r for r in served.resources if r.namespaced and (not kinds or matches_kind(r, kinds))]
    jobs = [(info, ns) for ns in present for info in types]

    def list_one(job: tuple[ResourceInfo, str]) -> tuple[list[dict[str, Any]], str | None]:
        info, ns = job
        try:
            return cluster.list(info.api_version, info.kind, ns), None
        except KubeError as exc:
            return [], f"{info.group_resource} in {ns}: {exc.message}"

    found: list[dict[str, Any]] = []
    if jobs:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs)))) as pool:
            for items, problem in pool.map(list_one, jobs):
                found.extend(items)
                if problem:
                    unreadable.append(problem)
    return Diagnosis(after, states, tuple(collect_stuck(found, now)), tuple(unreadable))
