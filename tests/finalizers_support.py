"""Helpers for the finalizer and SealedSecret end-to-end tests.

Everything talks to the cluster through a kubeconfig (drkit's own Cluster), so the tests can point at a real
cluster; the only lab-only manipulations are `stop_controller` and `requests_since` (the lab's request log).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lab_helpers import LabHandle

from drkit.context import Runtime
from drkit.kube import Cluster, ObjectRef, exists, gone, open_cluster, ready, wait_for
from drkit_lab.platforms import CRD_DIR, load_yaml_documents

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def client_runtime(tmp: Path, kubeconfig: Path) -> Runtime:
    return Runtime(
        stdout=sys.stdout,
        stderr=sys.stderr,
        stdin=sys.stdin,
        env={"KUBECONFIG": str(kubeconfig), "PATH": os.environ.get("PATH", "")},
        cwd=tmp,
    )


@contextmanager
def cluster_of(handle: LabHandle, tmp: Path) -> Iterator[Cluster]:
    with open_cluster(client_runtime(tmp, handle.kubeconfig)) as cluster:
        yield cluster


def install_crds(cluster: Cluster, deadline_seconds: float = 30.0) -> None:
    """Apply the CRDs the lab platforms use (Seldon, Argo, SealedSecrets) and wait until Established."""
    refs = []
    for path in sorted(CRD_DIR.glob("*.yaml")):
        for doc in load_yaml_documents(path.read_text(encoding="utf-8")):
            cluster.apply(doc)
            refs.append(ObjectRef.of(doc))
    assert wait_for(cluster, refs, ready(), cluster.monotonic() + deadline_seconds).complete
    cluster.invalidate_discovery()


def model(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Model",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"storageUri": f"gs://lab/{name}", "requirements": ["sklearn"], "replicas": 1},
    }


def create_namespace_with_models(cluster: Cluster, namespace: str, names: list[str]) -> list[ObjectRef]:
    """A namespace and Models in it, each carrying the Seldon finalizer its controller adds."""
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    refs = []
    for name in names:
        cluster.apply(model(namespace, name))
        refs.append(ObjectRef("mlops.seldon.io/v1alpha1", "Model", namespace, name))

    def has_finalizer(obj: dict[str, Any] | None) -> bool:
        return obj is not None and "seldon.model.finalizer" in (obj["metadata"].get("finalizers") or [])

    assert wait_for(cluster, refs, has_finalizer, cluster.monotonic() + 20).complete
    return refs


def delete_namespace_until_stuck(cluster: Cluster, namespace: str, models: list[ObjectRef]) -> None:
    """Delete the namespace; with the scheduler down its Models keep their finalizer and it stays."""
    cluster.delete(ObjectRef("v1", "Namespace", None, namespace))

    def deleting(obj: dict[str, Any] | None) -> bool:
        return obj is not None and bool(obj["metadata"].get("deletionTimestamp"))

    assert wait_for(cluster, models, deleting, cluster.monotonic() + 20).complete
    ns = ObjectRef("v1", "Namespace", None, namespace)
    assert wait_for(cluster, [ns], exists, cluster.monotonic() + 5).complete
    assert not wait_for(cluster, [ns], gone, cluster.monotonic() + 1.0).complete  # stuck, not just slow


# -- lab-only manipulations --------------------------------------------------------------------------


def stop_controller(handle: LabHandle, name: str) -> None:
    """Take a lab controller down (on a real cluster: scale its Deployment to zero)."""
    handle.lab.update_faults({"down_controllers": [name]})


def request_log(handle: LabHandle) -> Path:
    return Path(handle.lab.state.request_log)


def log_size(handle: LabHandle) -> int:
    path = request_log(handle)
    return path.stat().st_size if path.exists() else 0


def requests_since(handle: LabHandle, offset: int) -> list[dict[str, Any]]:
    with request_log(handle).open(encoding="utf-8") as handle_file:
        handle_file.seek(offset)
        return [json.loads(line) for line in handle_file if line.strip()]


DRILL_LEASE = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"


def writes_since(handle: LabHandle, offset: int) -> list[str]:
    """The write requests since `offset`, but for drkit's own drill lease (taken and given back by every
    drill or recovery: coordination, not a change to the platform)."""
    return [
        f"{r['method']} {r['path']}"
        for r in requests_since(handle, offset)
        if r["method"] in WRITE_METHODS and not str(r["path"]).startswith(DRILL_LEASE)
    ]
