"""The lab's system credential: what its operators send is served like any request but never faulted and
never written to the request log (which must show only what users such as drkit and kubectl sent)."""

from __future__ import annotations

import threading
import time
from typing import Any

import requests
from apiserver_harness import SYSTEM_TOKEN, TOKEN, Lab

from drkit_lab.faults import FaultSettings
from drkit_lab.kubeapi import ApiClient, ApiConnection


def _get(lab: Lab, token: str, path: str = "/api/v1/namespaces/default") -> requests.Response:
    return requests.get(
        lab.server.url + path,
        headers={"Authorization": f"Bearer {token}", "User-Agent": f"agent-{token[:6]}"},
        verify=str(lab.ca),
        timeout=10,
    )


def test_system_requests_are_not_faulted_while_user_requests_are(lab: Lab) -> None:
    lab.faults.update(FaultSettings(error_rate=1.0, error_codes=(503,)))
    assert _get(lab, TOKEN).status_code == 503
    assert _get(lab, SYSTEM_TOKEN).status_code == 200
    lab.faults.update(FaultSettings(drop_rate=1.0))
    try:
        _get(lab, TOKEN)
        raise AssertionError("a user request got through a drop rate of 1")
    except requests.ConnectionError:
        pass
    assert _get(lab, SYSTEM_TOKEN).status_code == 200
    lab.faults.update(FaultSettings(latency_ms=400))
    started = time.monotonic()
    assert _get(lab, SYSTEM_TOKEN).status_code == 200
    assert time.monotonic() - started < 0.4
    lab.faults.update(FaultSettings())


def test_only_user_requests_are_logged(lab: Lab) -> None:
    assert _get(lab, SYSTEM_TOKEN, "/api/v1/namespaces/kube-system").status_code == 200
    assert _get(lab, TOKEN, "/api/v1/namespaces/kube-public").status_code == 200
    assert _get(lab, "a-wrong-token", "/api/v1/namespaces/default").status_code == 401

    def logged(rows: list[dict[str, Any]]) -> bool:
        return any(r["path"] == "/api/v1/namespaces/kube-public" for r in rows)

    rows = lab.requests(until=logged)
    paths = [(r["path"], r["status"]) for r in rows]
    assert ("/api/v1/namespaces/kube-public", 200) in paths
    assert ("/api/v1/namespaces/default", 401) in paths  # a wrong token is a user too
    assert all(r["path"] != "/api/v1/namespaces/kube-system" for r in rows)
    assert all(not r["user_agent"].startswith(f"agent-{SYSTEM_TOKEN[:6]}") for r in rows)


def test_watch_cuts_apply_to_users_only(lab: Lab) -> None:
    lab.faults.update(FaultSettings(watch_cut_after=0.2))
    configmaps = lab.store.registry.by_kind("v1", "ConfigMap")
    assert configmaps is not None
    _, rv = lab.store.list(configmaps, "default")
    threading.Timer(
        0.6, lambda: lab.store.create(configmaps, {"metadata": {"name": "late", "namespace": "default"}})
    ).start()
    seen: dict[str, list[str]] = {}

    def watch(who: str, token: str) -> None:
        with ApiClient(ApiConnection(lab.server.url, ca_file=lab.ca, token=token), user_agent=who) as api:
            seen[who] = [
                e.object["metadata"]["name"]
                for e in api.watch(configmaps, resource_version=rv, timeout_seconds=2)
                if e.type == "ADDED"
            ]

    threads = [
        threading.Thread(target=watch, args=(who, token))
        for who, token in (("user", TOKEN), ("system", SYSTEM_TOKEN))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lab.faults.update(FaultSettings())
    assert seen == {"user": [], "system": ["late"]}  # the user's stream was cut at 0.2 s, before "late"
