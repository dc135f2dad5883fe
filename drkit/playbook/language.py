"""The playbook language's own fields, described once in the fields.py schema language.

The loader validates against these and the JSON Schema export describes them, so an editor and
`drkit validate` can never disagree about what a playbook may contain. Steps and checklist items are the only
dynamic parts: their kind keys come from the registered kinds.
"""

from __future__ import annotations

from collections.abc import Mapping

from drkit.playbook.fields import Bool, Duration, Field, Float, Int, ListOf, Obj, OneOf, Str
from drkit.playbook.model import API_VERSION, KIND

# Kubernetes DNS-1123 label: what playbook and namespace names look like.
DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
PHASE_NAME = r"[a-z0-9-]+"
# Step and item names default to "<kind>-<n>" and kinds are camelCase (clearFinalizers), so allow capitals.
STEP_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
CHECKLIST_NAME = STEP_NAME
VAR_NAME = r"[A-Za-z_][A-Za-z0-9_]*"

TOP_LEVEL_KEYS = (
    "apiVersion",
    "kind",
    "metadata",
    "target",
    "vars",
    "rto",
    "phases",
    "finally",
    "collect",
    "checklists",
)
TOP_LEVEL_REQUIRED = ("apiVersion", "kind", "metadata", "phases")

API_VERSION_FIELD = Field(Str(enum=(API_VERSION,)), required=True, description="The playbook format version.")
KIND_FIELD = Field(Str(enum=(KIND,)), required=True, description="Always 'Playbook'.")

METADATA = Obj(
    {
        "name": Field(
            Str(pattern=DNS_LABEL),
            required=True,
            description="The playbook's name: lower-case letters, digits and '-' (a DNS-1123 label).",
        ),
        "description": Field(Str(), description="What the playbook recovers, for humans."),
    },
    description="Who this playbook is.",
)

TARGET = Obj(
    {
        "contexts": Field(
            ListOf(Str(min_length=1)),
            description="kubeconfig contexts the playbook may act on; drkit refuses to run anywhere else.",
        ),
        "protectedNamespaces": Field(
            ListOf(Str(pattern=DNS_LABEL)),
            description="Namespaces never torn down; added to kube-system, kube-public, kube-node-lease and "
            "default.",
        ),
    },
    description="Where the playbook may act.",
)

VARS_DESCRIPTION = (
    "Variables, used as ${name} in strings below target, phases and checklists; override with "
    "--set name=value. Numbers and booleans become their YAML text. A value may take the environment: "
    "${env:NAME} (an error when NAME is unset or empty) or ${env:NAME:-default}."
)

RTO = Field(Duration(positive=True), description="Recovery-time objective for the whole run, e.g. 45m.")

RETRIES = OneOf(
    (
        Int(minimum=0),
        Obj(
            {
                "count": Field(Int(minimum=0), required=True, description="Retries after the first attempt."),
                "delay": Field(Duration(), description="Wait before the first retry (default 1s)."),
                "backoff": Field(
                    Float(minimum=1.0), description="Multiplier applied to the delay (default 2)."
                ),
                "maxDelay": Field(Duration(), description="Longest wait between attempts (default 60s)."),
            }
        ),
    ),
    description="How often a failed step is retried: a count, or {count, delay, backoff, maxDelay}.",
)

_COLLECT_NAMESPACE = Field(Str(pattern=DNS_LABEL), required=True, description="The namespace.")
COLLECT_ENTRY = Obj(
    {
        "events": Field(
            Obj({"namespace": _COLLECT_NAMESPACE}),
            description="Every event of the namespace (Warnings first).",
        ),
        "logs": Field(
            Obj(
                {
                    "namespace": _COLLECT_NAMESPACE,
                    "selector": Field(
                        Str(min_length=1),
                        required=True,
                        description="Label selector of the pods, e.g. app=x.",
                    ),
                    "container": Field(Str(min_length=1), description="Only this container (default: all)."),
                    "tail": Field(
                        Int(minimum=1, maximum=10_000), description="Last lines per container (default 100)."
                    ),
                }
            ),
            description="The last log lines of the pods the selector picks.",
        ),
    },
    exactly_one_of=(("events", "logs"),),
)
COLLECT = Field(
    ListOf(COLLECT_ENTRY),
    description="What to gather into the run directory when a step fails, besides the state, events and "
    "pod logs of the objects the step names: `{events: {namespace}}` or `{logs: {namespace, selector, "
    "container, tail}}`.",
)

STEP_COMMON_FIELDS: Mapping[str, Field] = {
    "name": Field(Str(pattern=STEP_NAME), description="Unique within the phase; default '<kind>-<n>'."),
    "timeout": Field(Duration(positive=True), description="Give up on the step after this long."),
    "retries": Field(RETRIES),
    "continueOnError": Field(Bool(), description="Carry on with the phase when this step fails."),
    "collect": COLLECT,
}

PHASE_FIELDS: Mapping[str, Field] = {
    "name": Field(Str(pattern=PHASE_NAME), required=True, description="Unique phase name."),
    "budget": Field(Duration(positive=True), description="Time the phase should take at most."),
    "drillOnly": Field(Bool(), description="Run only by `drkit drill` (teardown); `drkit recover` skips it."),
}
PHASE_STEPS_KEY = "steps"
PHASE_STEPS_DESCRIPTION = "The steps, run in order; each has exactly one step-kind key."
FINALLY_KEY = "finally"
FINALLY_DESCRIPTION = (
    "Steps run after the phases whatever the outcome (failure, Ctrl-C, SIGTERM), each bounded by its "
    "timeout: bring a scaled-down controller back, lift a maintenance flag, notify. Reported apart as phase "
    "'finally', not counted in the RTO; their failure fails a run that otherwise succeeded, and never "
    "replaces an earlier failure."
)

ITEM_COMMON_FIELDS: Mapping[str, Field] = {
    "name": Field(Str(pattern=STEP_NAME), description="Unique within the checklist; default '<kind>-<n>'."),
}

CHECKLIST_FIELDS: Mapping[str, Field] = {
    "timeout": Field(Duration(positive=True), description="Time every item has to pass by."),
}
CHECKLIST_ITEMS_KEY = "items"
CHECKLIST_DESCRIPTION = "Read-only health checks: a list of items, or {timeout, items}."

# The step kind that runs a checklist: the reference says so, and `drkit check` runs each checklist as one
# such step. The kind itself is an ordinary one (drkit.steps.check); the loader knows none by its key.
CHECK_KIND = "check"
