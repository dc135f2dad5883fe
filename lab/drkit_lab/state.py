"""The lab's state directory and `lab.json`: how `drkit lab` commands find a lab another process started.

`lab.json` is written by the runner once the API (and MLflow) answer, and removed when it stops. It holds no
secrets: the bearer token stays in the 0600 kubeconfig, which the CLI reads when it calls the admin endpoint.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from drkit_lab.errors import LabError, LabUsageError


def default_dir(env: Mapping[str, str]) -> Path:
    """The lab's directory when `--dir` is not given: `lab/` in drkit's per-user state directory, so every
    `drkit lab` command finds the lab whatever the working directory. The same rule as drkit's
    (`drkit.context.user_state_dir`; the lab may not import it): `$DRKIT_HOME`, else `$XDG_STATE_HOME/drkit`,
    else `$HOME/.local/state/drkit`."""
    if env.get("DRKIT_HOME"):
        return Path(env["DRKIT_HOME"]).absolute() / "lab"
    xdg = env.get("XDG_STATE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "drkit" / "lab"
    home = env.get("HOME", "")
    if home and Path(home).is_absolute():
        return Path(home) / ".local" / "state" / "drkit" / "lab"
    raise LabUsageError("no default lab directory: HOME is not set", hint="give --dir, or set DRKIT_HOME")


@dataclass(frozen=True)
class StateDir:
    """The files under one lab directory (see docs/lab.md for the layout)."""

    root: Path

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca.crt"

    @property
    def lab_json(self) -> Path:
        return self.root / "lab.json"

    @property
    def mlflow_dir(self) -> Path:
        return self.root / "mlflow"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def lab_log(self) -> Path:
        return self.logs_dir / "lab.log"

    @property
    def mlflow_log(self) -> Path:
        return self.logs_dir / "mlflow.log"

    @property
    def request_log(self) -> Path:
        return self.root / "requests.jsonl"

    def create(self) -> None:
        for d in (self.root, self.mlflow_dir, self.logs_dir):
            d.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class LabInfo:
    """What `lab.json` records about a running lab."""

    pid: int
    api_url: str
    api_port: int
    mlflow_url: str | None
    mlflow_port: int | None
    kubeconfig: str
    started: float
    platform: str | None = None
    mlflow_pid: int | None = None  # its own process group: `lab down` kills it if the runner cannot
    mlflow_basic_auth: bool = False  # MLflow's basic-auth app: `lab env` prints the credentials too

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabInfo:
        return cls(
            pid=int(data["pid"]),
            api_url=str(data["api_url"]),
            api_port=int(data["api_port"]),
            mlflow_url=data.get("mlflow_url"),
            mlflow_port=data.get("mlflow_port"),
            kubeconfig=str(data["kubeconfig"]),
            started=float(data["started"]),
            platform=data.get("platform"),
            mlflow_pid=data.get("mlflow_pid"),
            mlflow_basic_auth=bool(data.get("mlflow_basic_auth", False)),
        )


def pid_alive(pid: int) -> bool:
    """True while process `pid` exists and is not a zombie (an exited child nobody has reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True  # no procfs (macOS): trust kill(0)
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def write_lab_info(state: StateDir, info: LabInfo) -> None:
    tmp = state.lab_json.with_suffix(".json.tmp")
    tmp.write_text(info.to_json(), encoding="utf-8")
    tmp.replace(state.lab_json)


def read_lab_info(state: StateDir) -> LabInfo | None:
    """The running lab's info, or None. A `lab.json` left by a dead process is removed (it is stale)."""
    try:
        data = json.loads(state.lab_json.read_text(encoding="utf-8"))
        info = LabInfo.from_dict(data)
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        state.lab_json.unlink(missing_ok=True)
        return None
    if not pid_alive(info.pid):
        state.lab_json.unlink(missing_ok=True)
        return None
    return info


def remove_lab_info(state: StateDir, pid: int | None = None) -> None:
    """Remove lab.json (only if it still belongs to `pid`, when given: a newer lab may have replaced it)."""
    if pid is not None:
        try:
            current = json.loads(state.lab_json.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return
        if current.get("pid") != pid:
            return
    state.lab_json.unlink(missing_ok=True)


@dataclass(frozen=True)
class Credentials:
    """What a client needs to call the lab: server URL, CA file (None for plain HTTP) and bearer token."""

    server: str
    ca_file: Path | None
    token: str


def read_credentials(state: StateDir) -> Credentials:
    """Read server, CA and token from the lab's kubeconfig (the only place the token is stored)."""
    try:
        doc = YAML(typ="safe", pure=True).load(state.kubeconfig.read_text(encoding="utf-8"))
        cluster = doc["clusters"][0]["cluster"]
        token = str(doc["users"][0]["user"]["token"])
    except (FileNotFoundError, KeyError, IndexError, TypeError) as exc:
        raise LabError(
            f"cannot read the lab's kubeconfig {state.kubeconfig}",
            hint="start the lab with `drkit lab up`",
        ) from exc
    ca_file: Path | None = None
    if "certificate-authority-data" in cluster:
        ca_file = state.ca_cert
        if not ca_file.is_file():
            ca_file.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    return Credentials(server=str(cluster["server"]), ca_file=ca_file, token=token)


def admin_request(state: StateDir, what: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call the running lab's admin endpoint `/lab/<what>` (GET without a body, POST with one)."""
    creds = read_credentials(state)
    url = f"{creds.server}/lab/{what}"
    data = json.dumps(body).encode("utf-8") if body is not None else None
    method = "POST" if data is not None else "GET"
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (https URL from our kubeconfig)
    request.add_header("Authorization", f"Bearer {creds.token}")
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    context = ssl.create_default_context(cafile=str(creds.ca_file)) if creds.ca_file else None
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as resp:  # noqa: S310 (our own URL)
            result: dict[str, Any] = json.loads(resp.read())
            return result
    except urllib.error.HTTPError as exc:
        message = _status_message(exc.read())
        exc.close()
        # 400: the request itself is wrong (an unknown controller, a bad fault value): a usage error.
        error = LabUsageError if exc.code == 400 else LabError
        raise error(f"the lab refused {method} /lab/{what}: {message}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise LabError(
            f"the lab at {creds.server} does not answer ({exc})",
            hint=f"check {state.lab_log}, or restart it with `drkit lab up --dir {state.root}`",
        ) from None


def _status_message(body: bytes) -> str:
    try:
        doc = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace")
    if isinstance(doc, dict):
        return str(doc.get("message") or doc.get("error") or doc)[:500]
    return str(doc)[:500]
