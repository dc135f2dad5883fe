"""The resource registry: which kinds the server serves, under which group, version and plural.

Built-in kinds are fixed at start; CustomResourceDefinitions add and remove kinds at run time, so the registry
is thread-safe. Objects are stored per (group, plural): every served version of a kind sees the same objects.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str  # "v1", "v1alpha1"
    kind: str  # "Deployment"
    plural: str  # "deployments"
    namespaced: bool
    short_names: tuple[str, ...] = ()
    has_status: bool = True  # serves the /status subresource
    builtin: bool = True  # False for kinds registered from a CRD (no strategic merge patch: 415)
    singular: str = ""  # kind.lower() when empty
    categories: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()

    @property
    def storage_key(self) -> tuple[str, str]:
        """Objects of every version of a kind live under this key."""
        return (self.group, self.plural)

    @property
    def group_version(self) -> str:
        return self.api_version


def _core(
    kind: str,
    plural: str,
    namespaced: bool = True,
    *,
    short: tuple[str, ...] = (),
    status: bool = True,
    categories: tuple[str, ...] = (),
) -> ResourceType:
    return ResourceType("", "v1", kind, plural, namespaced, short, status, categories=categories)


def _g(
    group: str,
    version: str,
    kind: str,
    plural: str,
    namespaced: bool = True,
    *,
    short: tuple[str, ...] = (),
    status: bool = True,
    categories: tuple[str, ...] = (),
) -> ResourceType:
    return ResourceType(group, version, kind, plural, namespaced, short, status, categories=categories)


ALL = ("all",)

BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _core("Namespace", "namespaces", False, short=("ns",)),
    _core("ConfigMap", "configmaps", short=("cm",), status=False),
    _core("Secret", "secrets", status=False),
    _core("Service", "services", short=("svc",), categories=ALL),
    _core("ServiceAccount", "serviceaccounts", short=("sa",), status=False),
    _core("Pod", "pods", short=("po",), categories=ALL),
    _core("Event", "events", short=("ev",), status=False),
    _core("Endpoints", "endpoints", short=("ep",), status=False),
    _core("PersistentVolumeClaim", "persistentvolumeclaims", short=("pvc",)),
    _core("Node", "nodes", False, short=("no",)),
    _g("apps", "v1", "Deployment", "deployments", short=("deploy",), categories=ALL),
    _g("apps", "v1", "StatefulSet", "statefulsets", short=("sts",), categories=ALL),
    _g("apps", "v1", "DaemonSet", "daemonsets", short=("ds",), categories=ALL),
    _g("apps", "v1", "ReplicaSet", "replicasets", short=("rs",), categories=ALL),
    _g("batch", "v1", "Job", "jobs", categories=ALL),
    _g("rbac.authorization.k8s.io", "v1", "Role", "roles", status=False),
    _g("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", status=False),
    _g("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False, status=False),
    _g("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False, status=False),
    _g("coordination.k8s.io", "v1", "Lease", "leases", status=False),
    _g(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        short=("crd", "crds"),
    ),
    _g("events.k8s.io", "v1", "Event", "events", short=("ev",), status=False),
)

NAMESPACES = BUILTIN_TYPES[0]
PODS = next(t for t in BUILTIN_TYPES if t.kind == "Pod")
CRDS = next(t for t in BUILTIN_TYPES if t.kind == "CustomResourceDefinition")


class TypeRegistry:
    """Served kinds, looked up by URL parts or by apiVersion/kind. Thread-safe."""

    def __init__(self, types: tuple[ResourceType, ...] = BUILTIN_TYPES) -> None:
        self._lock = threading.Lock()
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        for rt in types:
            self._types[(rt.group, rt.version, rt.plural)] = rt

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        with self._lock:
            return self._types.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        with self._lock:
            for rt in self._types.values():
                if rt.group == group and rt.version == version and rt.kind == kind:
                    return rt
        return None

    def versions_of(self, group: str, plural: str) -> list[ResourceType]:
        """Every served version of one kind."""
        with self._lock:
            return [rt for rt in self._types.values() if rt.group == group and rt.plural == plural]

    def all(self) -> list[ResourceType]:
        with self._lock:
            return list(self._types.values())

    def groups(self) -> dict[str, list[str]]:
        """Group -> served versions, in registration order (the first is the preferred version)."""
        out: dict[str, list[str]] = {}
        with self._lock:
            for rt in self._types.values():
                versions = out.setdefault(rt.group, [])
                if rt.version not in versions:
                    versions.append(rt.version)
        return out

    def replace_group_kind(self, group: str, plural: str, types: list[ResourceType]) -> None:
        """Serve exactly `types` for (group, plural): used when a CRD is created, updated or deleted."""
        with self._lock:
            for key in [k for k in self._types if k[0] == group and k[2] == plural]:
                del self._types[key]
            for rt in types:
                self._types[(rt.group, rt.version, rt.plural)] = rt
