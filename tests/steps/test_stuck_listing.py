"""How much a stuck-deletion diagnosis lists: what the namespace controller's NamespaceContentRemaining
condition names in a Terminating namespace, a full sweep elsewhere, and no repeated sweep within a clearing
while the namespace has not changed."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any, cast

import pytest

from drkit.domain.finalizer_clearing import ClearSettings, Clock, clear_stuck
from drkit.domain.stuck import (
    GroupResource,
    SweepMemo,
    diagnose,
    diagnose_everywhere,
    namespace_state,
    remaining_content,
)
from drkit.domain.timestamps import parse_time
from drkit.kube import Cluster, Forbidden, ResourceInfo, ServedResources
from drkit.report.stuck_views import AuditRecord

NOW = parse_time("2026-01-01T00:10:00Z") or 0.0
DELETED = "2026-01-01T00:00:00Z"

MODEL = ResourceInfo("mlops.seldon.io", "v1alpha1", "Model", "models", True)
EXPERIMENT = ResourceInfo("mlops.seldon.io", "v1alpha1", "Experiment", "experiments", True)
CONFIGMAP = ResourceInfo("", "v1", "ConfigMap", "configmaps", True)
POD = ResourceInfo("", "v1", "Pod", "pods", True)
DEPLOYMENT = ResourceInfo("apps", "v1", "Deployment", "deployments", True)
NAMESPACE = ResourceInfo("", "v1", "Namespace", "namespaces", False)
SERVED = (MODEL, EXPERIMENT, CONFIGMAP, POD, DEPLOYMENT, NAMESPACE)


def _condition(kind: str, status: str, reason: str, message: str) -> dict[str, str]:
    return {"type": kind, "status": status, "reason": reason, "message": message}


def _remaining(message: str) -> dict[str, str]:
    return _condition("NamespaceContentRemaining", "True", "SomeResourcesRemain", message)


def _namespace(
    name: str, *conditions: dict[str, str], terminating: bool = True, rv: str = "1"
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "resourceVersion": rv}
    if terminating:
        meta["deletionTimestamp"] = DELETED
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": meta,
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Terminating" if terminating else "Active", "conditions": list(conditions)},
    }


def _held(info: ResourceInfo, namespace: str, name: str, *, deleted: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": f"uid-{name}",
        "resourceVersion": "5",
        "finalizers": ["seldon.model.finalizer"],
    }
    if deleted:
        meta["deletionTimestamp"] = DELETED
    return {"apiVersion": info.api_version, "kind": info.kind, "metadata": meta}


class CountingCluster:
    """The operations a clearing uses, on in-memory objects; counts the diagnosis lists by (kind, namespace)
    (the waits' lists are counted apart). A finalizer patch that empties the list deletes the object, as an
    API server does, so waiting for it to go ends with the first list."""

    def __init__(self, namespaces: dict[str, dict[str, Any]], objects: list[dict[str, Any]]) -> None:
        self.namespaces = namespaces
        self.objects = objects
        self.lists: Counter[tuple[str, str]] = Counter()
        self.forbidden: set[str] = set()
        self.wait_lists = 0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return 0.0

    def resolve(self, ref: Any) -> tuple[ResourceInfo, Any]:
        return next(i for i in SERVED if i.kind == ref.kind), ref

    def list_with_version(
        self, api_version: str, kind: str, namespace: str | None, *_: object
    ) -> tuple[list[dict[str, Any]], str]:
        with self._lock:
            self.wait_lists += 1
        return [o for o in self.objects if o["kind"] == kind and o["metadata"]["namespace"] == namespace], "9"

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        if kind == "Namespace":
            return self.namespaces.get(name)
        return next((o for o in self.objects if _key(o) == (kind, namespace, name)), None)

    def served_resources(self, verb: str = "list") -> ServedResources:
        return ServedResources(SERVED, ())

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, **_: object
    ) -> list[dict[str, Any]]:
        """In `namespace`, or (None) in every namespace; `"*"` counts the lists across all of them."""
        with self._lock:
            self.lists[(kind, "*" if namespace is None else namespace)] += 1
        if kind in self.forbidden:
            raise Forbidden(f"the credentials may not list {kind}")
        if kind == "Namespace":
            return list(self.namespaces.values())
        return [
            o for o in self.objects if o["kind"] == kind and namespace in (None, o["metadata"]["namespace"])
        ]

    def patch_merge(
        self, ref: Any, patch: dict[str, Any], *, resource_version: str | None = None
    ) -> dict[str, Any]:
        """As an API server: the object with a new resourceVersion (deleted once no finalizer is left)."""
        obj = self.get(ref.api_version, ref.kind, ref.name, ref.namespace)
        assert obj is not None
        assert resource_version == obj["metadata"]["resourceVersion"]
        obj["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 1)
        finalizers = patch["metadata"]["finalizers"]
        if finalizers:
            obj["metadata"]["finalizers"] = finalizers
        else:
            self.objects.remove(obj)
        return obj

    def listed_kinds(self, namespace: str) -> set[str]:
        return {kind for kind, ns in self.lists if ns == namespace}


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    return obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"]


def _diagnose(cluster: CountingCluster, *namespaces: str, **options: Any) -> Any:
    return diagnose(cast(Cluster, cluster), namespaces, now=NOW, after=30.0, **options)


# --- reading the condition -----------------------------------------------------------------------


def test_a_message_worded_otherwise_is_not_trusted() -> None:
    # Without the core group's dot the item is not in kube-controller-manager's form: drkit lists for itself.
    state = namespace_state(
        "fi", _namespace("fi", _remaining("Some resources are remaining: pods has 3 resource instances")), NOW
    )
    assert remaining_content(state) is None


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Some resources are remaining: models.mlops.seldon.io has 2 resource instances",
            (GroupResource("models", "mlops.seldon.io"),),
        ),
        (  # kube-controller-manager's form for the core group keeps the dot
            "Some resources are remaining: configmaps. has 1 resource instances, "
            "experiments.mlops.seldon.io has 1 resource instances, pods. has 3 resource instances",
            (
                GroupResource("configmaps", ""),
                GroupResource("experiments", "mlops.seldon.io"),
                GroupResource("pods", ""),
            ),
        ),
        (
            "Some resources are remaining: deployments.apps has 1 resource instances",
            (GroupResource("deployments", "apps"),),
        ),
    ],
)
def test_the_content_remaining_condition_names_group_resources(
    message: str, expected: tuple[GroupResource, ...]
) -> None:
    state = namespace_state("fi", _namespace("fi", _remaining(message)), NOW)
    assert remaining_content(state) == expected
    assert str(expected[0]) in message


def test_content_removed_means_nothing_left_to_list() -> None:
    removed = _condition(
        "NamespaceContentRemaining", "False", "ContentRemoved", "All content successfully removed"
    )
    assert remaining_content(namespace_state("fi", _namespace("fi", removed), NOW)) == ()


@pytest.mark.parametrize(
    ("namespace", "why"),
    [
        (_namespace("fi"), "no condition yet: the controller has not reported"),
        (
            _namespace(
                "fi",
                _remaining("Some resources are remaining: models.mlops.seldon.io has 2"),
                terminating=False,
            ),
            "not Terminating: the condition cannot be current",
        ),
        (_namespace("fi", _remaining("Quelques ressources restent: models")), "a message in another form"),
        (
            _namespace(
                "fi", _remaining("Some resources are remaining: models.mlops.seldon.io has many instances")
            ),
            "an item in another form",
        ),
        (
            _namespace(
                "fi",
                _remaining("Some resources are remaining: models.mlops.seldon.io has 2 resource instances"),
                _condition(
                    "NamespaceDeletionDiscoveryFailure", "True", "DiscoveryFailed", "metrics.k8s.io/v1: 503"
                ),
            ),
            "discovery failed: the controller's count may miss whole groups",
        ),
    ],
)
def test_without_a_usable_condition_the_namespace_cannot_tell(namespace: dict[str, Any], why: str) -> None:
    assert remaining_content(namespace_state("fi", namespace, NOW)) is None, why


# --- what gets listed ----------------------------------------------------------------------------


def test_a_terminating_namespace_lists_only_what_its_condition_names() -> None:
    message = "Some resources are remaining: models.mlops.seldon.io has 2 resource instances"
    cluster = CountingCluster(
        {"fi": _namespace("fi", _remaining(message))},
        [_held(MODEL, "fi", "a"), _held(MODEL, "fi", "b")],
    )

    found = _diagnose(cluster, "fi")

    assert cluster.lists == Counter({("Model", "fi"): 1})
    assert [o.ref.name for o in found.stuck] == ["a", "b"]
    assert found.unreadable == ()


def test_without_the_condition_every_namespaced_kind_is_listed() -> None:
    cluster = CountingCluster({"fi": _namespace("fi")}, [_held(MODEL, "fi", "a")])

    found = _diagnose(cluster, "fi")

    assert cluster.listed_kinds("fi") == {"Model", "Experiment", "ConfigMap", "Pod", "Deployment"}
    assert sum(cluster.lists.values()) == 5  # each once; Namespace itself is cluster-scoped
    assert [o.ref.name for o in found.stuck] == ["a"]


def test_kinds_still_narrow_what_the_condition_names() -> None:
    message = (
        "Some resources are remaining: experiments.mlops.seldon.io has 1 resource instances, "
        "models.mlops.seldon.io has 1 resource instances"
    )
    cluster = CountingCluster(
        {"fi": _namespace("fi", _remaining(message))},
        [_held(MODEL, "fi", "m"), _held(EXPERIMENT, "fi", "e")],
    )

    found = _diagnose(cluster, "fi", kinds=("Experiment",))

    assert cluster.lists == Counter({("Experiment", "fi"): 1})
    assert [o.ref.name for o in found.stuck] == ["e"]
    assert found.unreadable == ()  # Model was not asked for: not "unserved"


def test_a_named_kind_the_server_does_not_serve_is_reported_not_skipped_silently() -> None:
    message = "Some resources are remaining: servers.mlops.seldon.io has 1 resource instances"
    cluster = CountingCluster({"fi": _namespace("fi", _remaining(message))}, [])

    found = _diagnose(cluster, "fi")

    assert sum(cluster.lists.values()) == 0
    [problem] = found.unreadable
    assert problem.startswith(
        "servers.mlops.seldon.io in fi: named by its NamespaceContentRemaining condition"
    )


def test_a_namespace_whose_content_is_removed_lists_nothing() -> None:
    removed = _condition(
        "NamespaceContentRemaining", "False", "ContentRemoved", "All content successfully removed"
    )
    cluster = CountingCluster({"fi": _namespace("fi", removed)}, [])

    assert _diagnose(cluster, "fi").objects == ()
    assert sum(cluster.lists.values()) == 0


def test_with_a_memo_an_unchanged_namespace_is_not_swept_again() -> None:
    cluster = CountingCluster(
        {"fi": _namespace("fi", terminating=False)},
        [_held(MODEL, "fi", "deleted"), _held(POD, "fi", "alive", deleted=False)],
    )
    memo = SweepMemo()

    first = _diagnose(cluster, "fi", memo=memo)
    second = _diagnose(cluster, "fi", memo=memo)

    assert [o.ref.name for o in first.stuck] == [o.ref.name for o in second.stuck] == ["deleted"]
    # one full sweep (5 kinds), then only the kind in which something was being deleted
    assert cluster.lists[("Model", "fi")] == 2
    assert sum(cluster.lists.values()) == 6


def test_a_namespace_that_changed_is_swept_again() -> None:
    cluster = CountingCluster({"fi": _namespace("fi", terminating=False, rv="1")}, [_held(MODEL, "fi", "a")])
    memo = SweepMemo()
    _diagnose(cluster, "fi", memo=memo)

    cluster.namespaces["fi"] = _namespace("fi", terminating=False, rv="2")
    _diagnose(cluster, "fi", memo=memo)

    assert sum(cluster.lists.values()) == 10


def test_a_sweep_that_could_not_list_a_kind_is_not_remembered() -> None:
    cluster = CountingCluster({"fi": _namespace("fi", terminating=False)}, [_held(MODEL, "fi", "a")])
    cluster.forbidden.add("ConfigMap")
    memo = SweepMemo()

    first = _diagnose(cluster, "fi", memo=memo)
    _diagnose(cluster, "fi", memo=memo)

    assert any(p.startswith("configmaps in fi:") for p in first.unreadable)
    assert cluster.lists[("ConfigMap", "fi")] == 2  # tried again: what it holds is still unknown


def test_a_clearing_sweeps_each_namespace_once() -> None:
    """`drkit finalizers clear` on a namespace that is not being deleted: diagnose, clear, diagnose again
    (the next round), final diagnosis. Before the memo, each of those swept every kind."""
    cluster = CountingCluster(
        {"fi": _namespace("fi", terminating=False)},
        [_held(MODEL, "fi", "a"), _held(EXPERIMENT, "fi", "e"), _held(CONFIGMAP, "fi", "cm", deleted=False)],
    )
    clock = Clock(wall=lambda: NOW, monotonic=lambda: 0.0)

    outcome = clear_stuck(
        cast(Cluster, cluster), ClearSettings(namespaces=("fi",), after=30.0), clock=clock, deadline=60.0
    )

    assert outcome.complete, outcome.message
    assert len(outcome.view["removed"]) == 2
    assert [o["metadata"]["name"] for o in cluster.objects] == ["cm"]
    swept = {kind: n for (kind, _), n in cluster.lists.items()}
    assert swept["ConfigMap"] == swept["Pod"] == swept["Deployment"] == 1
    assert swept["Model"] == swept["Experiment"] >= 2


def test_each_removal_is_reported_as_it_lands_with_the_versions_before_and_after() -> None:
    cluster = CountingCluster(
        {"fi": _namespace("fi", terminating=False)}, [_held(MODEL, "fi", "a"), _held(EXPERIMENT, "fi", "e")]
    )
    heard: list[AuditRecord] = []
    clock = Clock(wall=lambda: NOW, monotonic=lambda: 0.0)

    outcome = clear_stuck(
        cast(Cluster, cluster),
        ClearSettings(namespaces=("fi",), after=30.0),
        clock=clock,
        deadline=60.0,
        on_removed=heard.append,
    )

    assert heard == outcome.view["removed"]
    assert {r["object"]: (r["resourceVersionBefore"], r["resourceVersionAfter"]) for r in heard} == {
        "Model fi/a": ("5", "6"),
        "Experiment fi/e": ("5", "6"),
    }


def test_a_dry_run_says_what_it_would_wait_for_and_nothing_is_still_there() -> None:
    message = "Some resources are remaining: models.mlops.seldon.io has 1 resource instances"
    cluster = CountingCluster({"fi": _namespace("fi", _remaining(message))}, [_held(MODEL, "fi", "a")])
    clock = Clock(wall=lambda: NOW, monotonic=lambda: 0.0)

    outcome = clear_stuck(
        cast(Cluster, cluster),
        ClearSettings(namespaces=("fi",), after=30.0, force=True),
        clock=clock,
        deadline=60.0,
        dry_run=True,
    )

    assert [o["metadata"]["name"] for o in cluster.objects] == ["a"]  # nothing was patched
    assert outcome.view["remaining"] == []
    [record] = outcome.view["removed"]
    assert (record["resourceVersionBefore"], record["resourceVersionAfter"]) == ("5", None)
    [ns] = outcome.view["namespaces"]
    assert ns["message"].startswith(
        f"would wait for it to finish terminating (NamespaceContentRemaining: {message}"
    )
    assert "if it stays stuck, would finalize it (force" in ns["message"]


def test_across_all_namespaces_each_kind_is_listed_once() -> None:
    cluster = CountingCluster(
        {
            "fi": _namespace("fi", terminating=False),
            "kube-system": _namespace("kube-system", terminating=False),
            "quiet": _namespace("quiet", terminating=False),
            "going": _namespace("going"),
        },
        [
            _held(MODEL, "fi", "a"),
            _held(POD, "kube-system", "p"),
            _held(CONFIGMAP, "quiet", "alive", deleted=False),
        ],
    )

    found = diagnose_everywhere(cast(Cluster, cluster), now=NOW, after=30.0)

    assert {str(o.ref) for o in found.stuck} == {"Model fi/a", "Pod kube-system/p"}
    # the namespaces worth showing: those holding something stuck, and those being deleted
    assert [n.name for n in found.namespaces] == ["fi", "going", "kube-system"]
    namespaced = {"Model", "Experiment", "ConfigMap", "Pod", "Deployment"}
    assert cluster.lists == Counter({**{(k, "*"): 1 for k in namespaced}, ("Namespace", "*"): 1})


def test_across_all_namespaces_a_kind_that_cannot_be_listed_is_reported() -> None:
    cluster = CountingCluster({"fi": _namespace("fi", terminating=False)}, [_held(MODEL, "fi", "a")])
    cluster.forbidden.add("Pod")

    found = diagnose_everywhere(cast(Cluster, cluster), now=NOW, after=30.0)

    assert [str(o.ref) for o in found.stuck] == ["Model fi/a"]
    [problem] = found.unreadable
    assert problem == "pods in all namespaces: the credentials may not list Pod"
