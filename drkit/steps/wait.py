"""The `wait` step: wait until named objects, or every object of a kind in a namespace, are ready, exist or
are gone, and record when each one got there.

Waiting is watch based (`drkit.kube.wait_for`): the time an object became ready is observed when its watch
event arrives, which is what a drill's timeline needs ("Model baseline ready 41.2s into the step"), and a
NotFound while waiting for deletion means done (kubernetes #93365 cannot happen here). When waiting for
readiness, an object whose kstatus is Failed (a Deployment past its progress deadline, a Model whose load
failed) settles the wait for that object: once every object is either ready or failed, the step ends instead
of sitting out its timeout, and fails naming each failed object with its kstatus message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from drkit.domain.stuck import diagnose
from drkit.kube import (
    KubeError,
    ObjectRef,
    ReadinessRules,
    Selection,
    Status,
    compute_status,
    exists,
    gone,
    wait_for,
)
from drkit.kube.client import Cluster
from drkit.playbook.fields import Bool, Duration, Field, KindSchema, ListOf, Obj, OneOf, Str
from drkit.playbook.model import StepSpec
from drkit.steps.access import READ, AccessScope, StepAccess, on, on_objects
from drkit.steps.awaiting import AwaitedObjects, exists_state, gone_state, ready_state
from drkit.steps.base import StepContext, StepKind, StepPlan, StepResult, StepStatus
from drkit.steps.readiness_rules import READINESS_FIELD, ReadinessSpec, parse_readiness, rules_for
from drkit.steps.results import ReadyTimes
from drkit.steps.selectors import SELECTOR, label_selector
from drkit.steps.settings import (
    StepConfigError,
    as_mapping,
    opt_bool,
    opt_choice,
    opt_list,
    opt_number,
    opt_str,
    req_str,
)
from drkit.steps.sources import parse_ref

DEFAULT_TIMEOUT_SECONDS = 10 * 60.0
WaitFor = Literal["ready", "deleted", "exists"]
WAIT_FOR: tuple[WaitFor, ...] = ("ready", "deleted", "exists")
_SETTLED = (Status.CURRENT, Status.FAILED)

OBJECT_REF = Obj(
    description="One object.",
    fields={
        "apiVersion": Field(
            Str(min_length=1), required=True, description="`apps/v1`, `mlops.seldon.io/v1alpha1`"
        ),
        "kind": Field(Str(min_length=1), required=True, description="`Deployment`, `Model`"),
        "namespace": Field(Str(), description="Its namespace (the context's namespace when absent)."),
        "name": Field(Str(min_length=1), required=True, description="Its name."),
    },
)

KIND_SELECTION = Obj(
    description="Every object of a kind in a namespace, optionally narrowed by labels.",
    fields={
        "apiVersion": Field(Str(min_length=1), required=True, description="`mlops.seldon.io/v1alpha1`"),
        "kind": Field(Str(min_length=1), required=True, description="`Model`"),
        "namespace": Field(Str(), description="The namespace (the context's namespace when absent)."),
        "selector": Field(SELECTOR),
    },
)

FOR = OneOf(
    (
        Str(enum=WAIT_FOR),
        Obj(fields={"condition": Field(Str(min_length=1), required=True, description="Condition name.")}),
    ),
    description="ready (kstatus, the default), deleted, exists, or {condition: NAME} (that condition True).",
)

BODY = Obj(
    description="Wait for objects to be ready, to exist or to be gone.",
    fields={
        "objects": Field(ListOf(OBJECT_REF, min_items=1), description="The objects to wait for."),
        "kind": Field(KIND_SELECTION, description="Wait for every object of a kind in a namespace."),
        "for": Field(FOR),
        "timeout": Field(
            Duration(positive=True),
            description="Give up after this long; the step's `timeout` (10m) also applies.",
        ),
        "readiness": READINESS_FIELD,
        "failFast": Field(
            Bool(),
            description="End the wait when an object is Failed rather than at the timeout (default true).",
        ),
    },
    exactly_one_of=(("objects", "kind"),),
)

SCHEMA = KindSchema(
    kind="wait",
    body=BODY,
    description="Wait (by watching) until objects are ready, exist or are deleted; records when each did.",
    examples=(
        {"objects": [{"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "ml", "name": "api"}]},
        {
            "kind": {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model", "namespace": "models"},
            "timeout": "10m",
        },
        {"objects": [{"apiVersion": "v1", "kind": "Namespace", "name": "old"}], "for": "deleted"},
    ),
)


@dataclass(frozen=True)
class KindTarget:
    api_version: str
    kind: str
    namespace: str | None
    label_selector: str

    def describe(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        labels = f" with labels {self.label_selector}" if self.label_selector else ""
        return f"every {self.kind}{where}{labels}"


@dataclass(frozen=True)
class WaitSettings:
    objects: tuple[ObjectRef, ...]
    selection: KindTarget | None
    wait_for: WaitFor = "ready"
    timeout: float | None = None
    readiness: ReadinessSpec | None = None
    fail_fast: bool = True

    def kinds(self) -> list[tuple[str, str]]:
        if self.selection is not None:
            return [(self.selection.api_version, self.selection.kind)]
        return [(r.api_version, r.kind) for r in self.objects]

    def describe_targets(self) -> str:
        if self.selection is not None:
            return self.selection.describe()
        return ", ".join(str(r) for r in self.objects)

    def describe_goal(self) -> str:
        if self.wait_for != "ready":
            return {"deleted": "deleted", "exists": "present"}[self.wait_for]
        if self.readiness is not None:
            return f"ready ({self.readiness.describe()})"
        return "ready"


def parse_settings(body: object) -> WaitSettings:
    data = as_mapping(body, "wait")
    selection: KindTarget | None = None
    if data.get("kind") is not None:  # the schema's exactly_one_of: `kind` or `objects`
        sel = as_mapping(data["kind"], "kind")  # KIND_SELECTION: apiVersion and kind are required
        selection = KindTarget(
            req_str(sel, "apiVersion"),
            req_str(sel, "kind"),
            opt_str(sel, "namespace") or None,
            label_selector(sel.get("selector")),
        )
    wait_for, readiness = _parse_for(data)
    timeout = data.get("timeout")
    return WaitSettings(
        objects=tuple(parse_ref(item) for item in opt_list(data, "objects")),
        selection=selection,
        wait_for=wait_for,
        timeout=None if timeout is None else opt_number(data, "timeout", 0.0),
        readiness=readiness,
        fail_fast=opt_bool(data, "failFast", default=True),
    )


def _parse_for(data: Mapping[str, object]) -> tuple[WaitFor, ReadinessSpec | None]:
    """`for` against `readiness`: rules across two fields, which the schema cannot state."""
    readiness = parse_readiness(data)
    raw = data.get("for", "ready")
    if isinstance(raw, Mapping):
        if readiness is not None:
            raise StepConfigError("give either `for: {condition: ...}` or `readiness`, not both")
        return "ready", ReadinessSpec(condition=req_str(raw, "condition"))
    wait_for = opt_choice(data, "for", WAIT_FOR, "ready")
    if wait_for != "ready" and readiness is not None:
        raise StepConfigError(f"`readiness` has no meaning with `for: {wait_for}`")
    return wait_for, readiness if wait_for == "ready" else None


@dataclass(frozen=True)
class ObjectOutcome:
    ref: ObjectRef
    done: bool
    status: str  # kstatus status, or "Gone"/"NotFound"
    message: str
    after: float | None  # seconds after the step started at which it got there

    def to_json(self, mode: WaitFor) -> dict[str, object]:
        return {
            "object": str(self.ref),
            "done": self.done,
            "status": self.status,
            "message": self.message,
            _AFTER_KEY[mode]: None if self.after is None else round(self.after, 3),
        }


# Named like the apply/delete steps' details, so reports read the same whichever step waited.
_AFTER_KEY: dict[WaitFor, str] = {
    "ready": "readyAfterSeconds",
    "deleted": "goneAfterSeconds",
    "exists": "existsAfterSeconds",
}


class WaitStep:
    def __init__(self, spec: StepSpec, settings: WaitSettings) -> None:
        self.spec = spec
        self.settings = settings

    def access(self, ctx: StepContext, scope: AccessScope) -> StepAccess:
        s = self.settings
        if s.selection is not None:  # no namespace: every namespace, a cluster-wide rule
            return StepAccess((on(s.selection.api_version, s.selection.kind, READ, s.selection.namespace),))
        return StepAccess(tuple(on_objects(s.objects, READ, scope)))

    def plan(self, ctx: StepContext) -> StepPlan:
        s = self.settings
        verb = "are" if len(s.objects) > 1 else "is"
        limit = f" (timeout {s.timeout:g}s)" if s.timeout is not None else ""
        return StepPlan(summary=f"would wait until {s.describe_targets()} {verb} {s.describe_goal()}{limit}")

    def run(self, ctx: StepContext) -> StepResult:
        s = self.settings
        cluster = ctx.cluster()
        started = ctx.runtime.monotonic()
        deadline = _deadline(ctx, started, s.timeout)
        rules = rules_for(s.readiness, s.kinds())
        target = self._target(cluster)
        state_of = {"ready": ready_state(rules), "deleted": gone_state, "exists": exists_state}[s.wait_for]
        tracker = AwaitedObjects(ctx.progress, s.wait_for, state_of)
        result = wait_for(cluster, target, self._predicate(rules), deadline, tracker.changed)
        outcomes = [
            self._outcome(ref, obj, result.satisfied_at.get(ref), started, rules)
            for ref, obj in result.last_seen.items()
        ]
        waited = ctx.runtime.monotonic() - started
        details: dict[str, object] = {
            "for": s.wait_for,
            "target": s.describe_targets(),
            "waited": round(waited, 3),
            "objects": [o.to_json(s.wait_for) for o in outcomes],
        }
        if not outcomes:
            nothing_left = s.wait_for == "deleted"  # no member of the kind left is what `deleted` wants
            status = StepStatus.SUCCEEDED if nothing_left else StepStatus.FAILED
            return StepResult(status, self._empty_message(waited), details)
        pending = [o for o in outcomes if not o.done]
        if result.complete and not pending:
            slowest = max((o.after or 0.0) for o in outcomes)
            return StepResult(
                StepStatus.SUCCEEDED,
                f"{len(outcomes)} object(s) {s.describe_goal()} after {slowest:.1f}s",
                details,
            )
        lines = "; ".join(f"{o.ref}: {o.status}: {o.message}" for o in pending)
        # Every object settled and the unready ones are Failed: waiting longer would not help.
        gave_up = result.complete and all(o.status == Status.FAILED for o in pending)
        why = "failed" if gave_up else f"not {s.describe_goal()} after {waited:.1f}s"
        message = f"{len(pending)} of {len(outcomes)} object(s) {why}: {lines}"
        if s.wait_for == "deleted":
            message += _held_by_finalizers(ctx, cluster, pending, details)
        return StepResult(StepStatus.FAILED, message, details, objects=tuple(o.ref for o in pending))

    def _target(self, cluster: Cluster) -> list[ObjectRef] | Selection:
        sel = self.settings.selection
        if sel is None:
            return list(self.settings.objects)
        _, ref = cluster.resolve(ObjectRef(sel.api_version, sel.kind, sel.namespace, "-"))
        return Selection(sel.api_version, sel.kind, ref.namespace, sel.label_selector)

    def _predicate(self, rules: ReadinessRules) -> Callable[[dict[str, Any] | None], bool]:
        if self.settings.wait_for == "deleted":
            return gone
        if self.settings.wait_for == "exists":
            return exists
        settled = _SETTLED if self.settings.fail_fast else (Status.CURRENT,)

        def predicate(obj: dict[str, Any] | None) -> bool:
            return compute_status(obj, rules).status in settled

        return predicate

    def _outcome(
        self,
        ref: ObjectRef,
        obj: dict[str, Any] | None,
        satisfied: float | None,
        started: float,
        rules: ReadinessRules,
    ) -> ObjectOutcome:
        after = None if satisfied is None else max(0.0, satisfied - started)
        mode = self.settings.wait_for
        if mode == "deleted":
            if obj is None:
                return ObjectOutcome(ref, True, "Gone", "deleted", after)
            state = compute_status(obj, rules)
            return ObjectOutcome(ref, False, str(state.status), f"still exists ({state.message})", None)
        if mode == "exists":
            if obj is not None:
                return ObjectOutcome(ref, True, "Exists", "exists", after)
            return ObjectOutcome(ref, False, str(Status.NOT_FOUND), "not found", None)
        state = compute_status(obj, rules)
        ready = state.status is Status.CURRENT
        return ObjectOutcome(ref, ready, str(state.status), state.message, after if ready else None)

    def _empty_message(self, waited: float) -> str:
        target = self.settings.describe_targets()
        if self.settings.wait_for == "deleted":
            return f"{target}: none left"
        return f"{target}: no such object appeared within {waited:.1f}s"


def _held_by_finalizers(
    ctx: StepContext, cluster: Cluster, pending: list[ObjectOutcome], details: dict[str, object]
) -> str:
    """For Namespaces that would not go: the objects inside that finalizers hold, by name (the namespace's
    own conditions only count them), and who should have removed each finalizer."""
    namespaces = [str(o.ref.name) for o in pending if o.ref.kind == "Namespace" and o.ref.group == ""]
    if not namespaces:
        return ""
    try:
        diagnosis = diagnose(cluster, namespaces, now=ctx.runtime.wall_clock(), after=0.0)
    except KubeError:
        return ""  # the wait's own answer stands; the diagnosis was extra
    if not diagnosis.objects:
        return ""
    details["heldByFinalizers"] = [o.to_view(0.0) for o in diagnosis.objects]
    held = "; ".join(f"{o.ref} ({', '.join(o.finalizers)}: {o.owner})" for o in diagnosis.objects[:10])
    more = f" and {len(diagnosis.objects) - 10} more" if len(diagnosis.objects) > 10 else ""
    return (
        f". Held by finalizers: {held}{more}. Bring back the controller that owns them, or remove the "
        "finalizers with a clearFinalizers step (or `drkit finalizers clear`) once it is known to be gone"
    )


def _deadline(ctx: StepContext, started: float, timeout: float | None) -> float:
    limits = [d for d in (ctx.deadline, None if timeout is None else started + timeout) if d is not None]
    return min(limits) if limits else started + DEFAULT_TIMEOUT_SECONDS


STEP_KIND = StepKind(
    schema=SCHEMA,
    build=lambda spec: WaitStep(spec, parse_settings(spec.body)),
    default_timeout=DEFAULT_TIMEOUT_SECONDS,
    needs_cluster=True,
    result=ReadyTimes.from_details,
)
