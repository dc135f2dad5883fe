"""The `resource` checklist item: objects of a kind are there and ready (kstatus), or pass a given test.

`{apiVersion, kind, namespace, name}` checks one object, `names: [a, b]` several (each must exist); without
either (optionally with `selector`) it checks every object of the kind in the namespace and needs at least
`count` of them (default 1), so "all three Models are Ready" cannot pass on an empty namespace. A failure
names what is missing (by name when the names are known) and every object found with its readiness.

Ready means kstatus Current by default (a custom resource without status is not ready), or `condition: NAME`
True, or the value at `jsonpath` equal to `equals`, or a `readiness` rule; all of them still honour deletion
in progress and a stale observedGeneration. Each attempt is one LIST (read only); its resourceVersion is where
the checklist runner watches for the next change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drkit.kube import ReadinessRules, Status, compute_status
from drkit.kube.changes import WatchPoint, list_watched
from drkit.playbook.fields import AnyValue, Field, Int, KindSchema, ListOf, Obj, Str
from drkit.playbook.model import Playbook
from drkit.steps.access import READ, AccessScope, StepAccess, on
from drkit.steps.base import ProbeKind, StepContext, StepResult, StepStatus
from drkit.steps.readiness_rules import READINESS_FIELD, ReadinessSpec, kube_path, parse_readiness, rules_for
from drkit.steps.selectors import SELECTOR, label_selector
from drkit.steps.settings import StepConfigError, as_mapping, opt_int, opt_str, req_str, str_list

BODY = Obj(
    description="Objects of a kind exist and are ready.",
    fields={
        "apiVersion": Field(Str(min_length=1), required=True, description="`mlops.seldon.io/v1alpha1`"),
        "kind": Field(Str(min_length=1), required=True, description="`Model`"),
        "namespace": Field(Str(), description="The namespace (the context's namespace when absent)."),
        "name": Field(Str(min_length=1), description="One object; all objects of the kind when absent."),
        "names": Field(
            ListOf(Str(min_length=1), min_items=1),
            description="These objects, each of which must exist and be ready (a failure names the missing).",
        ),
        "selector": Field(SELECTOR),
        "condition": Field(Str(min_length=1), description="Ready when this condition is True."),
        "jsonpath": Field(
            Str(min_length=1),
            description="Ready when the value at this JSON path (`$.status.phase`) equals `equals`.",
        ),
        "equals": Field(AnyValue(), description="The value `jsonpath` must have."),
        "count": Field(Int(minimum=1), description="At least this many objects (default 1)."),
        "readiness": READINESS_FIELD,
    },
    at_most_one_of=(("name", "names", "selector"), ("condition", "jsonpath", "readiness")),
    requires=(("jsonpath", ("equals",)), ("equals", ("jsonpath",))),
)

SCHEMA = KindSchema(
    kind="resource",
    body=BODY,
    description="Objects of a kind exist and are ready (kstatus), or have a condition or field value.",
    examples=(
        {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model", "namespace": "models", "count": 3},
        {
            "apiVersion": "mlops.seldon.io/v1alpha1",
            "kind": "Model",
            "namespace": "models",
            "names": ["baseline", "enhanced"],
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "namespace": "ml",
            "name": "db-0",
            "jsonpath": "$.status.phase",
            "equals": "Running",
        },
    ),
)


@dataclass(frozen=True)
class ResourceSettings:
    api_version: str
    kind: str
    namespace: str | None
    name: str | None
    label_selector: str
    count: int
    readiness: ReadinessSpec | None
    names: tuple[str, ...] = ()  # several named objects (then `name` is None and `count` their number)

    def describe(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        if self.name:
            what = f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"
        elif self.names:
            what = f"{self.kind} {', '.join(self.names)}{where}"
        else:
            labels = f" with labels {self.label_selector}" if self.label_selector else ""
            what = f"at least {self.count} {self.kind}{where}{labels}, all"
        rule = "ready" if self.readiness is None else f"ready ({self.readiness.describe()})"
        return f"{what} {rule}"

    @property
    def field_selector(self) -> str:
        return f"metadata.name={self.name}" if self.name else ""


def parse_settings(body: object) -> ResourceSettings:
    data = as_mapping(body, "resource")
    name = opt_str(data, "name")
    names = str_list(data, "names")
    selector = label_selector(data.get("selector"))
    # `count` against what names the objects: rules the schema's key groups cannot state.
    if names and "count" in data:
        raise StepConfigError("`count` has no meaning with `names`: every named object must be there")
    if len(set(names)) != len(names):
        raise StepConfigError("`names` lists a name twice")
    count = opt_int(data, "count", len(names) or 1)
    if name and count != 1:
        raise StepConfigError("`count` needs a `selector` or no `name`: one named object is one object")
    return ResourceSettings(
        api_version=req_str(data, "apiVersion"),
        kind=req_str(data, "kind"),
        namespace=opt_str(data, "namespace") or None,
        name=name,
        label_selector=selector,
        count=count,
        readiness=_readiness(data),
        names=names,
    )


def _readiness(data: Mapping[str, object]) -> ReadinessSpec | None:
    """`condition`, `jsonpath`+`equals` and `readiness` are three spellings of one custom rule (the
    schema's at_most_one_of)."""
    if "condition" in data:
        return ReadinessSpec(condition=opt_str(data, "condition"))
    if "jsonpath" in data:  # with `equals`: the schema's requires
        rule = {"jsonpath": kube_path(opt_str(data, "jsonpath")), "equals": data["equals"]}
        return parse_readiness({"readiness": rule})
    return parse_readiness(data)


class ResourceProbe:
    def __init__(self, name: str, settings: ResourceSettings) -> None:
        self.name = name
        self.settings = settings
        self._point: WatchPoint | None = None

    def describe(self) -> str:
        return self.settings.describe()

    def watch_point(self) -> WatchPoint | None:
        return self._point

    def access(self, ctx: StepContext, scope: AccessScope) -> StepAccess:
        s = self.settings  # listed and watched even for one name (a field selector); no namespace: every one
        return StepAccess((on(s.api_version, s.kind, READ, s.namespace),))

    def attempt(self, ctx: StepContext) -> StepResult:
        s = self.settings
        self._point = None  # stays None when the LIST fails: the runner falls back to its timer
        items, self._point = list_watched(
            ctx.cluster(),
            s.api_version,
            s.kind,
            s.namespace,
            label_selector=s.label_selector,
            field_selector=s.field_selector,
        )
        return judge(s, items, rules_for(s.readiness, [(s.api_version, s.kind)]))


def judge(settings: ResourceSettings, items: list[dict[str, Any]], rules: ReadinessRules) -> StepResult:
    """Pass when there are at least `count` objects (every named one) and every one is ready; else say which
    are missing or not ready, and what was found."""
    if settings.names:
        wanted = set(settings.names)
        items = [obj for obj in items if (obj.get("metadata") or {}).get("name") in wanted]
    states = [(_label(obj), compute_status(obj, rules)) for obj in items]
    details: dict[str, object] = {
        "objects": [{"object": label, "status": str(r.status), "message": r.message} for label, r in states]
    }
    kind, where = settings.kind, f" in {settings.namespace}" if settings.namespace else ""
    if settings.name and not items:
        absent = f"{kind} {_qualified(settings, settings.name)} not found"
        return StepResult(StepStatus.FAILED, absent, details)
    failing = [f"{label}: {r.status}: {r.message}" for label, r in states if r.status is not Status.CURRENT]
    if settings.names:
        found = {str((obj.get("metadata") or {}).get("name")) for obj in items}
        missing = [f"{kind} {_qualified(settings, n)}: not found" for n in settings.names if n not in found]
        details["missing"] = [n for n in settings.names if n not in found]
        failing = missing + failing
        if failing:
            total = len(settings.names)
            message = f"{len(failing)} of {total} {kind} missing or not ready: {'; '.join(failing)}"
            return StepResult(StepStatus.FAILED, message, details)
    elif len(items) < settings.count:
        labels = f" with labels {settings.label_selector}" if settings.label_selector else ""
        seen = "; ".join(f"{label}: {r.status}: {r.message}" for label, r in states)
        return StepResult(
            StepStatus.FAILED,
            f"found {len(items)} {kind}{where}{labels}, expected at least {settings.count}"
            + (f": {seen}" if seen else ""),
            details,
        )
    if failing:
        message = f"{len(failing)} of {len(states)} {kind} not ready: {'; '.join(failing)}"
        return StepResult(StepStatus.FAILED, message, details)
    if len(states) == 1:
        return StepResult(StepStatus.SUCCEEDED, f"{states[0][0]} ready: {states[0][1].message}", details)
    return StepResult(StepStatus.SUCCEEDED, f"all {len(states)} {kind} ready", details)


def _qualified(settings: ResourceSettings, name: str) -> str:
    return f"{settings.namespace}/{name}" if settings.namespace else name


def _label(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind', '?')} {where}{meta.get('name', '?')}"


def _build_probe(name: str, body: object, playbook: Playbook) -> ResourceProbe:
    return ResourceProbe(name, parse_settings(body))


PROBE_KIND = ProbeKind(schema=SCHEMA, build=_build_probe, needs_cluster=True)
