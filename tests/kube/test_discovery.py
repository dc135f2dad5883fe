"""Discovery is read once per run: the cluster's API surface does not change under a drill unless drkit
itself creates CRDs, and then it says so (invalidate)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drkit.kube.discovery import Discovery

DOCUMENTS: dict[str, Mapping[str, Any]] = {
    "/api": {"versions": ["v1"]},
    "/apis": {"groups": [{"preferredVersion": {"groupVersion": "apps/v1"}}]},
    "/api/v1": {"resources": [{"name": "pods", "kind": "Pod", "namespaced": True, "verbs": ["list", "get"]}]},
    "/apis/apps/v1": {
        "resources": [
            {"name": "deployments", "kind": "Deployment", "namespaced": True, "verbs": ["list"]},
            {"name": "deployments/status", "kind": "Deployment", "namespaced": True, "verbs": ["get"]},
        ]
    },
}


class CountingServer:
    def __init__(self) -> None:
        self.paths: list[str] = []

    def fetch(self, path: str) -> Mapping[str, Any]:
        self.paths.append(path)
        return DOCUMENTS[path]


def test_served_kinds_are_discovered_once_until_invalidated() -> None:
    server = CountingServer()
    discovery = Discovery(server.fetch)
    first = discovery.served("list")
    assert sorted(info.kind for info in first.resources) == ["Deployment", "Pod"]
    requests = len(server.paths)
    assert requests == 4
    assert discovery.served("list") == first
    assert len(server.paths) == requests  # answered from the cache
    discovery.invalidate()
    discovery.served("list")
    assert len(server.paths) == 2 * requests
