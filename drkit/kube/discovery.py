"""Which kinds the cluster serves, learnt lazily per group-version and kept for the run.

drkit does its own discovery instead of the DynamicClient's, for three reasons found in kubernetes 37:
the DynamicClient turns a 503 on a group-version into "no resources" and caches that (so one transient
error makes a kind vanish for the run), it re-reads all of `/apis` on every miss, and it sends unretried
requests while it is being constructed. Here each group-version costs one request the first time it is
needed, goes through the retry policy like every other read, and a miss re-reads only that group-version (a
CRD created since). `invalidate()` forgets everything, for after CRDs were installed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from drkit.kube.errors import NotFound, UnknownKind
from drkit.kube.refs import ResourceInfo

FetchJson = Callable[[str], Mapping[str, Any]]


def group_version_path(api_version: str) -> str:
    return f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"


class Discovery:
    def __init__(self, fetch: FetchJson) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._by_group_version: dict[str, dict[str, ResourceInfo]] = {}

    def invalidate(self) -> None:
        with self._lock:
            self._by_group_version.clear()

    def resource_for(self, api_version: str, kind: str) -> ResourceInfo:
        with self._lock:
            cached = self._by_group_version.get(api_version)
        if cached is not None and kind in cached:
            return cached[kind]
        kinds = self._load(api_version)  # first use, or a CRD may have been created since
        if kind in kinds:
            return kinds[kind]
        raise UnknownKind(
            f"kind {kind} ({api_version}) is not served by this cluster: is its CRD installed?",
            hint="install its CustomResourceDefinition (or the operator that ships it) first",
            status=404,
        )

    def _load(self, api_version: str) -> dict[str, ResourceInfo]:
        group, _, version = api_version.rpartition("/")
        try:
            answer = self._fetch(group_version_path(api_version))
        except NotFound:
            answer = {}
        kinds: dict[str, ResourceInfo] = {}
        for entry in answer.get("resources") or []:
            name = str(entry.get("name", ""))
            if not name or "/" in name or not entry.get("kind"):
                continue  # subresources (models/status) share the kind of their parent
            kinds[str(entry["kind"])] = ResourceInfo(
                group=group,
                version=version,
                kind=str(entry["kind"]),
                plural=name,
                namespaced=bool(entry.get("namespaced")),
            )
        with self._lock:
            self._by_group_version[api_version] = kinds
        return kinds
