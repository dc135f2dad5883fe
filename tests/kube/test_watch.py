"""wait_for against the lab: watch-driven, tolerant of cut streams, absent objects and deletions."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from kube_lab import Lab, running_lab

from drkit.kube import (
    Cluster,
    ClusterConfig,
    Forbidden,
    ObjectRef,
    Selection,
    exists,
    gone,
    ready,
    wait_for,
)
from drkit_lab.apiserver.store import Store

MODEL_API = "mlops.seldon.io/v1alpha1"


def configmap(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
    }


def model(name: str, finalizers: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "apiVersion": MODEL_API,
        "kind": "Model",
        "metadata": {"name": name, "namespace": "default", "finalizers": list(finalizers)},
        "spec": {"storageUri": "s3://b/1/models/m-1/artifacts/"},
    }


@contextmanager
def later(seconds: float, action: Callable[[], object]) -> Iterator[None]:
    """Run `action` in a thread after `seconds` (an event happening while drkit waits); always joined."""
    timer = threading.Timer(seconds, action)
    timer.start()
    try:
        yield
    finally:
        timer.join()


def deadline(cluster: Cluster, seconds: float = 10.0) -> float:
    return cluster.monotonic() + seconds


def test_wait_until_deleted_by_watch(with_model_crd: Cluster) -> None:
    cluster = with_model_crd
    ref = ObjectRef.of(cluster.apply(model("baseline-predictor", ("seldon.model.finalizer",))))
    cluster.delete(ref)
    seen: list[str] = []

    def on_change(changed: ObjectRef, obj: dict[str, Any] | None) -> None:
        seen.append("absent" if obj is None else "terminating")
        if obj is not None and obj["metadata"].get("deletionTimestamp"):
            # The controller that owns the finalizer does its job while drkit watches.
            cluster.patch_merge(
                changed,
                {"metadata": {"finalizers": None}},
                resource_version=obj["metadata"]["resourceVersion"],
            )

    result = wait_for(cluster, [ref], gone, deadline(cluster), on_change)
    assert result.complete
    assert ref in result.satisfied_at
    assert result.last_seen[ref] is None
    assert seen == ["terminating", "absent"]


def test_waiting_for_deletion_of_something_absent_is_immediately_done(cluster: Cluster) -> None:
    ref = ObjectRef("v1", "ConfigMap", "default", "never")
    result = wait_for(cluster, [ref], gone, deadline(cluster))
    assert result.complete
    assert result.last_seen == {ref: None}


def test_wait_for_an_object_that_does_not_exist_yet(cluster: Cluster) -> None:
    ref = ObjectRef("v1", "ConfigMap", "default", "late")
    with later(0.3, lambda: cluster.apply(configmap("late"))):
        result = wait_for(cluster, [ref], exists, deadline(cluster))
    assert result.complete
    late = result.last_seen[ref]
    assert late is not None
    assert late["metadata"]["name"] == "late"


def test_wait_for_readiness_follows_status_changes(with_model_crd: Cluster, lab: Lab) -> None:
    cluster = with_model_crd
    ref = ObjectRef.of(cluster.apply(model("enhanced-predictor")))
    rtype = lab.store.registry.by_kind(MODEL_API, "Model")
    assert rtype is not None

    def set_status(status: dict[str, Any]) -> None:  # what the Seldon controller would do
        lab.store.mutate(
            rtype, "default", "enhanced-predictor", lambda o: {**o, "status": status}, subresource="status"
        )

    def become_ready() -> None:
        set_status({"conditions": [{"type": "Ready", "status": "False", "reason": "ModelProgressing"}]})
        set_status({"conditions": [{"type": "Ready", "status": "True"}]})

    messages: list[str] = []
    with later(0.3, become_ready):
        result = wait_for(
            cluster,
            [ref],
            ready(),
            deadline(cluster),
            lambda _, obj: messages.append("ready" if obj and obj.get("status") else "no status"),
        )
    assert result.complete
    assert messages == ["no status", "ready", "ready"]  # each change is seen; the last one satisfies


def test_wait_survives_cut_watch_streams(lab: Lab, cluster: Cluster) -> None:
    lab.set_faults(watch_cut_after=0.1)
    ref = ObjectRef("v1", "ConfigMap", "default", "after-cuts")
    with later(0.8, lambda: cluster.apply(configmap("after-cuts"))):
        result = wait_for(cluster, [ref], exists, deadline(cluster))
    lab.set_faults()
    assert result.complete


def test_wait_times_out_with_what_is_pending(cluster: Cluster) -> None:
    ref = ObjectRef("v1", "ConfigMap", "default", "never-comes")
    result = wait_for(cluster, [ref], exists, cluster.monotonic() + 1.0)
    assert not result.complete
    assert result.pending == [ref]


def test_selection_waits_for_every_member(cluster: Cluster) -> None:
    cluster.apply(configmap("a", app="x"))
    selection = Selection("v1", "ConfigMap", "default", "app=x")

    def labelled(obj: dict[str, Any] | None) -> bool:
        return obj is not None and obj["metadata"].get("labels", {}).get("done") == "yes"

    def finish() -> None:
        cluster.apply(configmap("a", app="x", done="yes"))

    with later(0.3, finish):
        result = wait_for(cluster, selection, labelled, deadline(cluster))
    assert result.complete
    assert set(result.satisfied_at) == {ObjectRef("v1", "ConfigMap", "default", "a")}


def test_selection_gone_completes_when_empty(cluster: Cluster) -> None:
    cluster.apply(configmap("b1", app="y"))
    cluster.apply(configmap("b2", app="y"))

    def delete_all() -> None:
        for name in ("b1", "b2"):
            cluster.delete(ObjectRef("v1", "ConfigMap", "default", name))

    with later(0.3, delete_all):
        result = wait_for(cluster, Selection("v1", "ConfigMap", "default", "app=y"), gone, deadline(cluster))
    assert result.complete
    assert len(result.satisfied_at) == 2


def test_several_kinds_are_watched_in_parallel(with_model_crd: Cluster) -> None:
    cluster = with_model_crd
    refs = [ObjectRef("v1", "ConfigMap", "default", "cm"), ObjectRef(MODEL_API, "Model", "default", "m")]

    def create_both() -> None:
        cluster.apply(configmap("cm"))
        cluster.apply(model("m"))

    with later(0.3, create_both):
        result = wait_for(cluster, refs, exists, deadline(cluster))
    assert result.complete
    assert set(result.satisfied_at) == set(refs)


def test_an_expired_version_is_relisted(tmp_path: Path) -> None:
    """Many changes between the list and the watch: the server answers 410 Expired and drkit lists again."""
    with running_lab(tmp_path, Store(history=3)) as small_lab:
        config = ClusterConfig.from_env({"KUBECONFIG": str(small_lab.kubeconfig)})
        with Cluster(config, sleep=lambda _: None) as cluster:
            ref = ObjectRef("v1", "ConfigMap", "default", "target")
            churned = False

            def churn(_: ObjectRef, obj: dict[str, Any] | None) -> None:
                nonlocal churned
                if not churned:  # runs after the list, before the watch starts from its version
                    churned = True
                    for i in range(6):
                        cluster.apply(configmap(f"noise-{i}"))
                    cluster.apply(configmap("target"))

            result = wait_for(cluster, [ref], exists, deadline(cluster), churn)
    assert result.complete
    assert churned


def test_a_failing_kind_ends_the_parallel_wait_without_waiting_out_the_others(
    with_model_crd: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = with_model_crd
    real_list = cluster.list_with_version

    def forbidden_for_models(api_version: str, kind: str, *args: Any) -> tuple[list[dict[str, Any]], str]:
        if kind == "Model":
            started.wait(5)  # let the ConfigMap waiter open its watch first
            raise Forbidden("may not list models.mlops.seldon.io", status=403)
        result = real_list(api_version, kind, *args)
        started.set()
        return result

    started = threading.Event()
    monkeypatch.setattr(cluster, "list_with_version", forbidden_for_models)
    refs = [ObjectRef("v1", "ConfigMap", "default", "never"), ObjectRef(MODEL_API, "Model", "default", "m")]
    begin = cluster.monotonic()
    with pytest.raises(Forbidden):
        wait_for(cluster, refs, exists, begin + 60)
    assert cluster.monotonic() - begin < 30  # the ConfigMap watch was interrupted, not waited out
