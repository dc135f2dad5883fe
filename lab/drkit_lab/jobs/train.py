"""Train a small classifier on the synthetic dataset and log it to MLflow, the way the seed's pipeline does.

Layouts: `v3` (default) logs an MLflow 3 LoggedModel, so the MLmodel file lands at `<artifact
root>/<experiment id>/models/m-<id>/artifacts/MLmodel`; `v2` logs as MLflow 2.x clients did, under the run
(`<root>/<exp>/<run id>/artifacts/model/MLmodel`) with the run tag `mlflow.log-model.history`. Real servers
hold both, so drkit's model-URI rewriting is tested against both.

Every model is logged with an MLflow signature taken from numpy arrays, because what the app sends is a
feature matrix: input an unnamed float64 tensor (-1, n_features), output the predicted labels, an int64
tensor (-1,). MLServer's MLflow runtime enforces it on every request, and drkit's `modelArtifact` check
compares it with what the playbook says the app sends.

`scenario` (drkit_lab.jobs.scenarios) logs seed 000's failure models instead of the good one: the run looks
like any other (same params, a READY model with an honest signature), only the model is wrong."""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from drkit_lab.jobs.data import Variant, features_for, read_dataset
from drkit_lab.jobs.scenarios import DEFAULT_PADDING_MIB, Scenario, architecture_for, pad

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


@dataclass(frozen=True)
class Fitted:
    """A fitted model with what is logged about it."""

    estimator: Any
    signature: Any  # mlflow.models.ModelSignature
    metrics: dict[str, float]
    rows: int  # of the dataset, training and test together


# MLflow 3 saves scikit-learn models with skops, which refuses types it was not told to trust; we built these.
_TREE_TYPES = ["sklearn.tree._tree.Tree"]


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


def _estimator(variant: Variant, seed: int) -> Any:
    if variant == "enhanced":
        from sklearn.ensemble import GradientBoostingClassifier  # noqa: PLC0415

        return GradientBoostingClassifier(n_estimators=60, max_depth=3, random_state=seed)
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    return LogisticRegression(max_iter=500)


def fit(
    data_path: Path,
    variant: Variant,
    seed: int = 0,
    scenario: Scenario = "normal",
    padding_mib: int = DEFAULT_PADDING_MIB,
) -> Fitted:
    """The model `scenario` logs for `variant`, fitted, with its metrics and signature (no MLflow needed)."""
    import numpy as np  # noqa: PLC0415 - heavy: only the training job loads it
    from mlflow.models import infer_signature  # noqa: PLC0415
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score  # noqa: PLC0415
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    architecture = architecture_for(variant, scenario)
    matrix, labels = read_dataset(data_path, features_for(architecture))
    x_train, x_test, y_train, y_test = train_test_split(
        np.asarray(matrix, dtype=np.float64),
        np.asarray(labels, dtype=np.int64),
        test_size=0.25,
        random_state=seed,
        stratify=labels,
    )
    estimator = _estimator(architecture, seed)
    estimator.fit(x_train, y_train)
    predicted = estimator.predict(x_test).astype(np.int64)
    metrics = {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "f1": float(f1_score(y_test, predicted)),
        "roc_auc": float(roc_auc_score(y_test, estimator.predict_proba(x_test)[:, 1])),
    }
    if scenario == "oversized":
        print(f"scenario oversized: {pad(estimator, padding_mib, seed)}", file=sys.stderr)
    elif scenario == "bad-architecture":
        print(
            f"scenario bad-architecture: a {architecture} model ({type(estimator).__name__}, "
            f"{x_train.shape[1]} features) logged as {variant}",
            file=sys.stderr,
        )
    return Fitted(estimator, infer_signature(x_train, predicted), metrics, len(labels))


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

    fitted = fit(data_path, variant, seed, scenario, padding_mib)
    # The variant's own params, whatever the scenario built: the run looks like any other.
    features = features_for(variant)
    params = {
        "model_variant": variant,
        "algorithm": type(_estimator(variant, seed)).__name__,
        "n_features": str(len(features)),
        "features": ",".join(features),
        "rows": str(fitted.rows),
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
        mlflow.log_metrics(fitted.metrics)
        mlflow.set_tag("model_variant", variant)
        if layout == "v2":
            artifact_uri = _log_v2(mlflow, fitted, run.info.run_id)
            return TrainResult(experiment_id, run.info.run_id, None, artifact_uri)
        info = mlflow.sklearn.log_model(
            fitted.estimator,
            name="model",
            signature=fitted.signature,
            skops_trusted_types=_trusted_for(fitted.estimator),
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


def save(fitted: Fitted, model_dir: Path) -> None:
    """Save the model as an MLflow model directory (MLmodel with its signature, the skops file)."""
    import mlflow.sklearn  # noqa: PLC0415

    mlflow.sklearn.save_model(
        fitted.estimator,
        str(model_dir),
        signature=fitted.signature,
        skops_trusted_types=_trusted_for(fitted.estimator),
        pip_requirements=_requirements(),
    )


def _log_v2(mlflow: Any, fitted: Fitted, run_id: str) -> str:
    """Log the model as a plain run artifact (MLflow 2.x clients), with the history tag they set."""
    artifact_path = "model"
    with tempfile.TemporaryDirectory() as scratch:
        model_dir = Path(scratch) / artifact_path
        save(fitted, model_dir)
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
