"""Argo Workflows from WorkflowTemplates: real `drkit-lab/job` steps, simulated ones, failures, shutdown."""

from __future__ import annotations

from typing import Any

import pytest
from controller_cluster import Cluster

from drkit_lab.controllers.argo import ArgoController
from drkit_lab.settings import LabSettings

ARGO = "argoproj.io/v1alpha1"
NS = "financial-mlops-pytorch"
JOB = "drkit-lab/job:latest"


def template(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": ARGO,
        "kind": "WorkflowTemplate",
        "metadata": {"name": name, "namespace": NS},
        "spec": spec,
    }


def workflow(template_name: str, parameters: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"workflowTemplateRef": {"name": template_name}}
    if parameters:
        spec["arguments"] = {"parameters": [{"name": k, "value": v} for k, v in parameters.items()]}
    return {
        "apiVersion": ARGO,
        "kind": "Workflow",
        "metadata": {
            "generateName": f"{template_name}-",
            "namespace": NS,
            "labels": {"drkit.io/run-id": "r1"},
        },
        "spec": spec | extra,
    }


def finished(obj: dict[str, Any] | None) -> bool:
    return ((obj or {}).get("status") or {}).get("phase") in ("Succeeded", "Failed", "Error")


def pods(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["displayName"]: n for n in wf["status"]["nodes"].values() if n["type"] == "Pod"}


def cluster_with_namespace(make_cluster: Any) -> Cluster:
    cluster: Cluster = make_cluster(ArgoController)
    cluster.namespace(NS)
    return cluster


def test_steps_run_a_real_job_and_a_simulated_one(make_cluster: Any, lab_settings: LabSettings) -> None:
    cluster = cluster_with_namespace(make_cluster)
    cluster.create(
        template(
            "financial-data-pipeline-template",
            {
                "entrypoint": "pipeline",
                "arguments": {
                    "parameters": [{"name": "rows", "value": "30"}, {"name": "out", "value": "data.csv"}]
                },
                "templates": [
                    {
                        "name": "pipeline",
                        "steps": [
                            [
                                {
                                    "name": "ingest",
                                    "template": "ingest",
                                    "arguments": {
                                        "parameters": [
                                            {"name": "rows", "value": "{{workflow.parameters.rows}}"}
                                        ]
                                    },
                                }
                            ],
                            [{"name": "features", "template": "features"}],
                        ],
                    },
                    {
                        "name": "ingest",
                        "inputs": {"parameters": [{"name": "rows"}]},
                        "container": {
                            "image": JOB,
                            "args": [
                                "data",
                                "--out",
                                "{{workflow.parameters.out}}",
                                "--rows",
                                "{{inputs.parameters.rows}}",
                            ],
                        },
                    },
                    {
                        "name": "features",
                        "container": {"image": "python:3.11", "command": ["python", "-c", "pass"]},
                    },
                ],
            },
        )
    )
    created = cluster.create(workflow("financial-data-pipeline-template", {"out": "prices.csv"}))
    name = created["metadata"]["name"]

    done = cluster.wait_for(ARGO, "Workflow", NS, name, finished, timeout=30)
    assert done is not None
    status = done["status"]
    assert status["phase"] == "Succeeded", status
    assert status["progress"] == "2/2"
    assert status["startedAt"]
    assert status["finishedAt"]
    assert done["metadata"]["labels"] == {"drkit.io/run-id": "r1"}
    steps = pods(done)
    assert steps["ingest"]["phase"] == steps["features"]["phase"] == "Succeeded"
    assert steps["features"]["message"] == "simulated by the lab"
    assert steps["ingest"]["outputs"]["parameters"][0]["name"] == "dataset"  # the job's `key=value` lines
    assert status["nodes"][name]["type"] == "Steps"
    dataset = lab_settings.state_dir / "workflows" / name / "prices.csv"
    assert (
        len(dataset.read_text().splitlines()) == 31
    )  # header + the 30 rows asked for through two parameters


def test_dag_failure_names_the_failing_step(make_cluster: Any) -> None:
    cluster = cluster_with_namespace(make_cluster)
    cluster.create(
        template(
            "dag",
            {
                "entrypoint": "main",
                "templates": [
                    {
                        "name": "main",
                        "dag": {
                            "tasks": [
                                {"name": "prepare", "template": "simulated"},
                                {"name": "train", "template": "broken", "dependencies": ["prepare"]},
                                {"name": "deploy", "template": "simulated", "dependencies": ["train"]},
                            ]
                        },
                    },
                    {"name": "simulated", "container": {"image": "alpine:3"}},
                    {
                        "name": "broken",
                        "container": {"image": JOB, "args": ["data", "--out", "x.csv", "--rows", "many"]},
                    },
                ],
            },
        )
    )
    name = cluster.create(workflow("dag"))["metadata"]["name"]
    done = cluster.wait_for(ARGO, "Workflow", NS, name, finished, timeout=30)
    assert done is not None
    assert done["status"]["phase"] == "Failed"
    steps = pods(done)
    assert steps["prepare"]["phase"] == "Succeeded"
    assert steps["train"]["phase"] == "Failed"
    assert "invalid int value: 'many'" in steps["train"]["message"]
    assert "deploy" not in steps  # never started after its dependency failed
    assert "invalid int value" in done["status"]["message"]
    assert done["status"]["progress"] == "1/2"


def test_missing_template_is_an_error(make_cluster: Any) -> None:
    cluster = cluster_with_namespace(make_cluster)
    name = cluster.create(workflow("nowhere"))["metadata"]["name"]
    done = cluster.wait_for(ARGO, "Workflow", NS, name, finished)
    assert done is not None
    assert done["status"]["phase"] == "Error"
    assert done["status"]["message"] == 'workflowtemplates.argoproj.io "nowhere" not found'


def test_parameter_without_value_is_an_error(make_cluster: Any) -> None:
    cluster = cluster_with_namespace(make_cluster)
    cluster.create(
        template(
            "needs-variant",
            {
                "entrypoint": "main",
                "arguments": {"parameters": [{"name": "model-variant"}]},
                "templates": [{"name": "main", "container": {"image": "alpine:3"}}],
            },
        )
    )
    name = cluster.create(workflow("needs-variant"))["metadata"]["name"]
    done = cluster.wait_for(ARGO, "Workflow", NS, name, finished)
    assert done is not None
    assert done["status"]["phase"] == "Error"
    assert "model-variant" in done["status"]["message"]

    ok = cluster.create(workflow("needs-variant", {"model-variant": "enhanced"}))["metadata"]["name"]
    done = cluster.wait_for(ARGO, "Workflow", NS, ok, finished)
    assert done is not None
    assert done["status"]["phase"] == "Succeeded"


def test_shutdown_stops_running_steps(make_cluster: Any) -> None:
    cluster = cluster_with_namespace(make_cluster)
    cluster.create(
        template(
            "slow",
            {
                "entrypoint": "main",
                "templates": [
                    {"name": "main", "container": {"image": JOB, "args": ["sleep", "--seconds", "60"]}}
                ],
            },
        )
    )
    name = cluster.create(workflow("slow"))["metadata"]["name"]
    cluster.wait_for(ARGO, "Workflow", NS, name, lambda o: bool(((o or {}).get("status") or {}).get("nodes")))

    def stop(obj: dict[str, Any]) -> dict[str, Any]:
        obj["spec"]["shutdown"] = "Stop"
        return obj

    cluster.mutate(ARGO, "Workflow", NS, name, stop)
    done = cluster.wait_for(ARGO, "Workflow", NS, name, finished)
    assert done is not None
    assert done["status"]["phase"] == "Failed"
    assert done["status"]["message"] == "Stopped with strategy 'Stop'"
    (leaf,) = pods(done).values()
    assert (leaf["phase"], leaf["message"]) == ("Failed", "Stopped with strategy 'Stop'")


def test_nothing_progresses_while_the_controller_is_down(make_cluster: Any) -> None:
    cluster = cluster_with_namespace(make_cluster)
    cluster.create(
        template(
            "quick",
            {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "alpine:3"}}]},
        )
    )
    cluster.manager.set_down("argo-workflows", True)
    name = cluster.create(workflow("quick"))["metadata"]["name"]
    with pytest.raises(AssertionError, match="timed out"):
        cluster.wait_for(ARGO, "Workflow", NS, name, lambda o: bool((o or {}).get("status")), timeout=0.3)
    cluster.manager.set_down("argo-workflows", False)
    done = cluster.wait_for(ARGO, "Workflow", NS, name, finished)
    assert done is not None
    assert done["status"]["phase"] == "Succeeded"
