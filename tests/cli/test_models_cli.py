"""`drkit models rewrite` exit codes without a server."""

from __future__ import annotations

import socket
from pathlib import Path

from helpers import RunDrkit

from drkit.errors import ExitCode

MODEL = """\
apiVersion: mlops.seldon.io/v1alpha1
kind: Model
metadata:
  name: m
  annotations: {drkit.io/mlflow-experiment: e, drkit.io/mlflow-filter: "params.model_variant = 'x'"}
spec:
  storageUri: s3://old
"""


def test_no_endpoint_is_usage_error(drkit: RunDrkit, tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(MODEL)
    result = drkit("models", "rewrite", "m.yaml", cwd=tmp_path, env={"MLFLOW_TRACKING_URI": None})
    assert result.exit_code == 2
    assert "MLFLOW_TRACKING_URI" in result.stderr


def test_unreachable_server_fails_and_changes_nothing(drkit: RunDrkit, tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(MODEL)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = drkit(
        "models", "rewrite", "--mlflow-endpoint", f"http://127.0.0.1:{port}", "m.yaml", cwd=tmp_path
    )
    assert result.exit_code == ExitCode.UNREACHABLE  # no answer, and nothing was changed
    assert "cannot connect" in result.stderr
    assert (tmp_path / "m.yaml").read_text() == MODEL


def test_missing_path_is_reported(drkit: RunDrkit, tmp_path: Path) -> None:
    result = drkit("models", "rewrite", "--mlflow-endpoint", "http://127.0.0.1:1", "nope.yaml", cwd=tmp_path)
    assert result.exit_code == 1
    assert "names no file" in result.stderr
