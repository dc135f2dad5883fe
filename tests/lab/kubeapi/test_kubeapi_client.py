"""The lab's API client against the emulated server: discovery, paged lists, writes, conflicts, watches."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from served_api import SYSTEM_TOKEN, Served

from drkit_lab.apiserver.errors import ApiError
from drkit_lab.apiserver.types import CRDS
from drkit_lab.kubeapi import ApiClient, ApiConnection

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
        "versions": [
            {"name": "v1", "served": True, "storage": True, "subresources": {"status": {}}},
        ],
    },
}


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default"},
        "data": data,
    }


def test_discovery_finds_builtins_and_a_kind_served_later(client: ApiClient) -> None:
    pods = client.require("v1", "Pod")
    assert (pods.plural, pods.namespaced, pods.has_status) == ("pods", True, True)
    assert not client.require("v1", "ConfigMap").has_status
    assert client.resource_in_group("apps", "Deployment") == client.resource("apps/v1", "Deployment")
    assert client.resource("example.com/v1", "Widget") is None
    assert client.resource_in_group("example.com", "Widget") is None

    client.create(CRDS, CRD)  # a miss is asked again: the kind is found once its CRD is served
    widgets = client.resource("example.com/v1", "Widget")
    assert widgets is not None
    assert (widgets.plural, widgets.has_status) == ("widgets", True)
    assert client.resource_in_group("example.com", "Widget") == widgets
    with pytest.raises(ApiError, match="does not serve v9 Nothing"):
        client.require("v9", "Nothing")


def test_list_follows_continue_across_pages(client: ApiClient, served: Served) -> None:
    configmaps = client.require("v1", "ConfigMap")
    for index in range(7):
        client.create(configmaps, configmap(f"cm-{index}"))
    items, rv = client.list(configmaps, "default", page=3)
    assert [i["metadata"]["name"] for i in items] == [f"cm-{i}" for i in range(7)]
    assert all(i["kind"] == "ConfigMap" and i["apiVersion"] == "v1" for i in items)
    assert int(rv) >= int(items[-1]["metadata"]["resourceVersion"])
    pages = [
        r
        for r in served.logged()
        if r["method"] == "GET" and r["path"] == "/api/v1/namespaces/default/configmaps"
    ]
    assert len(pages) == 3  # 3 + 3 + 1
    assert "continue=" not in pages[0]["query"]
    assert all("continue=" in page["query"] for page in pages[1:])


def test_writes_name_the_field_manager_and_generate_names(client: ApiClient, served: Served) -> None:
    configmaps = client.require("v1", "ConfigMap")
    made = client.create(configmaps, {"metadata": {"generateName": "job-", "namespace": "default"}})
    assert made["metadata"]["name"].startswith("job-")
    assert len(made["metadata"]["name"]) == len("job-") + 5
    posts = [r for r in served.logged() if r["method"] == "POST"]
    assert "fieldManager=client-test" in posts[-1]["query"]
    assert posts[-1]["user_agent"] == "client-test"


def test_errors_keep_the_servers_code_reason_and_message(client: ApiClient) -> None:
    configmaps = client.require("v1", "ConfigMap")
    assert client.get_or_none(configmaps, "default", "absent") is None
    with pytest.raises(ApiError) as caught:
        client.get(configmaps, "default", "absent")
    assert (caught.value.code, caught.value.reason) == (404, "NotFound")
    assert caught.value.message == 'configmaps "absent" not found'
    client.create(configmaps, configmap("twice"))
    with pytest.raises(ApiError) as caught:
        client.create(configmaps, configmap("twice"))
    assert (caught.value.code, caught.value.reason) == (409, "AlreadyExists")


def test_mutate_reads_again_after_a_conflict(client: ApiClient, served: Served) -> None:
    configmaps = client.require("v1", "ConfigMap")
    client.create(configmaps, configmap("shared", owner="nobody"))
    calls: list[dict[str, Any]] = []

    def change(obj: dict[str, Any]) -> dict[str, Any]:
        calls.append(dict(obj["data"]))
        if len(calls) == 1:  # someone else writes between our read and our write
            served.store.mutate(
                configmaps, "default", "shared", lambda o: o | {"data": o["data"] | {"other": "wrote"}}
            )
        obj["data"]["mine"] = "too"
        return obj

    result = client.mutate(configmaps, "default", "shared", change)
    assert len(calls) == 2
    assert "other" not in calls[0]
    assert calls[1]["other"] == "wrote"
    assert result["data"] == {"owner": "nobody", "other": "wrote", "mine": "too"}
    puts = [r for r in served.logged() if r["method"] == "PUT"]
    assert [r["status"] for r in puts] == [409, 200]

    unchanged = client.mutate(configmaps, "default", "shared", lambda obj: None)
    assert unchanged["metadata"]["resourceVersion"] == result["metadata"]["resourceVersion"]


def test_status_subresource_and_delete_propagation(client: ApiClient) -> None:
    client.create(CRDS, CRD)
    widgets = client.require("example.com/v1", "Widget")
    owner = client.create(
        widgets, {"metadata": {"name": "owner", "namespace": "default"}, "spec": {"size": 1}}
    )
    written = client.mutate(
        widgets,
        "default",
        "owner",
        lambda o: o | {"status": {"phase": "Ready"}, "spec": {"size": 9}},
        subresource="status",
    )
    assert written["status"] == {"phase": "Ready"}
    assert written["spec"] == {"size": 1}  # a status write cannot change the spec
    configmaps = client.require("v1", "ConfigMap")
    dependent = configmap("dependent")
    dependent["metadata"]["ownerReferences"] = [
        {"apiVersion": "example.com/v1", "kind": "Widget", "name": "owner", "uid": owner["metadata"]["uid"]}
    ]
    client.create(configmaps, dependent)
    client.delete(widgets, "default", "owner", propagation="Orphan")
    assert client.get_or_none(widgets, "default", "owner") is None
    assert client.get_or_none(configmaps, "default", "dependent") is not None


def test_watch_streams_from_a_version_and_410_when_it_is_too_old(client: ApiClient, served: Served) -> None:
    configmaps = client.require("v1", "ConfigMap")
    client.create(configmaps, configmap("first"))
    _, rv = client.list(configmaps)
    client.create(configmaps, configmap("second"))
    client.delete(configmaps, "default", "first")
    stream = client.watch(configmaps, resource_version=rv, timeout_seconds=5)
    seen = []
    for event in stream:
        seen.append((event.type, event.object["metadata"]["name"]))
        if len(seen) == 2:
            stream.close()
    assert seen == [("ADDED", "second"), ("DELETED", "first")]

    for index in range(60):  # more than the server's history of 50
        client.create(configmaps, configmap(f"filler-{index}"))
    with pytest.raises(ApiError) as caught:
        list(client.watch(configmaps, resource_version=rv, timeout_seconds=5))
    assert caught.value.code == 410


def test_close_ends_a_quiet_watch_from_another_thread(client: ApiClient) -> None:
    stream = client.watch(client.require("v1", "ConfigMap"), resource_version="", timeout_seconds=300)
    events: list[object] = []
    reader = threading.Thread(target=lambda: events.extend(stream))
    reader.start()
    threading.Timer(0.2, stream.close).start()
    reader.join(timeout=5)
    assert not reader.is_alive()
    assert events == []  # no ConfigMap exists: nothing came before the close


def test_a_connection_needs_exactly_one_credential(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one credential"):
        ApiConnection("https://127.0.0.1:1")
    with pytest.raises(ValueError, match="exactly one credential"):
        ApiConnection("https://127.0.0.1:1", token="t", client_cert=(tmp_path / "c", tmp_path / "k"))
    session = ApiConnection("https://127.0.0.1:1", client_cert=(tmp_path / "c", tmp_path / "k")).session("ua")
    assert session.cert == (str(tmp_path / "c"), str(tmp_path / "k"))
    assert "Authorization" not in session.headers
    assert (
        ApiConnection("https://x", token=SYSTEM_TOKEN).session("ua").headers["Authorization"]
        == f"Bearer {SYSTEM_TOKEN}"
    )
