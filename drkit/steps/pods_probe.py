"""The `pods` checklist item: the pods behind a selector are there and every container in them is ready.

A Deployment or a Seldon Server can look Available while one container of its pod (the agent sidecar of an
MLServer pod, say) is not ready; "mlserver 3/3" is what an operator reads in `kubectl get pods`, so that is
what this item checks: at least `count` pods (default 1) match, and each has every container of its spec
ready (`containersReady: true`, the default), or is ready per kstatus (`containersReady: false`). Each
attempt is one LIST of pods (read only); its resourceVersion is where the checklist runner watches for the
next change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drkit.kube import Status, compute_status
from drkit.kube.changes import WatchPoint, list_watched
from drkit.playbook.fields import Bool, Field, Int, KindSchema, Obj, Str
from drkit.playbook.model import Playbook
from drkit.steps.access import READ, AccessScope, StepAccess, on
from drkit.steps.base import ProbeKind, StepContext, StepResult, StepStatus
from drkit.steps.selectors import SELECTOR, label_selector
from drkit.steps.settings import StepConfigError, as_mapping, opt_bool, opt_int, opt_str

BODY = Obj(
    description="Each pod must have every container ready; with containersReady false, be ready by kstatus.",
    fields={
        "namespace": Field(Str(), description="The namespace (the context's namespace when absent)."),
        "selector": Field(SELECTOR, required=True),
        "containersReady": Field(
            Bool(), description="Every container of every pod must be ready (default true)."
        ),
        "count": Field(Int(minimum=1), description="At least this many pods (default 1)."),
    },
)

SCHEMA = KindSchema(
    kind="pods",
    body=BODY,
    description="Pods matching a selector exist (at least `count`) and all their containers are ready.",
    examples=({"namespace": "seldon-mesh", "selector": {"app": "mlserver"}, "count": 1},),
)


@dataclass(frozen=True)
class PodsSettings:
    namespace: str | None
    label_selector: str
    containers_ready: bool = True
    count: int = 1

    def describe(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        what = "all containers ready" if self.containers_ready else "ready"
        return f"at least {self.count} pod(s){where} with labels {self.label_selector}, {what}"


def parse_settings(body: object) -> PodsSettings:
    data = as_mapping(body, "pods")
    selector = label_selector(data.get("selector"))
    if not selector:  # required by the schema, but "" (or a `${x}` that is empty) passes it
        raise StepConfigError("`pods` needs a `selector`: checking every pod of a namespace says little")
    return PodsSettings(
        namespace=opt_str(data, "namespace") or None,
        label_selector=selector,
        containers_ready=opt_bool(data, "containersReady", default=True),
        count=opt_int(data, "count", 1),
    )


def pod_problem(pod: Mapping[str, Any], containers_ready: bool) -> str | None:
    """Why this pod does not pass, or None when it does."""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return "being deleted"
    if not containers_ready:
        state = compute_status(pod)
        return None if state.status is Status.CURRENT else state.message
    wanted = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
    statuses = {str(c.get("name")): c for c in (pod.get("status") or {}).get("containerStatuses") or []}
    ready = [name for name in wanted if (statuses.get(name) or {}).get("ready") is True]
    if wanted and len(ready) == len(wanted):
        return None
    waiting = [f"{name}: {_container_state(statuses.get(name))}" for name in wanted if name not in ready]
    phase = (pod.get("status") or {}).get("phase") or "unknown"
    return f"{len(ready)}/{len(wanted)} containers ready (phase {phase}; {', '.join(waiting)})"


def _container_state(status: Mapping[str, Any] | None) -> str:
    if status is None:
        return "no status yet"
    state = status.get("state") or {}
    for key in ("waiting", "terminated"):
        if state.get(key):
            reason = state[key].get("reason") or key
            return f"{key} ({reason})"
    return "running, not ready" if state.get("running") else "not ready"


class PodsProbe:
    def __init__(self, name: str, settings: PodsSettings) -> None:
        self.name = name
        self.settings = settings
        self._point: WatchPoint | None = None

    def describe(self) -> str:
        return self.settings.describe()

    def watch_point(self) -> WatchPoint | None:
        return self._point

    def access(self, ctx: StepContext, scope: AccessScope) -> StepAccess:
        return StepAccess((on("v1", "Pod", READ, self.settings.namespace),))  # no namespace: every one

    def attempt(self, ctx: StepContext) -> StepResult:
        s = self.settings
        self._point = None  # stays None when the LIST fails: the runner falls back to its timer
        pods, self._point = list_watched(
            ctx.cluster(), "v1", "Pod", s.namespace, label_selector=s.label_selector
        )
        return judge(s, pods)


def judge(settings: PodsSettings, pods: list[dict[str, Any]]) -> StepResult:
    problems = [(_name(p), pod_problem(p, settings.containers_ready)) for p in pods]
    details: dict[str, object] = {
        "pods": [{"pod": name, "ready": problem is None, "problem": problem} for name, problem in problems]
    }
    if len(pods) < settings.count:
        where = f" in {settings.namespace}" if settings.namespace else ""
        seen = "; ".join(f"pod {name}: {problem or 'ready'}" for name, problem in problems)
        return StepResult(
            StepStatus.FAILED,
            f"found {len(pods)} pod(s){where} with labels {settings.label_selector}, expected at least "
            f"{settings.count}" + (f": {seen}" if seen else ""),
            details,
        )
    failing = [(name, problem) for name, problem in problems if problem is not None]
    if failing:
        shown = "; ".join(f"pod {name}: {problem}" for name, problem in failing)
        return StepResult(
            StepStatus.FAILED, f"{len(failing)} of {len(pods)} pod(s) not ready: {shown}", details
        )
    counts = sorted({len((p.get("spec") or {}).get("containers") or []) for p in pods})
    shape = ", ".join(f"{c}/{c}" for c in counts)
    shape = f", all containers ready ({shape})" if settings.containers_ready else ""
    return StepResult(StepStatus.SUCCEEDED, f"{len(pods)} pod(s) ready{shape}", details)


def _name(pod: Mapping[str, Any]) -> str:
    return str((pod.get("metadata") or {}).get("name", "?"))


def _build_probe(name: str, body: object, playbook: Playbook) -> PodsProbe:
    return PodsProbe(name, parse_settings(body))


PROBE_KIND = ProbeKind(schema=SCHEMA, build=_build_probe, needs_cluster=True)
