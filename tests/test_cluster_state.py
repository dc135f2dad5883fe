"""The cluster-state dump the crash and fault suites compare runs with (tests/cluster_state.py): what it
ignores between two healthy runs, and that it still sees a real difference."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cluster_state import compare, normalise_all

RUN_A, RUN_B = "20260101-120000-ab12", "20260101-130000-cd34"


def _workflow(name: str, run_id: str, step: str, *, phase: str = "Succeeded") -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {
            "name": name,
            "generateName": "financial-training-pipeline-template-",
            "namespace": "financial-mlops-pytorch",
            "uid": f"uid-{name}",
            "resourceVersion": "17" if run_id == RUN_A else "99",
            "creationTimestamp": "2026-01-01T12:00:00Z",
            "generation": 3,
            "labels": {"drkit.io/run-id": run_id, "drkit.io/step": step},
            "managedFields": [{"manager": "drkit", "time": "2026-01-01T12:00:00Z"}],
        },
        "spec": {"workflowTemplateRef": {"name": "financial-training-pipeline-template"}},
        "status": {
            "phase": phase,
            "startedAt": "2026-01-01T12:00:01Z",
            "finishedAt": "2026-01-01T12:00:09Z",
            "estimatedDuration": 8,
            "observedGeneration": 3,
            "nodes": {  # Argo's node ids hash the node names, so the Workflow's generated name
                name: {"id": name, "displayName": name, "phase": phase, "children": [f"{name}-{hash(name)}"]},
                f"{name}-{hash(name)}": {
                    "id": f"{name}-{hash(name)}",
                    "name": f"{name}[0].train",
                    "phase": phase,
                },
            },
            "conditions": [
                {"type": "Completed", "status": "True", "lastTransitionTime": "2026-01-01T12:00:09Z"}
            ],
        },
    }


def _model(uri: str, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Model",
        "metadata": {"name": "baseline-predictor", "namespace": "financial-inference", **meta},
        "spec": {"storageUri": uri, "requirements": ["sklearn"]},
        "status": {"conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "x"}]},
    }


URI = "s3://mlflow-artifacts/1/models/m-{}/artifacts"


def _healthy_run(run_id: str, suffix: str, model_id: str) -> list[dict[str, Any]]:
    stamp = "2026-01-01T12:00:00Z" if run_id == RUN_A else "2026-01-01T13:00:00.5+01:00"
    address = "10.0.0.129" if run_id == RUN_A else "10.0.0.232"
    return [
        _workflow(f"financial-training-pipeline-template-{suffix}", run_id, "pipelines.train-baseline"),
        _model(URI.format(model_id), uid=f"u-{suffix}", generation=1 if run_id == RUN_A else 2),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "mlserver", "namespace": "financial-inference"},
            "spec": {
                "clusterIP": address,
                "clusterIPs": [model_id[:3]],
                "ports": [{"port": 9000}],
            },
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": f"mlserver-{suffix}",
                "generateName": "mlserver-",
                "namespace": "financial-inference",
                "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": stamp},
            },
            "endpoints": [
                {"addresses": [suffix], "targetRef": {"kind": "Pod", "name": "mlserver-0", "uid": suffix}}
            ],
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "mlserver-0", "namespace": "financial-inference"},
            "spec": {"volumes": [{"name": f"kube-api-access-{suffix}"}]},
            "status": {
                "podIP": "10.0.0.1" if run_id == RUN_A else "10.0.0.7",
                "startTime": suffix,
                "phase": "Running",
            },
        },
    ]


def test_two_healthy_runs_compare_equal() -> None:
    a = normalise_all(_healthy_run(RUN_A, "x7k2p", "a" * 32))
    b = normalise_all(_healthy_run(RUN_B, "q9zz1", "b" * 32))
    assert compare(a, b) == ""
    # The Workflow is keyed by its step, not its random name.
    assert "Workflow.argoproj.io financial-mlops-pytorch/step=pipelines.train-baseline" in a


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda objs: objs[1]["spec"].update(requirements=["xgboost"]), '"xgboost"'),
        (lambda objs: objs[1]["spec"].update(storageUri="s3://elsewhere/m-" + "c" * 32), "s3://elsewhere"),
        (lambda objs: objs[0]["status"].update(phase="Failed"), '"Failed"'),
        (lambda objs: objs[1]["metadata"].update(deletionTimestamp="2026-01-01T12:00:00Z"), "<set>"),
        (lambda objs: objs[1]["metadata"].update(finalizers=["seldon.model.finalizer"]), "seldon.model"),
        (lambda objs: objs[4]["status"].update(phase="Pending"), '"Pending"'),
        (lambda objs: objs[2]["spec"]["ports"][0].update(port=9001), "9001"),
        (lambda objs: objs[3]["endpoints"][0]["targetRef"].update(name="mlserver-1"), "mlserver-1"),
        (lambda objs: objs.pop(1), "only in a: Model.mlops.seldon.io financial-inference/baseline-predictor"),
    ],
    ids=[
        "spec",
        "storage-path",
        "workflow-phase",
        "terminating",
        "finalizer",
        "pod-phase",
        "service-port",
        "endpoint-target",
        "missing",
    ],
)
def test_a_real_difference_is_flagged(damage: Any, expected: str) -> None:
    a = normalise_all(_healthy_run(RUN_A, "x7k2p", "a" * 32))
    damaged = _healthy_run(RUN_B, "q9zz1", "b" * 32)
    damage(damaged)
    diff = compare(a, normalise_all(damaged))
    assert diff
    assert expected in diff, diff


def test_a_duplicate_workflow_for_a_step_is_refused_or_extra() -> None:
    # Two Workflows for one step of one run: the dump cannot key them both, and says so.
    objs = _healthy_run(RUN_A, "x7k2p", "a" * 32)
    objs.append(copy.deepcopy(objs[0]) | {"metadata": {**objs[0]["metadata"], "name": "other"}})
    with pytest.raises(AssertionError, match="share the key"):
        normalise_all(objs)


def test_an_extra_generated_object_is_flagged() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "wf-abc12", "generateName": "wf-", "namespace": "financial-mlops-pytorch"},
        "spec": {"containers": [{"name": "main", "image": "python"}]},
    }
    a = normalise_all([pod])
    b = normalise_all([pod, {**pod, "metadata": {**pod["metadata"], "name": "wf-zz999"}}])
    assert "Pod financial-mlops-pytorch/wf-*" in next(iter(a))
    assert "+ only in b: Pod financial-mlops-pytorch/wf-*[1]" in compare(a, b)
