"""Finding and diagnosing deletions that hang on finalizers (clearFinalizers step, `drkit finalizers`).

A namespace stays Terminating while anything inside it still carries a finalizer, and a finalizer is only
removed by the controller that added it. When that controller is gone (the Seldon scheduler in seed 003), the
safe order is: diagnose, name the object, the finalizer and its likely owner, and say what outside state the
finalizer was guarding, before anyone removes it. The pure functions here take plain API dicts; `diagnose`
is the one that reads a cluster (lists only).

Diagnosis is the one part of a clearing that could cost many requests: looking through a namespace means a
list per namespaced kind the cluster serves (dozens on a real cluster, every clearing round). So it lists
only what it must: in a Terminating namespace, the group-resources the namespace controller names in its
NamespaceContentRemaining condition (nothing can be created in a Terminating namespace, so that set only
shrinks); elsewhere one full sweep, and within one clearing (a `SweepMemo`) only the kinds that sweep found
objects being deleted in, as long as the Namespace object has not changed.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from drkit.domain.timestamps import parse_time
from drkit.kube import Cluster, KubeError, ObjectRef, ResourceInfo
from drkit.report.stuck_views import ConditionView, DiagnosisView, NamespaceView, StuckObjectView

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
    resource_version: str = ""  # of the Namespace object: changes with its phase and conditions
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
        resource_version=str(meta.get("resourceVersion") or ""),
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
    """Whether any of `kinds` names it, as a user writes a kind (ResourceInfo.answers_to)."""
    return any(info.answers_to(k) for k in kinds)


def collect_stuck(objects: Iterable[Mapping[str, Any]], now: float) -> list[StuckObject]:
    found = [s for s in (stuck_object(o, now) for o in objects) if s is not None]
    return sorted(found, key=lambda s: (s.ref.namespace or "", s.ref.kind, s.ref.name))


@dataclass(frozen=True)
class GroupResource:
    """A resource type as the namespace controller names it: `models.mlops.seldon.io`, `configmaps`."""

    resource: str  # the plural
    group: str  # "" for the core group

    def __str__(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource

    def names(self, info: ResourceInfo) -> bool:
        return info.plural == self.resource and info.group == self.group


CONTENT_REMAINING = "NamespaceContentRemaining"
# Conditions under which the controller's count of what remains may be incomplete (it could not list some
# group-versions, or could not delete some content): then drkit looks for itself.
_INCOMPLETE_COUNT = (
    "NamespaceDeletionDiscoveryFailure",
    "NamespaceDeletionGroupVersionParsingFailure",
    "NamespaceDeletionContentFailure",
)
_REMAINING_PREFIX = "Some resources are remaining: "
# kube-controller-manager writes `<resource>.<group> has N resource instances`, which leaves a trailing dot
# for the core group (`pods. has 1 resource instances`). A message worded otherwise is not trusted: the
# caller then lists every namespaced kind itself.
_REMAINING_ITEM = re.compile(
    r"(?P<resource>[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.(?P<group>[a-z0-9.-]*) has \d+ resource instances?"
)


def remaining_content(state: NamespaceState) -> tuple[GroupResource, ...] | None:
    """The group-resources still in a Terminating namespace, as its NamespaceContentRemaining condition names
    them; `()` when the condition says all content was removed. None when the namespace cannot tell: it is
    not Terminating, the controller has not reported yet, says its count may be incomplete, or words the
    message in a way this does not know (the caller then lists every namespaced kind)."""
    if not state.terminating:
        return None
    by_type = {c.type: c for c in state.conditions}
    if any(by_type[t].status == "True" for t in _INCOMPLETE_COUNT if t in by_type):
        return None
    condition = by_type.get(CONTENT_REMAINING)
    if condition is None:
        return None
    if condition.status == "False" and condition.reason == "ContentRemoved":
        return ()
    if condition.status != "True" or not condition.message.startswith(_REMAINING_PREFIX):
        return None
    found: list[GroupResource] = []
    for item in condition.message[len(_REMAINING_PREFIX) :].split(", "):
        match = _REMAINING_ITEM.fullmatch(item.strip())
        if match is None:
            return None
        found.append(GroupResource(match["resource"], (match["group"] or "").rstrip(".")))
    return tuple(dict.fromkeys(found))


class SweepMemo:
    """What full sweeps found, shared by the diagnoses of one clearing: per namespace, the Namespace's
    resourceVersion at the sweep and the kinds in which objects were being deleted. While the Namespace
    is unchanged, a later diagnosis lists only those kinds (the clearing changes nothing else); objects
    deleted in other kinds after the sweep are left to a later clearing."""

    def __init__(self) -> None:
        self._swept: dict[str, tuple[str, tuple[ResourceInfo, ...]]] = {}
        self._lock = threading.Lock()

    def kinds_since_sweep(self, state: NamespaceState) -> tuple[ResourceInfo, ...] | None:
        """The kinds to list again, or None when the namespace needs a full sweep."""
        with self._lock:
            swept = self._swept.get(state.name)
        if swept is None or not state.resource_version or swept[0] != state.resource_version:
            return None
        return swept[1]

    def remember(self, state: NamespaceState, kinds: Iterable[ResourceInfo]) -> None:
        with self._lock:
            self._swept[state.name] = (state.resource_version, tuple(dict.fromkeys(kinds)))


@dataclass(frozen=True)
class _Plan:
    """What to list in one namespace, and whether it is a full sweep (to remember in the memo)."""

    state: NamespaceState
    kinds: tuple[ResourceInfo, ...]
    full_sweep: bool
    problems: tuple[str, ...] = ()


def _plan_namespace(
    state: NamespaceState,
    namespaced: Sequence[ResourceInfo],
    types: Sequence[ResourceInfo],
    memo: SweepMemo | None,
) -> _Plan:
    """`namespaced`: every namespaced kind served; `types`: those the caller asked about."""
    named = remaining_content(state)
    if named is not None:
        kinds = tuple(t for t in types if any(gr.names(t) for gr in named))
        # A kind the controller names but discovery does not serve (its CRD deleted first): nothing can
        # list it, but the diagnosis should say what is holding the namespace.
        missing = [gr for gr in named if not any(gr.names(t) for t in namespaced)]
        return _Plan(state, kinds, False, tuple(_unserved(gr, state.name) for gr in missing))
    remembered = memo.kinds_since_sweep(state) if memo is not None else None
    if remembered is not None:
        return _Plan(state, tuple(t for t in remembered if t in types), False)
    return _Plan(state, tuple(types), True)


def _unserved(gr: GroupResource, namespace: str) -> str:
    return (
        f"{gr} in {namespace}: named by its {CONTENT_REMAINING} condition but not served by the API server "
        "(was its CustomResourceDefinition deleted?)"
    )


def diagnose(
    cluster: Cluster,
    namespaces: Sequence[str],
    *,
    now: float,
    after: float,
    kinds: Sequence[str] = (),
    workers: int = 8,
    memo: SweepMemo | None = None,
) -> Diagnosis:
    """Read the namespaces and list, in each one that exists, the namespaced kinds that may hold objects
    being deleted (see the module docstring for which; `kinds` narrows them further).

    `now`: wall-clock seconds since the epoch (the ages are measured against the server's timestamps). Kinds
    that cannot be listed (forbidden, an API that is down) are reported in `unreadable`, not fatal: the rest
    of the diagnosis is still worth having during an incident. `memo`: pass the same one to every diagnosis
    of one clearing so that full sweeps are not repeated while nothing changed."""
    states = tuple(namespace_state(n, cluster.get("v1", "Namespace", n), now) for n in namespaces)
    present = [s for s in states if s.exists]
    unreadable: list[str] = []
    plans: list[_Plan] = []
    if present:
        served = cluster.served_resources("list")
        unreadable.extend(f"API group-version {failure}" for failure in served.failures)
        namespaced = [r for r in served.resources if r.namespaced]
        types = [r for r in namespaced if not kinds or matches_kind(r, kinds)]
        plans = [_plan_namespace(s, namespaced, types, memo) for s in present]
    for plan in plans:
        unreadable.extend(plan.problems)
    jobs: list[tuple[ResourceInfo, str | None]] = [(i, plan.state.name) for plan in plans for i in plan.kinds]
    found, problems = _list_all(cluster, jobs, workers)
    unreadable.extend(problem for _, problem in problems)
    incomplete = {ns for ns, _ in problems}  # namespaces with a kind that could not be listed
    stuck = collect_stuck(found, now)
    if memo is not None:
        for plan in plans:
            # A sweep with a kind it could not list is not remembered: the next diagnosis sweeps again.
            if plan.full_sweep and plan.state.name not in incomplete:
                memo.remember(plan.state, _kinds_holding(stuck, plan))
    return Diagnosis(after, states, tuple(stuck), tuple(unreadable))


def _list_all(
    cluster: Cluster, jobs: Sequence[tuple[ResourceInfo, str | None]], workers: int
) -> tuple[list[dict[str, Any]], list[tuple[str | None, str]]]:
    """Every object of the jobs' (kind, namespace) lists, in parallel (None: every namespace at once); and
    the namespace and problem of each list that failed (the diagnosis goes on without it)."""

    def list_one(job: tuple[ResourceInfo, str | None]) -> tuple[list[dict[str, Any]], str | None]:
        info, ns = job
        try:
            return cluster.list(info.api_version, info.kind, ns), None
        except KubeError as exc:
            return [], f"{info.group_resource} in {ns or 'all namespaces'}: {exc.message}"

    found: list[dict[str, Any]] = []
    problems: list[tuple[str | None, str]] = []
    if jobs:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs)))) as pool:
            for (_, ns), (items, problem) in zip(jobs, pool.map(list_one, jobs), strict=True):
                found.extend(items)
                if problem:
                    problems.append((ns, problem))
    return found, problems


def diagnose_everywhere(
    cluster: Cluster, *, now: float, after: float, kinds: Sequence[str] = (), workers: int = 8
) -> Diagnosis:
    """`drkit finalizers list -A`: the whole cluster with one list per namespaced kind across every
    namespace (a request per kind, not per kind and namespace), and the namespaces that are Terminating or
    hold an object being deleted. Reading only, so protected namespaces are looked at too."""
    served = cluster.served_resources("list")
    unreadable = [f"API group-version {failure}" for failure in served.failures]
    types = [r for r in served.resources if r.namespaced and (not kinds or matches_kind(r, kinds))]
    found, problems = _list_all(cluster, [(t, None) for t in types], workers)
    unreadable.extend(problem for _, problem in problems)
    stuck = collect_stuck(found, now)
    holding = {o.ref.namespace for o in stuck}
    states = [
        namespace_state(str((ns.get("metadata") or {}).get("name") or ""), ns, now)
        for ns in cluster.list("v1", "Namespace")
    ]
    shown = sorted((s for s in states if s.terminating or s.name in holding), key=lambda s: s.name)
    return Diagnosis(after, tuple(shown), tuple(stuck), tuple(unreadable))


def _kinds_holding(stuck: Sequence[StuckObject], plan: _Plan) -> list[ResourceInfo]:
    """The swept kinds in which objects of the plan's namespace are being deleted."""
    held = {(o.ref.group, o.ref.kind) for o in stuck if o.ref.namespace == plan.state.name}
    return [t for t in plan.kinds if (t.group, t.kind) in held]
