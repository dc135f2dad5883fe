"""The official Python client (typed APIs, DynamicClient, watch) against a real lab API server over HTTPS."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from apiserver_harness import TOKEN, Lab
from kubernetes import client, watch
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "models.mlops.seldon.io"},
    "spec": {
        "group": "mlops.seldon.io",
        "scope": "Namespaced",
        "names": {"plural": "models", "singular": "model", "kind": "Model", "listKind": "ModelList"},
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            }
        ],
    },
}


@pytest.fixture
def api(lab: Lab) -> Iterator[Any]:
    api_client = lab.client()
    try:
        yield api_client
    finally:
        api_client.close()


def _status(exc: ApiException) -> dict[str, Any]:
    return json.loads(exc.body)


def test_requests_without_the_token_get_401_status(lab: Lab) -> None:
    response = requests.get(f"{lab.server.url}/api/v1/namespaces", verify=str(lab.ca), timeout=5)
    assert response.status_code == 401
    assert response.json()["reason"] == "Unauthorized"
    ok = requests.get(f"{lab.server.url}/healthz", verify=str(lab.ca), timeout=5)
    assert ok.text == "ok"
    authed = requests.get(
        f"{lab.server.url}/version",
        headers={"Authorization": f"Bearer {TOKEN}"},
        verify=str(lab.ca),
        timeout=5,
    )
    assert authed.json()["gitVersion"].endswith("-drkit-lab")


def test_typed_crud_with_real_status_errors(api: Any) -> None:
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="team")))
    ns = core.read_namespace("team")
    assert ns.status.phase == "Active"
    assert ns.spec.finalizers == ["kubernetes"]

    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cfg", labels={"app": "a"}), data={"k": "v"})
    created = core.create_namespaced_config_map("team", body)
    assert created.metadata.uid
    assert created.metadata.resource_version.isdigit()
    with pytest.raises(ApiException) as exists:
        core.create_namespaced_config_map("team", body)
    assert exists.value.status == 409
    assert _status(exists.value)["message"] == 'configmaps "cfg" already exists'

    with pytest.raises(ApiException) as missing:
        apps.read_namespaced_deployment("nope", "team")
    status = _status(missing.value)
    assert (status["code"], status["reason"]) == (404, "NotFound")
    assert status["message"] == 'deployments.apps "nope" not found'
    assert status["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}

    stale = core.read_namespaced_config_map("cfg", "team")
    core.patch_namespaced_config_map("cfg", "team", {"data": {"k": "v2"}})
    stale.data = {"k": "v3"}
    with pytest.raises(ApiException) as conflict:
        core.replace_namespaced_config_map("cfg", "team", stale)
    assert conflict.value.status == 409
    assert "the object has been modified" in _status(conflict.value)["message"]

    stale_rv = {"metadata": {"resourceVersion": stale.metadata.resource_version}, "data": {"k": "v4"}}
    with pytest.raises(ApiException) as patch_conflict:
        core.patch_namespaced_config_map("cfg", "team", stale_rv)
    assert patch_conflict.value.status == 409

    listed = core.list_namespaced_config_map("team", label_selector="app in (a,b)")
    assert [c.metadata.name for c in listed.items] == ["cfg"]
    assert core.list_namespaced_config_map("team", label_selector="app!=a").items == []

    with pytest.raises(ApiException) as nowhere:
        core.create_namespaced_config_map("ghost", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="x")))
    assert _status(nowhere.value)["message"] == 'namespaces "ghost" not found'

    with pytest.raises(ApiException) as invalid:
        core.create_namespaced_config_map(
            "team", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="Bad_Name"))
        )
    assert invalid.value.status == 422


def test_deployment_generation_and_status_subresource(api: Any) -> None:
    apps = client.AppsV1Api(api)
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{"name": "web", "image": "nginx:1", "env": [{"name": "A", "value": "1"}]}]
                },
            },
        },
        "status": {"replicas": 99},
    }
    created = apps.create_namespaced_deployment("default", deployment)
    assert created.metadata.generation == 1
    assert created.status is None or created.status.replicas is None  # status is dropped on create

    patched = apps.patch_namespaced_deployment(
        "web",
        "default",
        {
            "spec": {
                "template": {"spec": {"containers": [{"name": "web", "env": [{"name": "B", "value": "2"}]}]}}
            }
        },
    )
    container = patched.spec.template.spec.containers[0]
    assert container.image == "nginx:1"  # strategic merge by container name keeps the image
    assert [e.name for e in container.env] == ["A", "B"]
    assert patched.metadata.generation == 2

    with_status = apps.patch_namespaced_deployment_status("web", "default", {"status": {"readyReplicas": 1}})
    assert with_status.status.ready_replicas == 1
    assert with_status.metadata.generation == 2  # status writes do not bump generation

    scaled = apps.patch_namespaced_deployment(
        "web",
        "default",
        [
            {"op": "test", "path": "/spec/replicas", "value": 1},
            {"op": "replace", "path": "/spec/replicas", "value": 3},
        ],
    )
    assert scaled.spec.replicas == 3
    with pytest.raises(ApiException) as failed_test:
        apps.patch_namespaced_deployment(
            "web", "default", [{"op": "test", "path": "/spec/replicas", "value": 1}]
        )
    assert failed_test.value.status == 422


def test_dynamic_client_with_crd_kinds(lab: Lab, api: Any) -> None:
    dyn = DynamicClient(api, cache_file=str(lab.tmp / "discovery.json"))
    crds = dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    crd = crds.create(body=CRD)
    conditions = {c["type"]: c["status"] for c in crd.status.conditions}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}

    dyn.resources.invalidate_cache()
    models = dyn.resources.get(api_version="mlops.seldon.io/v1alpha1", kind="Model")
    manifest = {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Model",
        "metadata": {"name": "m", "namespace": "default"},
        "spec": {"storageUri": "s3://a"},
    }
    applied = models.server_side_apply(body=manifest, field_manager="drkit")
    assert applied.spec.storageUri == "s3://a"
    assert [m["manager"] for m in applied.metadata.managedFields] == ["drkit"]

    merged = models.patch(
        name="m",
        namespace="default",
        body={"spec": {"replicas": 2}},
        content_type="application/merge-patch+json",
    )
    assert (merged.spec.storageUri, merged.spec.replicas) == ("s3://a", 2)

    with pytest.raises(ApiException) as unsupported:
        models.patch(name="m", namespace="default", body={"spec": {"replicas": 3}})  # strategic by default
    assert unsupported.value.status == 415

    status = models.status.patch(
        name="m",
        namespace="default",
        body={"status": {"state": "Ready"}},
        content_type="application/merge-patch+json",
    )
    assert status.status.state == "Ready"

    no_manager = lab.raw(
        "PATCH",
        "/apis/mlops.seldon.io/v1alpha1/namespaces/default/models/m",
        manifest,
        "application/apply-patch+yaml",
    )
    assert no_manager.status_code == 422

    crds.delete(name="models.mlops.seldon.io")
    assert lab.store.registry.by_kind("mlops.seldon.io/v1alpha1", "Model") is None


def test_finalizers_gate_deletion(api: Any) -> None:
    core = client.CoreV1Api(api)
    meta = client.V1ObjectMeta(name="held", finalizers=["example.com/hold"])
    core.create_namespaced_config_map("default", client.V1ConfigMap(metadata=meta))
    core.delete_namespaced_config_map("held", "default")
    held = core.read_namespaced_config_map("held", "default")
    assert held.metadata.deletion_timestamp is not None

    with pytest.raises(ApiException) as refused:
        core.patch_namespaced_config_map(
            "held", "default", {"metadata": {"finalizers": ["example.com/hold", "new"]}}
        )
    assert refused.value.status == 422
    assert "no new finalizers can be added" in _status(refused.value)["message"]

    core.patch_namespaced_config_map("held", "default", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("held", "default")
    assert gone.value.status == 404


def test_owner_references_are_garbage_collected(api: Any) -> None:
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    rs = apps.create_namespaced_replica_set(
        "default",
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "rs"},
            "spec": {
                "selector": {"matchLabels": {"a": "b"}},
                "template": {"metadata": {"labels": {"a": "b"}}},
            },
        },
    )
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": rs.metadata.uid}
    core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "p", "ownerReferences": [owner]},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
        },
    )
    apps.delete_namespaced_replica_set("rs", "default")
    assert core.list_namespaced_pod("default").items == []


def test_watch_stream_sees_changes(api: Any) -> None:
    core = client.CoreV1Api(api)
    initial = core.list_namespaced_config_map("default")
    seen: list[tuple[str, str]] = []
    done = threading.Event()

    def consume() -> None:
        w = watch.Watch()
        for event in w.stream(
            core.list_namespaced_config_map,
            "default",
            resource_version=initial.metadata.resource_version,
            timeout_seconds=5,
        ):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                w.stop()
        done.set()

    thread = threading.Thread(target=consume)
    thread.start()
    core.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="w")))
    core.patch_namespaced_config_map("w", "default", {"data": {"a": "b"}})
    core.delete_namespaced_config_map("w", "default")
    assert done.wait(10)
    thread.join()
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


def test_namespace_terminates_with_real_conditions_then_finalize(lab: Lab, api: Any) -> None:
    core = client.CoreV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="doomed")))
    for name in ("a", "b"):
        meta = client.V1ObjectMeta(name=name, finalizers=["seldon.model.finalizer"])
        core.create_namespaced_config_map("doomed", client.V1ConfigMap(metadata=meta))
    core.create_namespaced_secret("doomed", client.V1Secret(metadata=client.V1ObjectMeta(name="free")))

    core.delete_namespace("doomed")
    with pytest.raises(ApiException) as forbidden:
        core.create_namespaced_config_map(
            "doomed", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="late"))
        )
    assert forbidden.value.status == 403
    assert "because it is being terminated" in _status(forbidden.value)["message"]
    assert lab.manager.wait_idle()
    ns = core.read_namespace("doomed")
    assert ns.status.phase == "Terminating"
    conditions = {c.type: (c.status, c.reason, c.message) for c in ns.status.conditions}
    assert conditions["NamespaceContentRemaining"] == (
        "True",
        "SomeResourcesRemain",
        "Some resources are remaining: configmaps. has 2 resource instances",
    )
    assert conditions["NamespaceFinalizersRemaining"] == (
        "True",
        "SomeFinalizersRemain",
        "Some content in the namespace has finalizers remaining: "
        "seldon.model.finalizer in 2 resource instances",
    )
    assert core.list_namespaced_secret("doomed").items == []

    ns.spec.finalizers = []
    finalized = lab.raw("PUT", "/api/v1/namespaces/doomed/finalize", api.sanitize_for_serialization(ns))
    assert finalized.status_code == 200
    with pytest.raises(ApiException):
        core.read_namespace("doomed")
    # The content stays in storage, stranded, as it does in etcd.
    assert len(core.list_namespaced_config_map("doomed").items) == 2


def test_empty_namespace_is_removed_by_the_controller(lab: Lab, api: Any) -> None:
    core = client.CoreV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="brief")))
    core.create_namespaced_config_map("brief", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c")))
    listed = core.list_namespace(field_selector="metadata.name=brief")
    core.delete_namespace("brief")
    stream = watch.Watch().stream(
        core.list_namespace,
        field_selector="metadata.name=brief",
        resource_version=listed.metadata.resource_version,
        timeout_seconds=10,
    )
    assert "DELETED" in (event["type"] for event in stream)
    assert "brief" not in [n.metadata.name for n in core.list_namespace().items]
