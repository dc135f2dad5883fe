"""Which resource types a server serves, learned from its discovery documents and cached.

A miss is asked again (at most every `retry_after` seconds per group version), because CRDs are installed
while the lab runs: an operator started before its CRD finds the kind once it is served.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from drkit_lab.apiserver.types import ResourceType

Document = dict[str, Any]
Fetch = Callable[[str], Document | None]  # GET a discovery path; None on 404


def resource_types(group: str, version: str, document: Document) -> dict[str, ResourceType]:
    """Kind -> type for one APIResourceList (subresources only mark their parent as serving /status)."""
    entries = document.get("resources") or []
    with_status = {e["name"].split("/")[0] for e in entries if e.get("name", "").endswith("/status")}
    types: dict[str, ResourceType] = {}
    for entry in entries:
        plural = str(entry.get("name", ""))
        if not plural or "/" in plural:
            continue
        types[str(entry["kind"])] = ResourceType(
            group=group,
            version=version,
            kind=str(entry["kind"]),
            plural=plural,
            namespaced=bool(entry.get("namespaced")),
            short_names=tuple(entry.get("shortNames") or ()),
            has_status=plural in with_status,
            builtin=not group or "." not in group or group.endswith(".k8s.io"),
            singular=str(entry.get("singularName") or ""),
            categories=tuple(entry.get("categories") or ()),
        )
    return types


class Discovery:
    """Thread-safe cache of served types by (group, version) and of each group's preferred version."""

    def __init__(self, fetch: Fetch, *, retry_after: float = 0.25) -> None:
        self._fetch = fetch
        self._retry_after = retry_after
        self._lock = threading.Lock()
        self._versions: dict[tuple[str, str], tuple[float, dict[str, ResourceType]]] = {}
        self._preferred: dict[str, tuple[float, str | None]] = {}

    def by_api_version(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        return self._lookup(group, version, kind)

    def by_group_kind(self, group: str, kind: str) -> ResourceType | None:
        """The type of `kind` in `group` at the group's preferred version."""
        version = self._preferred_version(group)
        return self._lookup(group, version, kind) if version else None

    def forget(self, rt: ResourceType) -> None:
        """Drop what is known about rt's group (its CRD may have gone or changed versions)."""
        with self._lock:
            self._versions.pop((rt.group, rt.version), None)
            self._preferred.pop(rt.group, None)

    def _lookup(self, group: str, version: str, kind: str) -> ResourceType | None:
        key = (group, version)
        with self._lock:
            cached = self._versions.get(key)
        if cached is not None and (kind in cached[1] or time.monotonic() - cached[0] < self._retry_after):
            return cached[1].get(kind)
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        document = self._fetch(path)
        types = resource_types(group, version, document) if document else {}
        with self._lock:
            self._versions[key] = (time.monotonic(), types)
        return types.get(kind)

    def _preferred_version(self, group: str) -> str | None:
        if not group:
            return "v1"
        with self._lock:
            cached = self._preferred.get(group)
        if cached is not None and (cached[1] is not None or time.monotonic() - cached[0] < self._retry_after):
            return cached[1]
        document = self._fetch(f"/apis/{group}")
        preferred = ((document or {}).get("preferredVersion") or {}).get("version")
        with self._lock:
            self._preferred[group] = (time.monotonic(), str(preferred) if preferred else None)
        return str(preferred) if preferred else None
