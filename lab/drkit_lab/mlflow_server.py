"""Start and stop the lab's real MLflow tracking server as a child process.

The lab runs the genuine `mlflow server` (SQLite backend, proxied artifacts on local disk) rather than a fake,
so drkit's model-URI rewriting is tested against real MLflow answers. It runs in its own process group: MLflow
starts worker processes, and stopping the group is the only way to be sure none outlive the lab.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from drkit_lab.errors import EXIT_USAGE, LabError

_HEALTH_DEADLINE_S = 60.0
_STOP_GRACE_S = 10.0
# Prefixes the URIs of proxied artifacts map to; the drill's playbook says the same (see docs/lab.md).
ARTIFACTS_BUCKET_ROOT = "s3://mlflow-artifacts/"


class MlflowNotInstalled(LabError):
    """The python that would run the server cannot import MLflow's server parts."""

    exit_code = EXIT_USAGE


class MlflowStartFailed(LabError):
    """The server process exited or never answered /health."""


def mlflow_server_available(python: str = sys.executable) -> bool:
    """True when `python` can run `mlflow server` (MLflow itself and its web stack are importable).

    Asks the interpreter with `find_spec` so nothing heavy is imported; `mlflow-skinny` alone has no Flask.
    """
    probe = (
        "import importlib.util as u, sys; "
        "sys.exit(0 if u.find_spec('mlflow') and u.find_spec('flask') else 1)"
    )
    try:
        done = subprocess.run([python, "-c", probe], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def require_mlflow(python: str = sys.executable) -> None:
    if not mlflow_server_available(python):
        raise MlflowNotInstalled(
            "MLflow is not installed in this environment: pip install 'drkit[lab]', "
            "or run `drkit lab up --no-mlflow`"
        )


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (bind to 0; a race is possible but harmless here)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class MlflowPaths:
    root: Path

    @property
    def db(self) -> Path:
        return self.root / "mlflow.db"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"


class MlflowServer:
    """One `mlflow server` child process. `start()` returns once /health answers 200."""

    def __init__(
        self,
        data_dir: Path,
        log_file: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        python: str = sys.executable,
        workers: int = 1,
    ) -> None:
        self.paths = MlflowPaths(data_dir)
        self.log_file = log_file
        self.host = host
        self.port = port or free_port(host)
        self.python = python
        self.workers = workers
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def command(self) -> list[str]:
        return [
            self.python,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{self.paths.db}",
            "--artifacts-destination",
            str(self.paths.artifacts),
            "--serve-artifacts",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]

    def start(self, deadline_s: float = _HEALTH_DEADLINE_S) -> None:
        require_mlflow(self.python)
        self.paths.artifacts.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_file.open("ab")
        env = dict(os.environ)
        # Telemetry and version checks would try the network; the lab is offline by design.
        env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        env.setdefault("DO_NOT_TRACK", "true")
        # The GenAI job runner starts a swarm of worker processes the lab never uses.
        env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
        self._proc = subprocess.Popen(
            self.command(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        try:
            self._wait_healthy(deadline_s)
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self, deadline_s: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                raise MlflowStartFailed(
                    f"the MLflow server exited with status {code} while starting",
                    hint=f"see {self.log_file}",
                )
            if health_ok(self.url):
                return
            time.sleep(0.25)
        raise MlflowStartFailed(
            f"the MLflow server did not answer {self.url}/health within {deadline_s:.0f} s",
            hint=f"see {self.log_file}",
        )

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout=_STOP_GRACE_S)
        elif proc is not None:
            # The leader is gone but its workers may not be.
            _signal_group(proc.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def health_ok(base_url: str, timeout: float = 2.0) -> bool:
    """GET <base_url>/health answers 200."""
    try:
        with urllib.request.urlopen(f"{base_url}/health", timeout=timeout) as resp:  # noqa: S310 (http URL we built)
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False
