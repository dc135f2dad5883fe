"""Knobs of one lab instance, shared by the API server, the controllers and the runner.

Delays are deliberately small but non-zero: DR tooling must cope with objects that are not Ready at once, and
the lab should show that without making tests slow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class LabSettings:
    state_dir: Path
    workload_ready_delay: float = 1.0  # seconds from a workload's creation to its pods being Ready
    model_ready_delay: float = 0.5  # seconds a Seldon Model takes to become Ready once its artifact is found
    step_delay: float = 0.5  # seconds an Argo workflow step takes on top of its real work
    mlflow_uri: str | None = None
    # What an MLflow client needs besides the URI (MLFLOW_TRACKING_USERNAME/PASSWORD with basic auth).
    mlflow_client_env: dict[str, str] = field(default_factory=dict)
    mlflow_artifacts_dir: Path | None = None
    # Storage URI prefix -> local directory, e.g. {"s3://mlflow-artifacts/": <artifacts dir>}.
    storage_roots: dict[str, Path] = field(default_factory=dict)
    seed: int = 0
    resync_period: float = 30.0  # seconds between full resyncs of every controller
    # "mlserver": a Model is loaded into its Server's real MLServer. "stand-in": the agent answers every load
    # as done without asking MLServer (the scale benchmark's thousands of Models measure the tools, not
    # MLServer); everything else about a Model (artifact, Secret, a ready Server replica) is still checked.
    model_loading: Literal["mlserver", "stand-in"] = "mlserver"
