"""A small Argo Workflows controller: Workflows submitted from WorkflowTemplates really run.

A Workflow with `spec.workflowTemplateRef` is resolved against its (Cluster)WorkflowTemplate, parameters are
merged (the Workflow's win; a parameter without a value is an Error), and the entrypoint's `steps` or `dag`
is walked. Leaves whose container image starts with `drkit-lab/job` run `python -m drkit_lab.jobs <args>` as
a real subprocess (the data and training jobs log real models to the lab's MLflow); any other image succeeds
after `settings.step_delay`, marked "simulated by the lab".

The reconcile is the scheduler: it starts leaves whose turn has come (each in its own thread, so the single
controller worker never blocks), records finished ones, writes `status` and asks to be called again shortly.
So with the controller down nothing new starts and no status moves, as with a crashed workflow-controller."""

from __future__ import annotations

import contextlib
import copy
import os
import re
import signal
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from drkit_lab.apiserver.types import ResourceType
from drkit_lab.controllers.base import Operator
from drkit_lab.controllers.conditions import rfc3339
from drkit_lab.controllers.support import Obj, get_or_none, is_deleting, write_status
from drkit_lab.kubeapi import ApiClient
from drkit_lab.launcher import child_env
from drkit_lab.settings import LabSettings

GROUP = "argoproj.io"
API_VERSION = "argoproj.io/v1alpha1"
JOB_IMAGE_PREFIX = "drkit-lab/job"
SIMULATED = "simulated by the lab"
FINAL_PHASES = frozenset({"Succeeded", "Failed", "Error"})
NodePhase = Literal["Pending", "Running", "Succeeded", "Failed", "Error", "Omitted"]
NodeType = Literal["Steps", "StepGroup", "DAG", "Pod"]
_DONE: frozenset[str] = frozenset({"Succeeded", "Failed", "Error", "Omitted"})
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")


class WorkflowSpecError(Exception):
    """The Workflow cannot run as written (missing template, parameter without value); phase Error."""


def substitute(text: str, variables: dict[str, str]) -> str:
    """Replace `{{workflow.parameters.x}}`, `{{inputs.parameters.x}}`, ...; unknown ones stay as written."""
    return _VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(0)), text)


def _substitute_deep(value: Any, variables: dict[str, str]) -> Any:
    if isinstance(value, str):
        return substitute(value, variables)
    if isinstance(value, list):
        return [_substitute_deep(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: _substitute_deep(v, variables) for k, v in value.items()}
    return value


def merge_parameters(template_params: list[Obj], workflow_params: list[Obj]) -> dict[str, str]:
    """Template defaults overridden by the Workflow's values; WorkflowSpecError for one without a value."""
    merged: dict[str, str | None] = {}
    for param in [*template_params, *workflow_params]:
        name = str(param.get("name", ""))
        value = param.get("value")
        if value is not None or name not in merged:
            merged[name] = None if value is None else str(value)
    missing = [name for name, value in merged.items() if value is None]
    if missing:
        raise WorkflowSpecError(f"invalid spec: spec.arguments.parameters.{missing[0]}.value is required")
    return {name: str(value) for name, value in merged.items()}


@dataclass
class Node:
    id: str
    name: str
    display_name: str
    type: NodeType
    template_name: str
    phase: NodePhase = "Pending"
    started_at: str = ""
    finished_at: str = ""
    message: str = ""
    children: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)

    def finish(self, phase: NodePhase, message: str = "") -> NodePhase:
        self.phase, self.message, self.finished_at = phase, message, rfc3339()
        return phase

    def to_status(self) -> Obj:
        out: Obj = {
            "id": self.id,
            "name": self.name,
            "displayName": self.display_name,
            "type": self.type,
            "templateName": self.template_name,
            "phase": self.phase,
            "startedAt": self.started_at,
        }
        if self.finished_at:
            out["finishedAt"] = self.finished_at
        if self.message:
            out["message"] = self.message
        if self.children:
            out["children"] = list(self.children)
        if self.outputs:
            out["outputs"] = {"parameters": [{"name": k, "value": v} for k, v in self.outputs.items()]}
        return out


@dataclass
class LeafResult:
    phase: NodePhase
    message: str
    outputs: dict[str, str] = field(default_factory=dict)  # `key=value` lines a job printed


class LeafExecution:
    """One leaf running in its own thread: a real job subprocess or a simulated container."""

    def __init__(self, target: Callable[[threading.Event], LeafResult], name: str) -> None:
        self.stop_event = threading.Event()
        self.result: LeafResult | None = None
        self._target = target
        self.thread = threading.Thread(target=self._run, name=f"argo-leaf-{name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result = self._target(self.stop_event)
        except Exception as exc:  # a lab bug must fail the node, not hang the workflow
            self.result = LeafResult("Error", f"lab executor failed: {exc}")

    def stop(self) -> None:
        self.stop_event.set()

    def join(self) -> None:
        self.thread.join()


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][:500] if lines else ""


def _key_values(path: Path) -> dict[str, str]:
    """The `key=value` result lines a job printed (run_id, model_id, artifact_uri, ...), as node outputs."""
    pairs: dict[str, str] = {}
    for line in path.read_text(errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", key):
            pairs[key] = value.strip()
    return pairs


def run_job(
    args: list[str], env: dict[str, str], workdir: Path, log_name: str, stop: threading.Event
) -> LeafResult:
    """Run `python -m drkit_lab.jobs <args>` in `workdir`; the last stderr line is the failure message."""
    workdir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = workdir / f"{log_name}.out.log", workdir / f"{log_name}.err.log"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "drkit_lab.jobs", *args],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,  # a stop kills the job and anything it started
        )
        while proc.poll() is None:
            if stop.wait(0.05):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                proc.wait()
                return LeafResult("Failed", "stopped")
    if proc.returncode == 0:
        return LeafResult("Succeeded", "", _key_values(out_path))
    return LeafResult("Failed", _last_line(err_path) or f"Error (exit code {proc.returncode})")


class WorkflowRun:
    """The live state of one Workflow: its nodes and running leaves. Driven by `advance()` from reconcile."""

    def __init__(self, wf: Obj, spec: Obj, parameters: dict[str, str], settings: LabSettings) -> None:
        self.name = wf["metadata"]["name"]
        self.namespace = wf["metadata"].get("namespace", "")
        self.settings = settings
        self.templates: dict[str, Obj] = {t["name"]: t for t in spec.get("templates") or [] if t.get("name")}
        self.entrypoint = str(spec.get("entrypoint") or "")
        if self.entrypoint not in self.templates:
            raise WorkflowSpecError(f"invalid spec: template name '{self.entrypoint}' undefined")
        self.variables = {f"workflow.parameters.{k}": v for k, v in parameters.items()} | {
            "workflow.name": self.name,
            "workflow.namespace": self.namespace,
        }
        self.env_extra = {str(e.get("name")): str(e.get("value", "")) for e in spec.get("env") or []}
        self.workdir = settings.state_dir / "workflows" / self.name
        self.nodes: dict[str, Node] = {}
        self.leaves: dict[str, LeafExecution] = {}
        self.failure_message = ""

    # ------------------------------------------------------------------------------------------- structure
    def _node_id(self, name: str) -> str:
        return self.name if name == self.name else f"{self.name}-{zlib.crc32(name.encode()):010d}"

    def _node(self, name: str, display: str, node_type: NodeType, template: str, parent: Node | None) -> Node:
        node_id = self._node_id(name)
        node = self.nodes.get(node_id)
        if node is None:
            node = Node(node_id, name, display, node_type, template, "Running", rfc3339())
            self.nodes[node_id] = node
            if parent is not None:
                parent.children.append(node_id)
        return node

    def _template_type(self, template: Obj) -> NodeType:
        if "steps" in template:
            return "Steps"
        if "dag" in template:
            return "DAG"
        return "Pod"

    # ------------------------------------------------------------------------------------------- execution
    def advance(self) -> NodePhase:
        """Start what can start, collect what finished; the workflow's phase."""
        template = self.templates[self.entrypoint]
        root = self._node(self.name, self.name, self._template_type(template), self.entrypoint, None)
        return self._advance(root, template, {})

    def _advance(self, node: Node, template: Obj, inputs: dict[str, str]) -> NodePhase:
        if node.phase in _DONE:
            return node.phase
        try:
            variables = self.variables | self._inputs(template, inputs)
        except WorkflowSpecError as exc:
            return node.finish("Error", str(exc))
        if "steps" in template:
            return self._steps(node, template, variables)
        if "dag" in template:
            return self._dag(node, template, variables)
        return self._leaf(node, template, variables)

    def _inputs(self, template: Obj, supplied: dict[str, str]) -> dict[str, str]:
        values: dict[str, str] = {}
        for param in (template.get("inputs") or {}).get("parameters") or []:
            name = str(param.get("name"))
            value = supplied.get(name, param.get("value"))
            if value is None:
                raise WorkflowSpecError(f"inputs.parameters.{name} was not supplied")
            values[f"inputs.parameters.{name}"] = substitute(str(value), self.variables)
        return values

    def _arguments(self, step: Obj, variables: dict[str, str]) -> dict[str, str]:
        params = (step.get("arguments") or {}).get("parameters") or []
        return {str(p.get("name")): substitute(str(p.get("value", "")), variables) for p in params}

    def _child(
        self, parent: Node, name: str, display: str, step: Obj, variables: dict[str, str]
    ) -> NodePhase:
        template_name = str(step.get("template", ""))
        template = self.templates.get(template_name)
        if template is None:
            child = self._node(name, display, "Pod", template_name, parent)
            return child.finish("Error", f"template name '{template_name}' undefined")
        child = self._node(name, display, self._template_type(template), template_name, parent)
        return self._advance(child, template, self._arguments(step, variables))

    def _steps(self, node: Node, template: Obj, variables: dict[str, str]) -> NodePhase:
        for index, group in enumerate(template.get("steps") or []):
            group_node = self._node(
                f"{node.name}[{index}]", f"[{index}]", "StepGroup", node.template_name, node
            )
            phases = [
                self._child(
                    group_node,
                    f"{group_node.name}.{step.get('name')}",
                    str(step.get("name")),
                    step,
                    variables,
                )
                for step in group
            ]
            if any(p not in _DONE for p in phases):
                return "Running"
            failed = [
                self.nodes[c] for c in group_node.children if self.nodes[c].phase in ("Failed", "Error")
            ]
            if failed:
                group_node.finish("Failed", f"child '{failed[0].id}' failed")
                return node.finish("Failed", f"child '{failed[0].id}' failed")
            group_node.finish("Succeeded")
        return node.finish("Succeeded")

    def _dag(self, node: Node, template: Obj, variables: dict[str, str]) -> NodePhase:
        tasks: list[Obj] = (template.get("dag") or {}).get("tasks") or []
        phase_of: dict[str, str] = {}
        running = False
        for task in tasks:
            task_name = str(task.get("name"))
            deps = [str(d) for d in task.get("dependencies") or []]
            if task.get("depends"):
                deps += [d.strip().split(".")[0] for d in str(task["depends"]).split("&&") if d.strip()]
            dep_phases = [phase_of.get(d, "Pending") for d in deps]
            if any(p in ("Failed", "Error", "Omitted") for p in dep_phases):
                phase_of[task_name] = "Omitted"
                continue
            if any(p != "Succeeded" for p in dep_phases):
                phase_of[task_name] = "Pending"
                continue
            phase = self._child(node, f"{node.name}.{task_name}", task_name, task, variables)
            phase_of[task_name] = phase
            running = running or phase not in _DONE
        if running or any(p == "Pending" for p in phase_of.values()):
            return "Running"
        failed = [self.nodes[c] for c in node.children if self.nodes[c].phase in ("Failed", "Error")]
        if failed:
            return node.finish("Failed", f"child '{failed[0].id}' failed")
        return node.finish("Succeeded")

    def _leaf(self, node: Node, template: Obj, variables: dict[str, str]) -> NodePhase:
        execution = self.leaves.get(node.id)
        if execution is None:
            container: Obj = _substitute_deep(
                template.get("container") or template.get("script") or {}, variables
            )
            self.leaves[node.id] = LeafExecution(self._leaf_target(container, node.id), node.id)
            return "Running"
        if execution.result is None:
            return "Running"
        execution.join()
        if execution.result.phase in ("Failed", "Error") and not self.failure_message:
            self.failure_message = execution.result.message
        node.outputs = dict(execution.result.outputs)
        return node.finish(execution.result.phase, execution.result.message)

    def _leaf_target(self, container: Obj, node_id: str) -> Callable[[threading.Event], LeafResult]:
        image = str(container.get("image", ""))
        if not image.startswith(JOB_IMAGE_PREFIX):
            delay = self.settings.step_delay

            def simulate(stop: threading.Event) -> LeafResult:
                if stop.wait(delay):
                    return LeafResult("Failed", "stopped")
                return LeafResult("Succeeded", SIMULATED)

            return simulate
        args = [str(a) for a in container.get("args") or []]
        env = self._job_env(container)
        workdir = self.workdir

        def job(stop: threading.Event) -> LeafResult:
            return run_job(args, env, workdir, node_id, stop)

        return job

    def _job_env(self, container: Obj) -> dict[str, str]:
        env = child_env()  # the lab process's environment (PATH, HOME, proxies), importing the same lab
        env["DRKIT_LAB_STATE_DIR"] = str(self.settings.state_dir)
        if self.settings.mlflow_uri:
            env["MLFLOW_TRACKING_URI"] = self.settings.mlflow_uri
            env.update(self.settings.mlflow_client_env)
        env.update(self.env_extra)
        for item in container.get("env") or []:
            if "value" in item:
                env[str(item["name"])] = str(item["value"])
        return env

    # ---------------------------------------------------------------------------------------------- control
    def stop(self, strategy: str) -> str:
        """spec.shutdown: stop every running leaf and fail what is running; the workflow's message."""
        message = f"Stopped with strategy '{strategy}'"
        for execution in self.leaves.values():
            execution.stop()
        self.close()
        for node in self.nodes.values():
            if node.phase not in _DONE:
                node.finish("Failed", message)
        return message

    def close(self) -> None:
        """Stop and join every leaf thread (their subprocesses are killed)."""
        for execution in self.leaves.values():
            execution.stop()
        for execution in self.leaves.values():
            execution.join()

    def progress(self) -> str:
        pods = [n for n in self.nodes.values() if n.type == "Pod"]
        done = sum(1 for n in pods if n.phase == "Succeeded")
        return f"{done}/{len(pods)}"

    def nodes_status(self) -> Obj:
        return {node_id: node.to_status() for node_id, node in self.nodes.items()}


class ArgoController(Operator):
    """Runs Workflows (see the module docstring). Call `close()` to stop running jobs when the lab stops."""

    name = "argo-workflows"
    watches = ((GROUP, "Workflow"),)

    def __init__(self, api: ApiClient, settings: LabSettings) -> None:
        super().__init__(api, settings)
        self._runs: dict[str, WorkflowRun] = {}  # Workflow uid -> run; touched by the controller worker only
        self._lock = threading.Lock()

    @property
    def _poll(self) -> float:
        return max(0.02, min(0.2, self.settings.step_delay / 4))

    def close(self) -> None:
        with self._lock:
            runs, self._runs = list(self._runs.values()), {}
        for run in runs:
            run.close()
        super().close()

    def _drop(self, uid: str) -> None:
        with self._lock:
            run = self._runs.pop(uid, None)
        if run is not None:
            run.close()

    def reconcile(self, rt: ResourceType, namespace: str | None, name: str) -> float | None:
        wf = get_or_none(self.api, rt, namespace, name)
        if wf is None:
            self._drop_by_name(namespace, name)
            return None
        uid = wf["metadata"]["uid"]
        status: Obj = copy.deepcopy(wf.get("status") or {})
        if is_deleting(wf) or status.get("phase") in FINAL_PHASES:
            self._drop(uid)
            return None
        if not status.get("phase"):
            status.update(phase="Pending", startedAt=rfc3339(), progress="0/0")
            status["observedGeneration"] = wf["metadata"].get("generation", 1)
            write_status(self.api, rt, wf, status)
            return self._poll
        with self._lock:
            run = self._runs.get(uid)
        if run is None:
            try:
                spec, parameters = self._resolve(wf)
                run = WorkflowRun(wf, spec, parameters, self.settings)
            except WorkflowSpecError as exc:
                self._finish(rt, wf, status, phase="Error", message=str(exc), nodes={})
                return None
            with self._lock:
                self._runs[uid] = run
        shutdown = (wf.get("spec") or {}).get("shutdown")
        if shutdown:
            message = run.stop(str(shutdown))
            self._finish(
                rt,
                wf,
                status,
                phase="Failed",
                message=message,
                nodes=run.nodes_status(),
                progress=run.progress(),
            )
            self._drop(uid)
            return None
        phase = run.advance()
        if phase in _DONE:
            message = "" if phase == "Succeeded" else run.failure_message or run.nodes[run.name].message
            final = "Succeeded" if phase == "Succeeded" else "Failed" if phase != "Error" else "Error"
            self._finish(
                rt,
                wf,
                status,
                phase=final,
                message=message,
                nodes=run.nodes_status(),
                progress=run.progress(),
            )
            self._drop(uid)
            return None
        status.update(phase="Running", progress=run.progress(), nodes=run.nodes_status())
        status["observedGeneration"] = wf["metadata"].get("generation", 1)
        write_status(self.api, rt, wf, status)
        return self._poll

    def _drop_by_name(self, namespace: str | None, name: str) -> None:
        with self._lock:
            uids = [
                uid for uid, run in self._runs.items() if (run.namespace, run.name) == (namespace or "", name)
            ]
        for uid in uids:
            self._drop(uid)

    def _finish(
        self,
        rt: ResourceType,
        wf: Obj,
        status: Obj,
        *,
        phase: str,
        message: str,
        nodes: Obj,
        progress: str = "0/0",
    ) -> None:
        status.update(phase=phase, finishedAt=rfc3339(), progress=progress, nodes=nodes)
        status.setdefault("startedAt", status["finishedAt"])
        status["observedGeneration"] = wf["metadata"].get("generation", 1)
        if message:
            status["message"] = message
        status["conditions"] = [{"type": "Completed", "status": "True"}]
        write_status(self.api, rt, wf, status)

    def _resolve(self, wf: Obj) -> tuple[Obj, dict[str, str]]:
        """The Workflow's effective spec (its template's, overlaid with its own) and its parameters."""
        spec: Obj = copy.deepcopy(wf.get("spec") or {})
        ref = spec.pop("workflowTemplateRef", None)
        template_spec: Obj = {}
        if ref:
            cluster = bool(ref.get("clusterScope"))
            kind_name = "ClusterWorkflowTemplate" if cluster else "WorkflowTemplate"
            tmpl_rt = self.api.resource(API_VERSION, kind_name)
            namespace = None if cluster else wf["metadata"].get("namespace")
            template = get_or_none(self.api, tmpl_rt, namespace, str(ref.get("name"))) if tmpl_rt else None
            if template is None:
                plural = "clusterworkflowtemplates" if cluster else "workflowtemplates"
                raise WorkflowSpecError(f'{plural}.{GROUP} "{ref.get("name")}" not found')
            template_spec = copy.deepcopy(template.get("spec") or {})
        merged: Obj = template_spec | {k: v for k, v in spec.items() if k not in ("arguments", "templates")}
        own_templates = {t.get("name"): t for t in spec.get("templates") or []}
        merged["templates"] = [
            t for t in template_spec.get("templates") or [] if t.get("name") not in own_templates
        ] + list(own_templates.values())
        parameters = merge_parameters(
            (template_spec.get("arguments") or {}).get("parameters") or [],
            (spec.get("arguments") or {}).get("parameters") or [],
        )
        return merged, parameters
