"""One real MLServer 1.7.1 for the inference tests, serving two small sklearn models saved with MLflow.

Starting MLServer takes about 3 s and loading a model 5-9 s, so the server is shared by the session: tests
must not unload its models. `classifier` (INT64 classes) and `regressor` (FP64 values) are loaded; `late` is
in the repository but loaded only by the test that needs a model to become ready while it is checked, and
`absent` is never loaded.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from inference_support import ServedModels, wait_for

from drkit_lab.serving.environment import ensure_serving
from drkit_lab.serving.mlserver import mlserver_process, write_model_settings

START_SECONDS = 60.0


def _free_port_run(count: int) -> int:
    """A port P with P..P+count-1 all free (MLServer takes HTTP, gRPC and metrics ports in a row)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + count > 65535:
            continue
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
        return base
    raise RuntimeError("no run of free ports found")


def _save(model: object, directory: Path, features: np.ndarray) -> Path:
    import mlflow.sklearn  # noqa: PLC0415 - heavy: only these tests need it
    from mlflow.models import infer_signature  # noqa: PLC0415

    signature = infer_signature(features, model.predict(features))  # type: ignore[attr-defined]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's own advice about type hints; not what is tested here
        mlflow.sklearn.save_model(
            model, str(directory), signature=signature, pip_requirements=["scikit-learn"]
        )
    return directory


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedModels]:
    from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: PLC0415 - heavy

    root = tmp_path_factory.mktemp("mlserver")
    rng = np.random.default_rng(7)
    train = rng.normal(size=(40, 4)).astype(np.float64)
    labels = (train.sum(axis=1) > 0).astype(np.int64)
    targets = train @ np.array([0.5, -1.25, 2.0, 0.75]) + 0.3
    classifier = LogisticRegression().fit(train, labels)
    regressor = LinearRegression().fit(train, targets)
    features = np.array([[1.0, 0.5, 0.25, 2.0], [-1.5, -0.5, -2.0, -0.25]], dtype=np.float64)
    repository = root / "repository"
    models = {
        "classifier": _save(classifier, root / "models" / "classifier", train),
        "regressor": _save(regressor, root / "models" / "regressor", train),
        "late": _save(classifier, root / "models" / "late", train),
        "absent": _save(classifier, root / "models" / "absent", train),
    }
    port = _free_port_run(3)
    process = mlserver_process(ensure_serving(), repository, "127.0.0.1", http_port=port)
    for name, directory in models.items():
        write_model_settings(repository, name, directory)
    log = root / "mlserver.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            process.argv,
            env={**os.environ, **process.env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/v2/health/live", START_SECONDS, log)
        served = ServedModels(
            url=url,
            features=features.tolist(),
            classes=[int(c) for c in classifier.predict(features)],
            values=[float(v) for v in regressor.predict(features)],
            log=log,
        )
        served.load("classifier")
        served.load("regressor")
        yield served
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
