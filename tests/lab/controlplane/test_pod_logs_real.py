"""`kubectl logs` on the real control plane: kube-apiserver dials the lab kubelet's HTTPS server (the port its
Node reports), through its egress selector and the lab's pod network, verifying the kubelet with
`--kubelet-certificate-authority` and authenticating with `--kubelet-client-certificate`."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from log_script import main_status, script_kubelet, script_pod

from drkit_lab.controllers import operator_client
from drkit_lab.controllers.base import ControllerManager
from drkit_lab.controlplane.real import RealControlPlane
from drkit_lab.kubeapi import ApiClient, ApiConnection
from drkit_lab.platforms.financial_mlops import find_kubectl
from drkit_lab.settings import LabSettings

pytestmark = pytest.mark.kubectl

NS = "logs-probe"
RUN_TIMEOUT_S = 60.0


@pytest.fixture
def kubelet_on(real_plane: RealControlPlane, tmp_path: Path) -> Iterator[ApiClient]:
    """The lab's kubelet (running the log script) as a client of the real plane; yields the admin's client."""
    assert real_plane.tls is not None
    # The kubelet issues its serving certificate from the CA in its state directory: the plane's own.
    settings = LabSettings(state_dir=real_plane.root.parent, workload_ready_delay=0.05)
    operators = ApiConnection(
        real_plane.url, ca_file=real_plane.tls.ca_cert, token=real_plane.credentials.operators
    )
    kubelet_class = script_kubelet(tmp_path / "runs")
    kubelet = kubelet_class(operator_client(operators, kubelet_class.name), settings)
    manager = ControllerManager(ApiClient(operators, user_agent="lab-controller-manager"), [kubelet])
    manager.start()
    admin = ApiClient(
        ApiConnection(real_plane.url, ca_file=real_plane.tls.ca_cert, token=real_plane.credentials.lab),
        user_agent="test",
    )
    try:
        yield admin
    finally:
        manager.stop()
        admin.close()


def _kubectl(plane: RealControlPlane, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(plane.kubeconfig_text(plane.credentials.lab), encoding="utf-8")
    return subprocess.run(
        [find_kubectl(), "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def _wait_pod(admin: ApiClient, name: str, predicate: Any) -> dict[str, Any]:
    """Block on a watch of the pod until `predicate` holds."""
    rt = admin.require("v1", "Pod")
    items, rv = admin.list(rt, NS, field_selector=f"metadata.name={name}")
    pod = items[0] if items else None
    while not predicate(pod):
        stream = admin.watch(
            rt,
            namespace=NS,
            resource_version=rv,
            timeout_seconds=int(RUN_TIMEOUT_S),
            field_selector=f"metadata.name={name}",
        )
        try:
            for event in stream:
                rv = event.resource_version or rv
                if event.type != "BOOKMARK":
                    pod = event.object
                    if predicate(pod):
                        break
            else:
                raise AssertionError(f"timed out waiting for pod {name}; last state: {pod}")
        finally:
            stream.close()
    assert pod is not None
    return pod


def test_kubectl_logs_reads_the_lab_kubelet_through_kube_apiserver(
    real_plane: RealControlPlane, kubelet_on: ApiClient, tmp_path: Path
) -> None:
    admin = kubelet_on
    created = _kubectl(real_plane, tmp_path, "create", "namespace", NS)
    assert created.returncode == 0, created.stderr
    # kube-apiserver admits a Pod once its namespace's default ServiceAccount exists.
    waited = _kubectl(
        real_plane, tmp_path, "wait", "--for=create", "-n", NS, "serviceaccount/default", "--timeout=60s"
    )
    assert waited.returncode == 0, waited.stderr
    admin.create(admin.require("v1", "Pod"), script_pod("web", NS))
    _wait_pod(admin, "web", lambda p: main_status(p).get("restartCount") == 1 and main_status(p).get("ready"))

    current = _kubectl(real_plane, tmp_path, "logs", "-n", NS, "web", "-c", "main")
    assert current.returncode == 0, current.stderr
    assert current.stdout == "run 1 line 1\nrun 1 line 2\n"
    previous = _kubectl(real_plane, tmp_path, "logs", "-n", NS, "web", "-c", "main", "--previous")
    assert previous.returncode == 0, previous.stderr
    assert sorted(previous.stdout.splitlines()) == ["run 0 failing: no database", "run 0 starting"]
    tail = _kubectl(real_plane, tmp_path, "logs", "-n", NS, "web", "-c", "main", "--tail=1", "--timestamps")
    assert tail.returncode == 0, tail.stderr
    assert tail.stdout.endswith("Z run 1 line 2\n")
    assert tail.stdout.count("\n") == 1
    sidecar = _kubectl(real_plane, tmp_path, "logs", "-n", NS, "web", "-c", "sidecar")
    assert sidecar.returncode == 0, sidecar.stderr
    assert sidecar.stdout == ""

    unknown = _kubectl(real_plane, tmp_path, "logs", "-n", NS, "web", "-c", "nope")
    assert unknown.returncode != 0
    assert "container nope is not valid for pod web" in unknown.stderr
    missing = _kubectl(real_plane, tmp_path, "logs", "-n", NS, "ghost", "-c", "main")
    assert missing.returncode != 0
    assert 'pods "ghost" not found' in missing.stderr

    # The raw answer, as the emulated server gives it (the same test there: tests/lab/controllers).
    assert real_plane.tls is not None
    raw = requests.get(
        f"{real_plane.url}/api/v1/namespaces/{NS}/pods/web/log",
        params={"container": "sidecar", "previous": "true"},
        headers={"Authorization": f"Bearer {real_plane.credentials.lab}"},
        verify=str(real_plane.tls.ca_cert),
        timeout=30,
    )
    assert raw.status_code == 400
    assert raw.json()["message"] == 'previous terminated container "sidecar" in pod "web" not found'
