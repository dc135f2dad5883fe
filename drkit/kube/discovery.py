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
from dataclasses import dataclass
from typing import Any

from drkit.kube.errors import KubeError, NotFound, UnknownKind
from drkit.kube.refs import ResourceInfo

FetchJson = Callable[[str], Mapping[str, Any]]


def group_version_path(api_version: str) -> str:
    return f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"


@dataclass(frozen=True)
class ServedResources:
    """Every kind the cluster serves with a verb, in each group's preferred version; `failures` names the
    group-versions whose discovery failed (an aggregated API that is down: what also blocks namespace
    deletion, kubernetes #83332), so callers can say what they could not look at."""

    resources: tuple[ResourceInfo, ...]
    failures: tuple[str, ...] = ()


class Discovery:
    def __init__(self, fetch: FetchJson) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._by_group_version: dict[str, dict[str, ResourceInfo]] = {}
        self._served: dict[str, ServedResources] = {}  # by verb; complete answers only

    def invalidate(self) -> None:
        with self._lock:
            self._by_group_version.clear()
            self._served.clear()

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

    def served(self, verb: str = "list") -> ServedResources:
        """Every kind served with `verb` (one request per group-version, plus /api and /apis), read once per
        run: `invalidate()` (after CRDs are created) forgets it. An answer with failures is not kept."""
        with self._lock:
            cached = self._served.get(verb)
        if cached is not None:
            return cached
        served = self._discover_served(verb)
        if not served.failures:
            with self._lock:
                self._served[verb] = served
        return served

    def _discover_served(self, verb: str) -> ServedResources:
        group_versions = [str(v) for v in self._fetch("/api").get("versions") or []]
        for group in self._fetch("/apis").get("groups") or []:
            preferred = (group.get("preferredVersion") or {}).get("groupVersion")
            versions = group.get("versions") or [{}]
            chosen = preferred or versions[0].get("groupVersion")
            if chosen:
                group_versions.append(str(chosen))
        resources: list[ResourceInfo] = []
        failures: list[str] = []
        for api_version in group_versions:
            try:
                answer = self._fetch(group_version_path(api_version))
            except KubeError as exc:
                failures.append(f"{api_version}: {exc.message}")
                continue
            kinds = self._remember(api_version, answer)
            with_verb = {
                str(e.get("kind")) for e in answer.get("resources") or [] if verb in (e.get("verbs") or ())
            }
            resources.extend(info for kind, info in kinds.items() if kind in with_verb)
        return ServedResources(tuple(resources), tuple(failures))

    def _load(self, api_version: str) -> dict[str, ResourceInfo]:
        try:
            answer = self._fetch(group_version_path(api_version))
        except NotFound:
            answer = {}
        return self._remember(api_version, answer)

    def _remember(self, api_version: str, answer: Mapping[str, Any]) -> dict[str, ResourceInfo]:
        group, _, version = api_version.rpartition("/")
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
