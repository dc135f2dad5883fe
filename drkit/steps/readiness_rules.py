"""A playbook's own readiness rule for a `wait` step or a `resource` checklist item.

The built-in kstatus rules know the common kinds, but a platform's custom resources may signal readiness in
their own way (a `Synced` condition, `status.phase: Healthy`). Rather than a new top-level section of the
playbook language, the step or item that waits says how to read readiness for the kinds it waits on:
`readiness: {condition: Synced}` or `readiness: {jsonpath: .status.phase, equals: Healthy}`. The rule is
handed to `drkit.kube.readiness` as a `CustomRule`, which replaces the kind's built-in rule (the generic
deletion, generation and Stalled checks still come first).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from drkit.kube import CustomRule, ReadinessRules
from drkit.playbook.fields import AnyValue, Field, ListOf, Obj, Str
from drkit.steps.settings import StepConfigError, as_mapping, opt_list, opt_str

READINESS_FIELD = Field(
    Obj(
        description="How to tell this kind is ready, replacing the built-in rule.",
        fields={
            "condition": Field(Str(min_length=1), description="Ready when this condition is True."),
            "jsonpath": Field(
                Str(min_length=1),
                description="Ready when the value at this path (`.status.phase`) equals `equals`.",
            ),
            "equals": Field(AnyValue(), description="The value at `jsonpath` that means ready."),
            "failedValues": Field(
                ListOf(Str()), description="Values at `jsonpath` that mean failed (no point waiting)."
            ),
        },
        exactly_one_of=(("condition", "jsonpath"),),
    ),
    description="A custom readiness rule: {condition: NAME} or {jsonpath: PATH, equals: VALUE}.",
)


@dataclass(frozen=True)
class ReadinessSpec:
    """A rule not yet bound to a kind: `rules_for` binds it to the kinds a step waits on."""

    condition: str | None = None
    jsonpath: str | None = None
    equals: str | None = None
    failed_values: tuple[str, ...] = ()

    def rule(self, api_version: str, kind: str) -> CustomRule:
        return CustomRule(
            api_version=api_version,
            kind=kind,
            condition=self.condition,
            jsonpath=self.jsonpath,
            equals=self.equals,
            failed_values=self.failed_values,
        )

    def describe(self) -> str:
        if self.condition is not None:
            return f"condition {self.condition}=True"
        return f"{self.jsonpath} == {self.equals}"


def parse_readiness(body: Mapping[str, object], key: str = "readiness") -> ReadinessSpec | None:
    """The `readiness` field of a step body, checked by binding it once (a bad JSONPath fails here)."""
    raw = body.get(key)
    if raw is None:
        return None
    data = as_mapping(raw, key)
    equals = data.get("equals")
    spec = ReadinessSpec(
        condition=opt_str(data, "condition"),
        jsonpath=kube_path(opt_str(data, "jsonpath")),
        equals=None if equals is None else _as_text(equals),
        failed_values=tuple(_as_text(v) for v in opt_list(data, "failedValues")),
    )
    try:  # the JSONPath grammar and the rule's own consistency are CustomRule's
        spec.rule("v1", "Check")
    except ValueError as exc:
        raise StepConfigError(
            f"`{key}`: {exc}".replace("readiness rule for Check: ", ""),
            hint="write {condition: Ready} or {jsonpath: .status.phase, equals: Running}",
        ) from exc
    return spec


def rules_for(spec: ReadinessSpec | None, kinds: Iterable[tuple[str, str]]) -> ReadinessRules:
    """The readiness rules to use for objects of `kinds` ((apiVersion, kind) pairs)."""
    if spec is None:
        return ReadinessRules()
    return ReadinessRules(custom=tuple(spec.rule(api, kind) for api, kind in dict.fromkeys(kinds)))


def kube_path(path: str | None) -> str | None:
    """`$.status.phase` (the http step's spelling) as kubectl's `.status.phase`, which the rules read."""
    if path is not None and path.startswith("$"):
        return path[1:]
    return path


def _as_text(value: object) -> str:
    """YAML `true` and the object's JSON `true` must compare equal, as text (`CustomRule` compares text)."""
    return str(value)
