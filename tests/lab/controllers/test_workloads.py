"""Deployments, StatefulSets and Jobs become ready once the kubelet has made their Pods ready: the emulated
control plane's workload controllers and the lab's kubelet together, over HTTP."""

from __future__ import annotations

from typing import Any

from controller_cluster import Cluster, condition, has_condition

from drkit_lab.controllers.kubelet import Kubelet
from drkit_lab.controllers.workloads import WorkloadControllers

APPS = "apps/v1"


def deployment(
    name: str,
    *,
    replicas: int = 2,
    image: str = "nginx:1.27",
    annotations: dict[str, str] | None = None,
    deadline: int | None = None,
) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": APPS,
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "apps"},
        "spec": {
            "replicas": replicas,
            **({"progressDeadlineSeconds": deadline} if deadline is not None else {}),
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": annotations or {}},
                "spec": {
                    "containers": [{"name": "web", "image": image}, {"name": "sidecar", "image": "envoy:1"}]
                },
            },
        },
    }


def pods_of(cluster: Cluster, app: str) -> list[dict[str, Any]]:
    return cluster.list("v1", "Pod", "apps", label_selector=f"app={app}")


def test_deployment_becomes_available_with_ready_owned_pods(make_cluster: Any) -> None:
    cluster: Cluster = make_cluster(WorkloadControllers, Kubelet)
    cluster.namespace("apps")
    created = cluster.create(deployment("web"))

    done = cluster.wait_for(APPS, "Deployment", "apps", "web", has_condition("Available"))
    assert done is not None
    status = done["status"]
    assert status["observedGeneration"] == done["metadata"]["generation"]
    assert (
        status["replicas"],
        status["readyReplicas"],
        status["availableReplicas"],
        status["updatedReplicas"],
    ) == (2, 2, 2, 2)
    progressing = condition(done, "Progressing")
    assert progressing is not None
    assert progressing["reason"] == "NewReplicaSetAvailable"
    assert condition(done, "Available")["reason"] == "MinimumReplicasAvailable"  # type: ignore[index]

    (replicaset,) = cluster.list(APPS, "ReplicaSet", "apps", label_selector="app=web")
    assert replicaset["metadata"]["ownerReferences"][0]["uid"] == created["metadata"]["uid"]
    assert replicaset["status"]["readyReplicas"] == 2
    pods = pods_of(cluster, "web")
    assert len(pods) == 2
    for pod in pods:
        assert pod["metadata"]["ownerReferences"][0]["uid"] == replicaset["metadata"]["uid"]
        assert (
            pod["metadata"]["labels"]["pod-template-hash"]
            == replicaset["metadata"]["labels"]["pod-template-hash"]
        )
        assert pod["spec"]["nodeName"] == "lab-node-0"  # bound by the lab's kubelet
        assert pod["status"]["phase"] == "Running"
        assert [c["ready"] for c in pod["status"]["containerStatuses"]] == [True, True]
        assert condition(pod, "Ready")["status"] == "True"  # type: ignore[index]


def test_spec_change_rolls_out_again(make_cluster: Any) -> None:
    cluster: Cluster = make_cluster(WorkloadControllers, Kubelet)
    cluster.namespace("apps")
    cluster.create(deployment("web", replicas=1))
    cluster.wait_for(APPS, "Deployment", "apps", "web", has_condition("Available"))
    old_pods = {p["metadata"]["name"] for p in pods_of(cluster, "web")}

    def bump(obj: dict[str, Any]) -> dict[str, Any]:
        obj["spec"]["replicas"] = 3
        obj["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
        return obj

    updated = cluster.mutate(APPS, "Deployment", "apps", "web", bump)
    generation = updated["metadata"]["generation"]
    assert generation == 2

    def rolled_out(obj: dict[str, Any] | None) -> bool:
        status = (obj or {}).get("status") or {}
        return (
            status.get("observedGeneration") == generation
            and status.get("readyReplicas") == 3
            and status.get("replicas") == 3  # the old ReplicaSet's pod is gone too
        )

    cluster.wait_for(APPS, "Deployment", "apps", "web", rolled_out)
    new_pods = pods_of(cluster, "web")
    assert len(new_pods) == 3
    assert not old_pods & {p["metadata"]["name"] for p in new_pods}
    assert {p["spec"]["containers"][0]["image"] for p in new_pods} == {"nginx:1.28"}


def test_failing_image_never_becomes_available(make_cluster: Any) -> None:
    cluster: Cluster = make_cluster(WorkloadControllers, Kubelet)
    cluster.namespace("apps")
    cluster.create(deployment("bad", annotations={"lab.drkit.io/fail": "ImagePullBackOff"}, deadline=1))

    done = cluster.wait_for(APPS, "Deployment", "apps", "bad", has_condition("Progressing", "False"))
    assert done is not None
    assert condition(done, "Progressing")["reason"] == "ProgressDeadlineExceeded"  # type: ignore[index]
    assert condition(done, "Available")["status"] == "False"  # type: ignore[index]
    assert done["status"]["availableReplicas"] == 0
    waiting = pods_of(cluster, "bad")[0]["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "ImagePullBackOff"


def test_broken_image_tag_fails_too(make_cluster: Any) -> None:
    cluster: Cluster = make_cluster(WorkloadControllers, Kubelet)
    cluster.namespace("apps")
    cluster.create(deployment("tag", image="registry.local/app:broken", deadline=1))
    done = cluster.wait_for(APPS, "Deployment", "apps", "tag", has_condition("Progressing", "False"))
    assert condition(done, "Progressing")["reason"] == "ProgressDeadlineExceeded"  # type: ignore[index]


def test_statefulset_and_job(make_cluster: Any) -> None:
    cluster: Cluster = make_cluster(WorkloadControllers, Kubelet)
    cluster.namespace("apps")
    template = {
        "metadata": {"labels": {"app": "db"}},
        "spec": {"containers": [{"name": "db", "image": "postgres:16"}]},
    }
    cluster.create(
        {
            "apiVersion": APPS,
            "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "apps"},
            "spec": {
                "replicas": 2,
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "template": template,
            },
        }
    )
    cluster.create(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "once", "namespace": "apps"},
            "spec": {"template": template},
        }
    )

    sts = cluster.wait_for(
        APPS, "StatefulSet", "apps", "db", lambda o: ((o or {}).get("status") or {}).get("readyReplicas") == 2
    )
    assert sts is not None
    status = sts["status"]
    assert status["currentRevision"] == status["updateRevision"]
    assert status["currentReplicas"] == status["updatedReplicas"] == 2
    assert status["observedGeneration"] == 1
    owned = {p["metadata"]["name"]: p["metadata"]["ownerReferences"][0] for p in pods_of(cluster, "db")}
    assert sorted(n for n, ref in owned.items() if ref["uid"] == sts["metadata"]["uid"]) == ["db-0", "db-1"]

    job = cluster.wait_for("batch/v1", "Job", "apps", "once", has_condition("Complete"))
    assert job is not None
    assert job["status"]["succeeded"] == 1
    assert job["status"]["active"] == 0
    (job_pod,) = cluster.list("v1", "Pod", "apps", label_selector="job-name=once")
    assert job_pod["metadata"]["ownerReferences"][0]["uid"] == job["metadata"]["uid"]
    assert job_pod["status"]["phase"] == "Succeeded"
