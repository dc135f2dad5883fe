"""Real MLflow models for tests: the lab's model servers load what a Model points at, so a test's model
directory must be one MLServer can load (a fabricated MLmodel file no longer passes for one)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import mlflow.sklearn
import numpy as np
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression


def save_model(estimator: Any, features: np.ndarray, directory: Path) -> Path:
    """Save a fitted scikit-learn estimator as an MLflow model with its tensor signature."""
    signature = infer_signature(features, estimator.predict(features))
    with warnings.catch_warnings():  # MLflow warns about the sklearn predict's untyped `Any` parameter
        warnings.filterwarnings("ignore", message=".*type hint is inferred as AnyType", category=UserWarning)
        mlflow.sklearn.save_model(estimator, str(directory), signature=signature)
    return directory


def small_classifier(n_features: int = 4, seed: int = 0) -> tuple[LogisticRegression, np.ndarray]:
    """A logistic regression fitted on `n_features` random features, and those features."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(80, n_features))
    labels = (features[:, 0] + features[:, 1] > 0).astype(int)
    return LogisticRegression().fit(features, labels), features


def save_small_model(directory: Path, n_features: int = 4, seed: int = 0) -> Path:
    estimator, features = small_classifier(n_features, seed)
    return save_model(estimator, features, directory)
