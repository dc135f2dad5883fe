"""HTTP-level behaviour: faults, the admin route, the request log, discovery documents, watches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from apiserver_harness import TOKEN, Lab

from drkit_lab.apiserver.http import ApiServer
from drkit_lab.apiserver.store import Store
from drkit_lab.faults import Faults, FaultSettings


def test_discovery_documents(lab: Lab) -> None:
    core = lab.raw("GET", "/api/v1").json()
    names = {r["name"]: r for r in core["resources"]}
    assert names["namespaces"]["namespaced"] is False
    assert names["configmaps"]["shortNames"] == ["cm"]
    assert "namespaces/finalize" in names
    assert "pods/status" in names
    groups = {g["name"] for g in lab.raw("GET", "/apis").json()["groups"]}
    assert {
        "apps",
        "batch",
        "rbac.authorization.k8s.io",
        "apiextensions.k8s.io",
        "coordination.k8s.io",
    } <= groups
    apps = lab.raw("GET", "/apis/apps/v1").json()
    assert {"deployments", "deployments/status", "statefulsets"} <= {r["name"] for r in apps["resources"]}
    assert lab.raw("GET", "/apis/nope/v1").status_code == 404
    index = lab.raw("GET", "/openapi/v3").json()["paths"]
    assert "apis/apps/v1" in index
    assert "api/v1" in index


def test_unknown_paths_methods_and_bodies(lab: Lab) -> None:
    assert lab.raw("GET", "/api/v1/namespaces/default/widgets").status_code == 404
    assert lab.raw("POST", "/api/v1/namespaces/default/configmaps/x", {}).status_code == 405
    bad = lab.raw("POST", "/api/v1/namespaces/default/configmaps", "{not json")
    assert bad.status_code == 400
    mismatch = lab.raw(
        "POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "x", "namespace": "other"}}
    )
    assert mismatch.status_code == 400
    assert mismatch.json()["kind"] == "Status"


def test_dry_run_and_delete_collection(lab: Lab) -> None:
    url = "/api/v1/namespaces/default/configmaps"
    dry = lab.raw("POST", url + "?dryRun=All", {"metadata": {"name": "dry"}})
    assert dry.status_code == 201
    assert lab.raw("GET", url + "/dry").status_code == 404
    for name, team in (("a", "x"), ("b", "x"), ("c", "y")):
        lab.raw("POST", url, {"metadata": {"name": name, "labels": {"team": team}}})
    removed = lab.raw("DELETE", url + "?labelSelector=team%3Dx").json()
    assert [i["metadata"]["name"] for i in removed["items"]] == ["a", "b"]
    assert [i["metadata"]["name"] for i in lab.raw("GET", url).json()["items"]] == ["c"]
    gone = lab.raw("DELETE", url + "/c", {"kind": "DeleteOptions", "propagationPolicy": "Background"}).json()
    assert gone["status"] == "Success"
    assert gone["details"]["name"] == "c"


def _watch_lines(lab: Lab, query: str) -> list[dict[str, Any]]:
    response = requests.get(
        f"{lab.server.url}/api/v1/namespaces/default/configmaps?watch=true&{query}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        verify=str(lab.ca),
        stream=True,
        timeout=10,
    )
    with response:
        return [json.loads(line) for line in response.iter_lines() if line]


def test_watch_with_old_resource_version_gets_410_error_event(tmp_path: Path) -> None:
    store = Store(history=3)
    server = ApiServer(store, token=None, tls=None, faults=Faults(), request_log=None)
    server.start()
    try:
        for i in range(5):
            store.create(
                store.registry.lookup("", "v1", "configmaps"),
                {"metadata": {"name": f"c{i}", "namespace": "default"}},
            )  # type: ignore[arg-type]
        response = requests.get(
            f"{server.url}/api/v1/configmaps?watch=true&resourceVersion=1&timeoutSeconds=1",
            stream=True,
            timeout=10,
        )
        with response:
            events = [json.loads(line) for line in response.iter_lines() if line]
    finally:
        server.stop()
    assert len(events) == 1
    assert events[0]["type"] == "ERROR"
    assert events[0]["object"]["code"] == 410


def test_watch_selectors_timeout_and_initial_events_bookmark(lab: Lab) -> None:
    url = "/api/v1/namespaces/default/configmaps"
    lab.raw("POST", url, {"metadata": {"name": "keep", "labels": {"a": "1"}}})
    lab.raw("POST", url, {"metadata": {"name": "skip", "labels": {"a": "2"}}})
    events = _watch_lines(lab, "labelSelector=a%3D1&timeoutSeconds=1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "keep")]
    events = _watch_lines(
        lab,
        "sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1",
    )
    assert [e["type"] for e in events] == ["ADDED", "ADDED", "BOOKMARK"]
    assert events[-1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_faults_errors_latency_drops_and_cut_watches(lab: Lab) -> None:
    lab.faults.update(FaultSettings(error_rate=1.0, error_codes=(429,)))
    throttled = lab.raw("GET", "/api/v1/namespaces")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "1"
    assert lab.raw("GET", "/version").status_code == 200  # checks of the lab itself still answer
    assert requests.get(f"{lab.server.url}/healthz", verify=str(lab.ca), timeout=5).text == "ok"

    lab.faults.update(FaultSettings(drop_rate=1.0))
    with pytest.raises(requests.ConnectionError):
        lab.raw("GET", "/api/v1/namespaces")

    lab.faults.update(FaultSettings(watch_cut_after=0.3))
    events = _watch_lines(lab, "timeoutSeconds=30")  # returns after 0.3 s instead of 30
    assert events == []

    lab.faults.update(FaultSettings(latency_ms=50))
    slow = lab.raw("GET", "/api/v1/namespaces")
    assert slow.status_code == 200
    lab.faults.update(FaultSettings())

    def delayed(rows: list[dict[str, Any]]) -> bool:
        return any(
            r["duration_ms"] >= 50 and r["path"] == "/api/v1/namespaces" and r["status"] == 200 for r in rows
        )

    assert delayed(lab.requests(until=delayed))


def test_request_log_records_requests_without_secrets(lab: Lab) -> None:
    lab.raw("GET", "/api/v1/namespaces/default/secrets")
    rows = lab.requests(until=lambda rows: len(rows) >= 1)
    row = rows[-1]
    assert set(row) == {"time", "method", "path", "query", "status", "duration_ms", "user_agent", "watch"}
    assert (row["method"], row["path"], row["status"], row["watch"]) == (
        "GET",
        "/api/v1/namespaces/default/secrets",
        200,
        False,
    )
    assert TOKEN not in lab.request_log.read_text()


def test_admin_routes_bypass_faults_and_reach_the_admin_callable(tmp_path: Path) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def admin(path: str, body: dict[str, Any]) -> dict[str, Any]:
        calls.append((path, body))
        if body.get("bad"):
            raise ValueError("bad request")
        return {"ok": True}

    faults = Faults(FaultSettings(error_rate=1.0))
    server = ApiServer(Store(), token="t", tls=None, faults=faults, request_log=None, admin=admin)
    server.start()
    try:
        auth = {"Authorization": "Bearer t"}
        assert requests.get(f"{server.url}/lab/status", headers=auth, timeout=5).json() == {"ok": True}
        posted = requests.post(f"{server.url}/lab/faults", json={"latency_ms": 1}, headers=auth, timeout=5)
        assert posted.status_code == 200
        assert (
            requests.post(f"{server.url}/lab/faults", json={"bad": 1}, headers=auth, timeout=5).status_code
            == 400
        )
        assert requests.get(f"{server.url}/lab/status", timeout=5).status_code == 401
    finally:
        server.stop()
    assert calls[:2] == [("/lab/status", {}), ("/lab/faults", {"latency_ms": 1})]
