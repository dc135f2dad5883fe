"""The modelUris step's settings and selection rules (resolution itself is tested against MLflow)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from steps_support import BODY_LINE, context, load_problem, pointed_at, spec

from drkit.context import Runtime
from drkit.domain.model_resolution import mentions_variant
from drkit.manifests import ModelTarget
from drkit.mlflow import RegisteredQuery, RunQuery
from drkit.steps.base import StepStatus
from drkit.steps.model_uris import ModelUrisStep, parse_settings
from drkit.steps.registry import STEP_KINDS
from drkit.steps.settings import StepConfigError
from drkit_lab.mlflow_server import MlflowServer, free_port


def test_registered_and_parsed() -> None:
    assert "modelUris" in STEP_KINDS
    settings = parse_settings(
        {
            "mlflow": {"url": "http://mlflow:5000", "auth": "none"},
            "files": ["m.yaml"],
            "variants": ["enhanced"],
            "models": [
                {"name": "a", "registeredModel": "fin@champion"},
                {"name": "b", "experiment": "e", "filter": "f"},
            ],
        }
    )
    assert settings.auth == "none"
    assert settings.options.storage_root == "s3://mlflow-artifacts/"
    assert settings.options.explicit[0].query == RegisteredQuery("fin", alias="champion")
    assert settings.options.explicit[1].query == RunQuery("e", "f")
    assert settings.apply is False


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"mlflow": {"url": "mlflow:5000"}, "files": ["m.yaml"]}, "not an http:// or https:// URL"),
        (
            {
                "mlflow": {"url": "http://x"},
                "files": ["m.yaml"],
                "models": [{"name": "a", "registeredModel": "fin"}],
            },
            "fin",
        ),
    ],
)
def test_bad_bodies(body: object, message: str) -> None:
    with pytest.raises(StepConfigError, match=message):
        parse_settings(body)


def test_an_experiment_without_its_filter_is_refused_by_the_loader_at_its_position() -> None:
    problem = load_problem(
        "modelUris", "{mlflow: {url: 'http://x'}, files: [m.yaml], models: [{name: a, experiment: e}]}"
    )
    assert problem.position.line == BODY_LINE
    assert "'experiment'" in problem.message
    assert "needs 'filter' as well" in problem.message
    assert pointed_at(problem).startswith("experiment: e")


def test_variant_matching() -> None:
    target = ModelTarget(Path("m.yaml"), 0, "enhanced-predictor", None, "s3://x", None)
    assert mentions_variant(target, RunQuery("e", "params.model_variant = 'baseline'"), ["baseline"])
    assert not mentions_variant(target, RunQuery("e", "params.model_variant = 'baseline'"), ["base"])
    assert mentions_variant(target, RegisteredQuery("fin", alias="x"), ["enhanced"])
    assert mentions_variant(target, RegisteredQuery("fin", alias="x"), [])


MODEL = """apiVersion: mlops.seldon.io/v1alpha1
kind: Model
metadata:
  name: baseline-predictor
  namespace: financial-inference
  annotations:
    drkit.io/mlflow-experiment: no-such-experiment
    drkit.io/mlflow-filter: "params.model_variant = 'baseline'"
spec:
  storageUri: s3://mlflow-artifacts/0/models/m-00000000000000000000000000000000/artifacts
"""


def _step(tmp_path: Path, url: str) -> ModelUrisStep:
    (tmp_path / "m.yaml").write_text(MODEL, encoding="utf-8")
    body = {"mlflow": {"url": url, "auth": "none"}, "files": ["m.yaml"]}
    return ModelUrisStep(spec("modelUris", body), parse_settings(body))


def test_an_mlflow_that_does_not_answer_is_waited_for_until_the_deadline(
    runtime: Runtime, tmp_path: Path
) -> None:
    port = free_port()
    progress: list[str] = []
    result = _step(tmp_path, f"http://127.0.0.1:{port}").run(context(runtime, timeout=30, progress=progress))
    assert result.status is StepStatus.FAILED
    assert f"127.0.0.1:{port}" in result.message
    waits = [line for line in progress if "trying again in 2s" in line]
    assert len(waits) >= 2, progress  # the client's own retries, then the step's waits, on the fake clock


def test_an_mlflow_back_from_an_outage_is_reached_by_the_next_attempt(
    runtime: Runtime, tmp_path: Path
) -> None:
    port = free_port()
    server = MlflowServer(tmp_path / "mlflow", tmp_path / "mlflow.log", port=port)
    progress: list[str] = []

    def told(line: str) -> None:
        progress.append(line)
        if "trying again" in line and server.pid is None:  # MLflow comes back while the step waits
            server.start()

    try:
        ctx = context(runtime, timeout=60)
        ctx = dataclasses.replace(ctx, progress=told)
        result = _step(tmp_path, f"http://127.0.0.1:{port}").run(ctx)
    finally:
        server.stop()
    assert [line for line in progress if "trying again" in line]
    assert result.status is StepStatus.FAILED  # reached: it now fails on what MLflow says, not on silence
    assert "no-such-experiment" in result.message
