"""Reading an Argo Workflow's status: pure functions on the plain dict the API server returns.

Kept apart from the `pipeline` step so the decisions that matter during an incident (is it finished, which
node failed and why, what did the jobs produce) are tested without a cluster. Argo's own fields are followed
as documented: the workflow is judged on `status.phase` only (`finishedAt` can be set before the phase is
final, argo-workflows #13550), and `status.nodes` is a map of node id -> node whose leaves (`Pod`) are the
real work.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from drkit.domain.timestamps import parse_time

API_VERSION = "argoproj.io/v1alpha1"
FINAL_PHASES: frozenset[str] = frozenset({"Succeeded", "Failed", "Error"})
# Node types that do work (as opposed to Steps/StepGroup/DAG/TaskGroup/Retry containers around them).
WORK_NODE_TYPES: frozenset[str] = frozenset({"Pod", "Container", "HTTP", "Plugin", "Suspend"})
_FAILED_NODE_PHASES = frozenset({"Failed", "Error"})
_ACTIVE_NODE_PHASES = frozenset({"Pending", "Running"})

Verdict = Literal["running", "succeeded", "failed", "gone"]

LABEL_VALUE_MAX = 63
_LABEL_VALUE = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_NOT_LABEL_CHARS = re.compile(r"[^-A-Za-z0-9_.]+")


# --- labels ------------------------------------------------------------------------------------------


def label_value(text: str) -> str:
    """`text` as a valid label value (<= 63 chars of [-A-Za-z0-9_.], alphanumeric at both ends).

    A value that is already valid is kept as is; anything else is sanitised and gets a short hash of the
    original, so two different texts never end up with the same label by sanitising."""
    if len(text) <= LABEL_VALUE_MAX and _LABEL_VALUE.fullmatch(text):
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    cleaned = _NOT_LABEL_CHARS.sub("-", text)
    keep = LABEL_VALUE_MAX - len(digest) - 1
    cleaned = cleaned[:keep].strip("-_.")
    return f"{cleaned}-{digest}" if cleaned else digest


# --- phases ------------------------------------------------------------------------------------------


def phase_of(workflow: Mapping[str, Any] | None) -> str:
    """The workflow's `status.phase` ("" while the controller has not reconciled it yet)."""
    if workflow is None:
        return ""
    return str((workflow.get("status") or {}).get("phase") or "")


def is_final(workflow: Mapping[str, Any] | None) -> bool:
    """Whether waiting is over: a final phase, or the object is gone (deleted, or cleaned up by a TTL)."""
    return workflow is None or phase_of(workflow) in FINAL_PHASES


def verdict(workflow: Mapping[str, Any] | None) -> Verdict:
    if workflow is None:
        return "gone"
    phase = phase_of(workflow)
    if phase == "Succeeded":
        return "succeeded"
    if phase in FINAL_PHASES:
        return "failed"
    return "running"


# --- nodes -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeInfo:
    """One node of `status.nodes`, with what a report needs."""

    id: str
    display_name: str
    template_name: str
    type: str
    phase: str
    message: str = ""
    started_at: str = ""
    outputs: Mapping[str, str] = field(default_factory=dict)  # outputs.parameters name -> value

    @property
    def is_work(self) -> bool:
        return self.type in WORK_NODE_TYPES

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "name": self.display_name,
            "template": self.template_name,
            "type": self.type,
            "phase": self.phase,
        }
        if self.message:
            out["message"] = self.message
        if self.outputs:
            out["outputs"] = dict(self.outputs)
        return out


def nodes_of(workflow: Mapping[str, Any] | None) -> list[NodeInfo]:
    """Every node, in workflow order (depth first along `children` from the roots, which is the order of
    the steps and tasks as written), so reports read like the workflow ran. Timestamps cannot order them:
    they have a resolution of one second."""
    raw = ((workflow or {}).get("status") or {}).get("nodes") or {}
    nodes = {str(k): v for k, v in raw.items() if isinstance(v, Mapping)}
    children = {k: [str(c) for c in v.get("children") or [] if str(c) in nodes] for k, v in nodes.items()}
    has_parent = {c for kids in children.values() for c in kids}
    by_start = sorted(nodes, key=lambda k: (str(nodes[k].get("startedAt") or "~"), k))
    ordered: list[str] = []
    seen: set[str] = set()
    stack = [k for k in reversed(by_start) if k not in has_parent]
    while stack:
        key = stack.pop()
        if key in seen:
            continue
        seen.add(key)
        ordered.append(key)
        stack.extend(reversed(children[key]))
    ordered += [k for k in by_start if k not in seen]  # a cycle or a dangling parent: keep them anyway
    return [_node(k, nodes[k]) for k in ordered]


def _node(node_id: str, node: Mapping[str, Any]) -> NodeInfo:
    params = (node.get("outputs") or {}).get("parameters") or []
    outputs = {
        str(p["name"]): str(p.get("value", ""))
        for p in params
        if isinstance(p, Mapping) and p.get("name") is not None
    }
    return NodeInfo(
        id=node_id,
        display_name=str(node.get("displayName") or node.get("name") or node_id),
        template_name=str(node.get("templateName") or ""),
        type=str(node.get("type") or ""),
        phase=str(node.get("phase") or "Pending"),
        message=str(node.get("message") or ""),
        started_at=str(node.get("startedAt") or ""),
        outputs=outputs,
    )


def work_nodes(workflow: Mapping[str, Any] | None) -> list[NodeInfo]:
    return [n for n in nodes_of(workflow) if n.is_work]


def failed_nodes(workflow: Mapping[str, Any] | None) -> list[NodeInfo]:
    """The nodes to blame: failed work nodes; when none (a spec error), any failed node with a message."""
    nodes = nodes_of(workflow)
    failed = [n for n in nodes if n.is_work and n.phase in _FAILED_NODE_PHASES]
    if failed:
        return failed
    return [n for n in nodes if n.phase in _FAILED_NODE_PHASES and n.message]


def node_outputs(workflow: Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    """Output parameters by node display name (the lab's jobs report run_id, model_id, artifact_uri)."""
    return {n.display_name: dict(n.outputs) for n in nodes_of(workflow) if n.outputs}


def progress_text(workflow: Mapping[str, Any] | None) -> str:
    """One live line: `3/5 nodes: train-model Running`."""
    if workflow is None:
        return "workflow is gone"
    phase = phase_of(workflow)
    if not phase:
        return "waiting for the workflow controller to pick it up"
    work = work_nodes(workflow)
    if not work:
        return f"workflow {phase}" + ("" if phase in FINAL_PHASES else ", no node started yet")
    done = sum(1 for n in work if n.phase == "Succeeded")
    active = [n for n in work if n.phase in _ACTIVE_NODE_PHASES]
    text = f"{done}/{len(work)} nodes"
    if active:
        by_phase: dict[str, list[str]] = {}
        for node in active:
            by_phase.setdefault(node.phase, []).append(node.display_name)
        text += ": " + "; ".join(f"{', '.join(names)} {p}" for p, names in sorted(by_phase.items()))
    elif phase in FINAL_PHASES:
        text += f": workflow {phase}"
    return text


def describe_failure(workflow: Mapping[str, Any] | None) -> str:
    """Why it failed, in one line: the failed nodes with their messages, else the workflow's message."""
    status = (workflow or {}).get("status") or {}
    parts = [
        f"{n.display_name} (template {n.template_name or '?'}): {n.message or n.phase}"
        for n in failed_nodes(workflow)
    ]
    message = str(status.get("message") or "")
    if parts:
        joined = "; ".join(parts[:3]) + (f"; and {len(parts) - 3} more" if len(parts) > 3 else "")
        return f"failed node(s): {joined}" + (f" (workflow: {message})" if message else "")
    return message or "no node failed and the workflow gave no message"


# --- times -------------------------------------------------------------------------------------------


def duration_seconds(workflow: Mapping[str, Any] | None) -> float | None:
    status = (workflow or {}).get("status") or {}
    started, finished = parse_time(status.get("startedAt")), parse_time(status.get("finishedAt"))
    if started is None or finished is None:
        return None
    return max(0.0, finished - started)


def summary(workflow: Mapping[str, Any] | None) -> dict[str, object]:
    """The workflow as report details: identity, phase, times, nodes and their outputs."""
    if workflow is None:
        return {}
    meta = workflow.get("metadata") or {}
    status = workflow.get("status") or {}
    out: dict[str, object] = {
        "workflow": str(meta.get("name") or ""),
        "namespace": str(meta.get("namespace") or ""),
        "uid": str(meta.get("uid") or ""),
        "phase": phase_of(workflow),
        "startedAt": status.get("startedAt") or None,
        "finishedAt": status.get("finishedAt") or None,
        "duration": duration_seconds(workflow),
        "progress": progress_text(workflow),
        "nodes": [n.to_json() for n in work_nodes(workflow)],
    }
    if status.get("message"):
        out["message"] = str(status["message"])
    outputs = node_outputs(workflow)
    if outputs:
        out["outputs"] = outputs
    return out


def newest(workflows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The most recently created workflow (creationTimestamp, then name), or None."""
    if not workflows:
        return None
    return max(
        workflows,
        key=lambda w: (
            str((w.get("metadata") or {}).get("creationTimestamp") or ""),
            str((w.get("metadata") or {}).get("name") or ""),
        ),
    )
