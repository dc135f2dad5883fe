"""The lab's etcd: every object, a global resourceVersion counter and a bounded event history for watches.

One re-entrant lock guards everything; each write is O(1) plus the watchers it notifies, each list is
O(objects of that type). Objects are JSON-shaped dicts; every method hands out copies, so callers can never
change stored state behind the lock's back. Watch events share one copy between subscribers: treat them as
read-only.

Semantics follow the real API server where DR tooling depends on them: finalizer-gated deletion, namespaces
that go Terminating, ownerReference garbage collection (background propagation, done synchronously at
removal), stale-resourceVersion conflicts. When a namespace is finalized while it still has content, that
content stays in the store with no namespace object (as it stays in etcd): the "stranded" objects a DR drill
has to find.
"""

from __future__ import annotations

import base64
import builtins
import random
import re
import string
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from drkit_lab.apiserver import crds, fields
from drkit_lab.apiserver import schema as schemas
from drkit_lab.apiserver.errors import (
    ApiError,
    already_exists,
    conflict,
    expired,
    forbidden,
    invalid,
    not_found,
    precondition_failed,
)
from drkit_lab.apiserver.selectors import field_matcher, label_matcher, selected_name
from drkit_lab.apiserver.types import CRDS, NAMESPACES, ResourceType, TypeRegistry

Obj = dict[str, Any]
EventType = Literal["ADDED", "MODIFIED", "DELETED"]
StorageKey = tuple[str, str]  # (group, plural)
ObjectKey = tuple[str, str]  # (namespace or "", name)

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN_HELP = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_HELP = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# RBAC names are path segments (they allow `system:...`), not DNS names.
_PATH_SEGMENT_KINDS = {"rbac.authorization.k8s.io"}


def clone(value: Any) -> Any:
    """Deep copy of JSON-shaped data; several times faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class WatchEvent:
    type: EventType
    rtype: ResourceType
    object: Obj  # metadata.resourceVersion set; shared between subscribers, do not mutate
    resource_version: int = 0


class Subscription:
    """One watcher's queue of events. `next` blocks on a condition variable, never spins."""

    def __init__(self, store: Store, key: StorageKey | None, namespace: str | None) -> None:
        self._store = store
        self.key = key
        self.namespace = namespace
        self._cond = threading.Condition()
        self._events: deque[WatchEvent] = deque()
        self._closed = False
        self.initial_events = 0  # synthetic ADDED events queued first (watch without a resourceVersion)

    def wants(self, event: WatchEvent) -> bool:
        if self.key is not None and event.rtype.storage_key != self.key:
            return False
        if self.namespace is None:
            return True
        return bool(event.object.get("metadata", {}).get("namespace") == self.namespace)

    def push(self, event: WatchEvent) -> None:
        with self._cond:
            self._events.append(event)
            self._cond.notify()

    def next(self, timeout: float) -> WatchEvent | None:
        """The next event, or None after `timeout` seconds (or once closed) with nothing to deliver."""
        with self._cond:
            if not self._events and not self._closed:
                self._cond.wait(timeout)
            return self._events.popleft() if self._events else None

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._store._unsubscribe(self)
        with self._cond:
            self._closed = True
            self._cond.notify_all()


@dataclass(frozen=True)
class Member:
    """An object in a namespace, as the namespace controller sees it."""

    rt: ResourceType
    name: str
    deleting: bool
    finalizers: tuple[str, ...]


class Store:
    """Thread-safe in-memory object store with Kubernetes semantics (see the module docstring)."""

    def __init__(
        self,
        registry: TypeRegistry | None = None,
        *,
        history: int = 10_000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        seed: int | None = None,
        system_namespaces: tuple[str, ...] = SYSTEM_NAMESPACES,
    ) -> None:
        self.registry = registry or TypeRegistry()
        self._lock = threading.RLock()
        self._objects: dict[StorageKey, dict[ObjectKey, Obj]] = {}
        self._dependents: dict[str, set[tuple[StorageKey, ObjectKey]]] = {}  # owner uid -> dependents
        self._rv = 0
        self._history: deque[WatchEvent] = deque(maxlen=history)
        self._compacted = 0  # resourceVersions at or below this are gone from the history
        self._subscriptions: set[Subscription] = set()
        self._clock = clock
        self._random = random.Random(seed)  # noqa: S311 - names, not secrets
        for name in system_namespaces:  # what every real cluster starts with
            self.create(NAMESPACES, {"metadata": {"name": name}})

    # ----------------------------------------------------------------------------------------------- reads
    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        with self._lock:
            return self._out(rt, self._require(rt, namespace, name))

    def list(
        self, rt: ResourceType, namespace: str | None, label_selector: str = "", field_selector: str = ""
    ) -> tuple[list[Obj], str]:
        """Matching objects sorted by namespace and name, and the list's resourceVersion."""
        labels, fields = label_matcher(label_selector), field_matcher(field_selector)
        only_name = selected_name(field_selector)
        with self._lock:
            bucket = self._objects.get(rt.storage_key, {})
            if only_name is not None and namespace is not None:
                found = bucket.get((namespace if rt.namespaced else "", only_name))
                candidates = [found] if found is not None else []
            elif namespace is not None and rt.namespaced:
                candidates = [o for (ns, _), o in bucket.items() if ns == namespace]
            else:
                candidates = list(bucket.values())
            items = [
                self._out(rt, o)
                for o in candidates
                if (labels is None or labels(o)) and (fields is None or fields(o))
            ]
            rv = str(self._rv)
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return items, rv

    def count(self) -> int:
        with self._lock:
            return sum(len(bucket) for bucket in self._objects.values())

    def compact(self) -> None:
        """Forget the watch history up to now, as etcd compaction does: older resourceVersions get 410."""
        with self._lock:
            self._history.clear()
            self._compacted = self._rv

    def resource_version(self) -> str:
        with self._lock:
            return str(self._rv)

    def namespace_contents(self, namespace: str) -> builtins.list[Member]:
        """What the namespace controller needs of every namespaced object in `namespace`, of every served
        kind: no copy of the objects, which it looks through several times a second while one is deleted."""
        out: builtins.list[Member] = []
        with self._lock:
            for key, bucket in self._objects.items():
                rt = self._type_for(key)
                if rt is None or not rt.namespaced:
                    continue
                for (ns, name), obj in bucket.items():
                    if ns == namespace:
                        meta = obj["metadata"]
                        deleting = bool(meta.get("deletionTimestamp"))
                        out.append(Member(rt, name, deleting, tuple(meta.get("finalizers") or ())))
        return out

    # ---------------------------------------------------------------------------------------------- writes
    def create(self, rt: ResourceType, obj: Obj, *, dry_run: bool = False, manager: str | None = None) -> Obj:
        """Store a new object: uid, resourceVersion, generation 1, creationTimestamp, generateName filled in.

        Status is kept as given (controllers create objects with status); the HTTP layer drops it first for
        kinds with a status subresource, as a real server does.
        """
        with self._lock:
            new = clone(obj)
            new["apiVersion"], new["kind"] = rt.api_version, rt.kind
            meta = new.setdefault("metadata", {})
            namespace = self._namespace_of(rt, meta)
            bucket = self._objects.setdefault(rt.storage_key, {})
            name = meta.get("name") or ""
            if not name:
                prefix = meta.get("generateName") or ""
                if not prefix:
                    raise invalid(rt, "", "metadata.name", "Required value: name or generateName is required")
                name = self._generate_name(bucket, namespace, prefix)
                meta["name"] = name
            self._validate_name(rt, name)
            if rt.namespaced:
                self._check_namespace_open(rt, namespace, name)
            if (namespace or "", name) in bucket:
                raise already_exists(rt, name)
            for field in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion"):
                meta.pop(field, None)
            meta["uid"] = str(uuid.UUID(int=self._random.getrandbits(128), version=4))
            if tracks_generation(rt):
                meta["generation"] = 1
            else:
                meta.pop("generation", None)
            meta["creationTimestamp"] = rfc3339(self._clock())
            _defaults(rt, new)
            self._check_schema(rt, new)
            if manager:
                self._record_update(rt, None, new, manager, "")
            if (
                rt.storage_key == NAMESPACES.storage_key
            ):  # after managedFields: the server's, not the client's
                new.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
                new["status"] = {"phase": "Active"}
            if rt.storage_key == CRDS.storage_key:
                served = crds.served_types(new)
                new["status"] = crds.established_status(new, meta["creationTimestamp"], None)
            if dry_run:
                return self._out(rt, new)
            if rt.storage_key == CRDS.storage_key:
                self._register_crd(new, served)
            self._rv += 1
            meta["resourceVersion"] = str(self._rv)
            bucket[(namespace or "", name)] = new
            self._index_owners(rt.storage_key, (namespace or "", name), None, new)
            self._emit("ADDED", rt, new)
            return self._out(rt, new)

    def update(
        self,
        rt: ResourceType,
        obj: Obj,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        manager: str | None = None,
    ) -> Obj:
        """PUT semantics (see the contract in the module docstring); returns the stored object.

        With `manager`, the write is an Update operation of that field manager (managedFields follow).
        """
        with self._lock:
            given = clone(obj)
            meta = given.get("metadata") or {}
            name = meta.get("name") or ""
            if not name:
                raise invalid(rt, "", "metadata.name", "Required value: name is required")
            namespace = self._namespace_of(rt, meta) if rt.namespaced else None
            current = self._require(rt, namespace, name)
            given_rv = meta.get("resourceVersion")
            if given_rv and given_rv != current["metadata"]["resourceVersion"]:
                raise conflict(rt, name)
            new = self._merge_update(rt, current, given, subresource)
            self._check_schema(rt, new)
            if new == current:
                return self._out(rt, current)  # no-op: no new resourceVersion, no event (as a real server)
            if manager:
                self._record_update(rt, current, new, manager, subresource or "")
            if rt.storage_key == CRDS.storage_key:
                served = crds.served_types(new)
                new["status"] = crds.established_status(new, rfc3339(self._clock()), current.get("status"))
            if dry_run:
                return self._out(rt, new)
            if rt.storage_key == CRDS.storage_key:
                self._register_crd(new, served)
            key = (namespace or "", name)
            if new["metadata"].get("deletionTimestamp") and not self._has_finalizers(rt, new):
                self._remove(rt, key, new)
                # As kube-apiserver: the answer is the object as it stood, at its last resourceVersion, not
                # the deletion's (test_fidelity_deletion pins it on both planes).
                return self._out(rt, new)
            self._rv += 1
            new["metadata"]["resourceVersion"] = str(self._rv)
            self._objects[rt.storage_key][key] = new
            self._index_owners(rt.storage_key, key, current, new)
            self._emit("MODIFIED", rt, new)
            return self._out(rt, new)

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        dry_run: bool = False,
        precondition_rv: str | None = None,
        precondition_uid: str | None = None,
        propagation: str = "Background",
    ) -> Obj:
        """Delete now, or mark for deletion when finalizers (or, for namespaces, content) hold it.

        The returned object has metadata.deletionTimestamp when it is still there. `propagation` "Orphan"
        leaves dependents; "Background" and "Foreground" both delete them once the owner is gone.
        """
        with self._lock:
            current = self._require(rt, namespace, name)
            if precondition_rv and precondition_rv != current["metadata"]["resourceVersion"]:
                raise precondition_failed(
                    rt,
                    name,
                    f"the ResourceVersion in the precondition ({precondition_rv}) does not match the "
                    f"ResourceVersion in record ({current['metadata']['resourceVersion']}). "
                    "The object might have been modified",
                )
            if precondition_uid and precondition_uid != current["metadata"].get("uid"):
                raise precondition_failed(
                    rt,
                    name,
                    f"the UID in the precondition ({precondition_uid}) does not match the UID in record "
                    f"({current['metadata'].get('uid')}). "
                    "The object might have been deleted and then recreated",
                )
            is_namespace = rt.storage_key == NAMESPACES.storage_key
            if current["metadata"].get("deletionTimestamp"):
                return self._out(rt, current)
            key = (namespace or "", name) if rt.namespaced else ("", name)
            if propagation in _PROPAGATION_FINALIZERS and not is_namespace:
                return self._delete_holding(rt, key, current, propagation, dry_run=dry_run)
            if is_namespace or self._has_finalizers(rt, current):  # even unfinalized: Terminating, as real
                new = clone(current)
                new["metadata"]["deletionTimestamp"] = rfc3339(self._clock())
                if is_namespace:
                    new.setdefault("status", {})["phase"] = "Terminating"
                else:
                    new["metadata"]["deletionGracePeriodSeconds"] = 0
                if dry_run:
                    return self._out(rt, new)
                self._rv += 1
                new["metadata"]["resourceVersion"] = str(self._rv)
                self._objects[rt.storage_key][key] = new
                self._emit("MODIFIED", rt, new)
                return self._out(rt, new)
            if dry_run:
                return self._out(rt, current)
            self._remove(rt, key, current, orphan=propagation == "Orphan")
            return self._out(rt, current)

    def mutate(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        fn: Callable[[Obj], Obj | None],
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        manager: str | None = None,
    ) -> Obj:
        """Read-modify-write under the lock: `fn` gets a copy and returns the new object (None: no change)."""
        with self._lock:
            current = self._out(rt, self._require(rt, namespace, name))
            new = fn(clone(current))
            if new is None:
                return current
            new.setdefault("metadata", {})["resourceVersion"] = current["metadata"]["resourceVersion"]
            new["metadata"]["name"] = name
            if rt.namespaced:
                new["metadata"]["namespace"] = namespace
            return self.update(rt, new, subresource=subresource, dry_run=dry_run, manager=manager)

    # ----------------------------------------------------------------------------------------------- watch
    def watch(self, rt: ResourceType | None, namespace: str | None, since_rv: str | None) -> Subscription:
        """Events for `rt` (None: every kind) in `namespace` (None: all).

        since_rv None/""/"0": ADDED for every current object, then live events (as a real watch without a
        resourceVersion). A number: the retained events after it, then live; 410 Expired when it is too old.
        """
        with self._lock:
            sub = Subscription(self, rt.storage_key if rt else None, namespace)
            if not since_rv or since_rv == "0":
                for key, bucket in self._objects.items():
                    if sub.key is not None and key != sub.key:
                        continue
                    kind = rt if rt is not None else self._type_for(key)
                    if kind is None:
                        continue
                    for (ns, _), obj in bucket.items():
                        if namespace is None or ns == namespace:
                            sub.push(WatchEvent("ADDED", kind, self._out(kind, obj), self._rv))
                            sub.initial_events += 1
            else:
                try:
                    since = int(since_rv)
                except ValueError:
                    raise ApiError(400, "BadRequest", f"invalid resource version: {since_rv}") from None
                oldest = self._history[0].resource_version if self._history else self._rv + 1
                if since < oldest - 1 and len(self._history) == self._history.maxlen:
                    raise expired(since, oldest - 1)
                if since < self._compacted:
                    raise expired(since, self._compacted)
                for event in self._history:
                    if event.resource_version > since and sub.wants(event):
                        sub.push(event)
            self._subscriptions.add(sub)
            return sub

    def open_watches(self, rt: ResourceType) -> int:
        """How many watches of `rt` are open now (those of every kind included): a test waits on this to
        know a client is watching before it makes the change the client should see."""
        with self._lock:
            return sum(1 for sub in self._subscriptions if sub.key in (None, rt.storage_key))

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(sub)

    # ------------------------------------------------------------------------------------------- internals
    def _out(self, rt: ResourceType, obj: Obj) -> Obj:
        out: Obj = {"apiVersion": rt.api_version, "kind": rt.kind}
        out.update(clone(obj))
        out["apiVersion"], out["kind"] = rt.api_version, rt.kind
        return out

    def _type_for(self, key: StorageKey) -> ResourceType | None:
        versions = self.registry.versions_of(*key)
        return versions[0] if versions else None

    def _require(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        obj = self._objects.get(rt.storage_key, {}).get(((namespace or "") if rt.namespaced else "", name))
        if obj is None:
            raise not_found(rt, name)
        return obj

    def _namespace_of(self, rt: ResourceType, meta: Obj) -> str | None:
        if not rt.namespaced:
            meta.pop("namespace", None)
            return None
        namespace = meta.get("namespace") or ""
        if not namespace:
            raise invalid(rt, meta.get("name", ""), "metadata.namespace", "Required value")
        return str(namespace)

    def _check_namespace_open(self, rt: ResourceType, namespace: str | None, name: str) -> None:
        ns = self._objects.get(NAMESPACES.storage_key, {}).get(("", namespace or ""))
        if ns is None:
            raise not_found(NAMESPACES, namespace or "")
        if ns["metadata"].get("deletionTimestamp"):
            refused = forbidden(
                rt,
                name,
                f"unable to create new content in namespace {namespace} because it is being terminated",
            )
            assert refused.details is not None
            refused.details["causes"] = [
                {
                    "reason": "NamespaceTerminating",
                    "message": f"namespace {namespace} is being terminated",
                    "field": "metadata.namespace",
                }
            ]
            raise refused

    def _validate_name(self, rt: ResourceType, name: str) -> None:
        if rt.group in _PATH_SEGMENT_KINDS:
            if "/" in name or "%" in name or name in (".", ".."):
                raise invalid(
                    rt, name, "metadata.name", f"Invalid value: \"{name}\": may not contain '/' or '%'"
                )
            return
        if rt.storage_key == NAMESPACES.storage_key:
            if len(name) > 63 or not _DNS_LABEL.match(name):
                raise invalid(rt, name, "metadata.name", f'Invalid value: "{name}": {_LABEL_HELP}')
        elif len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
            raise invalid(rt, name, "metadata.name", f'Invalid value: "{name}": {_SUBDOMAIN_HELP}')

    def _generate_name(self, bucket: dict[ObjectKey, Obj], namespace: str | None, prefix: str) -> str:
        alphabet = string.ascii_lowercase + string.digits
        while True:
            name = prefix + "".join(self._random.choice(alphabet) for _ in range(5))
            if (namespace or "", name) not in bucket:
                return name

    @staticmethod
    def _has_finalizers(rt: ResourceType, obj: Obj) -> bool:
        if obj["metadata"].get("finalizers"):
            return True
        return rt.storage_key == NAMESPACES.storage_key and bool((obj.get("spec") or {}).get("finalizers"))

    def _merge_update(self, rt: ResourceType, current: Obj, given: Obj, subresource: str | None) -> Obj:
        """The object a PUT (to the main resource or a subresource) would store, before bookkeeping."""
        name = current["metadata"]["name"]
        if subresource == "status":
            new: Obj = clone(current)
            if "status" in given:
                new["status"] = given["status"]
            else:
                new.pop("status", None)
            return new
        if subresource == "finalize":
            new = clone(current)
            finalizers = list((given.get("spec") or {}).get("finalizers") or [])
            if finalizers:
                new.setdefault("spec", {})["finalizers"] = finalizers
            else:
                new.setdefault("spec", {}).pop("finalizers", None)  # omitempty, as the real server stores it
            return new
        new = given
        new["apiVersion"], new["kind"] = current["apiVersion"], current["kind"]
        meta = new.setdefault("metadata", {})
        old_meta = current["metadata"]
        for field in (
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ):
            if field in old_meta:
                meta[field] = old_meta[field]
            else:
                meta.pop(field, None)
        meta["resourceVersion"] = old_meta["resourceVersion"]
        if rt.namespaced:
            meta["namespace"] = old_meta["namespace"]
        if "managedFields" not in meta and "managedFields" in old_meta:
            meta["managedFields"] = old_meta["managedFields"]
        if rt.has_status:
            if "status" in current:
                new["status"] = clone(current["status"])
            else:
                new.pop("status", None)
        if rt.storage_key == NAMESPACES.storage_key:
            new.setdefault("spec", {})["finalizers"] = list(
                (current.get("spec") or {}).get("finalizers") or []
            )
        if old_meta.get("deletionTimestamp"):
            added = [f for f in meta.get("finalizers") or [] if f not in (old_meta.get("finalizers") or [])]
            if added:
                quoted = ", ".join(f'"{f}"' for f in added)
                raise invalid(
                    rt,
                    name,
                    "metadata.finalizers",
                    "Forbidden: no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers []string{{{quoted}}}",
                )
        _defaults(rt, new)
        if not tracks_generation(rt):
            meta.pop("generation", None)
        elif _content(new) != _content(current):
            meta["generation"] = int(old_meta.get("generation", 1)) + 1
        return new

    def _delete_holding(
        self, rt: ResourceType, key: ObjectKey, current: Obj, propagation: str, *, dry_run: bool
    ) -> Obj:
        """Foreground and Orphan deletion, as the garbage collector runs them (synchronously here).

        The owner gets deletionTimestamp and the `foregroundDeletion` or `orphan` finalizer, which is what
        DELETE answers. Orphan: dependents lose their ownerReference to it, then the finalizer goes.
        Foreground: dependents are deleted; the finalizer goes once none that blocks owner deletion is left
        (a dependent held by its own finalizer keeps the owner until it is gone).
        """
        finalizer = _PROPAGATION_FINALIZERS[propagation]
        marked = clone(current)
        meta = marked["metadata"]
        meta["deletionTimestamp"] = rfc3339(self._clock())
        meta["deletionGracePeriodSeconds"] = 0
        if finalizer not in (meta.get("finalizers") or []):
            meta["finalizers"] = [*(meta.get("finalizers") or []), finalizer]
        if dry_run:
            return self._out(rt, marked)
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        self._objects[rt.storage_key][key] = marked
        self._emit("MODIFIED", rt, marked)
        answer = self._out(rt, marked)
        uid = meta.get("uid", "")
        for dep_rt, dep_key in self._dependent_objects(rt, key, uid):
            if finalizer == "orphan":
                self._drop_owner_ref(dep_rt, dep_key, uid)
            else:
                self.delete(dep_rt, dep_key[0] or None, dep_key[1], propagation="Foreground")
        self._finish_holding(rt, key)
        return answer

    def _dependent_objects(
        self, rt: ResourceType, key: ObjectKey, uid: str
    ) -> builtins.list[tuple[ResourceType, ObjectKey]]:
        out = []
        for dep_skey, dep_key in sorted(self._dependents.get(uid, set())):
            dep_rt = self._type_for(dep_skey)
            if dep_rt is None or dep_key not in self._objects.get(dep_skey, {}):
                continue
            if dep_rt.namespaced and rt.namespaced and dep_key[0] != key[0]:
                continue  # ownerReferences never cross namespaces
            out.append((dep_rt, dep_key))
        return out

    def _drop_owner_ref(self, rt: ResourceType, key: ObjectKey, uid: str) -> None:
        dep = clone(self._objects[rt.storage_key][key])
        refs = [r for r in dep["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
        if refs:
            dep["metadata"]["ownerReferences"] = refs
        else:
            dep["metadata"].pop("ownerReferences", None)
        old = self._objects[rt.storage_key][key]
        self._record_update(rt, old, dep, "generic-garbage-collector", "")
        self._rv += 1
        dep["metadata"]["resourceVersion"] = str(self._rv)
        self._objects[rt.storage_key][key] = dep
        self._index_owners(rt.storage_key, key, old, dep)
        self._emit("MODIFIED", rt, dep)

    def _finish_holding(self, rt: ResourceType, key: ObjectKey) -> None:
        """Drop the propagation finalizer once no blocking dependent is left; remove when none remain."""
        obj = self._objects.get(rt.storage_key, {}).get(key)
        if obj is None:
            return
        finalizers = obj["metadata"].get("finalizers") or []
        held = [f for f in finalizers if f in _PROPAGATION_FINALIZERS.values()]
        if not held:
            return
        uid = obj["metadata"].get("uid", "")
        if "foregroundDeletion" in held and any(
            any(
                r.get("uid") == uid and r.get("blockOwnerDeletion")
                for r in self._objects[d_rt.storage_key][d_key]["metadata"].get("ownerReferences") or []
            )
            for d_rt, d_key in self._dependent_objects(rt, key, uid)
        ):
            return
        released = clone(obj)
        rest = [f for f in finalizers if f not in held]
        if rest:
            released["metadata"]["finalizers"] = rest
        else:
            released["metadata"].pop("finalizers", None)
        if not rest:
            self._remove(rt, key, released, orphan=True)
            return
        self._rv += 1
        released["metadata"]["resourceVersion"] = str(self._rv)
        self._objects[rt.storage_key][key] = released
        self._emit("MODIFIED", rt, released)

    def _owners_waiting(self, removed: Obj) -> None:
        """A dependent is gone: owners in foreground deletion may now finish."""
        for ref in removed["metadata"].get("ownerReferences") or []:
            owner_rt = self.registry.by_kind(ref.get("apiVersion", ""), ref.get("kind", ""))
            if owner_rt is None:
                continue
            namespace = removed["metadata"].get("namespace", "") if owner_rt.namespaced else ""
            key = (namespace, ref.get("name", ""))
            owner = self._objects.get(owner_rt.storage_key, {}).get(key)
            if owner is not None and owner["metadata"].get("uid") == ref.get("uid"):
                self._finish_holding(owner_rt, key)

    def schema_of(self, rt: ResourceType) -> Obj | None:
        """The openAPIV3Schema of a custom kind's version, from its CRD; None for built-in kinds."""
        if rt.builtin:
            return None
        with self._lock:
            crd = self._objects.get(CRDS.storage_key, {}).get(("", f"{rt.plural}.{rt.group}"))
        if crd is None:
            return None
        for version in (crd.get("spec") or {}).get("versions") or []:
            if version.get("name") == rt.version:
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                return schema if isinstance(schema, dict) else None
        return None

    def _check_schema(self, rt: ResourceType, obj: Obj) -> None:
        """Prune and validate a custom object against its CRD's structural schema (422 on problems)."""
        schema = self.schema_of(rt)
        if schema is None:
            return
        schemas.prune(obj, schema)
        problems = schemas.validate(obj, schema)
        if problems:
            raise schemas.invalid_error(rt.kind, rt.group, obj["metadata"].get("name", ""), problems)

    def flattener(self, rt: ResourceType, subresource: str) -> fields.Flatten:
        """How to compute field sets of `rt` objects (for managedFields and server-side apply)."""
        schema = self.schema_of(rt)
        return lambda obj: fields.flatten(
            obj, custom=not rt.builtin, schema=schema, subresource=subresource, with_status=not rt.has_status
        )

    def _record_update(self, rt: ResourceType, old: Obj | None, new: Obj, manager: str, sub: str) -> None:
        fields.record_update(
            old,
            new,
            manager=manager,
            api_version=rt.api_version,
            now=rfc3339(self._clock()),
            subresource=sub,
            flat=self.flattener(rt, sub),
        )

    def _remove(self, rt: ResourceType, key: ObjectKey, last: Obj, *, orphan: bool = False) -> None:
        """Drop an object for good: DELETED event, then its dependents (and a CRD's kind and objects)."""
        bucket = self._objects.get(rt.storage_key, {})
        if key not in bucket:
            return
        del bucket[key]
        self._rv += 1
        final = clone(last)
        final["metadata"]["resourceVersion"] = str(self._rv)
        self._index_owners(rt.storage_key, key, last, None)
        self._emit("DELETED", rt, final)
        self._owners_waiting(last)
        if rt.storage_key == CRDS.storage_key:
            self._unregister_crd(last)
        uid = last["metadata"].get("uid", "")
        dependents = self._dependents.pop(uid, set())
        if orphan:
            return
        for dep_key, dep_obj_key in sorted(dependents):
            dep_rt = self._type_for(dep_key)
            dep = self._objects.get(dep_key, {}).get(dep_obj_key)
            if dep_rt is None or dep is None:
                continue
            if dep_rt.namespaced and rt.namespaced and dep_obj_key[0] != key[0]:
                continue  # ownerReferences never cross namespaces
            namespace = dep_obj_key[0] or None
            self.delete(dep_rt, namespace, dep_obj_key[1])

    def _index_owners(self, skey: StorageKey, okey: ObjectKey, old: Obj | None, new: Obj | None) -> None:
        for obj, add in ((old, False), (new, True)):
            if obj is None:
                continue
            for ref in obj["metadata"].get("ownerReferences") or []:
                uid = ref.get("uid")
                if not uid:
                    continue
                deps = self._dependents.setdefault(uid, set())
                if add:
                    deps.add((skey, okey))
                else:
                    deps.discard((skey, okey))

    def _register_crd(self, crd: Obj, served: builtins.list[ResourceType]) -> None:
        spec = crd["spec"]
        self.registry.replace_group_kind(spec["group"], spec["names"]["plural"], served)

    def _unregister_crd(self, crd: Obj) -> None:
        spec = crd.get("spec") or {}
        group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
        key = (group, plural)
        rt = self._type_for(key)
        if rt is not None:
            for okey, obj in list(self._objects.get(key, {}).items()):
                self._remove(rt, okey, obj)
        self._objects.pop(key, None)
        self.registry.replace_group_kind(group, plural, [])

    def _emit(self, kind: EventType, rt: ResourceType, obj: Obj) -> None:
        event = WatchEvent(kind, rt, self._out(rt, obj), self._rv)
        self._history.append(event)
        for sub in self._subscriptions:
            if sub.wants(event):
                sub.push(event)


_PROPAGATION_FINALIZERS = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}
_GENERATION_GROUPS = {"apps", "batch", "apiextensions.k8s.io"}


def returns_deleted_object(rt: ResourceType) -> bool:
    """Kinds whose DELETE answers the deleted object rather than a Status (as their real registries do)."""
    return rt.storage_key in (("", "pods"), ("", "services"))


def tracks_generation(rt: ResourceType) -> bool:
    """Kinds whose metadata.generation a real server maintains: custom kinds, workloads, CRDs, Pods."""
    return not rt.builtin or rt.group in _GENERATION_GROUPS or rt.storage_key == ("", "pods")


def _defaults(rt: ResourceType, obj: Obj) -> None:
    """What a real server fills in on every write of these kinds (the lab does no other defaulting)."""
    if rt.builtin:  # Go's omitempty: empty maps of built-in kinds are not stored
        meta = obj.setdefault("metadata", {})
        for holder, key in ((obj, "data"), (obj, "binaryData"), (meta, "labels"), (meta, "annotations")):
            if holder.get(key) == {}:
                holder.pop(key)
    if rt.storage_key == NAMESPACES.storage_key:
        labels = obj.setdefault("metadata", {}).setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    elif rt.storage_key == ("", "secrets"):
        string_data = obj.pop("stringData", None) or {}
        if string_data:
            data = obj.setdefault("data", {})
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode("ascii")
        obj.setdefault("type", "Opaque")


def _content(obj: Obj) -> Any:
    """What `generation` tracks: spec when there is one, else everything but metadata and status."""
    if "spec" in obj:
        return obj["spec"]
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}
