"""Store semantics without HTTP: metadata bookkeeping, deletion rules, garbage collection, CRDs, watches."""

from __future__ import annotations

import pytest

from drkit_lab.apiserver.errors import ApiError
from drkit_lab.apiserver.store import Store
from drkit_lab.apiserver.types import CRDS, NAMESPACES, ResourceType

CRD = {
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
        "versions": [
            {"name": "v1", "served": True, "storage": True, "subresources": {"status": {}}},
            {"name": "v1beta1", "served": True, "storage": False},
        ],
    },
}


@pytest.fixture
def store() -> Store:
    return Store(seed=3)


def rt(store: Store, group: str, version: str, plural: str) -> ResourceType:
    found = store.registry.lookup(group, version, plural)
    assert found is not None
    return found


def test_create_fills_metadata_and_generate_name(store: Store) -> None:
    cms = rt(store, "", "v1", "configmaps")
    obj = store.create(
        cms, {"metadata": {"generateName": "cfg-", "namespace": "default"}, "data": {"a": "1"}}
    )
    meta = obj["metadata"]
    assert meta["name"].startswith("cfg-")
    assert len(meta["name"]) == len("cfg-") + 5
    assert "generation" not in meta  # a real server tracks no generation for ConfigMaps
    assert meta["creationTimestamp"].endswith("Z")
    assert int(meta["resourceVersion"]) > 0
    assert obj["apiVersion"] == "v1"
    assert obj["kind"] == "ConfigMap"


def test_resource_versions_increase_and_noop_updates_do_not_bump(store: Store) -> None:
    deployments = rt(store, "apps", "v1", "deployments")
    first = store.create(
        deployments, {"metadata": {"name": "d", "namespace": "default"}, "spec": {"replicas": 1}}
    )
    same = store.update(deployments, first)
    assert same["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    first["metadata"]["labels"] = {"a": "b"}
    relabeled = store.update(deployments, first)
    assert int(relabeled["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    assert relabeled["metadata"]["generation"] == 1  # metadata is not spec
    relabeled["spec"]["replicas"] = 2
    assert store.update(deployments, relabeled)["metadata"]["generation"] == 2
    with pytest.raises(ApiError) as stale:
        store.update(deployments, first)
    assert stale.value.code == 409


def test_main_resource_update_keeps_status_and_status_update_keeps_spec(store: Store) -> None:
    deployments = rt(store, "apps", "v1", "deployments")
    obj = store.create(
        deployments, {"metadata": {"name": "d", "namespace": "default"}, "spec": {"replicas": 1}}
    )
    obj["status"] = {"readyReplicas": 1}
    obj["spec"]["replicas"] = 5
    with_status = store.update(deployments, obj, subresource="status")
    assert with_status["status"] == {"readyReplicas": 1}
    assert with_status["spec"]["replicas"] == 1
    with_status["status"] = {"readyReplicas": 7}
    assert store.update(deployments, with_status)["status"] == {"readyReplicas": 1}


def test_dry_run_stores_nothing(store: Store) -> None:
    cms = rt(store, "", "v1", "configmaps")
    before = store.count()
    store.create(cms, {"metadata": {"name": "x", "namespace": "default"}}, dry_run=True)
    assert store.count() == before
    store.create(cms, {"metadata": {"name": "x", "namespace": "default"}})
    store.delete(cms, "default", "x", dry_run=True)
    assert store.get(cms, "default", "x")


def test_delete_precondition_and_finalizers(store: Store) -> None:
    cms = rt(store, "", "v1", "configmaps")
    obj = store.create(cms, {"metadata": {"name": "x", "namespace": "default", "finalizers": ["f"]}})
    with pytest.raises(ApiError) as failed:
        store.delete(cms, "default", "x", precondition_rv="1")
    assert "does not match the ResourceVersion in record" in failed.value.message
    pending = store.delete(cms, "default", "x", precondition_rv=obj["metadata"]["resourceVersion"])
    assert pending["metadata"]["deletionTimestamp"]
    assert pending["metadata"]["deletionGracePeriodSeconds"] == 0
    store.mutate(cms, "default", "x", lambda o: {**o, "metadata": {**o["metadata"], "finalizers": []}})
    with pytest.raises(ApiError) as gone:
        store.get(cms, "default", "x")
    assert gone.value.code == 404


def test_garbage_collection_cascades_and_orphan_keeps_dependents(store: Store) -> None:
    deployments = rt(store, "apps", "v1", "deployments")
    replicasets = rt(store, "apps", "v1", "replicasets")
    pods = rt(store, "", "v1", "pods")

    def owned(kind: str, owner: dict[str, object]) -> dict[str, object]:
        meta = owner["metadata"]
        assert isinstance(meta, dict)
        return {"ownerReferences": [{"kind": kind, "name": meta["name"], "uid": meta["uid"]}]}

    for name, policy in (("kept", "Orphan"), ("gone", "Background")):
        d = store.create(deployments, {"metadata": {"name": name, "namespace": "default"}, "spec": {}})
        rs = store.create(
            replicasets,
            {"metadata": {"name": f"{name}-rs", "namespace": "default", **owned("Deployment", d)}},
        )
        store.create(
            pods, {"metadata": {"name": f"{name}-pod", "namespace": "default", **owned("ReplicaSet", rs)}}
        )
        store.delete(deployments, "default", name, propagation=policy)
    assert [p["metadata"]["name"] for p in store.list(pods, "default")[0]] == ["kept-pod"]
    assert [r["metadata"]["name"] for r in store.list(replicasets, "default")[0]] == ["kept-rs"]


def test_namespace_rules(store: Store) -> None:
    cms = rt(store, "", "v1", "configmaps")
    with pytest.raises(ApiError) as missing:
        store.create(cms, {"metadata": {"name": "x", "namespace": "nowhere"}})
    assert missing.value.message == 'namespaces "nowhere" not found'
    store.create(NAMESPACES, {"metadata": {"name": "ns1"}})
    deleted = store.delete(NAMESPACES, None, "ns1")
    assert deleted["status"]["phase"] == "Terminating"
    with pytest.raises(ApiError) as closed:
        store.create(cms, {"metadata": {"name": "x", "namespace": "ns1"}})
    assert closed.value.code == 403
    with pytest.raises(ApiError) as bad:
        store.create(NAMESPACES, {"metadata": {"name": "Not.A.Label"}})
    assert bad.value.code == 422


def test_crd_registers_versions_and_deleting_it_removes_kind_and_objects(store: Store) -> None:
    crd = store.create(CRDS, CRD)
    assert {c["type"] for c in crd["status"]["conditions"]} == {"NamesAccepted", "Established"}
    assert crd["status"]["acceptedNames"]["listKind"] == "WidgetList"
    v1 = rt(store, "example.com", "v1", "widgets")
    beta = rt(store, "example.com", "v1beta1", "widgets")
    assert v1.has_status
    assert not beta.has_status
    assert not v1.builtin
    store.create(v1, {"metadata": {"name": "w", "namespace": "default"}, "spec": {"size": 1}})
    assert store.get(beta, "default", "w")["apiVersion"] == "example.com/v1beta1"  # one storage, any version
    sub = store.watch(v1, None, store.resource_version())
    store.delete(CRDS, None, "widgets.example.com")
    event = sub.next(1)
    sub.close()
    assert event is not None
    assert (event.type, event.object["metadata"]["name"]) == ("DELETED", "w")
    assert store.registry.lookup("example.com", "v1", "widgets") is None
    with pytest.raises(ApiError):
        store.create(CRDS, {**CRD, "metadata": {"name": "wrong.example.com"}})


def test_watch_replays_history_and_expires_old_versions() -> None:
    store = Store(history=5, system_namespaces=())
    cms = rt(store, "", "v1", "configmaps")
    store.create(NAMESPACES, {"metadata": {"name": "default"}})
    start = store.resource_version()
    for i in range(3):
        store.create(cms, {"metadata": {"name": f"c{i}", "namespace": "default"}})
    sub = store.watch(cms, "default", start)
    names = []
    while (event := sub.next(0.01)) is not None:
        names.append(event.object["metadata"]["name"])
    sub.close()
    assert names == ["c0", "c1", "c2"]
    for i in range(3, 10):
        store.create(cms, {"metadata": {"name": f"c{i}", "namespace": "default"}})
    with pytest.raises(ApiError) as expired:
        store.watch(cms, None, start)
    assert expired.value.code == 410


def test_open_watches_counts_the_watches_of_a_kind_until_they_close(store: Store) -> None:
    cms, secrets = rt(store, "", "v1", "configmaps"), rt(store, "", "v1", "secrets")
    of_configmaps, of_everything = store.watch(cms, "default", None), store.watch(None, None, None)
    store.watch(secrets, None, None)
    assert store.open_watches(cms) == 2
    of_configmaps.close()
    of_everything.close()
    assert store.open_watches(cms) == 0
    assert store.open_watches(secrets) == 1


def test_list_selectors(store: Store) -> None:
    pods = rt(store, "", "v1", "pods")
    for name, labels, phase in (
        ("a", {"app": "x", "tier": "web"}, "Running"),
        ("b", {"app": "y"}, "Pending"),
    ):
        store.create(
            pods,
            {
                "metadata": {"name": name, "namespace": "default", "labels": labels},
                "status": {"phase": phase},
            },
        )

    def names(labels: str = "", fields: str = "") -> list[str]:
        return [p["metadata"]["name"] for p in store.list(pods, None, labels, fields)[0]]

    assert names("app=x") == ["a"]
    assert names("app==y") == ["b"]
    assert names("app!=x") == ["b"]
    assert names("app in (x, y)") == ["a", "b"]
    assert names("app notin (x)") == ["b"]
    assert names("tier") == ["a"]
    assert names("!tier") == ["b"]
    assert names("app=x,tier=web") == ["a"]
    assert names(fields="status.phase=Pending") == ["b"]
    assert names(fields="metadata.name!=a") == ["b"]
    assert names(fields="metadata.namespace=default,metadata.name=a") == ["a"]
    with pytest.raises(ApiError) as bad:
        names("app in x")
    assert bad.value.code == 400
