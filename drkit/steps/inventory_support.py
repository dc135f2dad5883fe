"""What the `inventory` and `reproductionDiff` kinds share: the snapshot's schema and the rules' fields."""

from __future__ import annotations

from collections.abc import Mapping

from drkit.playbook.fields import Field, ListOf, Obj, OneOf, Str
from drkit.report.reproduction import CHANGES
from drkit.reproduction.diff import PathError, Rule, rule_of
from drkit.steps.settings import StepConfigError, opt_list

INVENTORY_KIND = "inventory"
INVENTORY_SCHEMA = "drkit.io/inventory/v1"  # the snapshot file's `schema`

RULE = OneOf(
    (
        Str(min_length=1),
        Obj(
            fields={
                "kind": Field(
                    Str(min_length=1), description="Kind, or Kind.group (e.g. Model.mlops.seldon.io)."
                ),
                "namespace": Field(Str(min_length=1), description="Only in this namespace."),
                "name": Field(Str(min_length=1), description="Only this object."),
                "path": Field(
                    Str(min_length=1),
                    description="A JSON path: spec.storageUri, spec.containers[*].image, "
                    'metadata.labels["a/b"]; omitted: the whole object.',
                ),
            }
        ),
    ),
    description="A path (every object), or {kind, namespace, name, path}.",
)
IGNORE_FIELD = Field(ListOf(RULE), description="Paths not compared at all (e.g. metadata.labels.build).")
EXPECT_FIELD = Field(
    ListOf(RULE),
    description="Differences a drill is expected to make (e.g. the Model storageUri the model-URI step "
    "rewrote): reported as expected, never failing.",
)
FAIL_ON_FIELD = Field(
    ListOf(Str(enum=CHANGES)),
    description="Which differences fail the step: missing, extra, changed (default: none; report only).",
)


def parse_rules(body: Mapping[str, object], key: str) -> tuple[Rule, ...]:
    try:  # the schema sees a path as text; only rule_of parses it
        return tuple(rule_of(item) for item in opt_list(body, key))
    except PathError as exc:
        raise StepConfigError(
            f"`{key}`: {exc}", hint='paths look like spec.storageUri or metadata.annotations["a/b"]'
        ) from None
