"""The `pipeline` step's settings and the Workflow it would submit (pure; the cluster side: tests/e2e)."""

from __future__ import annotations

import pytest

from drkit.playbook.model import StepSpec
from drkit.playbook.source import Position
from drkit.steps.pipeline import (
    RUN_ID_LABEL,
    STEP_LABEL,
    parse_settings,
    run_labels,
    workflow_manifest,
)
from drkit.steps.settings import StepConfigError

HERE = Position("playbook.yaml", 3, 7)


def test_defaults() -> None:
    s = parse_settings({"workflowTemplate": "train"})
    assert s.generate_name == "train-"
    assert s.on_timeout == "fail"
    assert s.namespace is None
    assert not s.cluster_scope
    assert s.template_display("ml") == "WorkflowTemplate ml/train"
    assert parse_settings({"workflowTemplate": "t", "clusterScope": True}).template_display("ml") == (
        "ClusterWorkflowTemplate t"
    )


def test_the_manifest_references_the_template_and_carries_parameters_and_labels() -> None:
    s = parse_settings(
        {
            "workflowTemplate": "train",
            "clusterScope": True,
            "parameters": {"model-variant": "enhanced", "epochs": "5"},
            "generateName": "retrain-",
            "labels": {"team": "ml"},
        }
    )
    manifest = workflow_manifest(s, "ml", {RUN_ID_LABEL: "r1", STEP_LABEL: "p.s"})
    assert manifest["metadata"] == {
        "generateName": "retrain-",
        "namespace": "ml",
        "labels": {
            "app.kubernetes.io/managed-by": "drkit",
            "team": "ml",
            RUN_ID_LABEL: "r1",
            STEP_LABEL: "p.s",
        },
    }
    assert manifest["spec"] == {
        "workflowTemplateRef": {"name": "train", "clusterScope": True},
        "arguments": {
            "parameters": [{"name": "model-variant", "value": "enhanced"}, {"name": "epochs", "value": "5"}]
        },
    }


def test_drkits_own_labels_cannot_be_overridden() -> None:
    with pytest.raises(StepConfigError, match="set by drkit itself"):
        parse_settings({"workflowTemplate": "t", "labels": {RUN_ID_LABEL: "other"}})


def test_labels_name_the_run_and_the_phase_and_step() -> None:
    spec = StepSpec(kind="pipeline", name="train model", body={"workflowTemplate": "t"}, position=HERE)
    labels = run_labels("20260101-000000-abcd", "pipelines", spec.name)
    assert labels[RUN_ID_LABEL] == "20260101-000000-abcd"
    assert labels[STEP_LABEL].startswith("pipelines.train-model-")  # sanitised, with a hash of the original
    assert labels == run_labels("20260101-000000-abcd", "pipelines", spec.name)  # stable: resume finds it
