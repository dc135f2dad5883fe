"""Real models of both layouts and a registered model, in the session's MLflow server (tests/conftest.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from mlflow_support import MlflowServer, Trained, post, train


@pytest.fixture(scope="session")
def mlflow_models(mlflow_server: MlflowServer) -> Trained:
    server = mlflow_server
    # The server is shared: these models live in the experiments "financial-mlops" and "broken-models".
    baseline_old = train(server.url, "baseline")
    with ThreadPoolExecutor(max_workers=3) as pool:
        newest = pool.submit(train, server.url, "baseline")
        enhanced = pool.submit(train, server.url, "enhanced", layout="v2")
        broken = pool.submit(train, server.url, "enhanced", experiment="broken-models")
        trained = Trained(server, baseline_old, newest.result(), enhanced.result(), broken.result())
    relative = trained.broken["artifact_uri"].removeprefix("mlflow-artifacts:/")
    (server.artifacts / relative / "MLmodel").unlink()
    post(server.url, "registered-models/create", {"name": "fin-model"})
    post(
        server.url,
        "model-versions/create",
        {
            "name": "fin-model",
            "source": f"models:/{trained.baseline_old['model_id']}",
            "run_id": trained.baseline_old["run_id"],
            "model_id": trained.baseline_old["model_id"],
        },
    )
    post(server.url, "registered-models/alias", {"name": "fin-model", "alias": "champion", "version": "1"})
    return trained
