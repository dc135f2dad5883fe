"""Small API idioms every lab controller repeats: optional reads, owner references, finalizers, status
writes.

They take anything with the two verbs they use (`ObjectAccess`): the operators pass their `ApiClient`, the
emulated control plane's controllers the Store they are part of.

Status is written only when it really changed: controllers watch their own objects, so an unconditional
write would wake them again forever."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from typing import Any, Protocol

from drkit_lab.apiserver.errors import ApiError
from drkit_lab.apiserver.types import ResourceType

Obj = dict[str, Any]


class ObjectAccess(Protocol):
    """Read one object; read-modify-write one object (the change returns None when nothing changes)."""

    def get(self, rt: ResourceType, namespace: str | None, name: str, /) -> Obj: ...

    def mutate(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        change: Callable[[Obj], Obj | None],
        /,
        *,
        subresource: str | None = None,
    ) -> Obj: ...


def get_or_none(api: ObjectAccess, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
    try:
        return api.get(rt, namespace, name)
    except ApiError as exc:
        if exc.code == 404:
            return None
        raise


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


def controller_of(obj: Obj) -> Obj | None:
    """The ownerReference marked `controller: true`, or None."""
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            found: Obj = ref
            return found
    return None


def add_finalizer(api: ObjectAccess, rt: ResourceType, obj: Obj, finalizer: str) -> Obj:
    """Add `finalizer` unless present (never on an object already being deleted: the server forbids it)."""

    def change(current: Obj) -> Obj | None:
        finalizers = meta(current).setdefault("finalizers", [])
        if finalizer in finalizers or is_deleting(current):
            return None
        finalizers.append(finalizer)
        return current

    return api.mutate(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"], change)


def remove_finalizer(api: ObjectAccess, rt: ResourceType, obj: Obj, finalizer: str) -> None:
    """Remove `finalizer`; the API server deletes the object when it was the last one of a deleted object."""

    def change(current: Obj) -> Obj | None:
        finalizers = meta(current).get("finalizers") or []
        if finalizer not in finalizers:
            return None
        meta(current)["finalizers"] = [f for f in finalizers if f != finalizer]
        return current

    try:
        api.mutate(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"], change)
    except ApiError as exc:
        if exc.code != 404:
            raise


def write_status(api: ObjectAccess, rt: ResourceType, obj: Obj, status: Obj) -> bool:
    """Replace obj.status (through the status subresource when the kind has one) when it differs; True when
    written."""
    if obj.get("status") == status:
        return False
    new_status = copy.deepcopy(status)

    def change(current: Obj) -> Obj | None:
        if current.get("status") == new_status:
            return None
        current["status"] = copy.deepcopy(new_status)
        return current

    try:
        api.mutate(
            rt,
            obj["metadata"].get("namespace"),
            obj["metadata"]["name"],
            change,
            subresource="status" if rt.has_status else None,
        )
    except ApiError as exc:
        if exc.code != 404:
            raise
        return False
    return True


def is_subset(wanted: Any, live: Any) -> bool:
    """True when every field of `wanted` has its value in `live` (which a server may have defaulted more
    fields into): how an operator tells whether the object it owns still says what it asked for."""
    if isinstance(wanted, dict):
        return isinstance(live, dict) and all(k in live and is_subset(v, live[k]) for k, v in wanted.items())
    if isinstance(wanted, list):
        return (
            isinstance(live, list)
            and len(wanted) == len(live)
            and all(is_subset(w, v) for w, v in zip(wanted, live, strict=True))
        )
    return bool(wanted == live)


def stable_hash(value: object, length: int = 10) -> str:
    """A short, deterministic hash (pod-template-hash, revision names)."""
    digest = hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
    return digest[:length]
