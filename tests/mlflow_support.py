"""A real MLflow tracking server for tests, and real models logged to it by the lab's training job.

Helpers only (no fixtures): tests/mlflow/conftest.py holds the session fixture. If more test directories need
the server, the fixture belongs in the root conftest.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from helpers import subprocess_env


@dataclass
class MlflowServer:
    url: str
    root: Path
    process: subprocess.Popen[bytes]

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_mlflow_server(root: Path, timeout: float = 90.0) -> MlflowServer:
    port = _free_port()
    root.mkdir(parents=True, exist_ok=True)
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--serve-artifacts",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=subprocess_env(),
        cwd=root,
    )
    log.close()
    server = MlflowServer(f"http://127.0.0.1:{port}", root, process)
    deadline = time.monotonic() + timeout
    with requests.Session() as session:
        session.trust_env = False
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {(root / 'server.log').read_text()[-2000:]}")
            try:
                if session.get(f"{server.url}/health", timeout=2, verify=False).status_code == 200:
                    return server
            except requests.RequestException:
                pass
            time.sleep(0.3)
    server.stop()
    raise RuntimeError("mlflow server did not become healthy")


def train(
    url: str, variant: str, *, layout: str = "v3", experiment: str = "financial-mlops"
) -> dict[str, str]:
    """Log a real model with the lab training job: its experiment_id, run_id, model_id, artifact_uri."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "drkit_lab.jobs",
            "train",
            "--model-variant",
            variant,
            "--layout",
            layout,
            "--experiment",
            experiment,
            "--tracking-uri",
            url,
            "--rows",
            "300",
        ],
        capture_output=True,
        text=True,
        env=subprocess_env({"MLFLOW_TRACKING_URI": url}),
        check=True,
        timeout=180,
    )
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line and " " not in line)


def post(url: str, path: str, body: dict[str, object]) -> dict[str, object]:
    with requests.Session() as session:
        session.trust_env = False
        answer = session.post(f"{url}/api/2.0/mlflow/{path}", json=body, timeout=10, verify=False)
        answer.raise_for_status()
        result: dict[str, object] = answer.json()
        return result


@dataclass(frozen=True)
class Trained:
    server: MlflowServer
    baseline_old: dict[str, str]  # an older run of the baseline variant (v3 layout)
    baseline: dict[str, str]  # the newest baseline run (v3 layout)
    enhanced: dict[str, str]  # enhanced, logged the MLflow 2.x way (under the run)
    broken: dict[str, str]  # variant "broken": a v3 model whose MLmodel the fixture deleted
