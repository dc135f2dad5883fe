"""The `inventory` step: before the teardown, record the platform's objects, normalised, for reproductionDiff.

Namespaces are the ones listed plus those of the manifests given (`kustomize`/`files`, rendered as `apply`
renders them); kinds are the ones listed, or by default every namespaced kind the cluster lists there
except generated ones (Pods, ReplicaSets, EndpointSlices, Events, Workflows, ...; see
`drkit.reproduction.inventory`). The snapshot (`snapshots/<phase>.<step>.json` in the run directory)
keeps Secret values only as salted digests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from drkit.kube.refs import ObjectRef
from drkit.playbook.fields import Field, KindSchema, ListOf, Obj, Str
from drkit.playbook.model import StepSpec
from drkit.reproduction.collect import collect_inventory, default_kinds, new_salt, resolve_kinds
from drkit.reproduction.snapshots import snapshot_path, write_snapshot
from drkit.steps.access import EVERY_KIND, AccessScope, StepAccess, on
from drkit.steps.base import StepContext, StepKind, StepPlan, StepResult, StepStatus
from drkit.steps.inventory_support import INVENTORY_KIND, INVENTORY_SCHEMA
from drkit.steps.settings import as_mapping, str_list
from drkit.steps.sources import SOURCE_FIELDS, Source, check_source, parse_source, refs_of, render

DEFAULT_TIMEOUT_SECONDS = 5 * 60.0

BODY = Obj(
    description="Record the platform's objects, normalised, to compare after the rebuild.",
    fields={
        "namespaces": Field(ListOf(Str(min_length=1), min_items=1), description="Namespaces to inventory."),
        **SOURCE_FIELDS,
        "kinds": Field(
            ListOf(Str(min_length=1), min_items=1),
            description="Only these kinds (Kind or Kind.group); default: every namespaced kind listed there "
            "except generated ones.",
        ),
    },
    at_most_one_of=(("kustomize", "files"),),
    at_least_one_of=(("namespaces", "kustomize", "files"),),  # manifests give the namespaces they name
)
SCHEMA = KindSchema(
    kind=INVENTORY_KIND,
    body=BODY,
    description="Snapshot the platform's objects (normalised specs) for a reproductionDiff after a rebuild.",
    examples=(
        {"kustomize": "../manifests/financial-mlops/base"},
        {"namespaces": ["financial-inference"], "kinds": ["Model.mlops.seldon.io", "Secret", "ConfigMap"]},
    ),
)


@dataclass(frozen=True)
class InventorySettings:
    namespaces: tuple[str, ...]
    source: Source | None
    kinds: tuple[str, ...]


def parse_inventory(body: object) -> InventorySettings:
    data = as_mapping(body, INVENTORY_KIND)
    source = parse_source(data) if ("kustomize" in data or "files" in data) else None
    return InventorySettings(str_list(data, "namespaces"), source, str_list(data, "kinds"))


class InventoryStep:
    def __init__(self, spec: StepSpec, settings: InventorySettings) -> None:
        self.spec = spec
        self.settings = settings

    def check_inputs(self, ctx: StepContext) -> None:
        if self.settings.source is not None:
            check_source(self.settings.source, ctx.base_dir, ctx.runtime.env, monotonic=ctx.runtime.monotonic)

    def access(self, ctx: StepContext, scope: AccessScope) -> StepAccess:
        """Every kind is listed in each namespace (the kinds are found by discovery, so a rule per kind
        could not be written before the run); the reproductionDiff of this snapshot reads the same."""
        return StepAccess(tuple(on(EVERY_KIND, EVERY_KIND, ("list",), n) for n in self._namespaces(ctx)))

    def plan(self, ctx: StepContext) -> StepPlan:
        what = ", ".join(self.settings.kinds) or "every namespaced kind except generated ones"
        where = ", ".join(self.settings.namespaces) or "-"
        source = f" and those of {self.settings.source.describe()}" if self.settings.source else ""
        return StepPlan(summary=f"would record {what} in namespaces {where}{source}")

    def _namespaces(self, ctx: StepContext) -> tuple[str, ...]:
        found = list(self.settings.namespaces)
        if self.settings.source is not None:
            manifests = render(
                self.settings.source, ctx.base_dir, ctx.runtime.env, monotonic=ctx.runtime.monotonic
            )
            for ref in refs_of(manifests):
                found.append(ref.name if _is_namespace(ref) else ref.namespace or "")
        return tuple(dict.fromkeys(n for n in found if n))

    def run(self, ctx: StepContext) -> StepResult:
        cluster = ctx.cluster()
        namespaces = self._namespaces(ctx)
        if self.settings.kinds:
            kinds, unreadable = resolve_kinds(cluster, self.settings.kinds), dict[tuple[str, str], str]()
        else:
            kinds, unreadable = default_kinds(cluster)
        inventory = collect_inventory(cluster, namespaces, kinds, new_salt(), unreadable)
        phase = ctx.phase
        path = snapshot_path(ctx.run_dir, phase, self.spec.name)
        write_snapshot(
            path, {"schema": INVENTORY_SCHEMA, "step": f"{phase}/{self.spec.name}", **inventory.to_json()}
        )
        relative = path.relative_to(ctx.run_dir).as_posix()
        counts: dict[str, int] = {}
        for group, kind, _, _ in inventory.objects:
            label = f"{kind}.{group}" if group else kind
            counts[label] = counts.get(label, 0) + 1
        shown = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        return StepResult(
            StepStatus.SUCCEEDED,
            f"recorded {len(inventory.objects)} object(s) in {', '.join(namespaces)} ({shown}) in {relative}",
            {
                "snapshot": relative,
                "namespaces": list(namespaces),
                "objects": counts,
                **_unreadable(inventory.unreadable),
            },
        )


def _is_namespace(ref: ObjectRef) -> bool:
    return ref.kind == "Namespace" and ref.api_version == "v1"


def _unreadable(unreadable: Mapping[tuple[str, str], str]) -> dict[str, object]:
    return {"unreadable": [f"{k}: {why}" for (_, k), why in unreadable.items()]} if unreadable else {}


def _build(spec: StepSpec) -> InventoryStep:
    return InventoryStep(spec, parse_inventory(spec.body))


STEP_KIND = StepKind(schema=SCHEMA, build=_build, default_timeout=DEFAULT_TIMEOUT_SECONDS, needs_cluster=True)
