"""The `modelArtifact` item's configuration: what the loader refuses, and what the settings refuse."""

from __future__ import annotations

import pytest

from drkit.errors import PlaybookError
from drkit.playbook.loader import load_playbook_text
from drkit.steps.model_artifact import parse_settings
from drkit.steps.registry import probe_schemas, step_schemas
from drkit.steps.settings import StepConfigError


def load(item: str) -> object:
    text = (
        "apiVersion: drkit.io/v1\nkind: Playbook\nmetadata: {name: t}\n"
        "phases:\n  - name: p\n    steps:\n      - check: models\n"
        "checklists:\n  models:\n    items:\n      - name: artifacts\n        modelArtifact: " + item + "\n"
    )
    playbook = load_playbook_text(
        text, filename="t.yaml", step_kinds=step_schemas(), check_kinds=probe_schemas()
    )
    return playbook.checklists["models"].items[0].body


def test_a_full_item_loads_and_parses() -> None:
    body = load(
        "{model: {namespace: fi, name: baseline-predictor}, server: {namespace: fi, name: mlserver},"
        " mlflow: {url: 'http://mlflow:5000'}, storageRoot: 's3://mlflow-artifacts/', maxSizeRatio: 1.5}"
    )
    settings = parse_settings(body)
    assert settings.model is not None
    assert str(settings.model) == "fi/baseline-predictor"
    assert settings.server is not None
    assert str(settings.server) == "Server fi/mlserver"
    assert settings.format == "auto"
    assert settings.max_size_ratio == 1.5
    assert "against the memory limit of Server fi/mlserver" in parse_settings(body).describe()


@pytest.mark.parametrize(
    "item",
    [
        "{memoryLimit: 1Gi}",  # neither storageUri nor model
        "{storageUri: /m, model: {namespace: a, name: b}}",  # both
        "{storageUri: /m, format: gguf}",
        "{storageUri: /m, server: {namespace: a, name: b, kind: Pod}}",
        "{storageUri: /m, memoryLimt: 1Gi}",  # typo: unknown key
    ],
)
def test_the_loader_refuses_bad_items(item: str) -> None:
    with pytest.raises(PlaybookError):
        load(item)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"storageUri": "/m", "memoryLimit": "256MB"}, "not a memory quantity"),
        ({"storageUri": "/m", "memoryLimit": "1Gi", "server": {"namespace": "a", "name": "b"}}, "not both"),
        ({"storageUri": "/m", "maxSizeRatio": 0}, "positive"),
    ],
)
def test_settings_refuse_what_the_schema_cannot_express(body: dict[str, object], message: str) -> None:
    with pytest.raises(StepConfigError, match=message):
        parse_settings(body)
