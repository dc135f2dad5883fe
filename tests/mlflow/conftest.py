"""One real MLflow server per session, holding real models of both layouts and a registered model."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from mlflow_support import MlflowServer, post, start_mlflow_server, train


@dataclass(frozen=True)
class Trained:
    server: MlflowServer
    baseline_old: dict[str, str]  # an older run of the baseline variant (v3 layout)
    baseline: dict[str, str]  # the newest baseline run (v3 layout)
    enhanced: dict[str, str]  # enhanced, logged the MLflow 2.x way (under the run)
    broken: dict[str, str]  # variant "broken": a v3 model whose MLmodel the fixture deleted


@pytest.fixture(scope="session")
def mlflow_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    server = start_mlflow_server(tmp_path_factory.mktemp("mlflow"))
    try:
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
        post(
            server.url, "registered-models/alias", {"name": "fin-model", "alias": "champion", "version": "1"}
        )
        yield trained
    finally:
        server.stop()
