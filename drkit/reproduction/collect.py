"""Taking an inventory of a cluster through the kube adapter: one paginated list per kind and namespace.

Kinds come from the run's discovery cache (`Cluster.served_resources`); a kind the credentials may not list
is recorded as unreadable (and left out of comparisons) rather than failing the whole inventory, and a kind
the cluster no longer serves counts as having no objects, so a CRD missing after a rebuild shows its
objects as missing.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from drkit.errors import UsageError
from drkit.kube import Cluster, Forbidden, KubeError, NotFound, ResourceInfo, UnknownKind
from drkit.reproduction.inventory import (
    GENERATED_KINDS,
    Inventory,
    Key,
    KindRef,
    is_generated,
    key_of,
    normalise,
)

LIST_WORKERS = 8  # lists in flight at once: a few connections, not a burst an API server would throttle


def new_salt() -> str:
    return secrets.token_hex(16)


def kind_ref(info: ResourceInfo) -> KindRef:
    return KindRef(info.group, info.version, info.kind)


def default_kinds(cluster: Cluster) -> tuple[list[KindRef], dict[tuple[str, str], str]]:
    """Every namespaced kind served with `list`, generated ones excepted; and the groups discovery missed."""
    served = cluster.served_resources("list")
    kinds = [
        kind_ref(info)
        for info in served.resources
        if info.namespaced and (info.group, info.kind) not in GENERATED_KINDS
    ]
    unreadable = {("", f"API {failure.split(':')[0]}"): failure for failure in served.failures}
    return sorted(set(kinds), key=lambda k: (k.group, k.kind)), unreadable


def resolve_kinds(cluster: Cluster, names: Sequence[str]) -> list[KindRef]:
    """`Secret`, `Model.mlops.seldon.io`: the served kinds these names mean (UsageError: none, or several)."""
    served = [info for info in cluster.served_resources("list").resources if info.namespaced]
    found: list[KindRef] = []
    for name in names:
        kind, _, group = name.partition(".")
        matches = [i for i in served if i.kind == kind and (i.group == group if group else True)]
        if not group and len(matches) > 1:
            matches = [i for i in matches if i.group == ""] or matches
        if len(matches) != 1:
            choices = ", ".join(sorted(kind_ref(i).label for i in matches)) or "none served"
            why = "is ambiguous" if matches else "is not a namespaced kind this cluster lists"
            raise UsageError(
                f"kind {name!r} {why}",
                hint=f"write Kind.group (matching: {choices})",
            )
        found.append(kind_ref(matches[0]))
    return found


def collect_inventory(
    cluster: Cluster,
    namespaces: Iterable[str],
    kinds: Sequence[KindRef],
    salt: str,
    unreadable: dict[tuple[str, str], str] | None = None,
) -> Inventory:
    """The normalised objects of `kinds` in `namespaces`, and the Namespace objects themselves."""
    salt_bytes = bytes.fromhex(salt)
    names = tuple(dict.fromkeys(namespaces))
    objects: dict[Key, dict[str, object]] = {}
    missed = dict(unreadable or {})
    for namespace in names:
        found = cluster.get("v1", "Namespace", namespace)
        if found is not None:
            objects[key_of(found)] = normalise(found, salt_bytes)
    # One list per kind and namespace, and dozens of kinds: they go out side by side (the cluster adapter's
    # connection pool is shared); each kind's namespaces stay in order, as its first refusal stops it.
    with ThreadPoolExecutor(max_workers=LIST_WORKERS, thread_name_prefix="drkit-inventory") as pool:
        results = list(pool.map(lambda kind: _list_kind(cluster, kind, names), kinds))
    for kind, (items, problem) in zip(kinds, results, strict=True):
        if problem:
            missed[(kind.group, kind.kind)] = problem
        for item in items:
            if not is_generated(item):
                objects[key_of(item)] = normalise(item, salt_bytes)
    return Inventory(names, tuple(kinds), objects, salt, missed)


def _list_kind(
    cluster: Cluster, kind: KindRef, namespaces: Sequence[str]
) -> tuple[list[dict[str, Any]], str]:
    """Every object of `kind` in `namespaces`, and why the listing stopped short ("" when it did not)."""
    found: list[dict[str, Any]] = []
    for namespace in namespaces:
        try:
            found.extend(cluster.list(kind.api_version, kind.kind, namespace))
        except (UnknownKind, NotFound):
            continue  # not served (any more): its objects are missing, which the diff shows
        except Forbidden as exc:
            return found, f"cannot list in {namespace}: {exc.message}"
        except KubeError as exc:
            return found, f"list in {namespace} failed: {exc.message}"
    return found, ""
