"""The MLflow launcher against the real `mlflow server`: it starts, answers, and leaves no process behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drkit_lab.mlflow_server import MlflowServer, health_ok
from drkit_lab.state import pid_alive

pytestmark = pytest.mark.mlflow


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid and pid_alive(int(entry.name)):
                    members.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                continue
    return members


def test_mlflow_server_starts_answers_and_stops_with_its_workers(tmp_path: Path) -> None:
    server = MlflowServer(tmp_path / "mlflow", tmp_path / "logs" / "mlflow.log")
    server.start()
    try:
        assert health_ok(server.url)
        assert (tmp_path / "mlflow" / "mlflow.db").exists()
        pid = server.pid
        assert pid is not None
        assert _group_members(pid)  # the server and its workers share a process group of their own
        assert os.getpgid(pid) != os.getpgid(0)
    finally:
        server.stop()
    assert not health_ok(server.url)
    assert _group_members(pid) == []
