"""Plain names for Kubernetes objects and resource types, free of the kubernetes library.

Steps, reports and error messages pass these around; only `drkit.kube.client` turns them into requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ObjectRef:
    """One object: `Model financial-inference/baseline-predictor`; namespace None for cluster-scoped kinds."""

    api_version: str
    kind: str
    namespace: str | None
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @classmethod
    def of_namespace(cls, name: str) -> ObjectRef:
        return cls("v1", "Namespace", None, name)

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ObjectRef:
        """The reference of a manifest or a server object."""
        meta = obj.get("metadata") or {}
        name = meta.get("name")
        if not obj.get("apiVersion") or not obj.get("kind") or not name:
            raise ValueError("an object needs apiVersion, kind and metadata.name")
        return cls(str(obj["apiVersion"]), str(obj["kind"]), meta.get("namespace") or None, str(name))


@dataclass(frozen=True)
class ResourceInfo:
    """What discovery says about a kind: how to address it."""

    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """`models.mlops.seldon.io`, `deployments.apps`, `pods` (the form RBAC errors and kubectl use)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def answers_to(self, name: str) -> bool:
        """Whether `name` names it: `Model`, `models`, `models.mlops.seldon.io`, `Model.mlops.seldon.io`."""
        names = {self.kind.lower(), self.plural.lower(), self.group_resource.lower()}
        if self.group:
            names.add(f"{self.kind}.{self.group}".lower())
        return name.lower() in names
