"""Taking an inventory of a cluster through the kube adapter: one paginated list per kind and namespace.

Kinds come from the run's discovery cache (`Cluster.served_resources`); a kind the credentials may not list
is recorded as unreadable (and left out of comparisons) rather than failing the whole inventory, and a kind
the cluster no longer serves counts as having no objects, so a CRD missing after a rebuild shows its
objects as missing.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence

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
    for kind in kinds:
        for namespace in names:
            try:
                items = cluster.list(kind.api_version, kind.kind, namespace)
            except (UnknownKind, NotFound):
                items = []  # not served (any more): its objects are missing, which the diff shows
            except Forbidden as exc:
                missed[(kind.group, kind.kind)] = f"cannot list in {namespace}: {exc.message}"
                break
            except KubeError as exc:
                missed[(kind.group, kind.kind)] = f"list in {namespace} failed: {exc.message}"
                break
            for item in items:
                if not is_generated(item):
                    objects[key_of(item)] = normalise(item, salt_bytes)
    return Inventory(names, tuple(kinds), objects, salt, missed)
