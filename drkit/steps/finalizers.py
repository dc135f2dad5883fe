"""The `clearFinalizers` step: its schema, settings, plan and run. The clearing itself is the domain's
(drkit.domain.finalizer_clearing), which `drkit finalizers clear` runs too.
"""

from __future__ import annotations

from drkit.domain.finalizer_clearing import (
    DEFAULT_AFTER_SECONDS,
    DEFAULT_FORCE_AFTER_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    ClearSettings,
    Clock,
    clear_stuck,
    describe_removals,
    removal_for,
)
from drkit.domain.safety import refuse_protected
from drkit.domain.stuck import diagnose
from drkit.kube.refs import ObjectRef
from drkit.playbook.fields import Bool, Duration, Field, KindSchema, ListOf, Obj, Str
from drkit.playbook.model import Playbook, StepSpec
from drkit.steps.access import EVERY_KIND, READ, Access, AccessScope, StepAccess, Verb, on, on_named_kind
from drkit.steps.base import StepContext, StepKind, StepPlan, StepResult, StepStatus
from drkit.steps.results import FinalizerClearing
from drkit.steps.settings import as_mapping, opt_bool, opt_number, str_list

BODY = Obj(
    description="Remove finalizers that hold deleted objects (and their namespaces) after their controller "
    "is gone.",
    fields={
        "namespaces": Field(
            ListOf(Str(min_length=1), min_items=1),
            required=True,
            description="Namespaces to look in (each one Terminating or not).",
        ),
        "after": Field(
            Duration(),
            description="Only objects deleted longer ago than this count as stuck (default 30s).",
        ),
        "finalizers": Field(
            ListOf(Str(min_length=1)), description="Remove only these finalizers (default: all)."
        ),
        "kinds": Field(
            ListOf(Str(min_length=1)),
            description="Only objects of these kinds (Model, models.mlops.seldon.io, ...).",
        ),
        "force": Field(
            Bool(),
            description="Last resort: finalize a namespace that stays stuck (can strand objects).",
        ),
        "forceAfter": Field(
            Duration(),
            description="With force: how long a namespace may stay Terminating after its content was "
            "cleared before it is finalized (default 30s).",
        ),
    },
)

SCHEMA = KindSchema(
    kind="clearFinalizers",
    body=BODY,
    description="Remove the finalizers of objects stuck in deletion, and watch their namespaces go.",
    examples=(
        {"namespaces": ["financial-inference"], "after": "30s"},
        {"namespaces": ["seldon-mesh"], "finalizers": ["seldon.model.finalizer"], "force": True},
    ),
)


def parse_settings(body: object) -> ClearSettings:
    data = as_mapping(body, "clearFinalizers")
    return ClearSettings(
        namespaces=_unique(str_list(data, "namespaces")),
        after=opt_number(data, "after", DEFAULT_AFTER_SECONDS),
        finalizers=_unique(str_list(data, "finalizers")),
        kinds=_unique(str_list(data, "kinds")),
        force=opt_bool(data, "force", False),
        force_after=opt_number(data, "forceAfter", DEFAULT_FORCE_AFTER_SECONDS),
    )


def _unique(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


class ClearFinalizersStep:
    def __init__(self, spec: StepSpec, settings: ClearSettings) -> None:
        self.spec = spec
        self.settings = settings

    def check_safety(self, playbook: Playbook) -> None:
        """The namespaces are written in the playbook: refused as soon as it is loaded."""
        refuse_protected(
            [ObjectRef.of_namespace(n) for n in self.settings.namespaces],
            playbook,
            f"clear finalizers in step {self.spec.name!r}",
        )

    def access(self, ctx: StepContext, scope: AccessScope) -> StepAccess:
        """Each namespace read and watched until gone; every kind in it listed (the diagnosis finds the
        stuck objects by discovery) and patched (their finalizers); with `force`, the namespace finalized."""
        namespaces = self.settings.namespaces
        rules: list[Access] = [on("v1", "Namespace", READ, None)]  # watched until gone: not by name
        clearing: tuple[Verb, ...] = ("get", "list", "patch")
        if self.settings.kinds:  # only these are looked through and cleared: only these are granted
            rules += [on_named_kind(k, clearing, n) for n in namespaces for k in self.settings.kinds]
        else:
            rules += [on(EVERY_KIND, EVERY_KIND, clearing, n) for n in namespaces]
        if self.settings.force:
            rules.append(on("v1", "Namespace", ("update",), None, names=namespaces, subresource="finalize"))
        return StepAccess(tuple(rules))

    def _refuse(self, ctx: StepContext) -> None:
        self.check_safety(ctx.playbook)

    def plan(self, ctx: StepContext) -> StepPlan:
        self._refuse(ctx)
        where = ", ".join(self.settings.namespaces)
        if not ctx.plan_reads_state:  # a sweep of every namespaced kind, stale once earlier steps ran
            return StepPlan(
                summary=f"would remove finalizers from the objects found stuck in {where} when it runs",
                destructive=True,
            )
        found = diagnose(
            ctx.cluster(),
            self.settings.namespaces,
            now=ctx.runtime.wall_clock(),
            after=self.settings.after,
            kinds=self.settings.kinds,
        )
        actions = describe_removals(found, self.settings)
        count = sum(1 for o in found.stuck if removal_for(o, self.settings).remove)
        return StepPlan(
            summary=f"would remove finalizers from {count} stuck objects in {where} (as of now)",
            actions=tuple(actions) or (f"nothing is stuck in {where} right now",),
            destructive=True,
        )

    def run(self, ctx: StepContext) -> StepResult:
        self._refuse(ctx)
        runtime = ctx.runtime
        deadline = ctx.deadline if ctx.deadline is not None else runtime.monotonic() + DEFAULT_TIMEOUT_SECONDS
        outcome = clear_stuck(
            ctx.cluster(),
            self.settings,
            clock=Clock(wall=runtime.wall_clock, monotonic=runtime.monotonic),
            deadline=deadline,
            progress=ctx.progress,
            grace=True,  # in a run, `after` is the controllers' chance to finish before drkit steps in
        )
        details: dict[str, object] = dict(outcome.view)
        if outcome.complete:
            return StepResult(StepStatus.SUCCEEDED, outcome.message, details)
        hint = "" if self.settings.force else " (set force: true to finalize a namespace that stays stuck)"
        return StepResult(StepStatus.FAILED, outcome.message + hint, details)


STEP_KIND = StepKind(
    schema=SCHEMA,
    build=lambda spec: ClearFinalizersStep(spec, parse_settings(spec.body)),
    default_timeout=DEFAULT_TIMEOUT_SECONDS,
    needs_cluster=True,
    result=FinalizerClearing.from_details,
)
