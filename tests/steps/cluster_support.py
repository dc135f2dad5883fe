"""A real API server (the lab's, in-process, no controllers) for the cluster step tests, and ways to change
what it serves the way a controller would (status writes, later, from another thread)."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from steps_support import playbook_in

from drkit.context import Runtime
from drkit.kube import Cluster, ClusterConfig, RetryPolicy
from drkit.steps.base import StepContext
from drkit_lab.apiserver.http import ApiServer
from drkit_lab.apiserver.store import Store
from drkit_lab.faults import Faults
from drkit_lab.kubeconfig import new_token, render_kubeconfig, write_kubeconfig
from drkit_lab.tls import ensure_tls

CRD_DIR = Path(__file__).resolve().parents[2] / "lab" / "drkit_lab" / "platforms" / "crds"
MODEL_API = "mlops.seldon.io/v1alpha1"


@dataclass
class Server:
    store: Store
    cluster: Cluster
    runtime: Runtime
    timers: list[threading.Timer] = field(default_factory=list)

    def create(self, obj: dict[str, Any]) -> None:
        self.cluster.create(obj)

    def set_status(
        self, api_version: str, kind: str, namespace: str | None, name: str, status: dict[str, Any]
    ) -> None:
        """Write the status a controller would write."""
        rt = self.store.registry.by_kind(api_version, kind)
        assert rt is not None

        def change(obj: dict[str, Any]) -> dict[str, Any]:
            obj["status"] = status
            return obj

        self.store.mutate(rt, namespace, name, change, subresource="status" if rt.has_status else None)

    def later(self, seconds: float, action: Callable[[], None]) -> None:
        timer = threading.Timer(seconds, action)
        self.timers.append(timer)
        timer.start()

    def context(self, *, timeout: float | None = 30.0, progress: list[str] | None = None) -> StepContext:
        lines = progress if progress is not None else []
        return StepContext(
            runtime=self.runtime,
            playbook=playbook_in(self.runtime.cwd),
            run_id="20260101-000000-abcd",
            run_dir=self.runtime.cwd / "run",
            deadline=None if timeout is None else self.runtime.monotonic() + timeout,
            progress=lines.append,
            cluster=lambda: self.cluster,
        )


@contextmanager
def running_server(tmp_path: Path, *, crds: tuple[str, ...] = ("seldon-models.yaml",)) -> Iterator[Server]:
    tls = ensure_tls(tmp_path / "tls")
    token = new_token()
    store = Store()
    server = ApiServer(
        store, token=token, tls=(tls.server_cert, tls.server_key), faults=Faults(), request_log=None
    )
    server.start()
    runtime = Runtime(
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdin=io.StringIO(),
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        cwd=tmp_path,
    )
    kubeconfig = write_kubeconfig(
        tmp_path / "kubeconfig",
        render_kubeconfig(server=server.url, ca_pem=tls.ca_cert.read_bytes(), token=token),
    )
    cluster = Cluster(
        ClusterConfig.from_env({"KUBECONFIG": str(kubeconfig)}),
        retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05),
    )
    handle = Server(store, cluster, runtime)
    try:
        for name in crds:
            cluster.apply(YAML(typ="safe", pure=True).load((CRD_DIR / name).read_text(encoding="utf-8")))
        cluster.invalidate_discovery()
        cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml"}})
        yield handle
    finally:
        for timer in handle.timers:
            timer.cancel()
            timer.join()
        cluster.close()
        server.stop()


def deployment(name: str, namespace: str = "ml", replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "example:1"}]},
            },
        },
    }


def deployment_ready(replicas: int = 1) -> dict[str, Any]:
    return {
        "observedGeneration": 1,
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "conditions": [{"type": "Available", "status": "True"}],
    }


def deployment_failed() -> dict[str, Any]:
    return {
        "observedGeneration": 1,
        "replicas": 1,
        "updatedReplicas": 1,
        "unavailableReplicas": 1,
        "conditions": [
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": 'ReplicaSet "api-1" has timed out progressing.',
            }
        ],
    }


def model(name: str, namespace: str = "ml", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": MODEL_API,
        "kind": "Model",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {"storageUri": "s3://models/x", "requirements": ["sklearn"]},
    }


def model_status(ready: bool, *, extra: tuple[dict[str, str], ...] = ()) -> dict[str, Any]:
    flag = "True" if ready else "False"
    return {
        "conditions": [
            {"type": "ModelReady", "status": flag, "reason": "ModelAvailable" if ready else "ModelLoading"},
            {"type": "Ready", "status": flag, "reason": "ModelAvailable" if ready else "ModelLoading"},
            *extra,
        ],
        "replicas": 1,
        "availableReplicas": 1 if ready else 0,
    }
