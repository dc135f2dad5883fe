"""The kstatus-style readiness table: one small object per row, the status and the words that explain it."""

from __future__ import annotations

from typing import Any

import pytest

from drkit.kube.readiness import (
    CustomRule,
    ReadinessRules,
    Status,
    compute_status,
    parse_path,
    read_path,
)


def cond(type_: str, status: str, reason: str = "", message: str = "") -> dict[str, str]:
    return {"type": type_, "status": status, "reason": reason, "message": message}


def obj(api: str, kind: str, spec: Any = None, status: Any = None, **meta: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": "x", "generation": 1, **meta},
    }
    if spec is not None:
        out["spec"] = spec
    if status is not None:
        out["status"] = status
    return out


def deploy(status: dict[str, Any], replicas: int = 3) -> dict[str, Any]:
    return obj("apps/v1", "Deployment", {"replicas": replicas}, {"observedGeneration": 1, **status})


FULL = {"replicas": 3, "updatedReplicas": 3, "availableReplicas": 3, "readyReplicas": 3}
MODEL = "mlops.seldon.io/v1alpha1"

CASES: list[tuple[str, dict[str, Any] | None, Status, str]] = [
    ("absent", None, Status.NOT_FOUND, "not found"),
    (
        "deleting with finalizer",
        obj(
            MODEL,
            "Model",
            status={},
            deletionTimestamp="2026-01-01T00:00:00Z",
            finalizers=["seldon.model.finalizer"],
        ),
        Status.TERMINATING,
        "seldon.model.finalizer",
    ),
    (
        "generation not observed",
        obj("apps/v1", "Deployment", {"replicas": 1}, {**FULL, "observedGeneration": 1}, generation=2),
        Status.IN_PROGRESS,
        "generation 1, the latest is 2",
    ),
    (
        "reconciling wins over ready",
        obj(
            "example.com/v1",
            "Widget",
            status={"conditions": [cond("Reconciling", "True"), cond("Ready", "True")]},
        ),
        Status.IN_PROGRESS,
        "reconciling",
    ),
    (
        "stalled",
        obj(
            "example.com/v1",
            "Widget",
            status={"conditions": [cond("Stalled", "True", "BadConfig", "no bucket")]},
        ),
        Status.FAILED,
        "no bucket",
    ),
    ("deployment available", deploy(FULL), Status.CURRENT, "3/3 replicas available"),
    (
        "deployment partly available",
        deploy({**FULL, "availableReplicas": 2}),
        Status.IN_PROGRESS,
        "2/3 replicas available",
    ),
    (
        "deployment rolling",
        deploy({**FULL, "updatedReplicas": 1}),
        Status.IN_PROGRESS,
        "1/3 replicas updated",
    ),
    (
        "deployment old replicas",
        deploy({**FULL, "replicas": 4}),
        Status.IN_PROGRESS,
        "1 old replicas pending termination",
    ),
    (
        "deployment deadline",
        deploy({"conditions": [cond("Progressing", "False", "ProgressDeadlineExceeded", "rs timed out")]}),
        Status.FAILED,
        "progress deadline exceeded",
    ),
    (
        "deployment default replicas 1",
        obj("apps/v1", "Deployment", {}, {}),
        Status.IN_PROGRESS,
        "0/1 replicas updated",
    ),
    (
        "statefulset ready",
        obj(
            "apps/v1",
            "StatefulSet",
            {"replicas": 2},
            {
                "replicas": 2,
                "readyReplicas": 2,
                "updatedReplicas": 2,
                "currentRevision": "a",
                "updateRevision": "a",
            },
        ),
        Status.CURRENT,
        "2/2 replicas ready",
    ),
    (
        "statefulset not ready",
        obj("apps/v1", "StatefulSet", {"replicas": 2}, {"replicas": 2, "readyReplicas": 1}),
        Status.IN_PROGRESS,
        "1/2 replicas ready",
    ),
    (
        "statefulset revision pending",
        obj(
            "apps/v1",
            "StatefulSet",
            {"replicas": 1},
            {
                "replicas": 1,
                "readyReplicas": 1,
                "updatedReplicas": 1,
                "currentRevision": "a",
                "updateRevision": "b",
            },
        ),
        Status.IN_PROGRESS,
        "rolling update",
    ),
    (
        "daemonset no status",
        obj("apps/v1", "DaemonSet", {}, {}),
        Status.IN_PROGRESS,
        "desiredNumberScheduled",
    ),
    (
        "daemonset available",
        obj(
            "apps/v1",
            "DaemonSet",
            {},
            {
                "desiredNumberScheduled": 2,
                "currentNumberScheduled": 2,
                "updatedNumberScheduled": 2,
                "numberAvailable": 2,
                "numberReady": 2,
            },
        ),
        Status.CURRENT,
        "2/2",
    ),
    (
        "daemonset partly",
        obj(
            "apps/v1",
            "DaemonSet",
            {},
            {
                "desiredNumberScheduled": 2,
                "currentNumberScheduled": 2,
                "updatedNumberScheduled": 2,
                "numberAvailable": 1,
            },
        ),
        Status.IN_PROGRESS,
        "1/2 pods available",
    ),
    (
        "replicaset ready",
        obj(
            "apps/v1",
            "ReplicaSet",
            {"replicas": 2},
            {"replicas": 2, "fullyLabeledReplicas": 2, "availableReplicas": 2, "readyReplicas": 2},
        ),
        Status.CURRENT,
        "2/2",
    ),
    (
        "replicaset failure",
        obj(
            "apps/v1",
            "ReplicaSet",
            {"replicas": 2},
            {"conditions": [cond("ReplicaFailure", "True", "FailedCreate")]},
        ),
        Status.IN_PROGRESS,
        "FailedCreate",
    ),
    (
        "job complete",
        obj(
            "batch/v1", "Job", {"completions": 1}, {"succeeded": 1, "conditions": [cond("Complete", "True")]}
        ),
        Status.CURRENT,
        "1/1 succeeded",
    ),
    (
        "job failed",
        obj(
            "batch/v1",
            "Job",
            {},
            {"failed": 3, "conditions": [cond("Failed", "True", "BackoffLimitExceeded")]},
        ),
        Status.FAILED,
        "BackoffLimitExceeded",
    ),
    ("job running", obj("batch/v1", "Job", {}, {"active": 1}), Status.IN_PROGRESS, "1 active"),
    ("pod succeeded", obj("v1", "Pod", {}, {"phase": "Succeeded"}), Status.CURRENT, "completed"),
    ("pod failed", obj("v1", "Pod", {}, {"phase": "Failed", "reason": "Evicted"}), Status.FAILED, "Evicted"),
    (
        "pod running ready",
        obj("v1", "Pod", {}, {"phase": "Running", "conditions": [cond("Ready", "True")]}),
        Status.CURRENT,
        "running and ready",
    ),
    (
        "pod crashloop",
        obj(
            "v1",
            "Pod",
            {},
            {
                "phase": "Running",
                "containerStatuses": [
                    {"name": "mlserver", "ready": False, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
                ],
            },
        ),
        Status.FAILED,
        "mlserver is in CrashLoopBackOff",
    ),
    (
        "pod image pull",
        obj(
            "v1",
            "Pod",
            {},
            {
                "phase": "Pending",
                "containerStatuses": [
                    {
                        "name": "app",
                        "state": {"waiting": {"reason": "ImagePullBackOff", "message": "not found"}},
                    }
                ],
            },
        ),
        Status.IN_PROGRESS,
        "app is waiting (ImagePullBackOff): not found",
    ),
    (
        "pod not ready counts containers",
        obj(
            "v1",
            "Pod",
            {},
            {
                "phase": "Running",
                "containerStatuses": [{"name": "a", "ready": True}, {"name": "b", "ready": False}],
            },
        ),
        Status.IN_PROGRESS,
        "1/2 containers ready",
    ),
    (
        "pod unschedulable",
        obj(
            "v1",
            "Pod",
            {},
            {"phase": "Pending", "conditions": [cond("PodScheduled", "False", "Unschedulable", "0/3 nodes")]},
        ),
        Status.IN_PROGRESS,
        "0/3 nodes",
    ),
    ("pvc bound", obj("v1", "PersistentVolumeClaim", {}, {"phase": "Bound"}), Status.CURRENT, "bound"),
    (
        "pvc pending",
        obj("v1", "PersistentVolumeClaim", {}, {"phase": "Pending"}),
        Status.IN_PROGRESS,
        "Pending",
    ),
    ("pvc lost", obj("v1", "PersistentVolumeClaim", {}, {"phase": "Lost"}), Status.FAILED, "lost"),
    (
        "crd established",
        obj(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            {},
            {"conditions": [cond("Established", "True")]},
        ),
        Status.CURRENT,
        "established",
    ),
    (
        "crd names refused",
        obj(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            {},
            {"conditions": [cond("NamesAccepted", "False", "NameConflict", "models taken")]},
        ),
        Status.FAILED,
        "models taken",
    ),
    (
        "crd new",
        obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", {}, {}),
        Status.IN_PROGRESS,
        "established",
    ),
    (
        "namespace stuck",
        obj(
            "v1",
            "Namespace",
            {"finalizers": ["kubernetes"]},
            {
                "phase": "Terminating",
                "conditions": [
                    cond("NamespaceDeletionDiscoveryFailure", "False"),
                    cond(
                        "NamespaceContentRemaining",
                        "True",
                        "SomeResourcesRemain",
                        "Some resources are remaining: models.mlops.seldon.io has 2 resource instances",
                    ),
                ],
            },
            deletionTimestamp="2026-01-01T00:00:00Z",
        ),
        Status.TERMINATING,
        "waiting for finalizers kubernetes; Some resources are remaining: models.mlops.seldon.io has 2",
    ),
    ("namespace active", obj("v1", "Namespace", {}, {"phase": "Active"}), Status.CURRENT, "active"),
    (
        "namespace terminating",
        obj("v1", "Namespace", {}, {"phase": "Terminating"}),
        Status.TERMINATING,
        "terminating",
    ),
    ("configmap has no status", obj("v1", "ConfigMap"), Status.CURRENT, "exists"),
    ("rbac has no status", obj("rbac.authorization.k8s.io/v1", "Role"), Status.CURRENT, "exists"),
    ("service", obj("v1", "Service", {"type": "ClusterIP"}), Status.CURRENT, "exists"),
    (
        "load balancer pending",
        obj("v1", "Service", {"type": "LoadBalancer"}, {}),
        Status.IN_PROGRESS,
        "address",
    ),
    (
        "model without status",
        obj(MODEL, "Model", {"storageUri": "s3://x"}),
        Status.IN_PROGRESS,
        "no status yet",
    ),
    ("model empty status", obj(MODEL, "Model", {}, {}), Status.IN_PROGRESS, "no status yet"),
    (
        "workflow template: configuration, never given a status",
        obj("argoproj.io/v1alpha1", "WorkflowTemplate", {"templates": []}),
        Status.CURRENT,
        "nothing reconciles it",
    ),
    (
        "model ready",
        obj(MODEL, "Model", {}, {"conditions": [cond("ModelReady", "True"), cond("Ready", "True")]}),
        Status.CURRENT,
        "Ready",
    ),
    (
        "model loading",
        obj(
            MODEL,
            "Model",
            {},
            {
                "replicas": 1,
                "availableReplicas": 0,
                "conditions": [cond("Ready", "False", "ModelProgressing", "loading")],
            },
        ),
        Status.IN_PROGRESS,
        "loading); 0/1 replicas available",
    ),
    (
        "model failed",
        obj(
            MODEL,
            "Model",
            {},
            {"conditions": [cond("Ready", "False", "ModelFailed", "no MLmodel at s3://x")]},
        ),
        Status.FAILED,
        "no MLmodel at s3://x",
    ),
    (
        "model status without Ready",
        obj(MODEL, "Model", {}, {"replicas": 1}),
        Status.IN_PROGRESS,
        "waiting for condition Ready",
    ),
    (
        "experiment ready",
        obj(MODEL, "Experiment", {}, {"conditions": [cond("Ready", "True")]}),
        Status.CURRENT,
        "Ready",
    ),
    (
        "server not ready",
        obj(MODEL, "Server", {}, {"conditions": [cond("Ready", "False", "StatefulSetNotReady")]}),
        Status.IN_PROGRESS,
        "StatefulSetNotReady",
    ),
    (
        "workflow pending",
        obj("argoproj.io/v1alpha1", "Workflow", {}, {"phase": "Running"}),
        Status.IN_PROGRESS,
        "Running",
    ),
    ("workflow new", obj("argoproj.io/v1alpha1", "Workflow", {}), Status.IN_PROGRESS, "not started"),
    (
        "workflow done",
        obj("argoproj.io/v1alpha1", "Workflow", {}, {"phase": "Succeeded"}),
        Status.CURRENT,
        "succeeded",
    ),
    (
        "workflow failed",
        obj("argoproj.io/v1alpha1", "Workflow", {}, {"phase": "Failed", "message": "child train failed"}),
        Status.FAILED,
        "child train failed",
    ),
    (
        "workflow error",
        obj("argoproj.io/v1alpha1", "Workflow", {}, {"phase": "Error"}),
        Status.FAILED,
        "error",
    ),
    (
        "sealed secret new",
        obj("bitnami.com/v1alpha1", "SealedSecret", {}),
        Status.IN_PROGRESS,
        "not yet unsealed",
    ),
    (
        "sealed secret synced",
        obj("bitnami.com/v1alpha1", "SealedSecret", {}, {"conditions": [cond("Synced", "True")]}),
        Status.CURRENT,
        "unsealed",
    ),
    (
        "sealed secret wrong key",
        obj(
            "bitnami.com/v1alpha1",
            "SealedSecret",
            {},
            {"conditions": [cond("Synced", "False", "ErrUnsealFailed", "no key could decrypt")]},
        ),
        Status.FAILED,
        "no key could decrypt",
    ),
    (
        "custom resource without status",
        obj("example.com/v1", "Widget", {}),
        Status.IN_PROGRESS,
        "no status yet",
    ),
    (
        "custom resource with plain status",
        obj("example.com/v1", "Widget", {}, {"phase": "Whatever"}),
        Status.CURRENT,
        "",
    ),
    (
        "custom resource ready false",
        obj("example.com/v1", "Widget", {}, {"conditions": [cond("Ready", "False", "Waiting", "disk")]}),
        Status.IN_PROGRESS,
        "disk",
    ),
    (
        "custom resource ready",
        obj("example.com/v1", "Widget", {}, {"conditions": [cond("Ready", "True")]}),
        Status.CURRENT,
        "",
    ),
]


@pytest.mark.parametrize(("obj_", "status", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_readiness_table(obj_: dict[str, Any] | None, status: Status, words: str) -> None:
    result = compute_status(obj_)
    assert result.status is status, result.message
    assert words in result.message
    assert result.ready is (status is Status.CURRENT)


def test_custom_condition_rule_replaces_the_builtin_one() -> None:
    rules = ReadinessRules((CustomRule("mlops.seldon.io", "Model", condition="ModelReady"),))
    model = obj(
        MODEL, "Model", {}, {"conditions": [cond("Ready", "True"), cond("ModelReady", "False", "Loading")]}
    )
    assert compute_status(model).status is Status.CURRENT
    result = compute_status(model, rules)
    assert result.status is Status.IN_PROGRESS
    assert "ModelReady=False" in result.message


def test_custom_jsonpath_rule_with_failed_values() -> None:
    rules = ReadinessRules(
        (
            CustomRule(
                "example.com/v1",
                "Widget",
                jsonpath="{.status.phase}",
                equals="Ready",
                failed_values=("Broken",),
            ),
        )
    )
    assert (
        compute_status(obj("example.com/v1", "Widget", {}, {"phase": "Ready"}), rules).status
        is Status.CURRENT
    )
    assert (
        compute_status(obj("example.com/v1", "Widget", {}, {"phase": "Broken"}), rules).status
        is Status.FAILED
    )
    pending = compute_status(obj("example.com/v1", "Widget", {}, {"phase": "Pending"}), rules)
    assert pending.status is Status.IN_PROGRESS
    assert "waiting for Ready" in pending.message
    # A rule for another version does not apply.
    assert compute_status(obj("example.com/v2", "Widget", {}), rules).message.startswith("no status yet")


def test_custom_rule_does_not_override_deletion() -> None:
    rules = ReadinessRules((CustomRule("v1", "ConfigMap", jsonpath=".data.ok", equals="yes"),))
    cm = obj("v1", "ConfigMap", deletionTimestamp="now")
    cm["data"] = {"ok": "yes"}
    assert compute_status(cm, rules).status is Status.TERMINATING


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"condition": "Ready", "jsonpath": ".status.phase", "equals": "x"},
        {"jsonpath": ".status.phase"},
        {"jsonpath": "status..phase!", "equals": "x"},
    ],
)
def test_custom_rule_rejects_incomplete_definitions(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        CustomRule("v1", "ConfigMap", **kwargs)


def test_jsonpath_subset() -> None:
    data = {"status": {"conditions": [{"type": "A", "status": "False"}, {"type": "Ready", "status": "True"}]}}
    assert read_path(data, '.status.conditions[?(@.type=="Ready")].status') == "True"
    assert read_path(data, "{.status.conditions[0].type}") == "A"
    assert read_path(data, ".status.conditions[5].type") is None
    assert read_path(data, ".spec.replicas") is None
    assert parse_path("status.phase") == ("status", "phase")
