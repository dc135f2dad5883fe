"""`drkit models rewrite` end to end against the real MLflow server (the seed's update_model_uris.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import REPO_ROOT, run_drkit
from mlflow_support import Trained

pytestmark = pytest.mark.mlflow

SEED_MODELS = REPO_ROOT / "manifests" / "financial-mlops" / "base" / "seldon-models.yaml"


def test_rewrite_then_rerun_leaves_file_untouched(mlflow_models: Trained, tmp_path: Path) -> None:
    target = tmp_path / "seldon-models.yaml"
    shutil.copy(SEED_MODELS, target)
    url = mlflow_models.server.url
    dry = run_drkit("models", "rewrite", "--mlflow-endpoint", url, "--dry-run", str(target), cwd=tmp_path)
    assert dry.exit_code == 0, dry.stderr
    assert target.read_text() == SEED_MODELS.read_text()
    assert "+  storageUri: s3://mlflow-artifacts/" in dry.stdout

    done = run_drkit("models", "rewrite", str(target), cwd=tmp_path, env={"MLFLOW_TRACKING_URI": url})
    assert done.exit_code == 0, done.stderr
    text = target.read_text()
    base = mlflow_models.baseline
    assert f"s3://mlflow-artifacts/{base['experiment_id']}/models/{base['model_id']}/artifacts" in text
    assert f"/{mlflow_models.enhanced['run_id']}/artifacts/model" in text
    assert text.splitlines()[:5] == SEED_MODELS.read_text().splitlines()[:5]  # comments kept

    mtime = target.stat().st_mtime_ns
    again = run_drkit("models", "rewrite", "--mlflow-endpoint", url, str(target), cwd=tmp_path)
    assert again.exit_code == 0
    assert "already right" in again.stdout
    assert target.stat().st_mtime_ns == mtime


def test_one_unresolvable_model_changes_no_file(mlflow_models: Trained, tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    shutil.copy(SEED_MODELS, good)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        SEED_MODELS.read_text()
        .replace("experiment: financial-mlops", "experiment: broken-models")
        .replace("baseline-predictor", "broken-predictor")
    )
    before = {p: p.read_text() for p in (good, bad)}
    result = run_drkit(
        "models", "rewrite", "--mlflow-endpoint", mlflow_models.server.url, str(good), str(bad), cwd=tmp_path
    )
    assert result.exit_code == 1
    assert "no file was changed" in result.stdout
    assert {p: p.read_text() for p in (good, bad)} == before


def test_variant_selection(mlflow_models: Trained, tmp_path: Path) -> None:
    target = tmp_path / "m.yaml"
    shutil.copy(SEED_MODELS, target)
    result = run_drkit(
        "models",
        "rewrite",
        "--mlflow-endpoint",
        mlflow_models.server.url,
        "--model-variant",
        "enhanced",
        "-o",
        "json",
        str(target),
        cwd=tmp_path,
    )
    assert result.exit_code == 0, result.stderr
    assert [m["name"] for m in result.json["models"]] == ["enhanced-predictor"]
    assert result.json["skipped"] == ["baseline-predictor"]
