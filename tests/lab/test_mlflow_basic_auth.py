"""The lab's basic-auth MLflow: how it is started and where its credentials come from (the server itself is
exercised end to end by tests/e2e/test_secret_masking_drill.py)."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from drkit_lab.cli import lab
from drkit_lab.mlflow_server import MlflowAuth, MlflowServer
from drkit_lab.state import LabInfo, StateDir


def test_the_password_is_generated_once_per_data_directory_and_kept_private(tmp_path: Path) -> None:
    first = MlflowAuth.for_data_dir(tmp_path / "mlflow")
    again = MlflowAuth.for_data_dir(tmp_path / "mlflow")
    other = MlflowAuth.for_data_dir(tmp_path / "other")
    assert first == again  # the auth database keeps the admin's first password: a restart must reuse it
    assert other.password != first.password
    assert len(first.password) >= 20
    assert (tmp_path / "mlflow" / "credentials.json").stat().st_mode & 0o777 == 0o600
    assert first.client_env == {
        "MLFLOW_TRACKING_USERNAME": "admin",
        "MLFLOW_TRACKING_PASSWORD": first.password,
    }


def test_with_auth_the_server_is_mlflows_basic_auth_app(tmp_path: Path) -> None:
    plain = MlflowServer(tmp_path / "a", tmp_path / "a.log", port=5999)
    secured = MlflowServer(
        tmp_path / "b", tmp_path / "b.log", port=5999, auth=MlflowAuth("admin", "pw-123456")
    )
    assert "--app-name" not in plain.command()
    assert secured.command()[secured.command().index("--app-name") + 1] == "basic-auth"


def test_lab_env_exports_the_credentials_only_when_mlflow_runs_with_basic_auth(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "lab")
    state.create()
    auth = MlflowAuth.for_data_dir(state.mlflow_dir)
    for basic_auth in (False, True):
        info = LabInfo(
            pid=os.getpid(),
            api_url="https://127.0.0.1:6443",
            api_port=6443,
            mlflow_url="http://127.0.0.1:5000",
            mlflow_port=5000,
            kubeconfig=str(state.kubeconfig),
            started=0.0,
            mlflow_basic_auth=basic_auth,
        )
        state.lab_json.write_text(info.to_json(), encoding="utf-8")
        result = CliRunner().invoke(lab, ["env", "--dir", str(state.root)])
        assert result.exit_code == 0, result.output
        assert "export MLFLOW_TRACKING_URI=http://127.0.0.1:5000" in result.output
        assert (f"export MLFLOW_TRACKING_PASSWORD={auth.password}" in result.output) is basic_auth
        assert ("export MLFLOW_TRACKING_USERNAME=admin" in result.output) is basic_auth
