"""Start a lab as a detached background process and stop it again (what `drkit lab up` / `down` do).

The runner is started with `posix_spawn` in its own session, so it outlives the CLI and a Ctrl-C in the
terminal does not reach it. The CLI knows the lab is ready when the runner writes `lab.json` with its own pid;
until then it relays the runner's `[lab]` progress lines from `logs/lab.log`, and reports the runner's last
error if it dies.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from drkit_lab.errors import LabError, LabUsageError
from drkit_lab.mlflow_server import require_mlflow
from drkit_lab.state import LabInfo, StateDir, pid_alive, read_lab_info

_READY_DEADLINE_S = 240.0  # MLflow (about 15 s) plus a platform install (under about 40 s), with margin
_STOP_DEADLINE_S = 30.0
_PROGRESS_PREFIX = "[lab] "


def port_in_use_error(port: int) -> LabUsageError:
    return LabUsageError(f"port {port} is in use by another program; pass --port 0 for a free one")


def check_port_free(host: str, port: int) -> None:
    """Raise the port-taken error when something already listens on host:port (port 0 is always fine)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the API server does: a port left in TIME_WAIT by a lab that just stopped is free to use.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise port_in_use_error(port) from exc


def parse_error_codes(text: str) -> tuple[int, ...]:
    try:
        codes = tuple(int(c) for c in text.split(",") if c.strip())
    except ValueError as exc:
        raise LabUsageError(f"--error-codes must be comma-separated HTTP codes, not {text!r}") from exc
    if not codes or any(c < 400 or c > 599 for c in codes):
        raise LabUsageError(f"--error-codes must list HTTP error codes (400-599), not {text!r}")
    return codes


def import_roots() -> list[str]:
    """The directories this process imports the lab and drkit from: `lab/` and the root of a checkout, or
    site-packages (twice the same) for an installed wheel."""
    roots = [str(Path(__file__).resolve().parents[1])]
    spec = importlib.util.find_spec("drkit")
    if spec is not None and spec.origin is not None:
        roots.append(str(Path(spec.origin).resolve().parents[1]))
    return list(dict.fromkeys(roots))


def child_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a `python -m drkit_lab...` child, so it imports the same lab and drkit as this process.

    Without it a source checkout run from another directory could not start the lab's processes.
    """
    env = dict(os.environ if base is None else base)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    missing = [root for root in import_roots() if root not in paths]
    if missing:
        env["PYTHONPATH"] = os.pathsep.join([*missing, *paths])
    return env


def refuse_if_running(state: StateDir) -> None:
    info = read_lab_info(state)  # removes a stale lab.json as a side effect
    if info is not None:
        raise LabUsageError(
            f"a lab is already running from {state.root} (pid {info.pid}); "
            f"`drkit lab down --dir {state.root}` first"
        )


def preflight(state: StateDir, *, host: str, port: int, mlflow: bool, mlflow_auth: bool = False) -> None:
    """Every check that can fail fast, before anything is spawned."""
    refuse_if_running(state)
    check_port_free(host, port)
    if mlflow:
        require_mlflow(auth=mlflow_auth)


def start_detached(
    state: StateDir, runner_args: Sequence[str], *, progress: Callable[[str], None] | None = None
) -> LabInfo:
    """Spawn `python -m drkit_lab.runner --dir DIR ...` and wait until it serves; return its lab.json."""
    state.create()
    log_offset = state.lab_log.stat().st_size if state.lab_log.exists() else 0
    argv = [sys.executable, "-m", "drkit_lab.runner", "--dir", str(state.root), *runner_args]
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    pid = os.posix_spawn(
        sys.executable,
        argv,
        child_env(),
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(state.lab_log), flags, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
    )
    relay = _LogRelay(state.lab_log, log_offset, progress)
    try:
        info = _wait_ready(state, pid, relay)
    except BaseException:
        # Timed out or Ctrl-C: a half-started lab must not linger in the background.
        _signal(pid, signal.SIGTERM)
        raise
    if info is None:
        raise LabError(
            f"the lab did not become ready within {_READY_DEADLINE_S:.0f} s",
            hint=f"see {state.lab_log}",
        )
    return info


def _wait_ready(state: StateDir, pid: int, relay: _LogRelay) -> LabInfo | None:
    """The lab's info once it serves; None after the deadline. Raises the runner's error if it exits."""
    deadline = time.monotonic() + _READY_DEADLINE_S
    while time.monotonic() < deadline:
        relay.pump()
        exited, status = os.waitpid(pid, os.WNOHANG)
        if exited:
            relay.pump()
            raise _start_failure(state, relay.last_error, os.waitstatus_to_exitcode(status))
        info = read_lab_info(state)
        if info is not None and info.pid == pid:
            return info
        time.sleep(0.2)
    return None


def _start_failure(state: StateDir, last_error: str | None, code: int) -> LabError | LabUsageError:
    if last_error:
        message, _, hint = last_error.partition("\n  hint: ")
        cls = LabUsageError if code == 2 else LabError
        return cls(message, hint=hint or f"see {state.lab_log}")
    return LabError(f"the lab process exited with status {code} while starting", hint=f"see {state.lab_log}")


class _LogRelay:
    """Follows lab.log from an offset: forwards `[lab]` lines, remembers the last `[lab] error:` one."""

    def __init__(self, path: Path, offset: int, progress: Callable[[str], None] | None) -> None:
        self.path = path
        self.offset = offset
        self.progress = progress
        self.last_error: str | None = None
        self._partial = ""
        self._in_error = False

    def pump(self) -> None:
        try:
            with self.path.open("r", encoding="utf-8", errors="replace") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
                self.offset = handle.tell()
        except FileNotFoundError:
            return
        lines = (self._partial + chunk).split("\n")
        self._partial = lines.pop()
        for line in lines:
            if line.startswith(_PROGRESS_PREFIX):
                text = line[len(_PROGRESS_PREFIX) :]
                self._in_error = text.startswith("error: ")
                if self._in_error:
                    self.last_error = text[len("error: ") :]
                elif self.progress:
                    self.progress(text)
            elif self._in_error and line.startswith("  hint: ") and self.last_error is not None:
                self.last_error += "\n" + line
            else:
                self._in_error = False


def stop(state: StateDir, *, deadline_s: float = _STOP_DEADLINE_S) -> LabInfo | None:
    """SIGTERM the lab from `state` and wait until it exits; None when no lab was running there."""
    info = read_lab_info(state)
    if info is None:
        return None
    _signal(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + deadline_s
    while pid_alive(info.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_alive(info.pid):
        # The runner is wedged: take down its group and the MLflow group it started (a clean stop does both).
        _signal_group(info.pid, signal.SIGKILL)
        if info.mlflow_pid is not None:
            _signal_group(info.mlflow_pid, signal.SIGKILL)
    state.lab_json.unlink(missing_ok=True)
    return info


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
