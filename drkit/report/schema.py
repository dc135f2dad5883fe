"""The report.json contract: one description of each report object yields the JSON Schema
(docs/report.schema.json) and the field reference (docs/report-schema.md).

Types and enum values are read from the report model's own annotations, so a field that changes type changes
the schema; what is written here is only each JSON key, the model attribute behind it and what it means.
tests/report/test_report_schema.py validates real report.json files against the result, so a key added to a
`to_json` without a line here fails there.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from drkit.report.collected import CollectedReport
from drkit.report.model import (
    SCHEMA_VERSION,
    AttemptReport,
    ChecklistItemReport,
    ClusterRef,
    PhaseReport,
    RetryCount,
    RunReport,
    StepReport,
    VariableReport,
)
from drkit.report.reproduction import (
    Change,
    DiffReport,
    FieldChange,
    ModelIdentity,
    ModelParity,
    ObjectDiff,
    ParityReport,
    WorstDifference,
)

SCHEMA_ID = "https://drkit.io/schemas/report.schema.json"

JsonSchema = dict[str, Any]


@dataclass(frozen=True)
class Key:
    """One JSON key of a report object: the model attribute (a field or a property) whose annotation gives
    its type, or an explicit `schema` when the JSON shape is not one attribute."""

    name: str
    description: str
    attr: str | None = None  # None: the key's snake_case spelling
    schema: JsonSchema | None = None
    optional: bool = False  # written only when there is something to say


def _closed(properties: Mapping[str, JsonSchema]) -> JsonSchema:
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(properties),
        "additionalProperties": False,
    }


_PER_CHANGE = _closed({str(change): {"type": "integer"} for change in Change})

OBJECTS: Mapping[type, tuple[Key, ...]] = {
    RunReport: (
        Key(
            "schemaVersion",
            "The version of this contract; see the versioning rule.",
            schema={"const": SCHEMA_VERSION},
        ),
        Key(
            "runId", "The run's id (its directory under runs/); null for `drkit plan`, which records nothing."
        ),
        Key(
            "playbook",
            "The playbook run: its metadata.name and the path it was read from.",
            schema={
                "type": "object",
                "properties": {"name": {"type": "string"}, "path": {"type": "string"}},
                "required": ["name", "path"],
                "additionalProperties": False,
            },
        ),
        Key("mode", "What the run did: drill, recover, check, plan, or a finalizers clearing."),
        Key("outcome", "How the run ended; the exit code follows it."),
        Key("message", "One line: why the run failed, or what was refused; empty when it succeeded."),
        Key("rto", "The playbook's recovery-time objective in seconds; null when it sets none."),
        Key("rtoMeasured", "The seconds compared with the RTO, as `rtoBasis` says."),
        Key("rtoBasis", "What `rtoMeasured` counts: the wall clock since the first start (schema 2)."),
        Key("totalDuration", "This attempt's wall time in seconds, from its start to its end."),
        Key("startedAt", "This attempt's start, seconds since the epoch."),
        Key("finishedAt", "This attempt's end, seconds since the epoch; null while running."),
        Key("resumed", "True when this attempt is a `drkit resume` of an earlier one."),
        Key("firstStartedAt", "The first attempt's start, seconds since the epoch."),
        Key("elapsed", "Wall-clock seconds from the first start to this finish: the time to recovery."),
        Key("stepTime", "Seconds spent executing steps, in every attempt."),
        Key("attempts", "Every attempt of the run, oldest first; the last is this one."),
        Key("cluster", "The cluster the run acted on; null when it needed none."),
        Key("overBudgetPhases", "The names of the phases that took longer than their budget."),
        Key("drkitVersion", "The drkit version that wrote the report."),
        Key("variables", "The playbook's variables, and where each value came from."),
        Key("phases", "The phases in playbook order, each with its steps."),
        Key(
            "finally",
            "The playbook's `finally:` steps, reported apart from the phases.",
            attr="finally_steps",
        ),
    ),
    AttemptReport: (
        Key("startedAt", "The attempt's start, seconds since the epoch."),
        Key("finishedAt", "Its end; null when drkit died without recording one (kill -9, a crash)."),
        Key("outcome", "How it ended; null when never recorded."),
        Key("signal", "SIGINT or SIGTERM, for an interrupted attempt.", optional=True),
    ),
    ClusterRef: (
        Key("context", "The kubeconfig context."),
        Key("server", "The API server URL; empty when the kubeconfig does not say."),
    ),
    VariableReport: (
        Key("name", "The variable's name."),
        Key("value", "The value the run used; null for a secret variable, never recorded."),
        Key("secret", "True when the value is secret (and so null here).", schema={"type": "boolean"}),
        Key("origin", 'Where the value came from: "playbook", "--set", "from $MLFLOW_TRACKING_URI".'),
    ),
    PhaseReport: (
        Key("name", "The phase's name."),
        Key("status", "The phase's state, from its steps'."),
        Key("budget", "The phase's time budget in seconds; null when it has none."),
        Key("overBudget", "True when its steps took longer than the budget."),
        Key("drillOnly", "True for a phase `drkit recover` skips (a teardown)."),
        Key("startedAt", "When the phase started, seconds since the epoch; null if it never did."),
        Key("finishedAt", "When it finished; null if it never did."),
        Key("duration", "Seconds spent in its steps, earlier attempts of a resumed run included."),
        Key("steps", "Its steps in playbook order."),
    ),
    StepReport: (
        Key("phase", 'The phase the step belongs to ("finally" for a finally step).'),
        Key("index", "The step's 1-based position in its phase."),
        Key("name", "The step's name."),
        Key("kind", "The step kind (`apply`, `delete`, `check`, ...)."),
        Key("status", "The step's state."),
        Key("label", 'The state as people read it: "failed (tolerated)", "succeeded (previous attempt)".'),
        Key("message", "What the step did, or why it failed."),
        Key("hint", "What to do about a failure; null when there is nothing to add."),
        Key("details", "Kind-specific facts (names, counts), for tools; never secret values."),
        Key("startedAt", "Its start, seconds since the epoch; null if it never started."),
        Key("finishedAt", "Its end; null if it never finished."),
        Key("duration", "Seconds it took (monotonic clock)."),
        Key("attempts", "How many times it was tried (its `retries:`)."),
        Key("retries", "Requests to the cluster or MLflow it repeated, by cause."),
        Key("tolerated", "Failed, but `continueOnError` let the run go on."),
        Key("previousAttempt", "Succeeded in an earlier attempt of a resumed run, and was not run again."),
        Key("destructive", "True when its plan deletes or overwrites something."),
        Key("checklistItems", "A checklist step's items."),
        Key("parity", "A predictionParity step's per-model verdicts.", optional=True),
        Key(
            "reproductionDiff",
            "A reproductionDiff step's missing, extra and changed objects.",
            attr="diff",
            optional=True,
        ),
        Key("collected", "What was gathered for on-call after the step failed.", optional=True),
    ),
    RetryCount: (
        Key("cause", 'Why requests were repeated: "HTTP 503", "no answer (connection dropped)".'),
        Key("count", "How many."),
    ),
    ChecklistItemReport: (
        Key("name", "The item's name."),
        Key("description", "What it checks."),
        Key("passed", "True when it passed."),
        Key("firstPassedAfter", "Seconds after the checklist started when it first passed; null if never."),
        Key("attempts", "How many times it was evaluated."),
        Key("message", "Its last result, or why it failed."),
    ),
    CollectedReport: (
        Key("directory", 'Where the files are, relative to the run directory ("collected/rebuild-2").'),
        Key("files", "The files gathered, relative to `directory`."),
        Key("warnings", "The last Warning events, newest last."),
        Key("notes", "What could not be gathered, and why."),
        Key("conditions", "Per object, its conditions."),
    ),
    ParityReport: (
        Key("snapshot", "The `phase/step` of the goldenPredictions step replayed."),
        Key("takenAt", "When the golden predictions were recorded, seconds since the epoch."),
        Key(
            "tolerance",
            "The absolute and relative tolerance numbers were compared with.",
            schema=_closed({"absolute": {"type": "number"}, "relative": {"type": "number"}}),
        ),
        Key("passed", "True when every model answered equal or within the tolerance."),
        Key("models", "One verdict per model."),
    ),
    ModelParity: (
        Key("name", "The golden request's name."),
        Key("model", "The V2 model name asked."),
        Key("endpoint", "The inference endpoint."),
        Key("verdict", "How the answer compares with the golden one."),
        Key("sameness", "Whether the same model answered before and after, or a retrained one."),
        Key("before", "Which model answered when the golden predictions were taken."),
        Key("after", "Which model answered now."),
        Key("compared", "Elements compared."),
        Key("beyondTolerance", "Elements beyond the tolerance.", attr="beyond"),
        Key("inexact", "Elements not exactly equal (within the tolerance or not)."),
        Key("worst", "The element that differs most; null when none does."),
        Key("message", "Why there was no answer; empty otherwise."),
    ),
    ModelIdentity: (
        Key("storageUri", "The storage URI read from the serving object; null when unknown."),
        Key("modelId", "The MLflow model id (`m-<id>`) or run id it names; null when not derivable."),
        Key("source", "Where the URI was read, e.g. `Model financial-inference/baseline-predictor`."),
    ),
    WorstDifference: (
        Key("output", "The output tensor's name."),
        Key("index", "The element's row-major index."),
        Key("expected", "The golden value."),
        Key("got", "The value answered now."),
        Key("difference", "|got - expected| for numbers; null for what has no distance (a label, a shape)."),
        Key("beyondTolerance", "True when the difference is beyond the tolerance."),
        Key("note", 'For a mismatch that is not one element: "shape [2, 1], expected [3, 1]".'),
    ),
    DiffReport: (
        Key("before", "What was compared on one side: `snapshot teardown/inventory`, `context drkit-lab`."),
        Key("after", "And on the other."),
        Key("namespaces", "The namespaces compared."),
        Key("kinds", "The kinds compared: `Model.mlops.seldon.io`, `ConfigMap`."),
        Key("compared", "Objects on either side."),
        Key("counts", "Objects missing, extra and changed.", schema=_PER_CHANGE),
        Key("expected", "Of those, how many were expected (`expectChanges`).", schema=_PER_CHANGE),
        Key("failOn", "The changes that fail the step, unless expected."),
        Key("passed", "True when no failing change was found."),
        Key("unreadable", "Kinds left out, and why (RBAC, an aggregated API down)."),
        Key("objects", "The objects that differ."),
    ),
    ObjectDiff: (
        Key("object", "`Kind namespace/name`.", attr="target"),
        Key("apiVersion", "The object's apiVersion."),
        Key("kind", "Its kind."),
        Key("namespace", "Its namespace; null for a cluster-scoped object."),
        Key("name", "Its name."),
        Key("change", "Missing, extra or changed."),
        Key("accepted", "True when every difference of it was expected (`expectChanges`)."),
        Key("fields", "For a changed object, the fields that differ."),
    ),
    FieldChange: (
        Key("path", "The field's path in the normalised object."),
        Key("change", "How it differs."),
        Key("old", "The value before; null for a Secret's data (compared by digest, never kept)."),
        Key("new", "The value after; null for a Secret's data."),
        Key("secret", "True for a Secret's data field."),
        Key("accepted", "True when it matched an `expectChanges` entry."),
    ),
}


def report_json_schema() -> JsonSchema:
    """The JSON Schema (2020-12) of report.json."""
    defs = {cls.__name__: _object_schema(cls) for cls in OBJECTS if cls is not RunReport}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"drkit run report (report.json, schemaVersion {SCHEMA_VERSION})",
        **_object_schema(RunReport),
        "$defs": defs,
    }


def report_reference() -> str:
    """The field reference (markdown) of report.json, one table per object."""
    lines = [
        "<!-- Generated by `drkit schema --of report -o markdown`; do not edit by hand. -->",
        "",
        f"# Report schema (report.json, schemaVersion {SCHEMA_VERSION})",
        "",
        "Every run writes `report.json` into its run directory, and `-o json` prints the same document:",
        "the machine contract for CI, dashboards and scripts. Its JSON Schema (2020-12) is",
        "[report.schema.json](report.schema.json), generated with `drkit schema --of report -o json`.",
        "",
        "## Versioning",
        "",
        "`schemaVersion` goes up when a consumer written for the previous version could misread a",
        "report: a key removed or renamed, a type, unit or meaning changed (schema 2 made `rtoBasis` the",
        "wall clock since the first start), an enum value removed. Adding a key, or a value to an enum,",
        "does not bump it: a consumer ignores keys it does not know and treats an unknown `outcome` as not",
        "a success. The schema is closed (`additionalProperties: false`) so that drkit's own tests catch a",
        "key written without being described here; it describes the reports of the drkit version it ships",
        "with. drkit itself still reads",
        "the previous version (`drkit runs show` on an old run).",
        "",
    ]
    for cls, keys in OBJECTS.items():
        lines += [
            f"## {cls.__name__}",
            "",
            _first_line(cls),
            "",
            "| Key | Type | Description |",
            "|---|---|---|",
        ]
        for key in keys:
            type_text = _type_text(_key_schema(cls, key))
            optional = " (optional)" if key.optional else ""
            lines.append(f"| `{key.name}` | {type_text}{optional} | {key.description} |")
        lines.append("")
    return "\n".join(lines)


def _first_line(cls: type) -> str:
    """The class docstring's first paragraph: what the object is."""
    return " ".join((cls.__doc__ or "").split("\n\n")[0].split())


def _object_schema(cls: type) -> JsonSchema:
    keys = OBJECTS[cls]
    return {
        "type": "object",
        "description": _first_line(cls),
        "properties": {key.name: {**_key_schema(cls, key), "description": key.description} for key in keys},
        "required": [key.name for key in keys if not key.optional],
        "additionalProperties": False,
    }


def _key_schema(cls: type, key: Key) -> JsonSchema:
    if key.schema is not None:
        return key.schema
    return _type_schema(_annotation(cls, key.attr or _snake(key.name)))


def _annotation(cls: type, attr: str) -> Any:
    if any(f.name == attr for f in dataclasses.fields(cls)):
        return typing.get_type_hints(cls)[attr]
    prop = getattr(cls, attr)
    return typing.get_type_hints(prop.fget)["return"]


def _type_schema(annotation: Any) -> JsonSchema:
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        options = [_type_schema(a) for a in typing.get_args(annotation) if a is not type(None)]
        return {"anyOf": [*options, {"type": "null"}]} if len(options) != 1 else _nullable(options[0])
    if origin is tuple:
        return {"type": "array", "items": _type_schema(typing.get_args(annotation)[0])}
    if origin is Mapping or annotation is dict:
        return {"type": "object"}
    if annotation is object:
        return {}  # any JSON value
    if typing.get_origin(annotation) is typing.Literal:
        return {"type": "string", "enum": list(typing.get_args(annotation))}
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return {"type": "string", "enum": [str(member) for member in annotation]}
    if annotation in OBJECTS:
        return {"$ref": f"#/$defs/{annotation.__name__}"}
    simple = {str: "string", bool: "boolean", int: "integer", float: "number"}
    return {"type": simple[annotation]}


def _nullable(schema: JsonSchema) -> JsonSchema:
    if "type" in schema and "enum" not in schema:
        return {**schema, "type": [schema["type"], "null"]}
    if "enum" in schema:
        return {**schema, "type": [schema["type"], "null"], "enum": [*schema["enum"], None]}
    return {"anyOf": [schema, {"type": "null"}]}


def _type_text(schema: JsonSchema) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return f"[{name}](#{name.lower()})"
    if "anyOf" in schema:
        return " or ".join(_type_text(s) for s in schema["anyOf"])
    if not schema:
        return "any"
    if "const" in schema:
        return f"`{schema['const']}`"
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    if "enum" in schema:
        values = ", ".join(f"`{v}`" for v in schema["enum"] if v is not None)
        return f"one of {values}" + (" or null" if "null" in kinds else "")
    if "items" in schema:
        return f"array of {_type_text(schema['items'])}"
    return " or ".join(kinds)


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
