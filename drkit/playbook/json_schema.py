"""Export the playbook language as a JSON Schema (draft-07), for editors through yaml-language-server.

Put `# yaml-language-server: $schema=playbook.schema.json` at the top of a playbook, with the schema beside it
(what `drkit init` writes), and VS Code (or any LSP editor) completes keys, shows descriptions and flags
mistakes as you type. The schema is generated from the same field descriptions the loader validates against,
so the two cannot drift apart. Draft-07 because it is the draft yaml-language-server supports best. The
loader stays the authority: a schema cannot check references to checklists, undefined variables or duplicate
names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from drkit.playbook import language as lang
from drkit.playbook.fields import (
    AnyValue,
    Duration,
    Field,
    FieldType,
    Float,
    Int,
    KindSchema,
    ListOf,
    MapOf,
    Obj,
    OneOf,
    Str,
)
from drkit.playbook.model import API_VERSION, KIND

SCHEMA_ID = "https://drkit.io/schemas/playbook-v1.json"
DRAFT = "http://json-schema.org/draft-07/schema#"

# A value that is exactly one variable reference: allowed wherever an integer, number or boolean is expected.
_VARIABLE_ONLY = r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$"
_HAS_VARIABLE = r"\$\{"
_NUMBER = r"(\d+(\.\d*)?|\.\d+)"
DURATION_PATTERN = rf"^[+-]?({_NUMBER}|({_NUMBER}(ms|s|m|h|d))+)$"

JsonObject = dict[str, object]


def playbook_json_schema(
    step_kinds: Mapping[str, KindSchema], check_kinds: Mapping[str, KindSchema]
) -> dict[str, object]:
    """The JSON Schema of a playbook with these step and checklist item kinds."""
    vars_ok = _Exporter(allow_variables=True)
    plain = _Exporter(allow_variables=False)
    # `collect` is described once and referred to by every step kind's entry and the top level.
    collect_ref: JsonObject = {"$ref": "#/definitions/collect"}
    step_common = {**vars_ok.properties(lang.STEP_COMMON_FIELDS), "collect": collect_ref}
    steps = [_kind_entry(kind, schema, step_common, vars_ok) for kind, schema in step_kinds.items()]
    item_common = vars_ok.properties(lang.ITEM_COMMON_FIELDS)
    items = [_kind_entry(kind, schema, item_common, vars_ok) for kind, schema in check_kinds.items()]
    phase: JsonObject = {
        "type": "object",
        "description": "A named group of steps, timed against its budget.",
        "additionalProperties": False,
        "required": ["name", lang.PHASE_STEPS_KEY],
        "properties": {
            **vars_ok.properties(lang.PHASE_FIELDS),
            lang.PHASE_STEPS_KEY: {
                "type": "array",
                "description": lang.PHASE_STEPS_DESCRIPTION,
                "minItems": 1,
                "items": {"$ref": "#/definitions/step"},
            },
        },
    }
    item_list: JsonObject = {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/checklistItem"}}
    checklist: JsonObject = {
        "description": lang.CHECKLIST_DESCRIPTION,
        "anyOf": [
            item_list,
            {
                "type": "object",
                "additionalProperties": False,
                "required": [lang.CHECKLIST_ITEMS_KEY],
                "properties": {
                    **vars_ok.properties(lang.CHECKLIST_FIELDS),
                    lang.CHECKLIST_ITEMS_KEY: item_list,
                },
            },
        ],
    }
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "drkit playbook",
        "description": "A disaster-recovery playbook run by `drkit drill`, `recover` and `check`.",
        "type": "object",
        "additionalProperties": False,
        "required": list(lang.TOP_LEVEL_REQUIRED),
        "properties": {
            "apiVersion": {
                "type": "string",
                "const": API_VERSION,
                "description": lang.API_VERSION_FIELD.description,
            },
            "kind": {"type": "string", "const": KIND, "description": lang.KIND_FIELD.description},
            "metadata": plain.field_type(lang.METADATA),
            "target": vars_ok.field_type(lang.TARGET),
            "vars": {
                "type": "object",
                "description": lang.VARS_DESCRIPTION,
                "propertyNames": {"pattern": f"^{lang.VAR_NAME}$"},
                "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
            },
            "rto": {**vars_ok.field_type(lang.RTO.type), "description": lang.RTO.description},
            "phases": {
                "type": "array",
                "description": "Phases, run in order.",
                "minItems": 1,
                "items": {"$ref": "#/definitions/phase"},
            },
            "collect": collect_ref,
            lang.FINALLY_KEY: {
                "type": "array",
                "description": lang.FINALLY_DESCRIPTION,
                "minItems": 1,
                "items": {"$ref": "#/definitions/step"},
            },
            "checklists": {
                "type": "object",
                "description": "Named checklists, run by `check` steps and by `drkit check`.",
                "propertyNames": {"pattern": f"^{lang.CHECKLIST_NAME}$"},
                "additionalProperties": {"$ref": "#/definitions/checklist"},
            },
        },
        "definitions": {
            "collect": vars_ok.field(lang.COLLECT),
            "phase": phase,
            "step": {
                "description": "One step: exactly one step-kind key plus common fields.",
                "oneOf": steps,
            },
            "checklist": checklist,
            "checklistItem": {"description": "One check: exactly one check-kind key.", "oneOf": items},
        },
    }


def _kind_entry(kind: str, schema: KindSchema, common: JsonObject, exporter: _Exporter) -> JsonObject:
    """A step or item of one kind: the kind key is required, and no other kind key may appear."""
    body = exporter.field_type(schema.body)
    body["description"] = schema.description
    if schema.examples:
        body["examples"] = list(schema.examples)
    return {
        "type": "object",
        "title": kind,
        "description": schema.description,
        "additionalProperties": False,
        "required": [kind],
        "properties": {**common, kind: body},
    }


class _Exporter:
    """fields.py types as JSON Schema; `allow_variables` admits `${var}` where the loader substitutes."""

    def __init__(self, *, allow_variables: bool) -> None:
        self.allow_variables = allow_variables

    def properties(self, fields: Mapping[str, Field]) -> JsonObject:
        return {name: self.field(spec) for name, spec in fields.items()}

    def field(self, spec: Field) -> JsonObject:
        schema = self.field_type(spec.type)
        if spec.description:
            schema["description"] = spec.description
        if spec.default is not None:
            schema["default"] = spec.default
        return schema

    def field_type(self, ftype: FieldType) -> JsonObject:
        if isinstance(ftype, Obj):
            return self._obj(ftype)
        if isinstance(ftype, OneOf):
            schema: JsonObject = {"anyOf": [self.field_type(option) for option in ftype.options]}
            if ftype.description:
                schema["description"] = ftype.description
            return schema
        if isinstance(ftype, ListOf):
            schema = {"type": "array", "items": self.field_type(ftype.item)}
            if ftype.min_items:
                schema["minItems"] = ftype.min_items
            return schema
        if isinstance(ftype, MapOf):
            return {"type": "object", "additionalProperties": self.field_type(ftype.value)}
        if isinstance(ftype, AnyValue):
            return {}
        if isinstance(ftype, Str):
            return self._str(ftype)
        if isinstance(ftype, Duration):
            number: JsonObject = {"type": "number"}
            if ftype.positive:
                number["exclusiveMinimum"] = max(0.0, ftype.minimum_seconds)
            else:
                number["minimum"] = ftype.minimum_seconds
            return {
                "anyOf": [number, {"type": "string", "pattern": self._or_variable(DURATION_PATTERN)}],
                "description": "A duration: 90s, 5m, 1h30m, 250ms, or a number of seconds.",
            }
        if isinstance(ftype, Int | Float):
            scalar: JsonObject = {"type": "integer" if isinstance(ftype, Int) else "number"}
            if ftype.minimum is not None:
                scalar["minimum"] = ftype.minimum
            if ftype.maximum is not None:
                scalar["maximum"] = ftype.maximum
            return self._maybe_variable(scalar)
        return self._maybe_variable({"type": "boolean"})

    def _obj(self, ftype: Obj) -> JsonObject:
        schema: JsonObject = {
            "type": "object",
            "additionalProperties": False,
            "properties": self.properties(ftype.fields),
        }
        required = [name for name, spec in ftype.fields.items() if spec.required]
        if required:
            schema["required"] = required
        if ftype.description:
            schema["description"] = ftype.description
        groups: list[JsonObject] = [{"oneOf": _each_present(group)} for group in ftype.exactly_one_of]
        groups += [{"not": {"anyOf": _pairs_present(group)}} for group in ftype.at_most_one_of]
        groups += [{"anyOf": _each_present(group)} for group in ftype.at_least_one_of]
        if groups:
            schema["allOf"] = groups
        if ftype.requires:
            schema["dependencies"] = {key: list(needed) for key, needed in ftype.requires}
        return schema

    def _str(self, ftype: Str) -> JsonObject:
        schema: JsonObject = {"type": "string"}
        if ftype.min_length:
            schema["minLength"] = ftype.min_length
        constraint: JsonObject = {}
        if ftype.enum:
            constraint["enum"] = list(ftype.enum)
        if ftype.pattern is not None:
            constraint["pattern"] = f"^(?:{_ecma_pattern(ftype.pattern)})$"
        if not constraint:
            return schema
        if not self.allow_variables:
            return {**schema, **constraint}
        # The loader checks enums and patterns after substitution, so a value with a `${` may be anything.
        return {**schema, "anyOf": [constraint, {"pattern": _HAS_VARIABLE}]}

    def _maybe_variable(self, schema: JsonObject) -> JsonObject:
        if not self.allow_variables:
            return schema
        return {"anyOf": [schema, {"type": "string", "pattern": _VARIABLE_ONLY}]}

    def _or_variable(self, pattern: str) -> str:
        return f"{pattern}|{_HAS_VARIABLE}" if self.allow_variables else pattern


def _ecma_pattern(pattern: str) -> str:
    """Python regular expressions as the schema's ECMA-262 dialect spells them (named groups, anchors)."""
    pattern = re.sub(r"\(\?P<(\w+)>", r"(?<\1>", pattern)
    return pattern.replace(r"\A", "^").replace(r"\Z", "$")


def _each_present(group: tuple[str, ...]) -> list[JsonObject]:
    """Schemas matching an object that has one key of `group` (one schema per key)."""
    return [{"required": [key]} for key in group]


def _pairs_present(group: tuple[str, ...]) -> list[JsonObject]:
    """Schemas matching an object that has two keys of `group` (any pair)."""
    return [{"required": [a, b]} for i, a in enumerate(group) for b in group[i + 1 :]]
