"""The controller manager: events reach the right controllers, requeues happen, outages pause and resync."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drkit.lab.apiserver.store import Store
from drkit.lab.apiserver.types import ResourceType
from drkit.lab.controllers.base import Controller, ControllerManager
from drkit.lab.settings import LabSettings


class Recorder(Controller):
    name = "recorder"
    watches = (("", "ConfigMap"),)

    def __init__(self, store: Store, settings: LabSettings) -> None:
        super().__init__(store, settings)
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


def wait_for(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Store, Recorder, ControllerManager, ResourceType]]:
    store = Store()
    recorder = Recorder(store, LabSettings(state_dir=tmp_path))
    manager = ControllerManager(store, [recorder], resync_period=3600)
    configmaps = store.registry.lookup("", "v1", "configmaps")
    assert configmaps is not None
    store.create(configmaps, {"metadata": {"name": "before", "namespace": "default"}})
    manager.start()
    try:
        yield store, recorder, manager, configmaps
    finally:
        manager.stop()


def test_existing_and_new_objects_are_reconciled_only_by_watchers(
    setup: tuple[Store, Recorder, ControllerManager, ResourceType],
) -> None:
    store, recorder, manager, configmaps = setup
    secrets = store.registry.lookup("", "v1", "secrets")
    assert secrets is not None
    store.create(configmaps, {"metadata": {"name": "after", "namespace": "default"}})
    store.create(secrets, {"metadata": {"name": "ignored", "namespace": "default"}})
    wait_for(lambda: recorder.count("before") and recorder.count("after"))
    assert manager.wait_idle()
    assert recorder.count("ignored") == 0


def test_requeue_after_delay_and_after_errors(
    setup: tuple[Store, Recorder, ControllerManager, ResourceType],
) -> None:
    store, recorder, _, configmaps = setup
    recorder.again["later"] = 0.1
    store.create(configmaps, {"metadata": {"name": "later", "namespace": "default"}})
    store.create(configmaps, {"metadata": {"name": "boom", "namespace": "default"}})
    wait_for(lambda: recorder.count("later") >= 2)
    wait_for(lambda: recorder.count("boom") >= 2, timeout=3)  # retried about a second after the failure


def test_down_controller_reconciles_nothing_then_resyncs(
    setup: tuple[Store, Recorder, ControllerManager, ResourceType],
) -> None:
    store, recorder, manager, configmaps = setup
    assert manager.wait_idle()
    manager.set_down("recorder", True)
    assert manager.is_down("recorder")
    store.create(configmaps, {"metadata": {"name": "during", "namespace": "default"}})
    assert manager.wait_idle()
    time.sleep(0.1)
    assert recorder.count("during") == 0
    manager.set_down("recorder", False)
    wait_for(lambda: recorder.count("during") == 1 and recorder.count("before") >= 2)
    assert manager.names() == ["recorder"]
