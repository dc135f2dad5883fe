"""The starter playbook `drkit init` renders, as an editor's schema sees it (tests/cli/test_init_cli.py loads
it with drkit's own kinds)."""

from __future__ import annotations

import json

import pytest
from helpers import REPO_ROOT
from ruamel.yaml import YAML
from test_json_schema import is_valid

from drkit.playbook.starter import render_starter, starter_spec

SPECS = [
    ("recovery", "drkit-lab", ("financial-inference",)),
    ("nightly", "gke_acme_europe-west1_prod", ("serving", "pipelines", "serving")),
    ("x", 'arn:aws:eks:eu-west-1:1:cluster/prod # "a": ${b}', ("ml",)),
]


@pytest.mark.parametrize(("stem", "context", "namespaces"), SPECS, ids=[s[0] for s in SPECS])
def test_the_starter_passes_the_committed_json_schema(
    stem: str, context: str, namespaces: tuple[str, ...]
) -> None:
    text = render_starter(
        starter_spec(file_stem=stem, context=context, namespaces=namespaces, name=None),
        file_name=f"{stem}.yaml",
    )
    document = json.loads(json.dumps(YAML(typ="safe", pure=True).load(text)))
    exported = json.loads((REPO_ROOT / "docs" / "playbook.schema.json").read_text(encoding="utf-8"))
    assert is_valid(exported, document, exported)
    items = document["checklists"]["health"]["items"]
    names = [item["name"] for item in items]
    assert names == [f"{ns}-namespace" for ns in dict.fromkeys(namespaces)]  # a repeated namespace once


@pytest.mark.parametrize(
    ("stem", "name"),
    [("recovery", "recovery"), ("Prod_East.DR", "prod-east-dr"), ("--", "recovery"), ("a" * 80, "a" * 63)],
)
def test_the_name_is_a_dns_label_made_from_the_file_name(stem: str, name: str) -> None:
    assert starter_spec(file_stem=stem, context="c", namespaces=("ml",), name=None).name == name
