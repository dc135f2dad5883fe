"""The namespace lifecycle controller, as kube-controller-manager's (pkg/controller/namespace/deletion).

A deleted namespace goes Terminating (the store does that); this controller then deletes every namespaced
object in it, reports progress in the real status conditions (NamespaceContentRemaining,
NamespaceFinalizersRemaining, ...) with the real messages, and once nothing is left removes the `kubernetes`
finalizer from spec.finalizers, which lets the store drop the namespace. Objects whose finalizers nobody
removes keep the namespace Terminating: the "stuck namespace" DR runbooks are written for.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from drkit_lab.apiserver.errors import ApiError
from drkit_lab.apiserver.store import Obj, rfc3339
from drkit_lab.apiserver.types import NAMESPACES, ResourceType
from drkit_lab.controllers.base import ControlPlaneController

KUBERNETES_FINALIZER = "kubernetes"
RECHECK_SECONDS = 0.25  # while content remains; a real controller retries with backoff
CONTROLLER_MANAGER = "kube-controller-manager"  # the field manager the real namespace controller writes as


def _condition(kind: str, status: bool, reason: str, message: str) -> dict[str, str]:
    return {"type": kind, "status": "True" if status else "False", "reason": reason, "message": message}


def deletion_conditions(remaining: Counter[str], finalizers: Counter[str]) -> list[dict[str, str]]:
    """The five conditions the real namespace controller writes, without lastTransitionTime."""
    content = ", ".join(f"{res} has {n} resource instances" for res, n in sorted(remaining.items()))
    held = ", ".join(f"{fin} in {n} resource instances" for fin, n in sorted(finalizers.items()))
    return [
        _condition(
            "NamespaceDeletionDiscoveryFailure",
            False,
            "ResourcesDiscovered",
            "All resources successfully discovered",
        ),
        _condition(
            "NamespaceDeletionGroupVersionParsingFailure",
            False,
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed",
        ),
        _condition(
            "NamespaceDeletionContentFailure",
            False,
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization",
        ),
        _condition(
            "NamespaceContentRemaining",
            True,
            "SomeResourcesRemain",
            f"Some resources are remaining: {content}",
        )
        if remaining
        else _condition(
            "NamespaceContentRemaining", False, "ContentRemoved", "All content successfully removed"
        ),
        _condition(
            "NamespaceFinalizersRemaining",
            True,
            "SomeFinalizersRemain",
            f"Some content in the namespace has finalizers remaining: {held}",
        )
        if finalizers
        else _condition(
            "NamespaceFinalizersRemaining",
            False,
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished",
        ),
    ]


def _group_resource(rt: ResourceType) -> str:
    # As kube-controller-manager words it, so `configmaps.` (with the dot) for the core group.
    return f"{rt.plural}.{rt.group}"


class NamespaceController(ControlPlaneController):
    name = "namespaces"
    watches = (("", "Namespace"),)

    def reconcile(self, rt: ResourceType, namespace: str | None, name: str) -> float | None:
        try:
            ns = self.store.get(NAMESPACES, None, name)
        except ApiError as exc:
            if exc.code == 404:
                return None
            raise
        if not ns["metadata"].get("deletionTimestamp"):
            return None
        if KUBERNETES_FINALIZER not in ((ns.get("spec") or {}).get("finalizers") or []):
            return None  # someone finalized it (`replace --raw .../finalize`): content is left behind
        self._delete_content(name)
        remaining: Counter[str] = Counter()
        finalizers: Counter[str] = Counter()
        for member in self.store.namespace_contents(name):
            remaining[_group_resource(member.rt)] += 1
            for finalizer in member.finalizers:
                finalizers[finalizer] += 1
        self._write_conditions(name, deletion_conditions(remaining, finalizers))
        if remaining:
            return RECHECK_SECONDS
        self.store.mutate(NAMESPACES, None, name, _drop_kubernetes_finalizer, subresource="finalize")
        return None

    def _delete_content(self, namespace: str) -> None:
        for member in self.store.namespace_contents(namespace):
            if member.deleting:
                continue
            try:
                self.store.delete(member.rt, namespace, member.name)
            except ApiError as exc:
                if exc.code != 404:  # gone meanwhile (garbage collection of a dependent)
                    raise

    def _write_conditions(self, name: str, conditions: list[dict[str, str]]) -> None:
        now = rfc3339(datetime.now(UTC))

        def change(ns: Obj) -> Obj | None:
            status: dict[str, Any] = ns.setdefault("status", {})
            previous = {c.get("type"): c for c in status.get("conditions") or []}
            merged = []
            for condition in conditions:
                old = previous.get(condition["type"])
                same = old is not None and all(old.get(k) == v for k, v in condition.items())
                if same:
                    merged.append(old)
                else:
                    since = (
                        old.get("lastTransitionTime")
                        if old and old.get("status") == condition["status"]
                        else now
                    )
                    merged.append({**condition, "lastTransitionTime": since})
            if merged == status.get("conditions"):
                return None
            status["conditions"] = merged
            return ns

        try:
            self.store.mutate(
                NAMESPACES, None, name, change, subresource="status", manager=CONTROLLER_MANAGER
            )
        except ApiError as exc:
            if exc.code != 404:
                raise


def _drop_kubernetes_finalizer(ns: Obj) -> Obj:
    spec = ns.setdefault("spec", {})
    spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != KUBERNETES_FINALIZER]
    return ns
