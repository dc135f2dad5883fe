"""How an MLServer process is started, as Seldon Core 2's `mlserver` container starts it.

Seldon runs MLServer with its models loaded later by the agent through the repository API (never at start,
so one broken model cannot keep the server down), HTTP on 9000 and gRPC on 9500. The lab does the same; the
host is the pod's own address on the lab's pod network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from drkit_lab.serving.environment import ServingEnvironment

HTTP_PORT = 9000
GRPC_PORT = 9500
METRICS_PORT = 9005
MLFLOW_RUNTIME = "mlserver_mlflow.MLflowRuntime"


@dataclass(frozen=True)
class MLServerProcess:
    """The command line and environment of one MLServer."""

    argv: list[str]
    env: dict[str, str]


def mlserver_process(
    serving: ServingEnvironment, repository: Path, host: str, *, http_port: int = HTTP_PORT
) -> MLServerProcess:
    """Prepare `repository` (its settings.json) and return how to start MLServer on it."""
    repository.mkdir(parents=True, exist_ok=True)
    settings = {"load_models_at_startup": False, "metrics_dir": str(repository / ".metrics")}
    (repository / "settings.json").write_text(json.dumps(settings) + "\n", encoding="utf-8")
    env = {
        "MLSERVER_HOST": host,
        "MLSERVER_HTTP_PORT": str(http_port),
        "MLSERVER_GRPC_PORT": str(GRPC_PORT if http_port == HTTP_PORT else http_port + 1),
        "MLSERVER_METRICS_PORT": str(METRICS_PORT if http_port == HTTP_PORT else http_port + 2),
        "MLSERVER_PARALLEL_WORKERS": "1",
        # Models come from local directories (the lab's rclone stand-in): nothing to download or track.
        "MLFLOW_TRACKING_URI": "",
        "PYTHONUNBUFFERED": "1",
    }
    return MLServerProcess([str(serving.mlserver), "start", str(repository)], env)


def write_model_settings(repository: Path, name: str, model_dir: Path) -> Path:
    """The agent's part: a model-settings.json under `repository` naming the model's local directory."""
    folder = repository / name
    folder.mkdir(parents=True, exist_ok=True)
    settings = {"name": name, "implementation": MLFLOW_RUNTIME, "parameters": {"uri": str(model_dir)}}
    path = folder / "model-settings.json"
    path.write_text(json.dumps(settings) + "\n", encoding="utf-8")
    return path
