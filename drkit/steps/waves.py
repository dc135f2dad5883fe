"""In which order objects are applied and deleted.

Applying: a custom resource cannot be created before its CRD is Established, nor any namespaced object before
its Namespace; configuration (accounts, roles, Secrets, Services) goes before the workloads that mount or use
it, so pods do not start half-configured. Deleting runs the other way round, and custom resources go first,
while the controllers that own their finalizers still run (flux2 #632): deleting a namespace first leaves
Models stuck on `seldon.model.finalizer`. CRDs are deleted only when named one by one, because deleting a CRD
deletes every object of its kind in the cluster, not just the ones this playbook owns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from enum import IntEnum
from typing import TypeVar

from drkit.kube import REQUESTS_IN_FLIGHT
from drkit.kube.refs import ObjectRef

T = TypeVar("T")

CRD_API_GROUP = "apiextensions.k8s.io"


class Wave(IntEnum):
    """Apply order (ascending). Delete order is `DELETE_ORDER`."""

    NAMESPACES_AND_CRDS = 1
    CONFIGURATION = 2
    WORKLOADS = 3
    OTHER = 4  # custom resources (Models, Experiments, WorkflowTemplates), Ingresses, policies, ...

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Wave.NAMESPACES_AND_CRDS: "namespaces and CRDs",
    Wave.CONFIGURATION: "configuration",
    Wave.WORKLOADS: "workloads",
    Wave.OTHER: "custom resources and the rest",
}


class DeleteWave(IntEnum):
    """Delete order (ascending)."""

    CUSTOM_RESOURCES = 1  # and everything else not listed below
    WORKLOADS = 2
    CONFIGURATION = 3
    CRDS = 4
    NAMESPACES = 5

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", " ")


_CONFIGURATION = frozenset(
    {
        ("", "ServiceAccount"),
        ("", "ConfigMap"),
        ("", "Secret"),
        ("", "Service"),
        ("", "PersistentVolumeClaim"),
        ("", "PersistentVolume"),
        ("", "LimitRange"),
        ("", "ResourceQuota"),
        ("rbac.authorization.k8s.io", "Role"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "RoleBinding"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("bitnami.com", "SealedSecret"),
        ("storage.k8s.io", "StorageClass"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("networking.k8s.io", "NetworkPolicy"),
    }
)
_WORKLOADS = frozenset(
    {
        ("apps", "Deployment"),
        ("apps", "StatefulSet"),
        ("apps", "DaemonSet"),
        ("apps", "ReplicaSet"),
        ("batch", "Job"),
        ("batch", "CronJob"),
        ("", "Pod"),
        ("", "ReplicationController"),
    }
)


def _key(ref: ObjectRef) -> tuple[str, str]:
    return ref.group, ref.kind


def is_namespace(ref: ObjectRef) -> bool:
    return _key(ref) == ("", "Namespace")


def is_crd(ref: ObjectRef) -> bool:
    return _key(ref) == (CRD_API_GROUP, "CustomResourceDefinition")


def apply_wave(ref: ObjectRef) -> Wave:
    if is_namespace(ref) or is_crd(ref):
        return Wave.NAMESPACES_AND_CRDS
    if _key(ref) in _CONFIGURATION:
        return Wave.CONFIGURATION
    if _key(ref) in _WORKLOADS:
        return Wave.WORKLOADS
    return Wave.OTHER


def delete_wave(ref: ObjectRef) -> DeleteWave:
    if is_namespace(ref):
        return DeleteWave.NAMESPACES
    if is_crd(ref):
        return DeleteWave.CRDS
    if _key(ref) in _CONFIGURATION:
        return DeleteWave.CONFIGURATION
    if _key(ref) in _WORKLOADS:
        return DeleteWave.WORKLOADS
    return DeleteWave.CUSTOM_RESOURCES


W = TypeVar("W", Wave, DeleteWave)


def group_into_waves(
    items: Sequence[T], ref_of: Callable[[T], ObjectRef], wave_of: Callable[[ObjectRef], W]
) -> list[tuple[W, list[T]]]:
    """The non-empty waves in order, each keeping the items' original order (and dropping repeats of a ref:
    the last one wins, as with `kubectl apply` of a list that names an object twice)."""
    latest: dict[ObjectRef, T] = {}
    for item in items:
        ref = ref_of(item)
        latest.pop(ref, None)
        latest[ref] = item
    waves: dict[W, list[T]] = {}
    for ref, item in latest.items():
        waves.setdefault(wave_of(ref), []).append(item)
    return sorted(waves.items(), key=lambda pair: int(pair[0]))


R = TypeVar("R")
WAVE_WORKERS = REQUESTS_IN_FLIGHT  # within one wave; the Cluster is thread-safe (one urllib3 pool)


def in_parallel(fn: Callable[[T], R], items: Sequence[T], workers: int = WAVE_WORKERS) -> list[R]:
    """`fn` over `items` on a small thread pool, results in the items' order. `fn` should not raise: turn
    failures into results, so one bad object does not hide what happened to the others."""
    if len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="drkit-wave") as pool:
        return list(pool.map(fn, items))
