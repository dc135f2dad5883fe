"""A cluster for controller tests: the emulated API server over HTTPS, controllers as its API clients
(helpers; the fixtures are in conftest.py).

Operators reach the server with the system token, as in a lab; the test acts as a user with its own token
(and its own `ApiClient`). `wait_for` blocks on a watch over HTTP (never sleep loops). Delays are tiny
(0.05 s) so a test exercises the real timing paths in well under a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drkit_lab.apiserver.http import ApiServer
from drkit_lab.apiserver.store import Store
from drkit_lab.apiserver.types import ResourceType
from drkit_lab.controllers.base import Controller, ControllerManager
from drkit_lab.kubeapi import ApiClient
from drkit_lab.settings import LabSettings

Obj = dict[str, Any]
USER_TOKEN = "user-token-for-controller-tests"
SYSTEM_TOKEN = "system-token-for-controller-tests"


@dataclass
class Cluster:
    store: Store  # the emulated server's own state (for assertions no client could make)
    server: ApiServer
    api: ApiClient  # the test's client: a user, like kubectl
    settings: LabSettings
    manager: ControllerManager
    controllers: list[Controller] = field(default_factory=list)

    def rt(self, api_version: str, kind: str) -> ResourceType:
        return self.api.require(api_version, kind)

    def create(self, obj: Obj) -> Obj:
        return self.api.create(self.rt(obj["apiVersion"], obj["kind"]), obj)

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> Obj | None:
        return self.api.get_or_none(self.rt(api_version, kind), namespace, name)

    def list(self, api_version: str, kind: str, namespace: str | None, label_selector: str = "") -> list[Obj]:
        return self.api.list(self.rt(api_version, kind), namespace, label_selector=label_selector)[0]

    def mutate(
        self, api_version: str, kind: str, namespace: str | None, name: str, change: Callable[[Obj], Obj]
    ) -> Obj:
        return self.api.mutate(self.rt(api_version, kind), namespace, name, change)

    def delete(self, api_version: str, kind: str, namespace: str | None, name: str) -> Obj:
        return self.api.delete(self.rt(api_version, kind), namespace, name)

    def namespace(self, name: str) -> Obj:
        return self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def wait_for(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        name: str,
        predicate: Callable[[Obj | None], bool],
        timeout: float = 5.0,
    ) -> Obj | None:
        """The object once `predicate` holds (None stands for "absent"); fails with its last state."""
        rt = self.rt(api_version, kind)
        selector = f"metadata.name={name}"
        deadline = time.monotonic() + timeout
        items, rv = self.api.list(rt, namespace, field_selector=selector)
        obj: Obj | None = items[0] if items else None
        while not predicate(obj):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {kind} {namespace}/{name}; last state: {obj}")
            stream = self.api.watch(
                rt,
                namespace=namespace,
                resource_version=rv,
                timeout_seconds=int(remaining) + 1,
                field_selector=selector,
            )
            timer = threading.Timer(remaining, stream.close)  # ends the watch at the deadline exactly
            timer.start()
            try:
                for event in stream:
                    rv = event.resource_version or rv
                    if event.type == "BOOKMARK":
                        continue
                    obj = None if event.type == "DELETED" else event.object
                    if predicate(obj):
                        break
            finally:
                timer.cancel()
                stream.close()
        return obj


def condition(obj: Obj | None, cond_type: str) -> Obj | None:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == cond_type:
            return dict(cond)
    return None


def has_condition(cond_type: str, status: str = "True") -> Callable[[Obj | None], bool]:
    return lambda obj: (condition(obj, cond_type) or {}).get("status") == status
