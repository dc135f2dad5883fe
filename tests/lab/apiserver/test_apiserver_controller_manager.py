"""The controller manager over HTTP: informers feed the right controllers, requeues happen, outages pause
and resync, a 410 relists, a kind served later is picked up, and stop does not wait for a watch's timeout."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from apiserver_harness import SYSTEM_TOKEN, TOKEN, make_certs, wait_for

from drkit_lab.apiserver.http import ApiServer
from drkit_lab.apiserver.store import Store
from drkit_lab.apiserver.types import CRDS, ResourceType
from drkit_lab.controllers.base import Controller, ControllerManager
from drkit_lab.faults import Faults
from drkit_lab.kubeapi import ApiClient, ApiConnection, WatchStream
from drkit_lab.settings import LabSettings


class Recorder(Controller):
    name = "recorder"
    watches = (("", "ConfigMap"),)

    def __init__(self, settings: LabSettings) -> None:
        super().__init__(settings)
        self.seen: list[str] = []
        self.lock = threading.Lock()
        self.again: dict[str, float] = {}

    def reconcile(self, rt: ResourceType, namespace: str | None, name: str) -> float | None:
        with self.lock:
            self.seen.append(name)
        if name == "boom" and self.seen.count("boom") == 1:
            raise RuntimeError("first reconcile of boom fails")
        return self.again.pop(name, None)

    def count(self, name: str) -> int:
        with self.lock:
            return self.seen.count(name)


class WidgetRecorder(Recorder):
    name = "widgets"
    watches = (("example.com", "Widget"),)


@contextmanager
def serving(tmp_path: Path, store: Store) -> Iterator[ApiConnection]:
    """The store behind an HTTPS API server; the connection is the operators' (system token)."""
    ca, cert, key = make_certs(tmp_path)
    server = ApiServer(
        store, token=TOKEN, system_token=SYSTEM_TOKEN, tls=(cert, key), faults=Faults(), request_log=None
    )
    server.start()
    try:
        yield ApiConnection(server.url, ca_file=ca, token=SYSTEM_TOKEN)
    finally:
        server.stop()


def create_configmap(store: Store, name: str) -> None:
    configmaps = store.registry.lookup("", "v1", "configmaps")
    assert configmaps is not None
    store.create(configmaps, {"metadata": {"name": name, "namespace": "default"}})


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Store, Recorder, ControllerManager]]:
    store = Store()
    create_configmap(store, "before")
    secrets = store.registry.lookup("", "v1", "secrets")
    assert secrets is not None
    store.create(
        secrets, {"metadata": {"name": "ignored", "namespace": "default"}}
    )  # not the recorder's kind
    with serving(tmp_path, store) as connection:
        recorder = Recorder(LabSettings(state_dir=tmp_path))
        manager = ControllerManager(
            ApiClient(connection, user_agent="test-informers"), [recorder], resync_period=3600
        )
        manager.start()
        try:
            yield store, recorder, manager
        finally:
            manager.stop()


def test_existing_and_new_objects_are_reconciled_only_by_watchers(
    setup: tuple[Store, Recorder, ControllerManager],
) -> None:
    store, recorder, manager = setup
    secrets = store.registry.lookup("", "v1", "secrets")
    assert secrets is not None
    store.create(secrets, {"metadata": {"name": "ignored-later", "namespace": "default"}})
    create_configmap(store, "after")
    wait_for(lambda: recorder.count("before") and recorder.count("after"))
    # Idle means every informer has listed and every queue is drained: an informer of Secrets would have
    # handed over "ignored", which was there before the manager started.
    assert manager.wait_idle()
    assert recorder.count("ignored") == recorder.count("ignored-later") == 0


def test_requeue_after_delay_and_after_errors(setup: tuple[Store, Recorder, ControllerManager]) -> None:
    store, recorder, _ = setup
    recorder.again["later"] = 0.1
    create_configmap(store, "later")
    create_configmap(store, "boom")
    wait_for(lambda: recorder.count("later") >= 2)
    wait_for(lambda: recorder.count("boom") >= 2, timeout=3)  # retried about a second after the failure


def test_down_controller_reconciles_nothing_then_resyncs(
    setup: tuple[Store, Recorder, ControllerManager],
) -> None:
    store, recorder, manager = setup
    assert manager.wait_idle()
    manager.set_down("recorder", True)
    assert manager.is_down("recorder")
    create_configmap(store, "during")
    create_configmap(store, "marker")
    # The informer hands "during" to the worker before it reads the next event: once it knows "marker",
    # "during" is queued, and once the manager is idle the down worker has taken it off its queue.
    wait_for(
        lambda: (
            ("", "default", "marker")
            in {(k[0].group, k[1], k[2]) for k in manager.informer("", "ConfigMap").known_keys()}
        )
    )
    assert manager.wait_idle()
    assert recorder.count("during") == 0
    manager.set_down("recorder", False)
    wait_for(lambda: recorder.count("during") == 1 and recorder.count("before") >= 2)
    assert manager.names() == ["recorder"]


class CompactingClient(ApiClient):
    """Before its first watch starts, the server's history moves on past the list: the watch gets 410."""

    def __init__(self, connection: ApiConnection, store: Store) -> None:
        super().__init__(connection, user_agent="test-informers")
        self.store = store
        self.watches = 0

    def watch(self, rt: ResourceType, **kwargs: Any) -> WatchStream:
        self.watches += 1
        if self.watches == 1:
            for index in range(8):
                create_configmap(self.store, f"while-compacted-{index}")
            configmaps = self.store.registry.lookup("", "v1", "configmaps")
            assert configmaps is not None
            self.store.delete(configmaps, "default", "before")
        return super().watch(rt, **kwargs)


def test_a_watch_that_gets_410_relists_and_reconciles_what_changed(tmp_path: Path) -> None:
    store = Store(history=5)  # etcd compaction, in small
    create_configmap(store, "before")
    with serving(tmp_path, store) as connection:
        recorder = Recorder(LabSettings(state_dir=tmp_path))
        client = CompactingClient(connection, store)
        manager = ControllerManager(client, [recorder], resync_period=3600)
        manager.start()
        try:
            wait_for(lambda: all(recorder.count(f"while-compacted-{i}") for i in range(8)))
            assert manager.wait_idle()
            assert manager.informer("", "ConfigMap").lists == 2  # the first watch was refused with 410
            assert client.watches >= 2
            # "before" was deleted while nobody watched: the relist notices it is gone and reconciles it.
            assert recorder.count("before") == 2
            assert ("default", "before") not in {
                (k[1], k[2]) for k in manager.informer("", "ConfigMap").known_keys()
            }
        finally:
            manager.stop()


WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
        "versions": [
            {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {"type": "object"}}}
        ],
    },
}


def test_a_kind_installed_after_the_manager_started_is_picked_up(tmp_path: Path) -> None:
    store = Store()
    with serving(tmp_path, store) as connection:
        recorder = WidgetRecorder(LabSettings(state_dir=tmp_path))
        manager = ControllerManager(
            ApiClient(connection, user_agent="test-informers"),
            [recorder],
            resync_period=3600,
            discovery_retry=0.05,
        )
        manager.start()
        try:
            assert manager.wait_idle()
            assert manager.informer("example.com", "Widget").state == "not-served"
            store.create(CRDS, WIDGET_CRD)
            widgets = store.registry.by_kind("example.com/v1", "Widget")
            assert widgets is not None
            store.create(widgets, {"metadata": {"name": "w1", "namespace": "default"}})
            wait_for(lambda: recorder.count("w1") == 1)
            assert manager.informer("example.com", "Widget").state == "synced"
        finally:
            manager.stop()


def test_stop_ends_quiet_watches_at_once(tmp_path: Path) -> None:
    store = Store()
    before = set(threading.enumerate())
    with serving(tmp_path, store) as connection:
        manager = ControllerManager(
            ApiClient(connection, user_agent="test-informers"),
            [Recorder(LabSettings(state_dir=tmp_path))],
            watch_timeout=300,
        )
        manager.start()
        assert manager.wait_idle()
        started = time.monotonic()
        manager.stop()
        assert time.monotonic() - started < 2  # not the watch's 300 s timeout
    leftover = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert leftover == []
