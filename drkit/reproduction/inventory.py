"""An inventory: the platform's objects with what a rebuild legitimately changes normalised away.

Dropped from every object: `status`; `metadata` uid, resourceVersion, generation, creationTimestamp,
managedFields, selfLink and deletion fields; the uids of ownerReferences; the annotations kubectl and the
controllers write (`kubectl.kubernetes.io/last-applied-configuration`, which would also copy a Secret's data,
`deployment.kubernetes.io/revision`, the PVC binder's); controller-uid labels. Per kind, what the server
assigns: a Service's clusterIP(s) and nodePorts, a Pod's nodeName, a PVC's volumeName, a Job's selector.
A Secret's `data` and `stringData` values become salted HMAC-SHA256 digests: equal values give equal
digests under the same salt, and the value itself is never kept.

Which objects: by default every namespaced kind the cluster serves with `list` in the chosen namespaces
(plus the Namespace objects themselves), except the ones controllers generate and a rebuild recreates
under new names or with new contents (GENERATED_KINDS, the per-namespace `kube-root-ca.crt` ConfigMap,
service-account token Secrets).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# (group, kind) of objects controllers generate: recreated with new names or contents by any rebuild.
GENERATED_KINDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "Pod"),
        ("", "Event"),
        ("", "Endpoints"),
        ("", "Binding"),
        ("", "ComponentStatus"),
        ("events.k8s.io", "Event"),
        ("discovery.k8s.io", "EndpointSlice"),
        ("apps", "ReplicaSet"),
        ("apps", "ControllerRevision"),
        ("coordination.k8s.io", "Lease"),
        ("metrics.k8s.io", "PodMetrics"),
        ("argoproj.io", "Workflow"),  # run records with generated names; their templates are the platform
        ("argoproj.io", "WorkflowTaskResult"),
        ("argoproj.io", "WorkflowTaskSet"),
        ("argoproj.io", "WorkflowArtifactGCTask"),
    }
)
GENERATED_NAMES: frozenset[tuple[str, str]] = frozenset({("ConfigMap", "kube-root-ca.crt")})
SERVICE_ACCOUNT_TOKEN = "kubernetes.io/service-account-token"  # noqa: S105 (a Secret type, not a secret)
DROPPED_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
DROPPED_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        "deployment.kubernetes.io/revision",
        "pv.kubernetes.io/bind-completed",
        "pv.kubernetes.io/bound-by-controller",
        "volume.beta.kubernetes.io/storage-provisioner",
        "volume.kubernetes.io/storage-provisioner",
        "volume.kubernetes.io/selected-node",
    }
)
DROPPED_LABELS = frozenset({"controller-uid", "batch.kubernetes.io/controller-uid"})
SECRET_FIELDS = ("data", "stringData")

Key = tuple[
    str, str, str | None, str
]  # (group, kind, namespace, name): the version may change, not the object


@dataclass(frozen=True)
class KindRef:
    group: str
    version: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def label(self) -> str:
        """`Model.mlops.seldon.io`, `ConfigMap`: kinds as playbooks and the command line write them."""
        return f"{self.kind}.{self.group}" if self.group else self.kind


def key_of(obj: Mapping[str, Any]) -> Key:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    meta = obj.get("metadata") or {}
    return group, str(obj.get("kind", "")), meta.get("namespace") or None, str(meta.get("name", ""))


def is_generated(obj: Mapping[str, Any]) -> bool:
    group, kind, _, name = key_of(obj)
    if (group, kind) in GENERATED_KINDS or (kind, name) in GENERATED_NAMES:
        return True
    return kind == "Secret" and obj.get("type") == SERVICE_ACCOUNT_TOKEN


def digest(salt: bytes, value: object) -> str:
    return "hmac-sha256:" + hmac.new(salt, str(value).encode("utf-8"), hashlib.sha256).hexdigest()


def normalise(obj: Mapping[str, Any], salt: bytes) -> dict[str, Any]:
    """The object as a rebuild should reproduce it (see the module docstring)."""
    result: dict[str, Any] = copy.deepcopy(dict(obj))
    result.pop("status", None)
    meta = result.get("metadata")
    if isinstance(meta, dict):
        for name in DROPPED_METADATA:
            meta.pop(name, None)
        _drop_keys(meta, "annotations", DROPPED_ANNOTATIONS)
        _drop_keys(meta, "labels", DROPPED_LABELS)
        for owner in meta.get("ownerReferences") or []:
            if isinstance(owner, dict):
                owner.pop("uid", None)
    kind = result.get("kind")
    spec = result.get("spec")
    if isinstance(spec, dict):
        if kind == "Service":
            for name in ("clusterIP", "clusterIPs", "healthCheckNodePort"):
                spec.pop(name, None)
            for port in spec.get("ports") or []:
                if isinstance(port, dict):
                    port.pop("nodePort", None)
        elif kind == "Pod":
            spec.pop("nodeName", None)
        elif kind == "PersistentVolumeClaim":
            spec.pop("volumeName", None)
        elif kind == "Job":
            spec.pop("selector", None)
            template = spec.get("template")
            if isinstance(template, dict) and isinstance(template.get("metadata"), dict):
                _drop_keys(
                    template["metadata"],
                    "labels",
                    DROPPED_LABELS | {"job-name", "batch.kubernetes.io/job-name"},
                )
    if kind == "Secret":
        for name in SECRET_FIELDS:
            values = result.get(name)
            if isinstance(values, dict):
                result[name] = {k: digest(salt, v) for k, v in values.items()}
    return result


def _drop_keys(holder: dict[str, Any], name: str, keys: Iterable[str]) -> None:
    values = holder.get(name)
    if not isinstance(values, dict):
        return
    for key in keys:
        values.pop(key, None)
    if not values:
        holder.pop(name)


@dataclass(frozen=True)
class Inventory:
    """Normalised objects by key, and what was looked at: the kinds, the namespaces, what was unreadable."""

    namespaces: tuple[str, ...]
    kinds: tuple[KindRef, ...]
    objects: Mapping[Key, Mapping[str, Any]]
    salt: str  # hex; the digests of Secret values are only comparable under the same salt
    unreadable: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (group, kind) -> why

    def to_json(self) -> dict[str, object]:
        return {
            "namespaces": list(self.namespaces),
            "kinds": [{"group": k.group, "version": k.version, "kind": k.kind} for k in self.kinds],
            "salt": self.salt,
            "unreadable": [{"group": g, "kind": k, "why": why} for (g, k), why in self.unreadable.items()],
            "objects": [
                dict(obj) for _, obj in sorted(self.objects.items(), key=lambda kv: _sortable(kv[0]))
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Inventory:
        objects = [o for o in data.get("objects") or [] if isinstance(o, Mapping)]
        return cls(
            namespaces=tuple(str(n) for n in data.get("namespaces") or ()),
            kinds=tuple(
                KindRef(str(k.get("group", "")), str(k.get("version", "")), str(k.get("kind", "")))
                for k in data.get("kinds") or ()
                if isinstance(k, Mapping)
            ),
            objects={key_of(o): o for o in objects},
            salt=str(data.get("salt", "")),
            unreadable={
                (str(u.get("group", "")), str(u.get("kind", ""))): str(u.get("why", ""))
                for u in data.get("unreadable") or ()
                if isinstance(u, Mapping)
            },
        )


def _sortable(key: Key) -> tuple[str, str, str, str]:
    group, kind, namespace, name = key
    return group, kind, namespace or "", name
