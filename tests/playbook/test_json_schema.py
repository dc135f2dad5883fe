"""The exported JSON Schema describes the same language the loader accepts.

`jsonschema` is not a dependency, so a small evaluator for the draft-07 keywords the export uses checks that
a good playbook passes and bad ones fail; structural tests pin what editors rely on.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playbook_kinds import CHECK_KINDS, STEP_KINDS
from ruamel.yaml import YAML
from test_variables import PLAYBOOK as VARS_PLAYBOOK

from drkit.playbook.json_schema import playbook_json_schema

GOOD = """\
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: lab-drill, description: A drill}
target: {contexts: [drkit-lab], protectedNamespaces: [mlflow]}
vars: {variant: baseline, n: 3}
rto: 45m
phases:
  - name: teardown
    budget: 5m
    drillOnly: true
    steps:
      - command: {run: "echo ${variant}"}
        timeout: 90
        retries: {count: 2, delay: 5s}
      - name: apply-base
        apply: {kustomize: manifests/base}
        continueOnError: true
  - name: validate
    steps:
      - check: health
      - check: {checklist: health, timeout: 2m}
checklists:
  health:
    - http: {url: "http://localhost/", method: GET}
  slow: {timeout: 1m, items: [{command: {run: "true"}}]}
"""


def _type_ok(value: Any, expected: str) -> bool:
    return {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "null": value is None,
    }[expected]


def is_valid(schema: dict[str, Any], value: Any, root: dict[str, Any]) -> bool:
    """Evaluate the draft-07 subset the export uses."""
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return is_valid(target, value, root)
    types = schema.get("type")
    if types is not None and not any(
        _type_ok(value, t) for t in ([types] if isinstance(types, str) else types)
    ):
        return False
    checks = [
        "const" not in schema or value == schema["const"],
        "enum" not in schema or value in schema["enum"],
        "anyOf" not in schema or any(is_valid(s, value, root) for s in schema["anyOf"]),
        "oneOf" not in schema or sum(is_valid(s, value, root) for s in schema["oneOf"]) == 1,
        "allOf" not in schema or all(is_valid(s, value, root) for s in schema["allOf"]),
        "not" not in schema or not is_valid(schema["not"], value, root),
    ]
    if isinstance(value, str):
        checks.append("pattern" not in schema or re.search(schema["pattern"], value) is not None)
        checks.append(len(value) >= schema.get("minLength", 0))
    if isinstance(value, int | float) and not isinstance(value, bool):
        checks.append(value >= schema.get("minimum", float("-inf")))
        checks.append(value <= schema.get("maximum", float("inf")))
        checks.append("exclusiveMinimum" not in schema or value > schema["exclusiveMinimum"])
    if isinstance(value, list):
        checks.append(len(value) >= schema.get("minItems", 0))
        checks.extend(is_valid(schema.get("items", {}), item, root) for item in value)
    if isinstance(value, dict):
        checks.extend(key in value for key in schema.get("required", []))
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if "propertyNames" in schema:
                checks.append(is_valid(schema["propertyNames"], key, root))
            if key in properties:
                checks.append(is_valid(properties[key], item, root))
            elif extra is False:
                checks.append(False)
            elif isinstance(extra, dict):
                checks.append(is_valid(extra, item, root))
    return all(checks)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    exported = playbook_json_schema(STEP_KINDS, CHECK_KINDS)
    return json.loads(json.dumps(exported))  # proves it is plain JSON


def as_json(text: str) -> Any:
    return json.loads(json.dumps(YAML(typ="safe", pure=True).load(text)))


def test_structure(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["title"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"apiVersion", "kind", "metadata", "phases"}
    step_options = schema["definitions"]["step"]["oneOf"]
    assert [option["required"] for option in step_options] == [[kind] for kind in STEP_KINDS]
    for option in step_options:
        assert option["additionalProperties"] is False
        assert {"name", "timeout", "retries", "continueOnError"} <= set(option["properties"])
        assert option["description"]
    item_kinds = [o["required"][0] for o in schema["definitions"]["checklistItem"]["oneOf"]]
    assert item_kinds == list(CHECK_KINDS)
    phase = schema["definitions"]["phase"]
    assert phase["additionalProperties"] is False
    assert set(phase["required"]) == {"name", "steps"}
    http = next(o for o in step_options if o["title"] == "http")["properties"]["http"]
    assert http["properties"]["method"]["anyOf"][0]["enum"] == ["GET", "POST", "HEAD"]
    assert http["properties"]["method"]["default"] == "GET"


@pytest.mark.parametrize("text", [GOOD, VARS_PLAYBOOK], ids=["good", "with-variables"])
def test_good_playbooks_validate(schema: dict[str, Any], text: str) -> None:
    assert is_valid(schema, as_json(text), schema)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("    budget: 5m", "    budgt: 5m"),
        ("apiVersion: drkit.io/v1", "apiVersion: drkit.io/v2"),
        ("      - check: health", "      - chek: health"),
        ("      - check: health", "      - {check: health, command: {run: x}}"),
        ("    budget: 5m", "    budget: 5 minutes"),
        ("    budget: 5m", "    budget: 0"),
        ("method: GET", "method: PUT"),
        ("retries: {count: 2, delay: 5s}", "retries: [2]"),
        ("apply: {kustomize: manifests/base}", "apply: {kustomize: a, files: [b]}"),
        ("metadata: {name: lab-drill, description: A drill}", "metadata: {name: Lab_Drill}"),
        ('  slow: {timeout: 1m, items: [{command: {run: "true"}}]}', "  slow: []"),
    ],
)
def test_bad_playbooks_are_rejected(schema: dict[str, Any], old: str, new: str) -> None:
    assert old in GOOD
    assert not is_valid(schema, as_json(GOOD.replace(old, new)), schema)


@pytest.mark.parametrize(
    ("finally_text", "valid"),
    [
        ('finally:\n  - {name: notify, command: {run: "true"}, timeout: 1m}\n', True),
        ("finally: []\n", False),
        ('finally:\n  - {comand: {run: "true"}}\n', False),
        ('finally: {command: {run: "true"}}\n', False),
    ],
)
def test_finally_takes_a_list_of_steps(schema: dict[str, Any], finally_text: str, valid: bool) -> None:
    assert is_valid(schema, as_json(GOOD + finally_text), schema) is valid


@pytest.mark.parametrize(
    ("collect", "valid"),
    [
        ("[{events: {namespace: ml}}, {logs: {namespace: ml, selector: app=x, tail: 20}}]", True),
        ("[{events: {namespace: ml}, logs: {namespace: ml, selector: app=x}}]", False),
        ("[{logs: {namespace: ml}}]", False),
        ("[{logs: {namespace: ml, selector: app=x, tail: 0}}]", False),
    ],
)
def test_collect_is_one_definition_for_the_top_level_and_every_step(
    schema: dict[str, Any], collect: str, valid: bool
) -> None:
    top_level = as_json(GOOD + f"collect: {collect}\n")
    assert is_valid(schema, top_level, schema) is valid
    finally_step = as_json(GOOD + f"finally:\n  - command: {{run: x}}\n    collect: {collect}\n")
    assert is_valid(schema, finally_step, schema) is valid
