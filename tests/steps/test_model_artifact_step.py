"""The `modelArtifact` item's configuration: what the loader refuses, and what the settings refuse."""

from __future__ import annotations

import pytest
from steps_support import ITEM_BODY_LINE, load_problem, pointed_at

from drkit.domain.artifact_rules import ColumnSpec, ExpectedSignature, MemoryLimit, TensorSpec
from drkit.errors import PlaybookError
from drkit.playbook.loader import load_playbook_text
from drkit.steps.model_artifact import ServerRef, default_server_reserve, parse_settings
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
        ({"storageUri": "/m", "serverReserve": "half"}, "`serverReserve`: 'half' is not a memory quantity"),
    ],
)
def test_settings_refuse_what_the_schema_cannot_express(body: dict[str, object], message: str) -> None:
    with pytest.raises(StepConfigError, match=message):
        parse_settings(body)


def test_a_limit_and_a_server_to_read_it_from_exclude_each_other_the_loader_says_where() -> None:
    problem = load_problem(
        "modelArtifact", "{storageUri: /m, memoryLimit: 1Gi, server: {namespace: a, name: b}}", item=True
    )
    assert problem.position.line == ITEM_BODY_LINE
    assert "'server' cannot be combined with 'memoryLimit'" in problem.message
    assert pointed_at(problem).startswith("server:")


def test_a_ratio_below_the_minimum_is_refused_by_the_loader_at_its_position() -> None:
    problem = load_problem("modelArtifact", "{storageUri: /m, maxSizeRatio: 0}", item=True)
    assert problem.position.line == ITEM_BODY_LINE
    assert pointed_at(problem) == "0}"
    assert "'maxSizeRatio'" in problem.message
    assert "must be at least 0.01, got 0.0" in problem.message


def test_signature_and_reserve_load_into_typed_settings() -> None:
    body = load(
        "{storageUri: /m, serverReserve: 256Mi, signature: {inputs: [{dtype: float64, shape: [-1, 4]}],"
        " outputs: [{name: label, type: long}]}}"
    )
    settings = parse_settings(body)
    assert settings.server_reserve == 256 * 1024 * 1024
    assert settings.signature == ExpectedSignature(
        (TensorSpec("float64", (-1, 4)),), (ColumnSpec("label", "long"),)
    )
    assert "taking float64 (-1, 4)" in settings.describe()
    unset = parse_settings(load("{storageUri: /m}"))
    assert (unset.server_reserve, unset.signature) == (None, None)


def _problems(item: str) -> list[tuple[int, int, str]]:
    with pytest.raises(PlaybookError) as caught:
        load(item)
    return [(p.position.line, p.position.column, p.message) for p in caught.value.problems]


ITEM_LINE, ITEM_COLUMN = 12, len("        modelArtifact: ") + 1  # where load() puts the item's body


@pytest.mark.parametrize(
    ("item", "at", "fragment"),
    [
        (
            "{storageUri: /m, signature: {inputs: [{dtype: float65, shape: [-1]}]}}",
            "float65",
            "'float65' is not",
        ),
        ("{storageUri: /m, signature: {inputs: [{dtype: float64, shape: [-2, 4]}]}}", "-2", "at least -1"),
        ("{storageUri: /m, signature: {inputs: [{dtype: float64}]}}", "dtype", "needs 'shape' as well"),
        ("{storageUri: /m, signature: {inputs: [{shape: [-1]}]}}", "shape", "needs 'dtype' as well"),
        (
            "{storageUri: /m, signature: {inputs: [{name: x, dtype: float64, shape: [-1], type: double}]}}",
            "type: double",
            "'type' cannot be combined with 'dtype'",
        ),
        ("{storageUri: /m, signature: {inputs: [{type: double}]}}", "type", "needs 'name' as well"),
        ("{storageUri: /m, signature: {inputs: []}}", "[]", "needs at least 1 item"),
        (
            "{storageUri: /m, signature: {outputs: [{dtype: int64, shape: [-1]}]}}",
            "{outputs",
            "missing required",
        ),
        (
            "{storageUri: /m, signature: {inputs: [{dtype: float64, shape: [-1, 4], dims: 2}]}}",
            "dims",
            "'dims'",
        ),
        ("{storageUri: /m, signature: [float64]}", "[float64]", "must be a mapping"),
    ],
)
def test_a_malformed_signature_is_refused_at_its_line_and_column(item: str, at: str, fragment: str) -> None:
    problems = _problems(item)
    matching = [(line, column) for line, column, message in problems if fragment in message]
    assert matching == [(ITEM_LINE, ITEM_COLUMN + item.index(at))], problems


@pytest.mark.parametrize(
    ("server", "container", "reserve"),
    [
        (ServerRef("fi", "mlserver"), "mlserver", 512 * 1024 * 1024),  # MLServer's own ~520 MB
        (ServerRef("fi", "triton", container="triton"), "triton", 0),
        (ServerRef("fi", "api", kind="Deployment"), "mlserver", 0),
        (None, None, 0),  # a memoryLimit written in the playbook
    ],
)
def test_the_default_reserve_is_mlservers_own_memory_only_where_mlserver_runs(
    server: ServerRef | None, container: str | None, reserve: int
) -> None:
    limit = MemoryLimit("1Gi", f"{container}'s", container=container)
    assert default_server_reserve(server, limit) == reserve
