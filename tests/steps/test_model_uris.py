"""The modelUris step's settings and selection rules (resolution itself is tested against MLflow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drkit.manifests import ModelTarget
from drkit.mlflow import RegisteredQuery, RunQuery
from drkit.steps.model_uris import mentions_variant, parse_settings
from drkit.steps.registry import STEP_KINDS
from drkit.steps.settings import StepConfigError


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
    "body",
    [
        {"mlflow": {"url": "mlflow:5000"}, "files": ["m.yaml"]},
        {
            "mlflow": {"url": "http://x"},
            "files": ["m.yaml"],
            "models": [{"name": "a", "registeredModel": "fin"}],
        },
        {"mlflow": {"url": "http://x"}, "files": ["m.yaml"], "models": [{"name": "a", "experiment": "e"}]},
    ],
)
def test_bad_bodies(body: object) -> None:
    with pytest.raises(StepConfigError):
        parse_settings(body)


def test_variant_matching() -> None:
    target = ModelTarget(Path("m.yaml"), 0, "enhanced-predictor", None, "s3://x", None)
    assert mentions_variant(target, RunQuery("e", "params.model_variant = 'baseline'"), ["baseline"])
    assert not mentions_variant(target, RunQuery("e", "params.model_variant = 'baseline'"), ["base"])
    assert mentions_variant(target, RegisteredQuery("fin", alias="x"), ["enhanced"])
    assert mentions_variant(target, RegisteredQuery("fin", alias="x"), [])
