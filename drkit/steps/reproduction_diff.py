"""The `reproductionDiff` step: after the rebuild, compare the platform with an `inventory` snapshot.

The same kinds are listed in the same namespaces, normalised the same way (Secret values digested under the
snapshot's salt), and compared: objects missing, extra, or changed with the JSON paths that changed (old →
new; a Secret says only which keys changed, were added or went missing). By default differences are
reported and the step passes; `failOn: [missing, extra, changed]` makes the listed differences fail it
(exit 1), except those `expectChanges` names (e.g. the Model storageUri the model-URI step rewrote).
"""

from __future__ import annotations

from dataclasses import dataclass

from drkit.playbook.fields import Field, KindSchema, Obj, Str
from drkit.playbook.model import Playbook, StepSpec
from drkit.report.reproduction import DiffReport
from drkit.reproduction.collect import collect_inventory
from drkit.reproduction.diff import Rule, diff_inventories
from drkit.reproduction.inventory import Inventory
from drkit.reproduction.snapshots import read_snapshot, snapshot_path
from drkit.steps.access import AccessScope, StepAccess
from drkit.steps.base import StepContext, StepKind, StepPlan, StepResult, StepStatus
from drkit.steps.inventory_support import (
    EXPECT_FIELD,
    FAIL_ON_FIELD,
    IGNORE_FIELD,
    INVENTORY_KIND,
    INVENTORY_SCHEMA,
    parse_rules,
)
from drkit.steps.settings import as_mapping, req_str, str_list
from drkit.steps.snapshot_refs import resolve_snapshot

KIND = "reproductionDiff"
DEFAULT_TIMEOUT_SECONDS = 5 * 60.0

BODY = Obj(
    description="Compare the rebuilt platform's objects with an inventory snapshot.",
    fields={
        "snapshot": Field(
            Str(min_length=1),
            required=True,
            description="The inventory step to compare with (STEP, or PHASE/STEP); it must run before this "
            "one.",
        ),
        "ignore": IGNORE_FIELD,
        "expectChanges": EXPECT_FIELD,
        "failOn": FAIL_ON_FIELD,
    },
)
SCHEMA = KindSchema(
    kind=KIND,
    body=BODY,
    description="The rebuilt platform is the platform it was: missing, extra and changed objects.",
    examples=(
        {
            "snapshot": "inventory-before",
            "expectChanges": [{"kind": "Model", "path": "spec.storageUri"}],
            "failOn": ["missing", "extra", "changed"],
        },
    ),
)


@dataclass(frozen=True)
class DiffSettings:
    snapshot: str
    ignore: tuple[Rule, ...]
    expect: tuple[Rule, ...]
    fail_on: tuple[str, ...]


def parse_diff(body: object) -> DiffSettings:
    data = as_mapping(body, KIND)
    return DiffSettings(
        req_str(data, "snapshot"),
        parse_rules(data, "ignore"),
        parse_rules(data, "expectChanges"),
        str_list(data, "failOn"),
    )


class ReproductionDiffStep:
    def __init__(self, spec: StepSpec, settings: DiffSettings) -> None:
        self.spec = spec
        self.settings = settings

    def check_playbook(self, playbook: Playbook) -> None:
        resolve_snapshot(playbook, self.settings.snapshot, INVENTORY_KIND, self.spec)

    def access(self, ctx: StepContext, scope: AccessScope) -> StepAccess:
        """It lists again what its inventory step listed."""
        source = resolve_snapshot(ctx.playbook, self.settings.snapshot, INVENTORY_KIND, self.spec)
        return StepAccess(same_as=(source.path,))

    def plan(self, ctx: StepContext) -> StepPlan:
        source = resolve_snapshot(ctx.playbook, self.settings.snapshot, INVENTORY_KIND, self.spec)
        fails = ", ".join(self.settings.fail_on) or "nothing (report only)"
        return StepPlan(
            summary=f"would compare the platform with the inventory of {source.path}; fails on {fails}"
        )

    def run(self, ctx: StepContext) -> StepResult:
        source = resolve_snapshot(ctx.playbook, self.settings.snapshot, INVENTORY_KIND, self.spec)
        document = read_snapshot(
            snapshot_path(ctx.run_dir, source.phase.name, source.spec.name), INVENTORY_SCHEMA
        )
        if document is None:
            return StepResult(
                StepStatus.SKIPPED,
                f"no inventory to compare with: step {source.path} recorded none in this run "
                "(a drill-only phase that `drkit recover` skips?)",
            )
        before = Inventory.from_json(document)
        after = collect_inventory(ctx.cluster(), before.namespaces, before.kinds, before.salt)
        report = diff_inventories(
            before,
            after,
            labels=(f"inventory {source.path}", "the cluster now"),
            ignore=self.settings.ignore,
            expect=self.settings.expect,
            fail_on=self.settings.fail_on,
        )
        return StepResult(
            StepStatus.SUCCEEDED if report.passed else StepStatus.FAILED,
            _message(report),
            {"snapshot": source.path},
            diff=report,
        )


def _message(report: DiffReport) -> str:
    """The counts; when it fails, how many differences fail it and the first (the report lists them all)."""
    if report.passed:
        return report.summary()
    failing = report.failing
    return (
        f"{report.summary()}; {len(failing)} difference(s) fail (failOn: {', '.join(report.fail_on)}), "
        f"first: {failing[0].describe()}"
    )


def _build(spec: StepSpec) -> ReproductionDiffStep:
    return ReproductionDiffStep(spec, parse_diff(spec.body))


STEP_KIND = StepKind(schema=SCHEMA, build=_build, default_timeout=DEFAULT_TIMEOUT_SECONDS, needs_cluster=True)
