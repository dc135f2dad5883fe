"""The clearing procedure on many stuck objects at once, against the lab's API server in-process (no
controllers: an object deleted with a finalizer stays until drkit removes it).

Removals go out several at a time; what must hold whatever order the server answers in: each object is
patched once, each removal is heard by `on_removed` once, the audit keeps the diagnosis' order, and
everything cleared is gone when the procedure returns."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kube_lab import Lab

from drkit.domain.finalizer_clearing import ClearSettings, Clock, clear_stuck
from drkit.kube import Cluster, ClusterConfig, ObjectRef
from drkit.report.stuck_views import AuditRecord

NAMESPACE = "many"
FINALIZER = "example.com/hold"
COUNT = 40


@pytest.fixture
def cluster(lab: Lab) -> Iterator[Cluster]:
    with Cluster(ClusterConfig.from_env({"KUBECONFIG": str(lab.kubeconfig)})) as c:
        yield c


def _stuck(cluster: Cluster) -> list[ObjectRef]:
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    refs = [ObjectRef("v1", "ConfigMap", NAMESPACE, f"held-{i:02d}") for i in range(COUNT)]
    for ref in refs:
        meta = {"name": ref.name, "namespace": NAMESPACE, "finalizers": [FINALIZER]}
        cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta})
        cluster.delete(ref)
    return refs


def test_many_stuck_objects_are_each_patched_once_heard_once_and_audited_in_order(
    lab: Lab, cluster: Cluster, tmp_path: Path
) -> None:
    refs = _stuck(cluster)
    heard: list[AuditRecord] = []
    before = len(lab.requests())
    outcome = clear_stuck(
        cluster,
        ClearSettings(namespaces=(NAMESPACE,), after=0.0, kinds=("ConfigMap",)),
        clock=Clock(wall=time.time, monotonic=time.monotonic),
        deadline=time.monotonic() + 60,
        on_removed=heard.append,
    )
    assert outcome.complete, outcome.message
    patched = [r["path"].rsplit("/", 1)[-1] for r in lab.requests()[before:] if r["method"] == "PATCH"]
    assert sorted(patched) == [ref.name for ref in refs]  # once each, none twice
    assert sorted(str(r["object"]) for r in heard) == sorted(str(ref) for ref in refs)
    audit = [str(r["object"]) for r in outcome.view["removed"]]
    assert audit == sorted(audit) == [str(ref) for ref in refs]
    assert all(cluster.get("v1", "ConfigMap", ref.name, NAMESPACE) is None for ref in refs)
