"""What creating a CustomResourceDefinition does: validate it, derive the kinds it serves and its status.

A real server establishes a CRD asynchronously (NamesAccepted, then Established); the lab does it as part of
the create, so the kind is in discovery as soon as the CRD exists. Clients still race discovery caches, as
they do against a real cluster.
"""

from __future__ import annotations

from typing import Any

from drkit_lab.apiserver import schema as schemas
from drkit_lab.apiserver.errors import invalid
from drkit_lab.apiserver.types import CRDS, ResourceType


def served_types(crd: dict[str, Any]) -> list[ResourceType]:
    """One ResourceType per served version. Raises 422 when the CRD lacks what a real server requires."""
    spec = crd.get("spec") or {}
    name = crd.get("metadata", {}).get("name", "")
    names = spec.get("names") or {}
    group, plural, kind = spec.get("group", ""), names.get("plural", ""), names.get("kind", "")
    for field, value in (("spec.group", group), ("spec.names.plural", plural), ("spec.names.kind", kind)):
        if not value:
            raise invalid(CRDS, name, field, "Required value")
    if name != f"{plural}.{group}":
        raise invalid(
            CRDS, name, "metadata.name", f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group'
        )
    scope = spec.get("scope", "Namespaced")
    if scope not in ("Namespaced", "Cluster"):
        raise invalid(
            CRDS,
            name,
            "spec.scope",
            f'Unsupported value: "{scope}": supported values: "Cluster", "Namespaced"',
        )
    versions = spec.get("versions") or []
    if not versions:
        raise invalid(
            CRDS,
            name,
            "spec.versions",
            "Invalid value: null: must have exactly one version marked as storage version",
        )
    problems = schemas.structural_problems(crd)
    if problems:
        raise schemas.invalid_error(CRDS.kind, CRDS.group, name, problems)
    types = []
    for version in versions:
        if not version.get("served", True):
            continue
        subresources = version.get("subresources") or spec.get("subresources") or {}
        types.append(
            ResourceType(
                group=group,
                version=version.get("name", ""),
                kind=kind,
                plural=plural,
                namespaced=scope == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                has_status="status" in subresources,
                builtin=False,
                singular=names.get("singular") or kind.lower(),
                categories=tuple(names.get("categories") or ()),
            )
        )
    return types


def established_status(crd: dict[str, Any], now: str, previous: dict[str, Any] | None) -> dict[str, Any]:
    """The status a real server converges to: names accepted, Established, stored versions recorded."""
    spec = crd.get("spec") or {}
    names = dict(spec.get("names") or {})
    names.setdefault("singular", names.get("kind", "").lower())
    names.setdefault("listKind", names.get("kind", "") + "List")
    storage = [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
    old_conditions = {c.get("type"): c for c in (previous or {}).get("conditions") or []}

    def condition(kind: str, reason: str, message: str) -> dict[str, Any]:
        since = old_conditions.get(kind, {}).get("lastTransitionTime", now)
        return {
            "type": kind,
            "status": "True",
            "lastTransitionTime": since,
            "reason": reason,
            "message": message,
        }

    stored = list((previous or {}).get("storedVersions") or [])
    for version in storage:
        if version not in stored:
            stored.append(version)
    return {
        "acceptedNames": names,
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": stored,
    }
