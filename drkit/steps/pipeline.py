"""The `pipeline` step: run an Argo Workflow from a WorkflowTemplate and wait for its verdict.

Seed 003 retrains with `argo submit --from workflowtemplate/... --watch`, which has three weaknesses during an
incident: `argo wait` can quit early (argo-workflows #1328), a workflow cleaned up by its TTL makes the
watcher fail (#8146), and a rerun after a crash submits a second training run. So this step:

- labels the Workflow with the run id and the step (`drkit.io/run-id`, `drkit.io/step`) and, before
  submitting, looks for one it already submitted: a resumed run (or a retry after a lost answer) re-attaches
  to a workflow that is still running or has succeeded. A workflow that Failed is history: a retry or a
  resume after fixing the cause submits a new one;
- waits by watch with re-lists (`drkit.kube.wait_for`), decides on `status.phase` only, and treats a 404 as
  "gone" and judges the last phase it saw;
- shows which nodes run, and on failure names the failed nodes with their messages;
- on timeout says so, and with `onTimeout: stop` sets `spec.shutdown: Stop` so the workflow does not go on
  using the cluster after drkit gave up on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

from drkit.domain import argo_status
from drkit.domain.argo_status import API_VERSION
from drkit.kube import Cluster, KubeError, ObjectRef, UnknownKind, wait_for
from drkit.playbook.fields import Bool, Field, KindSchema, MapOf, Obj, Str
from drkit.playbook.model import StepSpec
from drkit.steps.access import READ, AccessScope, StepAccess, Verb, on
from drkit.steps.base import StepContext, StepKind, StepPlan, StepResult, StepStatus
from drkit.steps.results import WorkflowRun
from drkit.steps.settings import StepConfigError, as_mapping, opt_bool, opt_choice, opt_str, req_str, str_map

T = TypeVar("T")
DEFAULT_TIMEOUT_SECONDS = 60 * 60.0
# After asking a timed-out workflow to stop, how long to wait for the controller to confirm it stopped.
STOP_CONFIRM_SECONDS = 15.0
_NO_DEADLINE_SECONDS = 365 * 24 * 3600.0
RUN_ID_LABEL = "drkit.io/run-id"
STEP_LABEL = "drkit.io/step"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
OnTimeout = Literal["fail", "stop"]
ON_TIMEOUT: tuple[OnTimeout, ...] = ("fail", "stop")
_NAME = r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?"

BODY = Obj(
    description="Submit an Argo Workflow from a WorkflowTemplate and wait until it succeeds or fails.",
    fields={
        "workflowTemplate": Field(
            Str(pattern=_NAME), required=True, description="Name of the WorkflowTemplate to run."
        ),
        "clusterScope": Field(
            Bool(), description="The template is a ClusterWorkflowTemplate (default false)."
        ),
        "namespace": Field(
            Str(pattern=_NAME),
            description="Namespace of the Workflow (and of the template); the context's namespace if absent.",
        ),
        "parameters": Field(MapOf(Str()), description="Workflow arguments: parameter name -> value."),
        "generateName": Field(
            Str(pattern=r"[a-z0-9]([-a-z0-9.]*)?"),
            description="Prefix of the Workflow's generated name (default `<workflowTemplate>-`).",
        ),
        "labels": Field(MapOf(Str()), description="Extra labels on the Workflow."),
        "onTimeout": Field(
            Str(enum=ON_TIMEOUT),
            description="On timeout: fail (the default), or also stop the Workflow (spec.shutdown).",
        ),
    },
)

SCHEMA = KindSchema(
    kind="pipeline",
    body=BODY,
    description="Run an Argo Workflow from a WorkflowTemplate; re-attaches to it when a run is resumed.",
    examples=(
        {
            "workflowTemplate": "financial-training-pipeline-template",
            "namespace": "financial-mlops-pytorch",
            "parameters": {"model-variant": "${model_variant}"},
        },
        {"workflowTemplate": "nightly-etl", "clusterScope": True, "onTimeout": "stop"},
    ),
)


@dataclass(frozen=True)
class PipelineSettings:
    template: str
    cluster_scope: bool = False
    namespace: str | None = None  # None: the kubeconfig context's namespace
    parameters: Mapping[str, str] = field(default_factory=dict)
    generate_name: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    on_timeout: OnTimeout = "fail"

    @property
    def template_kind(self) -> str:
        return "ClusterWorkflowTemplate" if self.cluster_scope else "WorkflowTemplate"

    def template_display(self, namespace: str) -> str:
        where = self.template if self.cluster_scope else f"{namespace}/{self.template}"
        return f"{self.template_kind} {where}"


def parse_settings(body: object) -> PipelineSettings:
    data = as_mapping(body, "pipeline")
    template = req_str(data, "workflowTemplate")
    labels = str_map(data, "labels")
    reserved = sorted(k for k in labels if k in (RUN_ID_LABEL, STEP_LABEL))
    if reserved:  # MapOf says nothing about which keys a mapping may have
        raise StepConfigError(f"label {reserved[0]!r} is set by drkit itself", hint="remove it from `labels`")
    return PipelineSettings(
        template=template,
        cluster_scope=opt_bool(data, "clusterScope", default=False),
        namespace=opt_str(data, "namespace"),
        parameters=str_map(data, "parameters"),
        generate_name=opt_str(data, "generateName") or f"{template}-",
        labels=labels,
        on_timeout=opt_choice(data, "onTimeout", ON_TIMEOUT, "fail"),
    )


def run_labels(run_id: str, phase: str, step: str) -> dict[str, str]:
    """The labels that identify the Workflow a run's step submitted (label-safe, hashed when too long)."""
    return {
        RUN_ID_LABEL: argo_status.label_value(run_id),
        STEP_LABEL: argo_status.label_value(f"{phase}.{step}" if phase else step),
    }


def workflow_manifest(
    settings: PipelineSettings, namespace: str, labels: Mapping[str, str]
) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": settings.template}
    if settings.cluster_scope:
        ref["clusterScope"] = True
    spec: dict[str, Any] = {"workflowTemplateRef": ref}
    if settings.parameters:
        spec["arguments"] = {"parameters": [{"name": k, "value": v} for k, v in settings.parameters.items()]}
    return {
        "apiVersion": API_VERSION,
        "kind": "Workflow",
        "metadata": {
            "generateName": settings.generate_name,
            "namespace": namespace,
            "labels": {MANAGED_BY_LABEL: "drkit", **settings.labels, **labels},
        },
        "spec": spec,
    }


def _selector(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _with_discovery_retry(cluster: Cluster, read: Callable[[], T]) -> T:
    """Run `read()`; on UnknownKind refresh discovery once (an earlier step may just have installed Argo)."""
    try:
        return read()
    except UnknownKind:
        cluster.invalidate_discovery()
        return read()


class _Progress:
    """Tells the live line what the workflow is doing, once per change of that text (most watch events
    leave it unchanged), and keeps the last state of the workflow seen."""

    def __init__(self, ctx: StepContext, name: str) -> None:
        self.ctx = ctx
        self.name = name
        self.last_text = ""
        self.last_seen: dict[str, Any] | None = None

    def __call__(self, ref: ObjectRef, obj: dict[str, Any] | None) -> None:
        if obj is not None:
            self.last_seen = obj
        text = f"{self.name}: {argo_status.progress_text(obj)}"
        if text != self.last_text:
            self.last_text = text
            self.ctx.progress(text)


class PipelineStep:
    def __init__(self, spec: StepSpec, settings: PipelineSettings) -> None:
        self.spec = spec
        self.settings = settings

    def access(self, ctx: StepContext, scope: AccessScope) -> StepAccess:
        """Submit the Workflow and watch it (a timeout with `onTimeout: stop` patches it to shutdown); read
        the template (listed too, to name the others when it is missing). drkit deletes no Workflow."""
        s = self.settings
        namespace = scope.namespace_of(s.namespace)
        workflow: tuple[Verb, ...] = (*READ, "create", *(("patch",) if s.on_timeout == "stop" else ()))
        template_namespace = None if s.cluster_scope else namespace
        return StepAccess(
            (
                on(API_VERSION, "Workflow", workflow, namespace),
                on(API_VERSION, s.template_kind, ("get", "list"), template_namespace),
            )
        )

    # --- plan --------------------------------------------------------------------------------------

    def plan(self, ctx: StepContext) -> StepPlan:
        s = self.settings
        cluster = ctx.cluster()
        namespace = s.namespace or cluster.default_namespace
        template = s.template_display(namespace)
        given = f"parameters {dict(s.parameters)}" if s.parameters else "no parameters"
        summary = f"would submit a Workflow from {template} with {given}"
        actions = [
            f"create Workflow {namespace}/{s.generate_name}* labelled with this run and step, "
            f"then wait for it (on timeout: {s.on_timeout})"
        ]
        try:
            found = self._get_template(cluster, namespace)
        except KubeError as exc:
            actions.append(f"problem: could not check {template}: {exc.message}")
            return StepPlan(summary=summary, actions=tuple(actions))
        if found is None:
            summary += f" (problem: {template} does not exist now)"
            actions.append(
                f"problem: {template} is not in the cluster; unless an earlier step creates it, this step "
                "will fail"
            )
        return StepPlan(summary=summary, actions=tuple(actions))

    def _get_template(self, cluster: Cluster, namespace: str) -> dict[str, Any] | None:
        s = self.settings
        return _with_discovery_retry(
            cluster,
            lambda: cluster.get(
                API_VERSION, s.template_kind, s.template, None if s.cluster_scope else namespace
            ),
        )

    # --- run ---------------------------------------------------------------------------------------

    def run(self, ctx: StepContext) -> StepResult:
        s = self.settings
        cluster = ctx.cluster()
        namespace = s.namespace or cluster.default_namespace
        labels = run_labels(ctx.run_id, ctx.phase, self.spec.name)
        workflow = self._previous(cluster, namespace, labels)
        reattached = workflow is not None
        if workflow is None:
            if self._get_template(cluster, namespace) is None:
                return self._no_template(cluster, namespace)
            workflow = cluster.create(workflow_manifest(s, namespace, labels), look_before_repeat=True)
        name = str(workflow["metadata"]["name"])
        ctx.progress(f"{'re-attached to' if reattached else 'submitted'} workflow {namespace}/{name}")
        return self._wait(ctx, cluster, workflow, reattached)

    def _no_template(self, cluster: Cluster, namespace: str) -> StepResult:
        s = self.settings
        where = None if s.cluster_scope else namespace
        names = sorted(str(t["metadata"]["name"]) for t in cluster.list(API_VERSION, s.template_kind, where))
        scope = "the cluster" if s.cluster_scope else f"namespace {namespace}"
        known = f"{s.template_kind}s in {scope}: {', '.join(names[:8]) or 'none'}"
        return StepResult(
            StepStatus.FAILED,
            f"{s.template_display(namespace)} does not exist, so no Workflow was submitted ({known}); "
            "create it first, for example with an `apply` step before this one",
            {"template": s.template, "namespace": namespace, "submitted": False, "templates": names},
        )

    def _previous(self, cluster: Cluster, namespace: str, labels: Mapping[str, str]) -> dict[str, Any] | None:
        """The Workflow this run's step submitted before and that is worth re-attaching to, if any."""
        found = _with_discovery_retry(
            cluster,
            lambda: cluster.list(API_VERSION, "Workflow", namespace, label_selector=_selector(labels)),
        )
        alive = [w for w in found if argo_status.verdict(w) in ("running", "succeeded")]
        return argo_status.newest(alive)

    def _wait(
        self, ctx: StepContext, cluster: Cluster, workflow: dict[str, Any], reattached: bool
    ) -> StepResult:
        ref = ObjectRef.of(workflow)
        progress = _Progress(ctx, str(ref.name))
        progress(ref, workflow)
        deadline = ctx.deadline
        if deadline is None:
            deadline = ctx.runtime.monotonic() + _NO_DEADLINE_SECONDS
        waited = wait_for(cluster, [ref], argo_status.is_final, deadline, on_change=progress)
        last = progress.last_seen or workflow
        current = waited.last_seen.get(ref, last)
        # Every message reads "workflow ns/x ended Failed" or "re-attached to workflow ns/x: it succeeded".
        how = f"workflow {ref.namespace}/{ref.name}"
        if reattached:
            how = f"re-attached to {how}: it"
        details: dict[str, object] = {
            "template": self.settings.template_display(str(ref.namespace)),
            "parameters": dict(self.settings.parameters),
            "reattached": reattached,
            **argo_status.summary(last),
        }
        if not waited.complete:
            result = self._timed_out(ctx=ctx, cluster=cluster, ref=ref, last=last, how=how, details=details)
        elif current is None:
            details["gone"] = True
            result = self._judge_gone(last, how, details)
        else:
            result = self._judge(current, how, {**details, **argo_status.summary(current)})
        # A failure names the Workflow: failure collection gathers it, its events and its pods' logs.
        return replace(result, objects=(ref,)) if result.status is StepStatus.FAILED else result

    def _judge(self, workflow: dict[str, Any], how: str, details: dict[str, object]) -> StepResult:
        phase = argo_status.phase_of(workflow)
        took = argo_status.duration_seconds(workflow)
        timing = f" in {took:.1f}s" if took is not None else ""
        if phase == "Succeeded":
            return StepResult(
                StepStatus.SUCCEEDED,
                f"{how} succeeded{timing} ({argo_status.progress_text(workflow)})",
                details,
            )
        return StepResult(
            StepStatus.FAILED,
            f"{how} ended {phase}{timing}: {argo_status.describe_failure(workflow)}",
            details,
        )

    def _judge_gone(self, last: dict[str, Any], how: str, details: dict[str, object]) -> StepResult:
        phase = argo_status.phase_of(last)
        if phase in argo_status.FINAL_PHASES:
            result = self._judge(last, how, details)
            return StepResult(result.status, f"{result.message} (then deleted)", result.details)
        return StepResult(
            StepStatus.FAILED,
            f"{how} was deleted while {phase or 'Pending'}, before it finished "
            f"({argo_status.progress_text(last)})",
            details,
        )

    def _timed_out(
        self,
        *,
        ctx: StepContext,
        cluster: Cluster,
        ref: ObjectRef,
        last: dict[str, Any],
        how: str,
        details: dict[str, object],
    ) -> StepResult:
        details["timedOut"] = True
        where = f"-n {ref.namespace} " if ref.namespace else ""
        message = (
            f"{how} did not finish before the step's timeout "
            f"(phase {argo_status.phase_of(last) or 'Pending'}, {argo_status.progress_text(last)})"
        )
        if self.settings.on_timeout == "fail":
            return StepResult(
                StepStatus.FAILED,
                f"{message}; it is still running (stop it with "
                f"`kubectl patch workflow {where}{ref.name} --type merge -p "
                '\'{"spec":{"shutdown":"Stop"}}\'`, or set onTimeout: stop)',
                details,
            )
        try:
            cluster.patch_merge(ref, {"spec": {"shutdown": "Stop"}})
        except KubeError as exc:
            details["stopRequested"] = False
            return StepResult(StepStatus.FAILED, f"{message}; stopping it failed: {exc.message}", details)
        details["stopRequested"] = True
        confirm = ctx.runtime.monotonic() + STOP_CONFIRM_SECONDS
        waited = wait_for(cluster, [ref], argo_status.is_final, confirm)
        final = waited.last_seen.get(ref)
        if waited.complete and final is not None:
            details.update(argo_status.summary(final))
            details["timedOut"] = True
            return StepResult(
                StepStatus.FAILED,
                f"{message}; stopped it with spec.shutdown=Stop: it ended "
                f"{argo_status.phase_of(final)}"
                + (f" ({final['status']['message']})" if (final.get("status") or {}).get("message") else ""),
                details,
            )
        outcome = "it is gone now" if waited.complete else "the controller has not confirmed yet"
        return StepResult(
            StepStatus.FAILED, f"{message}; asked it to stop (spec.shutdown=Stop), {outcome}", details
        )


STEP_KIND = StepKind(
    schema=SCHEMA,
    build=lambda spec: PipelineStep(spec, parse_settings(spec.body)),
    default_timeout=DEFAULT_TIMEOUT_SECONDS,
    needs_cluster=True,
    result=WorkflowRun.from_details,
)
