"""The lab's kubelet over HTTP: it binds Pods to its Node, runs them to Ready (or, for a Job's, to Succeeded),
and leaves a doomed pod template Pending for the reason it is doomed to."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest
from controller_cluster import Cluster, condition, has_condition

from drkit_lab.apiserver.errors import ApiError
from drkit_lab.controllers.kubelet import Kubelet
from drkit_lab.kubeapi import ApiClient, ApiConnection
from drkit_lab.podnet import local_address

NS = "apps"


def pod(
    name: str, *, image: str = "nginx:1.27", annotations: dict[str, str] | None = None, **meta: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "annotations": annotations or {}, **meta},
        "spec": {"containers": [{"name": "main", "image": image}, {"name": "sidecar", "image": "envoy:1"}]},
    }


def phase(value: str) -> Any:
    return lambda obj: ((obj or {}).get("status") or {}).get("phase") == value


@pytest.fixture
def cluster(make_cluster: Any) -> Cluster:
    made: Cluster = make_cluster(Kubelet)
    made.namespace(NS)
    return made


def test_a_pod_is_bound_to_the_lab_node_then_runs_ready(cluster: Cluster) -> None:
    created = cluster.create(pod("web"))
    assert created["status"]["phase"] == "Pending"  # as the server's pod strategy sets it
    assert "nodeName" not in created["spec"]

    running = cluster.wait_for("v1", "Pod", NS, "web", has_condition("Ready"))
    assert running is not None
    assert running["spec"]["nodeName"] == "lab-node-0"
    status = running["status"]
    assert status["phase"] == "Running"
    for cond_type in ("PodScheduled", "Initialized", "ContainersReady", "Ready"):
        assert condition(running, cond_type)["status"] == "True", cond_type  # type: ignore[index]
    assert [(c["name"], c["ready"], "running" in c["state"]) for c in status["containerStatuses"]] == [
        ("main", True, True),
        ("sidecar", True, True),
    ]
    assert status["hostIP"] == "127.0.0.1"
    # On the lab's pod network, whose addresses the lab listens on as their loopback twins.
    assert ipaddress.ip_address(status["podIP"]) in ipaddress.ip_network("10.244.0.0/16")
    assert local_address(status["podIP"]).startswith("127.244.")
    assert status["startTime"]

    node = cluster.get("v1", "Node", None, "lab-node-0")
    assert node is not None
    assert condition(node, "Ready")["status"] == "True"  # type: ignore[index]
    assert node["status"]["allocatable"]["pods"] == "110"


def test_the_binding_subresource_refuses_a_second_node(cluster: Cluster) -> None:
    cluster.create(pod("bound"))
    cluster.wait_for("v1", "Pod", NS, "bound", lambda o: bool((o or {}).get("spec", {}).get("nodeName")))
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "bound"},
        "target": {"kind": "Node", "name": "other"},
    }
    with pytest.raises(ApiError) as caught:
        cluster.api.post_subresource(cluster.rt("v1", "Pod"), NS, "bound", "binding", binding)
    assert caught.value.code == 409
    assert 'pod bound is already assigned to node "lab-node-0"' in caught.value.message


def test_a_jobs_pod_runs_then_succeeds(cluster: Cluster) -> None:
    job = cluster.create(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "once", "namespace": NS},
            "spec": {"template": {"spec": {"containers": [{"name": "main", "image": "busybox"}]}}},
        }
    )
    owner = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": "once",
        "uid": job["metadata"]["uid"],
        "controller": True,
    }
    cluster.create(
        pod("once-abcde", ownerReferences=[owner])
        | {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}}
    )

    cluster.wait_for("v1", "Pod", NS, "once-abcde", phase("Running"))
    done = cluster.wait_for("v1", "Pod", NS, "once-abcde", phase("Succeeded"))
    assert done is not None
    (container,) = done["status"]["containerStatuses"]
    assert container["state"]["terminated"]["exitCode"] == 0
    assert container["state"]["terminated"]["reason"] == "Completed"
    assert container["ready"] is False
    assert condition(done, "Ready")["reason"] == "PodCompleted"  # type: ignore[index]


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({"annotations": {"lab.drkit.io/fail": "ErrImagePull"}}, "ErrImagePull"),
        ({"image": "registry.local/app:broken"}, "ImagePullBackOff"),
    ],
)
def test_a_doomed_template_stays_pending_waiting(cluster: Cluster, spec: dict[str, Any], reason: str) -> None:
    cluster.create(pod("doomed", **spec))
    stuck = cluster.wait_for(
        "v1",
        "Pod",
        NS,
        "doomed",
        lambda o: bool(((o or {}).get("status") or {}).get("containerStatuses")),
    )
    assert stuck is not None
    assert stuck["spec"]["nodeName"] == "lab-node-0"
    assert stuck["status"]["phase"] == "Pending"
    waiting = stuck["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == reason
    assert condition(stuck, "Ready")["status"] == "False"  # type: ignore[index]
    # Said once in a Warning Event about the pod, as a kubelet does (what on-call reads next): its own status
    # write is not a change to sync the pod again for, so once the kubelet has seen that, still once.
    assert cluster.manager.wait_idle()
    (event,) = [e for e in cluster.list("v1", "Event", NS) if e["involvedObject"]["name"] == "doomed"]
    assert (event["type"], event["reason"], event["message"]) == ("Warning", "Failed", f"Error: {reason}")
    assert event["involvedObject"]["uid"] == stuck["metadata"]["uid"]
    assert event["count"] == 1

    # Looked at again (any change to the pod), the same warning is counted on that Event, not recorded twice.
    def relabel(obj: dict[str, Any]) -> dict[str, Any]:
        obj["metadata"].setdefault("labels", {})["looked-at"] = "again"
        return obj

    cluster.mutate("v1", "Pod", NS, "doomed", relabel)
    again = cluster.wait_for(
        "v1", "Event", NS, event["metadata"]["name"], lambda o: int((o or {}).get("count") or 0) >= 2
    )
    assert again is not None
    assert again["count"] == 2
    assert len([e for e in cluster.list("v1", "Event", NS) if e["involvedObject"]["name"] == "doomed"]) == 1
    # It never gets further, however long the kubelet looks at it.
    with pytest.raises(AssertionError, match="timed out"):
        cluster.wait_for(
            "v1", "Pod", NS, "doomed", phase("Running"), timeout=cluster.settings.workload_ready_delay * 6
        )


def test_nothing_is_bound_while_the_kubelet_is_down(cluster: Cluster) -> None:
    cluster.manager.set_down("workloads", True)
    cluster.create(pod("waiting"))
    with pytest.raises(AssertionError, match="timed out"):
        cluster.wait_for(
            "v1", "Pod", NS, "waiting", lambda o: bool((o or {}).get("spec", {}).get("nodeName")), timeout=0.3
        )
    cluster.manager.set_down("workloads", False)
    cluster.wait_for("v1", "Pod", NS, "waiting", has_condition("Ready"))


def test_pod_addresses_differ_between_labs_and_skip_ports_in_use(lab_settings: Any) -> None:
    """Labs on one machine share the pod network, and an emulated lab's uids repeat from lab to lab: two
    kubelets give the same pod different addresses, and a pod whose container really listens never gets an
    address whose port another process holds."""
    serving_pod = {
        "metadata": {"name": "mlserver-0", "namespace": NS, "uid": "same-uid-in-every-lab"},
        "spec": {"containers": [{"name": "mlserver", "ports": [{"containerPort": 9000}]}]},
    }
    first, second = (
        Kubelet(
            ApiClient(ApiConnection("http://127.0.0.1:9", token="unused"), user_agent="test"), lab_settings
        )
        for _ in range(2)
    )
    try:
        taken_address = first._address(dict(serving_pod))
        assert taken_address != second._address(dict(serving_pod))
        other_lab = Kubelet(
            ApiClient(ApiConnection("http://127.0.0.1:9", token="unused"), user_agent="test"), lab_settings
        )
        other_lab._salt = first._salt  # the worst case: the same address comes up first
        with socket.create_server((local_address(taken_address), 9000)):
            chosen = other_lab._address(dict(serving_pod), real=True)
        other_lab.close()
        assert chosen != taken_address
        assert ipaddress.ip_address(chosen) in ipaddress.ip_network("10.244.0.0/16")
    finally:
        first.close()
        second.close()
