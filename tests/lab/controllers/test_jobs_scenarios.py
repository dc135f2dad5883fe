"""The training job's failure scenarios (seed 000), judged by the rules drkit's `modelArtifact` check uses.

A real MLflow model directory is saved locally (no server needed), turned into each scenario's model, and the
listing is evaluated: the normal model passes, the bad-architecture one fails on the files its MLmodel names,
the oversized one on its size against a 32Mi limit. The end-to-end path (a pipeline logs the model, the drill
stops it) is tests/e2e/test_playbooks.py.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

from drkit.steps import artifact_rules as rules
from drkit_lab.jobs.__main__ import _parser
from drkit_lab.jobs.scenarios import (
    BAD_CHECKPOINT,
    PADDING_FILE,
    ScenarioError,
    apply_scenario,
)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import mlflow.sklearn  # noqa: PLC0415 - heavy: only this module needs it
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    estimator = LogisticRegression().fit([[0.0], [1.0], [0.2], [0.9]], [0, 1, 0, 1])
    path = tmp_path_factory.mktemp("saved") / "model"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's own advice about type hints; not what is tested here
        mlflow.sklearn.save_model(estimator, str(path), pip_requirements=["scikit-learn"])
    return path


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def _verdict(model_dir: Path, limit: str = "32Mi") -> rules.Verdict:
    files = sorted(p for p in model_dir.rglob("*") if p.is_file())
    listing = [rules.ArtifactFile(p.relative_to(model_dir).as_posix(), p.stat().st_size) for p in files]
    contents = {path: (model_dir / path).read_bytes() for path in rules.files_to_read(listing)}
    settings = rules.RuleSettings(memory_limit=rules.MemoryLimit(limit, "mlserver's"))
    return rules.evaluate(listing, contents, settings, str(model_dir))


def test_the_normal_scenario_leaves_a_model_that_passes(saved_model: Path, tmp_path: Path) -> None:
    model_dir = _copy(saved_model, tmp_path / "model")
    assert apply_scenario(model_dir, "normal") == []
    verdict = _verdict(model_dir)
    assert verdict.ok, verdict.errors
    assert verdict.detected_format == "mlflow"


def test_bad_architecture_swaps_the_estimator_for_another_checkpoint(
    saved_model: Path, tmp_path: Path
) -> None:
    model_dir = _copy(saved_model, tmp_path / "model")
    changes = apply_scenario(model_dir, "bad-architecture", seed=3)
    assert changes[0] == "removed model.skops"
    assert not (model_dir / "model.skops").exists()
    assert (model_dir / BAD_CHECKPOINT).stat().st_size == 2 * 1024 * 1024
    verdict = _verdict(model_dir, limit="1Gi")
    (error,) = verdict.errors
    assert error.check == "flavorFiles"
    assert "sklearn.pickled_model -> model.skops" in error.message
    # Random bytes, not a text placeholder: the only thing wrong is what the MLmodel describes.
    assert all(c.ok for c in verdict.checks if c.check == "placeholders")


def test_oversized_pads_a_real_model_past_the_memory_limit(saved_model: Path, tmp_path: Path) -> None:
    model_dir = _copy(saved_model, tmp_path / "model")
    assert apply_scenario(model_dir, "oversized", padding_mib=40) == [
        f"wrote {PADDING_FILE} (40 MiB of padding)"
    ]
    assert (model_dir / PADDING_FILE).stat().st_size == 40 * 1024 * 1024
    assert (model_dir / "model.skops").is_file()  # still the real model underneath
    verdict = _verdict(model_dir)
    (error,) = verdict.errors
    assert error.check == "size"
    assert "but mlserver's memory limit is 32Mi: it would be OOMKilled" in error.message
    assert _verdict(model_dir, limit="1Gi").ok  # the same model fits a normal server


def test_a_directory_without_mlmodel_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no MLmodel file"):
        apply_scenario(tmp_path, "oversized")


def test_the_job_takes_the_scenario_and_refuses_unknown_ones(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args(["train", "--scenario", "oversized", "--padding-mib", "60"])
    assert (args.scenario, args.padding_mib) == ("oversized", 60)
    assert _parser().parse_args(["train"]).scenario == "normal"
    with pytest.raises(SystemExit):
        _parser().parse_args(["train", "--scenario", "tiny"])
    assert "invalid choice: 'tiny'" in capsys.readouterr().err
