"""Small store idioms every lab controller repeats: optional reads, owner references, finalizers, status
writes.

Status is written only when it really changed: controllers watch their own objects, so an unconditional
write would wake them again forever."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from drkit.lab.apiserver.errors import ApiError
from drkit.lab.apiserver.store import Store
from drkit.lab.apiserver.types import ResourceType

Obj = dict[str, Any]


def get_or_none(store: Store, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
    try:
        return store.get(rt, namespace, name)
    except ApiError as exc:
        if exc.code == 404:
            return None
        raise


def kind(store: Store, api_version: str, kind_name: str) -> ResourceType | None:
    """The served type for apiVersion/kind, None while its CRD is not installed."""
    return store.registry.by_kind(api_version, kind_name)


def meta(obj: Obj) -> Obj:
    result: Obj = obj.setdefault("metadata", {})
    return result


def is_deleting(obj: Obj) -> bool:
    return bool(obj.get("metadata", {}).get("deletionTimestamp"))


def owner_reference(owner: Obj, controller: bool = True) -> Obj:
    """An ownerReference to `owner`, so the API server's garbage collector removes dependents with it."""
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def is_owned_by(obj: Obj, owner: Obj) -> bool:
    uid = owner.get("metadata", {}).get("uid")
    return any(ref.get("uid") == uid for ref in obj.get("metadata", {}).get("ownerReferences", []) or [])


def add_finalizer(store: Store, rt: ResourceType, obj: Obj, finalizer: str) -> Obj:
    """Add `finalizer` unless present (never on an object already being deleted: the server forbids it)."""

    def change(current: Obj) -> Obj | None:
        finalizers = meta(current).setdefault("finalizers", [])
        if finalizer in finalizers or is_deleting(current):
            return None
        finalizers.append(finalizer)
        return current

    return store.mutate(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"], change)


def remove_finalizer(store: Store, rt: ResourceType, obj: Obj, finalizer: str) -> None:
    """Remove `finalizer`; the API server deletes the object when it was the last one of a deleted object."""

    def change(current: Obj) -> Obj | None:
        finalizers = meta(current).get("finalizers") or []
        if finalizer not in finalizers:
            return None
        meta(current)["finalizers"] = [f for f in finalizers if f != finalizer]
        return current

    try:
        store.mutate(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"], change)
    except ApiError as exc:
        if exc.code != 404:
            raise


def write_status(store: Store, rt: ResourceType, obj: Obj, status: Obj) -> bool:
    """Replace obj.status through the status subresource when it differs; True when written."""
    if obj.get("status") == status:
        return False
    new_status = copy.deepcopy(status)

    def change(current: Obj) -> Obj | None:
        if current.get("status") == new_status:
            return None
        current["status"] = copy.deepcopy(new_status)
        return current

    try:
        store.mutate(
            rt, obj["metadata"].get("namespace"), obj["metadata"]["name"], change, subresource="status"
        )
    except ApiError as exc:
        if exc.code != 404:
            raise
        return False
    return True


def stable_hash(value: object, length: int = 10) -> str:
    """A short, deterministic hash (pod-template-hash, revision names)."""
    digest = hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
    return digest[:length]
