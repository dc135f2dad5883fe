"""Is this object ready? A pure, kstatus-style answer computed from the object alone.

The order follows kubernetes-sigs/cli-utils `pkg/kstatus/status`: a deletion in progress wins, then a
controller that has not yet seen the latest spec, then the generic `Reconciling`/`Stalled` conditions, then
the rules of the object's kind (a user's rule first). One deliberate difference from several peers (flux2
#4346, argo-cd #911): a custom resource with no status at all is *not* Current, because nothing has
reconciled it yet; a DR drill that calls an unreconciled Model healthy cannot fail, so it cannot pass either.

Nothing here talks to a cluster, so the rules are cheap to test with small dict fixtures.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

Obj = Mapping[str, Any]


class Status(StrEnum):
    CURRENT = "Current"
    IN_PROGRESS = "InProgress"
    FAILED = "Failed"
    TERMINATING = "Terminating"
    NOT_FOUND = "NotFound"


@dataclass(frozen=True)
class ReadinessResult:
    status: Status
    message: str

    @property
    def ready(self) -> bool:
        return self.status is Status.CURRENT


@dataclass(frozen=True)
class CustomRule:
    """A user's readiness rule for one kind; it replaces the built-in rule of that kind.

    Either `condition` (the object is ready when that condition is True, failed when it is False with a reason
    that says so) or `jsonpath` + `equals` (ready when the value at the path equals `equals`; failed when it
    equals one of `failed_values`). `api_version` may be a bare group ("mlops.seldon.io"): every version.
    """

    api_version: str
    kind: str
    condition: str | None = None
    jsonpath: str | None = None
    equals: str | None = None
    failed_values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        by_condition = self.condition is not None
        by_path = self.jsonpath is not None
        if by_condition == by_path:
            raise ValueError(f"readiness rule for {self.kind}: give exactly one of condition or jsonpath")
        if by_path and self.equals is None:
            raise ValueError(f"readiness rule for {self.kind}: jsonpath {self.jsonpath} needs `equals`")
        if by_path:
            parse_path(self.jsonpath or "")  # fail early on a path we cannot read

    def matches(self, api_version: str, kind: str) -> bool:
        if kind != self.kind:
            return False
        if "/" in self.api_version or self.api_version == "v1":
            return api_version == self.api_version
        return group_of(api_version) == self.api_version


@dataclass(frozen=True)
class ReadinessRules:
    """The user's rules, consulted before the built-in ones."""

    custom: tuple[CustomRule, ...] = ()

    def rule_for(self, api_version: str, kind: str) -> CustomRule | None:
        return next((r for r in self.custom if r.matches(api_version, kind)), None)


DEFAULT_RULES = ReadinessRules()

# Groups served by Kubernetes itself: objects of these groups without status need no controller to be ready.
_BUILTIN_GROUPS = frozenset({"", "apps", "batch", "autoscaling", "policy"})
# Reasons of a False Ready condition that mean "this will not get better by waiting".
_FAILED_REASON = re.compile(r"fail|error|invalid|crashloop", re.IGNORECASE)


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def is_builtin_group(group: str) -> bool:
    return group in _BUILTIN_GROUPS or group.endswith(".k8s.io")


def compute_status(obj: Obj | None, rules: ReadinessRules = DEFAULT_RULES) -> ReadinessResult:
    """The readiness of `obj` (None: it does not exist)."""
    if obj is None:
        return ReadinessResult(Status.NOT_FOUND, "not found")
    meta = _map(obj.get("metadata"))
    status = _map(obj.get("status"))
    if meta.get("deletionTimestamp"):
        return ReadinessResult(Status.TERMINATING, _terminating_message(obj, meta, status))
    observed = status.get("observedGeneration")
    generation = meta.get("generation")
    if observed is not None and generation is not None and observed != generation:
        return ReadinessResult(
            Status.IN_PROGRESS, f"controller has seen generation {observed}, the latest is {generation}"
        )
    conditions = _conditions(status)
    reconciling = conditions.get("Reconciling")
    if reconciling is not None and reconciling.get("status") == "True":
        return ReadinessResult(Status.IN_PROGRESS, _describe("reconciling", reconciling))
    stalled = conditions.get("Stalled")
    if stalled is not None and stalled.get("status") == "True":
        return ReadinessResult(Status.FAILED, _describe("stalled", stalled))

    api_version = str(obj.get("apiVersion", ""))
    kind = str(obj.get("kind", ""))
    custom = rules.rule_for(api_version, kind)
    if custom is not None:
        return _apply_custom(custom, obj, status, conditions)
    builtin = _KIND_RULES.get((group_of(api_version), kind))
    if builtin is not None:
        return builtin(obj, status, conditions)
    if is_builtin_group(group_of(api_version)):
        return ReadinessResult(Status.CURRENT, "exists")
    return _generic_custom_resource(status, conditions)


# --- helpers ------------------------------------------------------------------------------------


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(value: object, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _conditions(status: Obj) -> dict[str, Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {}
    for cond in status.get("conditions") or []:
        if isinstance(cond, Mapping) and isinstance(cond.get("type"), str):
            found[cond["type"]] = cond
    return found


def _describe(prefix: str, cond: Obj) -> str:
    detail = ": ".join(str(p) for p in (cond.get("reason"), cond.get("message")) if p)
    return f"{prefix} ({detail})" if detail else prefix


def _is_true(conditions: Mapping[str, Obj], name: str) -> bool:
    cond = conditions.get(name)
    return cond is not None and cond.get("status") == "True"


def _from_ready_condition(
    conditions: Mapping[str, Obj], name: str, *, failed_reasons: bool
) -> ReadinessResult:
    """Current when `name` is True; Failed when False with a failure reason (if asked); else InProgress."""
    cond = conditions.get(name)
    if cond is None:
        return ReadinessResult(Status.IN_PROGRESS, f"waiting for condition {name}")
    state = cond.get("status")
    if state == "True":
        return ReadinessResult(Status.CURRENT, _describe(f"{name}", cond) if cond.get("message") else name)
    if state == "False" and failed_reasons and _FAILED_REASON.search(str(cond.get("reason") or "")):
        return ReadinessResult(Status.FAILED, _describe(f"{name}=False", cond))
    return ReadinessResult(Status.IN_PROGRESS, _describe(f"{name}={state or 'Unknown'}", cond))


# Conditions a Terminating namespace carries, each naming what holds it (pkg/controller/namespace/deletion).
_NAMESPACE_BLOCKERS = (
    "NamespaceDeletionDiscoveryFailure",
    "NamespaceDeletionGroupVersionParsingFailure",
    "NamespaceDeletionContentFailure",
    "NamespaceContentRemaining",
    "NamespaceFinalizersRemaining",
)


def _terminating_message(obj: Obj, meta: Obj, status: Obj) -> str:
    parts = ["being deleted"]
    finalizers = list(meta.get("finalizers") or [])
    if obj.get("kind") == "Namespace":
        finalizers += list(_map(obj.get("spec")).get("finalizers") or [])
    if finalizers:
        parts.append(f"waiting for finalizers {', '.join(map(str, finalizers))}")
    conditions = _conditions(status)
    for name in _NAMESPACE_BLOCKERS:
        cond = conditions.get(name)
        if cond is not None and cond.get("status") == "True" and cond.get("message"):
            parts.append(str(cond["message"]))
    return "; ".join(parts)


def _no_status() -> ReadinessResult:
    return ReadinessResult(Status.IN_PROGRESS, "no status yet: no controller has reconciled it")


# --- custom rules -------------------------------------------------------------------------------

_SEGMENT = re.compile(
    r"""\.?([A-Za-z0-9_\-]+)|\[(\d+)\]|\[\?\(@\.([A-Za-z0-9_\-]+)\s*==\s*["']([^"']*)["']\)\]"""
)
PathStep = str | int | tuple[str, str]


def parse_path(path: str) -> tuple[PathStep, ...]:
    """Parse the JSONPath subset rules need: `.status.phase`, `{.a[0].b}`, `.c[?(@.type=="Ready")].status`."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    steps: list[PathStep] = []
    pos = 0
    while pos < len(text):
        match = _SEGMENT.match(text, pos)
        if match is None:
            raise ValueError(f"unsupported JSONPath {path!r} at {text[pos:]!r}")
        key, index, filter_key, filter_value = match.groups()
        if key is not None:
            steps.append(key)
        elif index is not None:
            steps.append(int(index))
        else:
            steps.append((filter_key, filter_value))
        pos = match.end()
    if not steps:
        raise ValueError(f"empty JSONPath {path!r}")
    return tuple(steps)


def read_path(obj: object, path: str) -> object:
    """The value at `path` in `obj`, or None when any step is missing."""
    current: object = obj
    for step in parse_path(path):
        if isinstance(step, str):
            current = current.get(step) if isinstance(current, Mapping) else None
        elif isinstance(step, int):
            current = current[step] if isinstance(current, list) and step < len(current) else None
        else:
            key, value = step
            items = current if isinstance(current, list) else []
            current = next((i for i in items if isinstance(i, Mapping) and str(i.get(key)) == value), None)
        if current is None:
            return None
    return current


def _apply_custom(rule: CustomRule, obj: Obj, status: Obj, conditions: Mapping[str, Obj]) -> ReadinessResult:
    if rule.condition is not None:
        if not status:
            return _no_status()
        return _from_ready_condition(conditions, rule.condition, failed_reasons=True)
    value = read_path(obj, rule.jsonpath or "")
    shown = "missing" if value is None else str(value)
    if value is not None and str(value) == rule.equals:
        return ReadinessResult(Status.CURRENT, f"{rule.jsonpath} is {shown}")
    if value is not None and str(value) in rule.failed_values:
        return ReadinessResult(Status.FAILED, f"{rule.jsonpath} is {shown}")
    return ReadinessResult(Status.IN_PROGRESS, f"{rule.jsonpath} is {shown}, waiting for {rule.equals}")


# --- built-in kinds -----------------------------------------------------------------------------

KindRule = Callable[[Obj, Obj, Mapping[str, Obj]], ReadinessResult]


def _spec(obj: Obj) -> Mapping[str, Any]:
    return _map(obj.get("spec"))


def _deployment(obj: Obj, status: Obj, conditions: Mapping[str, Obj]) -> ReadinessResult:
    progressing = conditions.get("Progressing")
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        return ReadinessResult(Status.FAILED, _describe("progress deadline exceeded", progressing))
    want = _int(_spec(obj).get("replicas"), 1)
    updated = _int(status.get("updatedReplicas"))
    total = _int(status.get("replicas"))
    available = _int(status.get("availableReplicas"))
    ready = _int(status.get("readyReplicas"))
    if updated < want:
        return ReadinessResult(Status.IN_PROGRESS, f"{updated}/{want} replicas updated")
    if total > updated:
        return ReadinessResult(Status.IN_PROGRESS, f"{total - updated} old replicas pending termination")
    if available < want:
        return ReadinessResult(Status.IN_PROGRESS, f"{available}/{want} replicas available")
    if ready < want:
        return ReadinessResult(Status.IN_PROGRESS, f"{ready}/{want} replicas ready")
    avail_cond = conditions.get("Available")
    if avail_cond is not None and avail_cond.get("status") == "False":
        return ReadinessResult(Status.IN_PROGRESS, _describe("not available", avail_cond))
    return ReadinessResult(Status.CURRENT, f"{available}/{want} replicas available")


def _statefulset(obj: Obj, status: Obj, conditions: Mapping[str, Obj]) -> ReadinessResult:
    spec = _spec(obj)
    strategy = _map(spec.get("updateStrategy"))
    want = _int(spec.get("replicas"), 1)
    total = _int(status.get("replicas"))
    ready = _int(status.get("readyReplicas"))
    if total < want:
        return ReadinessResult(Status.IN_PROGRESS, f"{total}/{want} replicas created")
    if ready < want:
        return ReadinessResult(Status.IN_PROGRESS, f"{ready}/{want} replicas ready")
    if strategy.get("type") == "OnDelete":
        return ReadinessResult(Status.CURRENT, f"{ready}/{want} replicas ready (updateStrategy OnDelete)")
    partition = _int(_map(strategy.get("rollingUpdate")).get("partition"))
    updated = _int(status.get("updatedReplicas"))
    if updated < want - partition:
        return ReadinessResult(Status.IN_PROGRESS, f"{updated}/{want - partition} replicas updated")
    if partition == 0 and status.get("currentRevision") != status.get("updateRevision"):
        return ReadinessResult(Status.IN_PROGRESS, "rolling update in progress (revision not yet current)")
    return ReadinessResult(Status.CURRENT, f"{ready}/{want} replicas ready")


def _daemonset(obj: Obj, status: Obj, conditions: Mapping[str, Obj]) -> ReadinessResult:
    if "desiredNumberScheduled" not in status:
        return ReadinessResult(Status.IN_PROGRESS, "no status.desiredNumberScheduled yet")
    want = _int(status.get("desiredNumberScheduled"))
    for field, label in (
        ("currentNumberScheduled", "scheduled"),
        ("updatedNumberScheduled", "updated"),
        ("numberAvailable", "available"),
        ("numberReady", "ready"),
    ):
        have = _int(status.get(field))
        if have < want:
            return ReadinessResult(Status.IN_PROGRESS, f"{have}/{want} pods {label}")
    return ReadinessResult(Status.CURRENT, f"{want}/{want} pods available")


def _replicaset(obj: Obj, status: Obj, conditions: Mapping[str, Obj]) -> ReadinessResult:
    failure = conditions.get("ReplicaFailure")
    if failure is not None and failure.get("status") == "True":
        return ReadinessResult(Status.IN_PROGRESS, _describe("replica failure", failure))
    want = _int(_spec(obj).get("replicas"), 1)
    total = _int(status.get("replicas"))
    for field, label in (
        ("fullyLabeledReplicas", "labelled"),
        ("availableReplicas", "available"),
        ("readyReplicas", "ready"),
    ):
        have = _int(status.get(field))
        if have < want:
            return ReadinessResult(Status.IN_PROGRESS, f"{have}/{want} replicas {label}")
    if total > want:
        return ReadinessResult(Status.IN_PROGRESS, f"{total - want} extra replicas pending termination")
    return ReadinessResult(Status.CURRENT, f"{want}/{want} replicas available")


def _job(obj: Obj, status: Obj, conditions: Mapping[str, Obj]) -> ReadinessResult:
    succeeded = _int(status.get("succeeded"))
    completions = _int(_spec(obj).get("completions"), 1)
    if _is_true(conditions, "Failed"):
        return ReadinessResult(Status.FAILED, _describe("job failed", conditions["Failed"]))
    if _is_true(conditions, "Complete"):
        return ReadinessResult(Status.CURRENT, f"job complete: {succeeded}/{completions} succeeded")
    active = _int(status.get("active"))
    failed = _int(status.get("failed"))
    return ReadinessResult(
        Status.IN_PROGRESS,
        f"job running: {succeeded}/{completions} succeeded, {active} active, {failed} failed",
    )


_IMAGE_WAIT_REASONS = frozenset(
    {
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)


def _pod(obj: Obj, status: Obj, conditions: Mapping[str, Obj]) -> ReadinessResult:
    phase = status.get("phase")
    if phase == "Succeeded":
        return ReadinessResult(Status.CURRENT, "pod completed successfully")
    if phase == "Failed":
        return ReadinessResult(
            Status.FAILED, f"pod failed: {status.get('reason') or status.get('message') or ''}"
        )
    containers = [
        *(status.get("initContainerStatuses") or []),
        *(status.get("containerStatuses") or []),
    ]
    for container in containers:
        waiting = _map(_map(_map(container).get("state")).get("waiting"))
        reason = waiting.get("reason")
        name = _map(container).get("name", "?")
        if reason == "CrashLoopBackOff":
            return ReadinessResult(Status.FAILED, f"container {name} is in CrashLoopBackOff")
        if reason in _IMAGE_WAIT_REASONS:
            detail = f": {waiting['message']}" if waiting.get("message") else ""
            return ReadinessResult(Status.IN_PROGRESS, f"container {name} is waiting ({reason}){detail}")
    scheduled = conditions.get("PodScheduled")
    if scheduled is not None and scheduled.get("status") == "False":
        return ReadinessResult(Status.IN_PROGRESS, _describe("not scheduled", scheduled))
    if phase == "Running" and _is_true(conditions, "Ready"):
        return ReadinessResult(Status.CURRENT, "pod running and ready")
    total = len(status.get("containerStatuses") or [])
    ready = sum(1 for c in status.get("containerStatuses") or [] if _map(c).get("ready") is True)
    counts = f", {ready}/{total} containers ready" if total else ""
    return ReadinessResult(Status.IN_PROGRESS, f"pod phase {phase or 'unknown'}{counts}")


def _pvc(obj: Obj, status: Obj, conditions: Mapping[str, Obj]) -> ReadinessResult:
    phase = status.get("phase")
    if phase == "Bound":
        return ReadinessResult(Status.CURRENT, "bound")
    if phase == "Lost":
        return ReadinessResult(Status.FAILED, "claim lost its volume")
    return ReadinessResult(Status.IN_PROGRESS, f"not bound (phase {phase or 'unknown'})")


def _crd(obj: Obj, status: Obj, conditions: Mapping[str, Obj]) -> ReadinessResult:
    names = conditions.get("NamesAccepted")
    if names is not None and names.get("status") == "False":
        return ReadinessResult(Status.FAILED, _describe("names not accepted", names))
    if _is_true(conditions, "Established"):
        return ReadinessResult(Status.CURRENT, "established")
    return ReadinessResult(Status.IN_PROGRESS, "not yet established")


def _namespace(obj: Obj, status: Obj, conditions: Mapping[str, Obj]) -> ReadinessResult:
    phase = status.get("phase")
    if phase == "Terminating":
        return ReadinessResult(Status.TERMINATING, "namespace is terminating")
    return ReadinessResult(Status.CURRENT, "active")


def _service(obj: Obj, status: Obj, conditions: Mapping[str, Obj]) -> ReadinessResult:
    if _spec(obj).get("type") != "LoadBalancer":
        return ReadinessResult(Status.CURRENT, "exists")
    if _map(status.get("loadBalancer")).get("ingress"):
        return ReadinessResult(Status.CURRENT, "load balancer provisioned")
    return ReadinessResult(Status.IN_PROGRESS, "waiting for a load balancer address")


def _seldon(obj: Obj, status: Obj, conditions: Mapping[str, Obj]) -> ReadinessResult:
    if not status:
        return _no_status()
    result = _from_ready_condition(conditions, "Ready", failed_reasons=True)
    want = status.get("replicas")
    available = status.get("availableReplicas")
    if isinstance(want, int) and isinstance(available, int) and result.status is Status.IN_PROGRESS:
        return ReadinessResult(result.status, f"{result.message}; {available}/{want} replicas available")
    return result


_WORKFLOW_FAILED = frozenset({"Failed", "Error"})


def _argo_workflow(obj: Obj, status: Obj, conditions: Mapping[str, Obj]) -> ReadinessResult:
    phase = status.get("phase") or ""
    message = f": {status['message']}" if status.get("message") else ""
    if phase == "Succeeded":
        return ReadinessResult(Status.CURRENT, "workflow succeeded")
    if phase in _WORKFLOW_FAILED:
        return ReadinessResult(Status.FAILED, f"workflow {phase.lower()}{message}")
    return ReadinessResult(Status.IN_PROGRESS, f"workflow phase {phase or 'not started'}{message}")


def _sealed_secret(obj: Obj, status: Obj, conditions: Mapping[str, Obj]) -> ReadinessResult:
    synced = conditions.get("Synced")
    if synced is None:
        return ReadinessResult(Status.IN_PROGRESS, "not yet unsealed by the controller")
    if synced.get("status") == "True":
        return ReadinessResult(Status.CURRENT, "unsealed into its Secret")
    if synced.get("status") == "False":
        return ReadinessResult(Status.FAILED, _describe("could not unseal", synced))
    return ReadinessResult(Status.IN_PROGRESS, _describe("unsealing", synced))


def _generic_custom_resource(status: Obj, conditions: Mapping[str, Obj]) -> ReadinessResult:
    if not status:
        return _no_status()
    if "Ready" in conditions:
        return _from_ready_condition(conditions, "Ready", failed_reasons=False)
    return ReadinessResult(Status.CURRENT, "has status and no Ready condition")


def _configuration(obj: Obj, status: Obj, conditions: Mapping[str, Obj]) -> ReadinessResult:
    """Kinds that are pure configuration: no controller ever writes their status, so existing is all they
    can be (the "no status yet means in progress" rule for custom resources would never end for them)."""
    return ReadinessResult(Status.CURRENT, "exists (configuration: nothing reconciles it)")


_KIND_RULES: dict[tuple[str, str], KindRule] = {
    ("apps", "Deployment"): _deployment,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "DaemonSet"): _daemonset,
    ("apps", "ReplicaSet"): _replicaset,
    ("batch", "Job"): _job,
    ("", "Pod"): _pod,
    ("", "PersistentVolumeClaim"): _pvc,
    ("", "Namespace"): _namespace,
    ("", "Service"): _service,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
    ("mlops.seldon.io", "Model"): _seldon,
    ("mlops.seldon.io", "Experiment"): _seldon,
    ("mlops.seldon.io", "Server"): _seldon,
    ("mlops.seldon.io", "Pipeline"): _seldon,
    ("argoproj.io", "Workflow"): _argo_workflow,
    ("bitnami.com", "SealedSecret"): _sealed_secret,
    ("argoproj.io", "WorkflowTemplate"): _configuration,
    ("argoproj.io", "ClusterWorkflowTemplate"): _configuration,
    ("mlops.seldon.io", "ServerConfig"): _configuration,
}
