"""An in-process cluster for controller tests (helpers; the fixtures are in conftest.py).

No HTTP: controllers talk to the Store directly; `wait_for` blocks on the Store's watch (never sleep loops).
Delays are tiny (0.05 s) so a test exercises the real timing paths in well under a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from drkit.lab.apiserver.errors import ApiError
from drkit.lab.apiserver.store import Store
from drkit.lab.apiserver.types import CRDS, ResourceType
from drkit.lab.controllers.base import Controller, ControllerManager
from drkit.lab.settings import LabSettings

CRD_DIR = Path(__file__).resolve().parents[3] / "drkit" / "lab" / "platforms" / "crds"
Obj = dict[str, Any]


def install_crds(store: Store) -> None:
    yaml = YAML(typ="safe")
    for path in sorted(CRD_DIR.glob("*.yaml")):
        store.create(CRDS, yaml.load(path.read_text()))


@dataclass
class Cluster:
    store: Store
    settings: LabSettings
    manager: ControllerManager
    controllers: list[Controller] = field(default_factory=list)

    def rt(self, api_version: str, kind: str) -> ResourceType:
        rt = self.store.registry.by_kind(api_version, kind)
        assert rt is not None, f"{api_version}/{kind} is not served"
        return rt

    def create(self, obj: Obj) -> Obj:
        return self.store.create(self.rt(obj["apiVersion"], obj["kind"]), obj)

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> Obj | None:
        try:
            return self.store.get(self.rt(api_version, kind), namespace, name)
        except ApiError as exc:
            if exc.code == 404:
                return None
            raise

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
        sub = self.store.watch(rt, namespace, None)
        try:
            deadline = time.monotonic() + timeout
            obj = self.get(api_version, kind, namespace, name)
            while not predicate(obj):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"timed out waiting for {kind} {namespace}/{name}; last state: {obj}"
                    )
                event = sub.next(remaining)
                if event is None or event.object["metadata"]["name"] != name:
                    continue
                obj = None if event.type == "DELETED" else event.object
            return obj
        finally:
            sub.close()


def condition(obj: Obj | None, cond_type: str) -> Obj | None:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == cond_type:
            return dict(cond)
    return None


def has_condition(cond_type: str, status: str = "True") -> Callable[[Obj | None], bool]:
    return lambda obj: (condition(obj, cond_type) or {}).get("status") == status
