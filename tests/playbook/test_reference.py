"""The committed reference and JSON Schema are what the code generates; the schemas' examples load.

docs/playbook-reference.md and docs/playbook.schema.json are generated (`make docs`) and committed so they can
be read on GitHub and referenced by playbooks; these tests fail as soon as a schema changes without them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO_ROOT, run_drkit
from ruamel.yaml import YAML
from test_json_schema import is_valid

from drkit.playbook.fields import KindSchema
from drkit.steps.registry import probe_schemas, step_schemas

DOCS = REPO_ROOT / "docs"
REFERENCE = DOCS / "playbook-reference.md"
JSON_SCHEMA = DOCS / "playbook.schema.json"
REGENERATE = "is out of date with the step schemas: run `make docs` and commit the result"
SCHEMA_COMMENT = "# yaml-language-server: $schema=../docs/playbook.schema.json"
PLAYBOOKS = sorted((REPO_ROOT / "playbooks").glob("*.yaml"))

STEP_SCHEMAS = step_schemas()
ITEM_SCHEMAS = probe_schemas()


def test_committed_reference_is_what_the_code_generates(tmp_path: Path) -> None:
    result = run_drkit("schema", "-o", "markdown", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert REFERENCE.read_text(encoding="utf-8") == result.stdout, f"docs/playbook-reference.md {REGENERATE}"


def test_committed_json_schema_is_what_the_code_generates(tmp_path: Path) -> None:
    result = run_drkit("schema", cwd=tmp_path)  # JSON stays the default format
    assert result.exit_code == 0, result.stderr
    assert JSON_SCHEMA.read_text(encoding="utf-8") == result.stdout, f"docs/playbook.schema.json {REGENERATE}"


def test_schema_writes_the_reference_to_a_file(tmp_path: Path) -> None:
    result = run_drkit("schema", "-o", "markdown", "--file", "ref.md", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "ref.md").read_text(encoding="utf-8").startswith("# Playbook reference\n")
    assert result.stdout == ""
    # --format, the option's name before -o meant a format everywhere, still works
    legacy = run_drkit("schema", "--format", "markdown", cwd=tmp_path)
    assert legacy.stdout.startswith("# Playbook reference\n")


def test_o_is_a_format_not_a_file(tmp_path: Path) -> None:
    result = run_drkit("schema", "-o", "ref.md", cwd=tmp_path)
    assert result.exit_code == 2
    assert "'ref.md' is not one of 'json', 'markdown'" in result.stderr
    assert not (tmp_path / "ref.md").exists()


def test_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    result = run_drkit("schema", "-o", "html", cwd=tmp_path)
    assert result.exit_code == 2
    assert "html" in result.stderr


def _sections(markdown: str) -> dict[str, str]:
    """`### Step \\`kind\\`` and `### Item \\`kind\\`` sections of the reference, by heading."""
    parts = re.split(r"^### (.+)$", markdown, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.mark.parametrize(
    ("role", "schema"),
    [("Step", s) for s in STEP_SCHEMAS.values()] + [("Item", s) for s in ITEM_SCHEMAS.values()],
    ids=lambda value: value if isinstance(value, str) else value.kind,
)
def test_every_kind_is_documented_with_its_fields_and_examples(role: str, schema: KindSchema) -> None:
    section = _sections(REFERENCE.read_text(encoding="utf-8"))[f"{role} `{schema.kind}`"]
    assert schema.description in section
    fields = getattr(schema.body, "fields", {})
    for key in fields:
        assert f"| `{key}` |" in section, f"{role} {schema.kind}: field {key} missing from its table"
    assert section.count("```yaml") == len(schema.examples)
    assert f"](#{role.lower()}-{schema.kind.lower()})" in REFERENCE.read_text(encoding="utf-8")


def _variables_in(value: object) -> set[str]:
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", json.dumps(value)))


def _checklist_named_by(check_example: object) -> str:
    """A `check` body names its checklist directly or under `checklist:`."""
    if isinstance(check_example, dict):
        return str(check_example["checklist"])
    return str(check_example)


# The comparing kinds, and the kind of the step whose snapshot they compare with.
SNAPSHOT_TAKERS = {"predictionParity": "goldenPredictions", "reproductionDiff": "inventory"}


def _examples_playbook(kind: str, *, as_item: bool) -> dict[str, Any]:
    """A playbook using every example of one kind: as steps of a phase, or as items of a checklist."""
    schema = (ITEM_SCHEMAS if as_item else STEP_SCHEMAS)[kind]
    entries = [{"name": f"{kind}-example-{n}", kind: example} for n, example in enumerate(schema.examples, 1)]
    checklists: dict[str, object] = {}
    steps: list[object] = [{"command": {"run": "true"}}]
    if as_item:
        checklists["examples"] = entries
    else:
        steps = entries
    if kind == "check" and not as_item:
        for example in schema.examples:
            checklists[_checklist_named_by(example)] = [{"command": {"run": "true"}}]
    if (
        kind in SNAPSHOT_TAKERS and not as_item
    ):  # a comparing step needs the snapshot step it names, before it
        taker = SNAPSHOT_TAKERS[kind]
        names = dict.fromkeys(str(e["snapshot"]) for e in schema.examples if isinstance(e, dict))
        steps = [{"name": name, taker: STEP_SCHEMAS[taker].examples[0]} for name in names] + steps
    return {
        "apiVersion": "drkit.io/v1",
        "kind": "Playbook",
        "metadata": {"name": "examples"},
        "target": {"contexts": ["drkit-lab"]},
        "vars": dict.fromkeys(sorted(_variables_in(schema.examples)), "example"),
        "phases": [{"name": "examples", "steps": steps}],
        "checklists": checklists,
    }


@pytest.mark.parametrize(
    ("kind", "as_item"),
    [(kind, False) for kind in STEP_SCHEMAS] + [(kind, True) for kind in ITEM_SCHEMAS],
    ids=[f"step-{k}" for k in STEP_SCHEMAS] + [f"item-{k}" for k in ITEM_SCHEMAS],
)
def test_schema_examples_load_and_build_in_a_playbook(tmp_path: Path, kind: str, as_item: bool) -> None:
    """`drkit validate` loads the examples and builds every step and probe from them, as a run would."""
    playbook = _examples_playbook(kind, as_item=as_item)
    schema = (ITEM_SCHEMAS if as_item else STEP_SCHEMAS)[kind]
    assert schema.examples, f"{kind} has no examples in its KindSchema"
    path = tmp_path / "examples.yaml"
    path.write_text(json.dumps(playbook, indent=2), encoding="utf-8")
    result = run_drkit("validate", str(path), cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    exported = json.loads(JSON_SCHEMA.read_text(encoding="utf-8"))
    assert is_valid(exported, playbook, exported), "the examples load but the JSON Schema rejects them"


@pytest.mark.parametrize("path", PLAYBOOKS, ids=[p.name for p in PLAYBOOKS])
def test_shipped_playbooks_pass_the_committed_json_schema(path: Path) -> None:
    document = json.loads(json.dumps(YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))))
    exported = json.loads(JSON_SCHEMA.read_text(encoding="utf-8"))
    assert is_valid(exported, document, exported)


def test_the_drill_points_editors_at_the_committed_schema() -> None:
    text = (REPO_ROOT / "playbooks" / "financial-mlops.yaml").read_text(encoding="utf-8")
    assert SCHEMA_COMMENT in text
    assert (REPO_ROOT / "playbooks" / "../docs/playbook.schema.json").resolve() == JSON_SCHEMA
