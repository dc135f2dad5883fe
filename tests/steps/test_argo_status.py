"""Reading Argo Workflow status: phase decisions, progress lines, failed nodes, outputs, label values."""

from __future__ import annotations

import re
from typing import Any

import pytest

from drkit.domain import argo_status as a

_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


def node(
    name: str,
    phase: str,
    *,
    type_: str = "Pod",
    template: str = "",
    started: str = "2026-01-01T00:00:01Z",
    message: str = "",
    outputs: dict[str, str] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": f"wf-{name}",
        "name": f"wf.{name}",
        "displayName": name,
        "type": type_,
        "templateName": template or name,
        "phase": phase,
        "startedAt": started,
    }
    if message:
        out["message"] = message
    if outputs:
        out["outputs"] = {"parameters": [{"name": k, "value": v} for k, v in outputs.items()]}
    return out


def workflow(
    phase: str = "Running", nodes: list[dict[str, Any]] | None = None, **status: Any
) -> dict[str, Any]:
    return {
        "apiVersion": a.API_VERSION,
        "kind": "Workflow",
        "metadata": {
            "name": "wf",
            "namespace": "ml",
            "uid": "u-1",
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "status": {"phase": phase, "nodes": {n["id"]: n for n in nodes or []}, **status},
    }


# --- phases --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "final", "verdict"),
    [
        ("", False, "running"),
        ("Pending", False, "running"),
        ("Running", False, "running"),
        ("Succeeded", True, "succeeded"),
        ("Failed", True, "failed"),
        ("Error", True, "failed"),
    ],
)
def test_the_phase_alone_decides(phase: str, final: bool, verdict: str) -> None:
    wf = workflow(phase, finishedAt="2026-01-01T00:01:00Z")  # finishedAt never decides (argo #13550)
    assert a.is_final(wf) is final
    assert a.verdict(wf) == verdict


def test_a_workflow_that_is_gone_ends_the_wait() -> None:
    assert a.is_final(None)
    assert a.verdict(None) == "gone"
    assert a.phase_of(None) == ""


def test_a_workflow_without_status_is_not_reconciled_yet() -> None:
    wf = {"metadata": {"name": "wf"}}
    assert a.phase_of(wf) == ""
    assert not a.is_final(wf)
    assert a.progress_text(wf) == "waiting for the workflow controller to pick it up"
    assert a.progress_text(workflow("Pending")) == "workflow Pending, no node started yet"


# --- progress ------------------------------------------------------------------------------------


def test_progress_counts_work_nodes_and_names_the_running_ones() -> None:
    wf = workflow(
        nodes=[
            node("wf", "Running", type_="Steps"),
            node("[0]", "Succeeded", type_="StepGroup"),
            node("prepare-data", "Succeeded"),
            node("validate", "Succeeded"),
            node("train-model", "Running"),
            node("evaluate", "Pending"),
            node("publish", "Pending"),
        ]
    )
    assert a.progress_text(wf) == "2/5 nodes: evaluate, publish Pending; train-model Running"


def test_progress_of_a_finished_workflow_says_its_phase() -> None:
    wf = workflow("Failed", nodes=[node("a", "Succeeded"), node("b", "Failed", message="boom")])
    assert a.progress_text(wf) == "1/2 nodes: workflow Failed"


# --- failures ------------------------------------------------------------------------------------


def test_failed_work_nodes_are_blamed_not_their_parents() -> None:
    wf = workflow(
        "Failed",
        nodes=[
            node("wf", "Failed", type_="Steps", message="child 'wf-1' failed"),
            node("prepare", "Succeeded"),
            node("train", "Failed", template="train-model", message="OOMKilled (exit code 137)"),
        ],
        message="OOMKilled (exit code 137)",
    )
    failed = a.failed_nodes(wf)
    assert [(n.display_name, n.template_name, n.message) for n in failed] == [
        ("train", "train-model", "OOMKilled (exit code 137)")
    ]
    assert a.describe_failure(wf) == (
        "failed node(s): train (template train-model): OOMKilled (exit code 137) "
        "(workflow: OOMKilled (exit code 137))"
    )


def test_without_failed_leaves_the_workflow_message_explains() -> None:
    wf = workflow("Error", message='workflowtemplates.argoproj.io "nope" not found')
    assert a.failed_nodes(wf) == []
    assert a.describe_failure(wf) == 'workflowtemplates.argoproj.io "nope" not found'


def test_a_failed_container_node_with_a_message_is_blamed_when_no_leaf_failed() -> None:
    wf = workflow(
        "Error", nodes=[node("wf", "Error", type_="DAG", message="invalid spec: template undefined")]
    )
    assert [n.message for n in a.failed_nodes(wf)] == ["invalid spec: template undefined"]


def test_many_failed_nodes_are_listed_up_to_three() -> None:
    wf = workflow("Failed", nodes=[node(f"n{i}", "Failed", message=f"m{i}") for i in range(5)])
    text = a.describe_failure(wf)
    assert "n0 (template n0): m0; n1" in text
    assert text.endswith("; and 2 more")


# --- outputs, times, summary ---------------------------------------------------------------------


def test_outputs_and_summary() -> None:
    wf = workflow(
        "Succeeded",
        nodes=[
            node("train", "Succeeded", outputs={"run_id": "abc", "artifact_uri": "mlflow-artifacts:/1/abc"}),
            node("data", "Succeeded", started="2026-01-01T00:00:00Z"),
        ],
        startedAt="2026-01-01T00:00:00Z",
        finishedAt="2026-01-01T00:01:30Z",
    )
    assert a.node_outputs(wf) == {"train": {"run_id": "abc", "artifact_uri": "mlflow-artifacts:/1/abc"}}
    details = a.summary(wf)
    assert details["workflow"] == "wf"
    assert details["uid"] == "u-1"
    assert details["phase"] == "Succeeded"
    assert details["duration"] == 90.0
    assert details["outputs"] == {"train": {"run_id": "abc", "artifact_uri": "mlflow-artifacts:/1/abc"}}
    # nodes are in the order they started
    assert [n["name"] for n in details["nodes"]] == ["data", "train"]  # type: ignore[index, union-attr]


def test_nodes_follow_the_workflow_tree_not_the_clock() -> None:
    root = node("wf", "Running", type_="Steps") | {"children": ["wf-g0", "wf-g1"]}
    groups = [
        node("g0", "Succeeded", type_="StepGroup") | {"children": ["wf-zeta"]},
        node("g1", "Running", type_="StepGroup") | {"children": ["wf-alpha"]},
    ]
    wf = workflow(nodes=[node("alpha", "Running"), *groups, node("zeta", "Succeeded"), root])
    assert [n.display_name for n in a.nodes_of(wf)] == ["wf", "g0", "zeta", "g1", "alpha"]
    assert [n.display_name for n in a.work_nodes(wf)] == ["zeta", "alpha"]


def test_duration_needs_both_times() -> None:
    assert a.duration_seconds(workflow(startedAt="2026-01-01T00:00:00Z")) is None
    assert a.duration_seconds(workflow(startedAt="garbage", finishedAt="2026-01-01T00:00:00Z")) is None


def test_newest_workflow_wins() -> None:
    old = {"metadata": {"name": "b", "creationTimestamp": "2026-01-01T00:00:00Z"}}
    new = {"metadata": {"name": "a", "creationTimestamp": "2026-01-02T00:00:00Z"}}
    assert a.newest([old, new]) is new
    assert a.newest([]) is None


# --- labels --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["20260101-000000-abcd", "pipelines.train", "a", "A_b.c-9"])
def test_valid_label_values_are_kept(text: str) -> None:
    assert a.label_value(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "pipelines.train model (enhanced)",
        "-leading-dash",
        "trailing.",
        "x" * 64,
        "ünïcode/step",
        "///",
        "retrain." + "very-long-step-name-" * 5,
    ],
)
def test_other_texts_become_valid_distinct_label_values(text: str) -> None:
    value = a.label_value(text)
    assert len(value) <= a.LABEL_VALUE_MAX
    assert _LABEL_VALUE.fullmatch(value), value
    assert value == a.label_value(text)  # stable across runs: a resumed run finds its workflow
    assert value != a.label_value(text + "2")


def test_sanitising_never_merges_two_texts() -> None:
    assert a.label_value("phase.step a") != a.label_value("phase.step-a")
