"""Start and stop the lab's real MLflow tracking server as a child process.

The lab runs the genuine `mlflow server` (SQLite backend, proxied artifacts on local disk) rather than a fake,
so drkit's model-URI rewriting is tested against real MLflow answers. It runs in its own process group: MLflow
starts worker processes, and stopping the group is the only way to be sure none outlive the lab.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
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


@dataclass(frozen=True)
class MlflowAuth:
    """MLflow's own basic-auth app (`mlflow server --app-name basic-auth`): one admin user, every other
    request refused (401). The password is generated once per MLflow data directory and kept there (0600):
    the auth database keeps the admin's first password, so a restarted lab must use the same one."""

    username: str
    password: str

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> MlflowAuth:
        path = data_dir / "credentials.json"
        if path.exists():
            stored = json.loads(path.read_text(encoding="utf-8"))
            return cls(str(stored["username"]), str(stored["password"]))
        auth = cls("admin", secrets.token_urlsafe(18))
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"username": auth.username, "password": auth.password}, handle)
        return auth

    @property
    def client_env(self) -> dict[str, str]:
        """What an MLflow client (drkit, the lab's training jobs) needs in its environment."""
        return {"MLFLOW_TRACKING_USERNAME": self.username, "MLFLOW_TRACKING_PASSWORD": self.password}


def mlflow_server_available(python: str = sys.executable, *, auth: bool = False) -> bool:
    """True when `python` can run `mlflow server` (MLflow itself and its web stack are importable), with
    `auth` its basic-auth app too (Flask-WTF, which `mlflow[auth]` installs, for its CSRF protection).

    Asks the interpreter with `find_spec` so nothing heavy is imported; `mlflow-skinny` alone has no Flask.
    """
    modules = ("mlflow", "flask", "flask_wtf") if auth else ("mlflow", "flask")
    probe = f"import importlib.util as u, sys; sys.exit(0 if all(u.find_spec(m) for m in {modules!r}) else 1)"
    try:
        done = subprocess.run([python, "-c", probe], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def require_mlflow(python: str = sys.executable, *, auth: bool = False) -> None:
    if not mlflow_server_available(python, auth=auth):
        if auth and mlflow_server_available(python):
            raise MlflowNotInstalled(
                "MLflow's basic-auth app needs Flask-WTF, which is not installed: pip install 'mlflow[auth]'"
            )
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

    @property
    def auth_config(self) -> Path:
        return self.root / "basic_auth.ini"

    @property
    def auth_db(self) -> Path:
        return self.root / "basic_auth.db"


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
        auth: MlflowAuth | None = None,
    ) -> None:
        self.paths = MlflowPaths(data_dir)
        self.auth = auth
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
        app = ["--app-name", "basic-auth"] if self.auth is not None else []
        return [
            self.python,
            "-m",
            "mlflow",
            "server",
            *app,
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
        require_mlflow(self.python, auth=self.auth is not None)
        self.paths.artifacts.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_file.open("ab")
        env = dict(os.environ)
        # Telemetry and version checks would try the network; the lab is offline by design.
        env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        env.setdefault("DO_NOT_TRACK", "true")
        # The GenAI job runner starts a swarm of worker processes the lab never uses.
        env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
        if self.auth is not None:
            env.update(self._auth_env())
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

    def _auth_env(self) -> dict[str, str]:
        """The basic-auth app's configuration: its own user database beside the tracking one, the admin it
        creates on first start, READ for nobody else (every unauthenticated request is refused anyway), and
        the static key its CSRF protection requires (MLflow refuses to start without one)."""
        assert self.auth is not None
        self.paths.auth_config.write_text(
            "[mlflow]\n"
            "default_permission = READ\n"
            f"database_uri = sqlite:///{self.paths.auth_db}\n"
            f"admin_username = {self.auth.username}\n"
            f"admin_password = {self.auth.password}\n"
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n",
            encoding="utf-8",
        )
        self.paths.auth_config.chmod(0o600)
        return {
            "MLFLOW_AUTH_CONFIG_PATH": str(self.paths.auth_config),
            "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16),
        }

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
