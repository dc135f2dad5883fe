"""Train a small classifier on the synthetic dataset and log it to MLflow, the way the seed's pipeline does.

Layouts: `v3` (default) logs an MLflow 3 LoggedModel, so the MLmodel file lands at `<artifact
root>/<experiment id>/models/m-<id>/artifacts/MLmodel`; `v2` logs as MLflow 2.x clients did, under the run
(`<root>/<exp>/<run id>/artifacts/model/MLmodel`) with the run tag `mlflow.log-model.history`. Real servers
hold both, so drkit's model-URI rewriting is tested against both.

`scenario` (drkit_lab.jobs.scenarios) logs seed 000's failure models instead of the good one: the run looks
like any other (same params, a READY model), only the files are wrong."""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from drkit_lab.jobs.data import BASE_FEATURES, FEATURES, read_dataset
from drkit_lab.jobs.scenarios import DEFAULT_PADDING_MIB, Scenario, apply_scenario

Variant = Literal["baseline", "enhanced"]
Layout = Literal["v3", "v2"]


@dataclass(frozen=True)
class TrainResult:
    experiment_id: str
    run_id: str
    model_id: str | None  # None for the v2 layout (no LoggedModel)
    artifact_uri: str  # the directory that holds MLmodel

    def lines(self) -> list[str]:
        return [
            f"experiment_id={self.experiment_id}",
            f"run_id={self.run_id}",
            f"model_id={self.model_id or ''}",
            f"artifact_uri={self.artifact_uri}",
        ]


# MLflow 3 saves scikit-learn models with skops, which refuses types it was not told to trust; we built these.
_TREE_TYPES = ["sklearn.tree._tree.Tree"]
_TRUSTED_TYPES: dict[Variant, list[str] | None] = {"baseline": None, "enhanced": _TREE_TYPES}


def _trusted_for(estimator: Any) -> list[str] | None:
    return _TREE_TYPES if "GradientBoosting" in type(estimator).__name__ else None


def _requirements() -> list[str]:
    """Pip requirements pinned to what trained the model (MLflow would infer them in a slow subprocess)."""
    pins = []
    for dist in ("mlflow", "scikit-learn", "skops", "cloudpickle"):
        try:
            pins.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:
            continue
    return pins


def _features(variant: Variant) -> tuple[str, ...]:
    return FEATURES if variant == "enhanced" else BASE_FEATURES


def _estimator(variant: Variant, seed: int) -> Any:
    if variant == "enhanced":
        from sklearn.ensemble import GradientBoostingClassifier  # noqa: PLC0415

        return GradientBoostingClassifier(n_estimators=60, max_depth=3, random_state=seed)
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    return LogisticRegression(max_iter=500)


def train(  # noqa: PLR0917 - one call site, the CLI
    data_path: Path,
    variant: Variant,
    experiment: str,
    tracking_uri: str | None,
    layout: Layout = "v3",
    seed: int = 0,
    scenario: Scenario = "normal",
    padding_mib: int = DEFAULT_PADDING_MIB,
) -> TrainResult:
    import mlflow  # noqa: PLC0415 - heavy: only the training job loads it
    import mlflow.sklearn  # noqa: PLC0415
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score  # noqa: PLC0415
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    features = _features(variant)
    matrix, labels = read_dataset(data_path, features)
    x_train, x_test, y_train, y_test = train_test_split(
        matrix, labels, test_size=0.25, random_state=seed, stratify=labels
    )
    estimator = _estimator(variant, seed)
    estimator.fit(x_train, y_train)
    predicted = estimator.predict(x_test)
    metrics = {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "f1": float(f1_score(y_test, predicted)),
        "roc_auc": float(roc_auc_score(y_test, estimator.predict_proba(x_test)[:, 1])),
    }
    params = {
        "model_variant": variant,
        "algorithm": type(estimator).__name__,
        "n_features": str(len(features)),
        "features": ",".join(features),
        "rows": str(len(labels)),
        "seed": str(seed),
        "layout": layout,
        "scenario": scenario,
    }

    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    experiment_id = _ensure_experiment(mlflow, experiment)
    mlflow.set_experiment(experiment_id=experiment_id)  # by id: no second lookup by name to race
    # The experiment is passed explicitly: under a creation race the client's "active experiment" was seen to
    # fall back to Default (0), which put the model where nobody would look for it.
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{variant}-training") as run:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.set_tag("model_variant", variant)
        if scenario != "normal":
            return _log_scenario_model(
                mlflow, estimator, run.info.run_id, experiment_id, layout, scenario, padding_mib, seed
            )
        if layout == "v2":
            artifact_uri = _log_v2(mlflow, estimator, run.info.run_id)
            return TrainResult(experiment_id, run.info.run_id, None, artifact_uri)
        info = mlflow.sklearn.log_model(
            estimator,
            name="model",
            skops_trusted_types=_TRUSTED_TYPES[variant],
            pip_requirements=_requirements(),
        )
        model_id = str(info.model_id)
        artifact_uri = str(mlflow.get_logged_model(model_id).artifact_location)
        return TrainResult(experiment_id, run.info.run_id, model_id, artifact_uri)


def _ensure_experiment(mlflow: Any, name: str) -> str:
    """Select (creating if needed) the experiment; two pipelines starting together may race to create it."""
    from mlflow.exceptions import MlflowException  # noqa: PLC0415

    existing = mlflow.get_experiment_by_name(name)
    if existing is not None:
        return str(existing.experiment_id)
    try:
        return str(mlflow.create_experiment(name))
    except MlflowException:
        # The other job created it between our lookup and our create: it exists now.
        return str(mlflow.get_experiment_by_name(name).experiment_id)


def _log_scenario_model(  # noqa: PLR0917 - one call site, train()
    mlflow: Any,
    estimator: Any,
    run_id: str,
    experiment_id: str,
    layout: Layout,
    scenario: Scenario,
    padding_mib: int,
    seed: int,
) -> TrainResult:
    """Save the model locally, break it the scenario's way, and log the directory as the run's model."""
    from mlflow.entities import LoggedModelOutput  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as scratch:
        model_dir = Path(scratch) / "model"
        _save(mlflow, estimator, model_dir)
        for change in apply_scenario(model_dir, scenario, padding_mib=padding_mib, seed=seed):
            print(f"scenario {scenario}: {change}", file=sys.stderr)
        if layout == "v2":
            mlflow.log_artifacts(str(model_dir), artifact_path="model")
            _tag_v2_history(mlflow, run_id, "model")
            return TrainResult(experiment_id, run_id, None, f"{mlflow.get_artifact_uri()}/model")
        # What log_model does, with our files: a LoggedModel of this run, uploaded, then marked READY.
        model = mlflow.initialize_logged_model(
            name="model", source_run_id=run_id, experiment_id=experiment_id
        )
        client = mlflow.MlflowClient()
        client.log_model_artifacts(model.model_id, str(model_dir))
        mlflow.finalize_logged_model(model.model_id, "READY")
        client.log_outputs(run_id, [LoggedModelOutput(model.model_id, step=0)])
        artifact_uri = str(mlflow.get_logged_model(model.model_id).artifact_location)
        return TrainResult(experiment_id, run_id, str(model.model_id), artifact_uri)


def _save(mlflow: Any, estimator: Any, model_dir: Path) -> None:
    import mlflow.sklearn  # noqa: PLC0415

    mlflow.sklearn.save_model(
        estimator,
        str(model_dir),
        skops_trusted_types=_trusted_for(estimator),
        pip_requirements=_requirements(),
    )


def _log_v2(mlflow: Any, estimator: Any, run_id: str) -> str:
    """Log the model as a plain run artifact (MLflow 2.x clients), with the history tag they set."""
    artifact_path = "model"
    with tempfile.TemporaryDirectory() as scratch:
        model_dir = Path(scratch) / artifact_path
        _save(mlflow, estimator, model_dir)
        mlflow.log_artifacts(str(model_dir), artifact_path=artifact_path)
    _tag_v2_history(mlflow, run_id, artifact_path)
    return f"{mlflow.get_artifact_uri()}/{artifact_path}"


def _tag_v2_history(mlflow: Any, run_id: str, artifact_path: str) -> None:
    """The run tag MLflow 2.x clients set when they log a model (how drkit finds one under the run)."""
    history = [
        {
            "run_id": run_id,
            "artifact_path": artifact_path,
            "utc_time_created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
            "flavors": {"python_function": {}, "sklearn": {}},
        }
    ]
    mlflow.set_tag("mlflow.log-model.history", json.dumps(history))
