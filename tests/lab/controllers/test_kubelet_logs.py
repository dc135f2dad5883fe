"""`pods/NAME/log` on the emulated control plane: the API server asks the kubelet's HTTPS server, as
kube-apiserver does, for the current or the previous run of a container the kubelet really runs, with
kubectl's options; a pretended container has an empty log; errors are kube-apiserver's and the kubelet's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests
from controller_cluster import USER_TOKEN, Cluster
from log_script import main_status, script_kubelet, script_pod

from drkit_lab.settings import LabSettings
from drkit_lab.tls import kubelet_client_tls

NS = "apps"
RUN_TIMEOUT_S = 60.0  # the first run's exit, then the kubelet's 10 s back-off before the second


def _log(cluster: Cluster, pod: str, **query: object) -> requests.Response:
    """`kubectl logs` as a user: GET pods/NAME/log with only the user's token."""
    return requests.get(
        f"{cluster.server.url}/api/v1/namespaces/{NS}/pods/{pod}/log",
        params={k: str(v).lower() if isinstance(v, bool) else v for k, v in query.items()},
        headers={"Authorization": f"Bearer {USER_TOKEN}"},
        verify=str(cluster.api.connection.ca_file),
        timeout=30,
    )


@pytest.fixture
def cluster(make_cluster: Any, tmp_path: Path) -> Cluster:
    made: Cluster = make_cluster(script_kubelet(tmp_path / "runs"))
    made.namespace(NS)
    return made


def test_the_log_of_the_current_and_the_previous_run(cluster: Cluster) -> None:
    cluster.create(script_pod("web", NS))
    cluster.wait_for(
        "v1",
        "Pod",
        NS,
        "web",
        lambda p: (
            main_status(p).get("restartCount") == 1 and "waiting" in (main_status(p).get("state") or {})
        ),
        timeout=RUN_TIMEOUT_S,
    )
    # In CrashLoopBackOff (10 s), the current and the previous log are both the run that failed, as on a node.
    for previous in (False, True):
        failed = _log(cluster, "web", container="main", previous=previous)
        assert failed.status_code == 200, failed.text
        assert "run 0 failing: no database" in failed.text
    cluster.wait_for(
        "v1", "Pod", NS, "web", lambda p: main_status(p).get("ready") is True, timeout=RUN_TIMEOUT_S
    )

    current = _log(cluster, "web", container="main")
    assert current.status_code == 200, current.text
    assert current.headers["Content-Type"].startswith("text/plain")
    assert current.text == "run 1 line 1\nrun 1 line 2\n"

    previous = _log(cluster, "web", container="main", previous=True)
    assert previous.status_code == 200, previous.text
    assert sorted(previous.text.splitlines()) == ["run 0 failing: no database", "run 0 starting"]

    assert _log(cluster, "web", container="main", tailLines=1).text == "run 1 line 2\n"
    assert _log(cluster, "web", container="main", tailLines=0).text == ""
    assert _log(cluster, "web", container="main", limitBytes=5).text == "run 1"
    stamped = _log(cluster, "web", container="main", timestamps=True).text.splitlines()
    assert len(stamped) == 2
    assert all(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z run 1 line \d", line) for line in stamped
    )
    later = _log(cluster, "web", container="main", sinceTime="2999-01-01T00:00:00Z")
    assert later.status_code == 200
    assert later.text == ""
    assert _log(cluster, "web", container="main", sinceSeconds=3600).text == current.text


def test_a_pretended_container_has_an_empty_log_and_errors_are_the_servers(cluster: Cluster) -> None:
    cluster.create(script_pod("web", NS))
    cluster.wait_for(
        "v1",
        "Pod",
        NS,
        "web",
        lambda p: "running" in (main_status(p).get("state") or {}),
        timeout=RUN_TIMEOUT_S,
    )
    sidecar = _log(cluster, "web", container="sidecar")
    assert sidecar.status_code == 200
    assert sidecar.text == ""

    unknown = _log(cluster, "web", container="nope")
    assert unknown.status_code == 400
    assert unknown.json()["reason"] == "BadRequest"
    assert unknown.json()["message"] == "container nope is not valid for pod web"

    unnamed = _log(cluster, "web")
    assert unnamed.status_code == 400
    assert unnamed.json()["message"] == (
        "a container name must be specified for pod web, choose one of: [main sidecar]"
    )

    ghost = _log(cluster, "ghost", container="main")
    assert ghost.status_code == 404
    assert ghost.json()["message"] == 'pods "ghost" not found'

    negative = _log(cluster, "web", container="main", tailLines=-1)
    assert negative.status_code == 422
    assert "tailLines: Invalid value: -1: must be greater than or equal to 0" in negative.json()["message"]

    no_previous = _log(cluster, "web", container="sidecar", previous=True)
    assert no_previous.status_code == 400
    assert no_previous.json()["message"] == 'previous terminated container "sidecar" in pod "web" not found'


def test_a_container_that_never_started_has_no_log_yet(cluster: Cluster) -> None:
    cluster.create(script_pod("doomed", NS, image="example/other:broken"))
    cluster.wait_for(
        "v1",
        "Pod",
        NS,
        "doomed",
        lambda p: "waiting" in (main_status(p).get("state") or {}),
        timeout=RUN_TIMEOUT_S,
    )
    waiting = _log(cluster, "doomed", container="main")
    assert waiting.status_code == 400
    assert waiting.json()["message"] == (
        'container "main" in pod "doomed" is waiting to start: trying and failing to pull image'
    )


def test_the_kubelet_serves_only_clients_with_a_certificate_of_the_lab_ca(
    cluster: Cluster, lab_settings: LabSettings
) -> None:
    cluster.create(script_pod("web", NS))
    cluster.wait_for("v1", "Pod", NS, "web", lambda p: bool(main_status(p)), timeout=RUN_TIMEOUT_S)
    node = cluster.get("v1", "Node", None, "lab-node-0")
    assert node is not None
    port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
    address = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
    url = f"https://{address}:{port}/containerLogs/{NS}/web/sidecar"
    client = kubelet_client_tls(lab_settings.state_dir)
    answer = requests.get(
        url, cert=(str(client.cert), str(client.key)), verify=str(client.ca_cert), timeout=10
    )
    assert answer.status_code == 200
    with pytest.raises(requests.exceptions.ConnectionError):  # SSLError is one
        requests.get(url, verify=str(client.ca_cert), timeout=10)
    unknown = requests.get(
        f"https://{address}:{port}/exec/{NS}/web/main",
        cert=(str(client.cert), str(client.key)),
        verify=str(client.ca_cert),
        timeout=10,
    )
    assert unknown.status_code == 404
