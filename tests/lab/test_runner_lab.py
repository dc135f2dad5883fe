"""An in-process Lab: what it serves, its kubeconfig, and the admin endpoint the CLI uses."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
import requests
from lab_helpers import LabHandle
from ruamel.yaml import YAML

from drkit_lab.errors import LabError, LabUsageError
from drkit_lab.runner import Lab
from drkit_lab.settings import LabSettings
from drkit_lab.state import StateDir, admin_request


def _session(handle: LabHandle) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE silently overrides session.verify (requests #3829)
    session.verify = str(handle.ca_file)
    session.headers["Authorization"] = f"Bearer {handle.token}"
    return session


def test_kubeconfig_points_at_the_https_api_with_the_lab_ca(lab_without_mlflow: LabHandle) -> None:
    doc = YAML(typ="safe").load(lab_without_mlflow.kubeconfig.read_text())
    assert doc["current-context"] == "drkit-lab"
    assert doc["clusters"][0]["cluster"]["server"] == lab_without_mlflow.api_url
    with _session(lab_without_mlflow) as session:
        resp = session.get(f"{lab_without_mlflow.api_url}/api/v1/namespaces", timeout=10)
        assert resp.status_code == 200
        names = {item["metadata"]["name"] for item in resp.json()["items"]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names


def test_a_wrong_token_is_refused(lab_without_mlflow: LabHandle) -> None:
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(lab_without_mlflow.ca_file)
        resp = session.get(
            f"{lab_without_mlflow.api_url}/api/v1/namespaces",
            headers={"Authorization": "Bearer nope"},
            timeout=10,
        )
    assert resp.status_code == 401


def test_admin_status_over_http(lab_without_mlflow: LabHandle) -> None:
    state = StateDir(lab_without_mlflow.kubeconfig.parent)
    doc = admin_request(state, "status")
    assert doc["running"] is True
    assert doc["objects"] == lab_without_mlflow.lab.store.count()  # type: ignore[union-attr]
    assert set(doc["controllers"]) == {
        "namespaces",
        "workloads",
        "seldon-scheduler",
        "argo-workflows",
        "sealed-secrets",
    }


def test_admin_faults_are_partial_updates_and_reach_the_api(restore_faults: LabHandle) -> None:
    state = StateDir(restore_faults.kubeconfig.parent)
    admin_request(state, "faults", {"error_rate": 1.0, "error_codes": [503]})
    doc = admin_request(state, "faults", {"latency_ms": 1})
    assert doc["faults"]["error_rate"] == 1.0  # kept
    assert doc["faults"]["latency_ms"] == 1
    with _session(restore_faults) as session:
        assert session.get(f"{restore_faults.api_url}/api/v1/namespaces", timeout=10).status_code == 503
    admin_request(state, "faults", {"clear": True})
    with _session(restore_faults) as session:
        assert session.get(f"{restore_faults.api_url}/api/v1/namespaces", timeout=10).status_code == 200


def test_admin_refuses_unknown_fields_and_controllers(restore_faults: LabHandle) -> None:
    state = StateDir(restore_faults.kubeconfig.parent)
    with pytest.raises(LabError) as caught:
        admin_request(state, "faults", {"latencyms": 5})
    assert "latencyms" in str(caught.value)
    with pytest.raises(LabError) as caught:
        admin_request(state, "controllers", {"name": "nope", "down": True})
    assert "no controller named 'nope'" in str(caught.value)


def test_controller_down_and_up_through_admin(restore_faults: LabHandle) -> None:
    state = StateDir(restore_faults.kubeconfig.parent)
    doc = admin_request(state, "controllers", {"name": "workloads", "down": True})
    assert doc["controllers"]["workloads"] == "down"
    assert doc["faults"]["down_controllers"] == ["workloads"]
    assert restore_faults.lab.manager is not None
    assert restore_faults.lab.manager.is_down("workloads")
    doc = admin_request(state, "controllers", {"name": "workloads", "down": False})
    assert doc["controllers"]["workloads"] == "up"
    assert doc["faults"]["down_controllers"] == []


def test_a_timed_outage_ends_by_itself(restore_faults: LabHandle) -> None:
    state = StateDir(restore_faults.kubeconfig.parent)
    doc = admin_request(state, "controllers", {"name": "workloads", "down": True, "for": 0.3})
    assert doc["controllers"]["workloads"] == "down"
    manager = restore_faults.lab.manager
    assert manager is not None
    deadline = time.monotonic() + 5
    while manager.is_down("workloads") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not manager.is_down("workloads")
    assert admin_request(state, "status", {})["faults"]["down_controllers"] == []


def test_requests_jsonl_has_one_entry_per_request(lab_without_mlflow: LabHandle) -> None:
    log = lab_without_mlflow.kubeconfig.parent / "requests.jsonl"
    with _session(lab_without_mlflow) as session:
        session.get(f"{lab_without_mlflow.api_url}/api/v1/namespaces/default", timeout=10)
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert any(e["path"] == "/api/v1/namespaces/default" and e["status"] == 200 for e in entries)
    for entry in entries:
        assert {"method", "path", "status"} <= set(entry)


def test_lab_refuses_a_taken_port_and_leaves_nothing_running(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        lab = Lab(LabSettings(state_dir=tmp_path), mlflow=False, port=port)
        with pytest.raises(LabUsageError):
            lab.start()
    assert lab.server is None
    assert lab.manager is None


def _owner(thread: threading.Thread) -> object:
    """The object whose method the thread runs (a server, for its request threads), or None."""
    return getattr(getattr(thread, "_target", None), "__self__", None)


def test_start_stop_leaves_no_threads(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    # Servers that were running before (a session fixture's lab in this test process) go on starting
    # request threads of their own while this lab runs: those are not this lab's.
    others = {id(owner) for t in before if (owner := _owner(t)) is not None}
    lab = Lab(LabSettings(state_dir=tmp_path), mlflow=False, tls=False).start()
    assert lab.api_url.startswith("http://127.0.0.1:")
    lab.stop()
    lab.stop()  # twice is fine
    new = set(threading.enumerate()) - before
    leftover = [t for t in new if t.is_alive() and id(_owner(t)) not in others]
    assert leftover == []


def test_operators_keep_working_through_user_faults_and_stay_out_of_the_log(
    restore_faults: LabHandle,
) -> None:
    lab = restore_faults.lab
    assert lab.store is not None
    base = f"{restore_faults.api_url}/apis/apps/v1/namespaces/default/deployments"
    labels = {"app": "through-faults"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "through-faults", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }
    deployments = lab.store.registry.by_kind("apps/v1", "Deployment")
    assert deployments is not None
    events = lab.store.watch(deployments, "default", lab.store.resource_version())
    with _session(restore_faults) as session:
        assert session.post(base, json=deployment, timeout=10).status_code == 201
        lab.update_faults({"error_rate": 1.0, "error_codes": [503], "watch_cut_after": 0.1})
        assert session.get(f"{base}/through-faults", timeout=10).status_code == 503
    try:
        deadline = time.monotonic() + 10
        available = False
        while not available and time.monotonic() < deadline:  # events of the in-process store, no polling
            event = events.next(deadline - time.monotonic())
            conditions = ((event.object.get("status") or {}).get("conditions") or []) if event else []
            available = any(c["type"] == "Available" and c["status"] == "True" for c in conditions)
        assert available, "the kubelet and the workload controllers stopped with the users' faults"
    finally:
        events.close()
        lab.update_faults({"clear": True})
    rows = [json.loads(line) for line in lab.state.request_log.read_text().splitlines() if line.strip()]
    assert any(r["status"] == 503 for r in rows)
    assert [r for r in rows if r["user_agent"].startswith("lab-")] == []
