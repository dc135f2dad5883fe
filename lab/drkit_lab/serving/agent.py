"""The Seldon agent's part of loading a model: put it in the server's model repository and ask MLServer.

Seldon's agent runs beside MLServer in each Server pod: it copies the model's files (rclone) into the pod's
model volume, writes its model-settings.json and calls MLServer's repository API; the scheduler then marks
the Model available or failed with MLServer's answer. The lab's agent does the same from the operator's
process: the files stay where the lab's storage keeps them (the settings name that directory), the API calls
go over the pod network, and the loads run on a thread of their own so one slow model does not hold up the
others. A finished load wakes the Model's reconcile through `on_done`.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import requests

from drkit_lab.podnet import local_address
from drkit_lab.serving.mlserver import HTTP_PORT, write_model_settings

log = logging.getLogger(__name__)

LOAD_TIMEOUT_S = 300.0  # a model of hundreds of MB loads in tens of seconds on two cores


@dataclass(frozen=True)
class Placement:
    """A model version on one run of one server replica: a new run (restart) needs the model loaded again."""

    namespace: str
    model: str
    model_uid: str
    generation: int
    pod_uid: str
    pod_name: str
    container_run: str  # the mlserver container's startedAt and restart count
    pod_ip: str
    repository: Path
    name: str  # the name MLServer serves it under
    model_dir: Path


@dataclass(frozen=True)
class LoadResult:
    ok: bool
    message: str = ""


def _error_text(response: requests.Response) -> str:
    """MLServer's own error text (`{"error": ...}`), else the status and body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    text = response.text.strip()
    return f"HTTP {response.status_code}{': ' + text[:500] if text else ''}"


class Agent(Protocol):
    """What the Seldon operator asks of the agent."""

    def result(self, placement: Placement) -> LoadResult | None: ...
    def forget(self, model_uid: str) -> list[Placement]: ...
    def unload(self, placement: Placement) -> None: ...
    def close(self) -> None: ...


class StandInAgent:
    """Answers every load as done at once, without MLServer (LabSettings.model_loading "stand-in")."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._placed: dict[str, set[Placement]] = {}

    def result(self, placement: Placement) -> LoadResult | None:
        with self._lock:
            self._placed.setdefault(placement.model_uid, set()).add(placement)
        return LoadResult(True)

    def forget(self, model_uid: str) -> list[Placement]:
        with self._lock:
            return sorted(self._placed.pop(model_uid, set()), key=lambda p: p.pod_uid)

    def unload(self, placement: Placement) -> None:
        """Nothing was loaded."""

    def close(self) -> None:
        """Nothing runs."""


class ModelAgent:
    """Loads models into MLServers (see the module docstring)."""

    def __init__(self, on_done: Callable[[Placement], None], workers: int = 2) -> None:
        self._on_done = on_done
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seldon-agent")
        self._lock = threading.Lock()
        self._results: dict[Placement, LoadResult | None] = {}  # None: loading
        self._session = requests.Session()
        self._session.trust_env = False  # pod addresses are never behind the user's proxy

    def result(self, placement: Placement) -> LoadResult | None:
        """The load's outcome; starts it when this placement was never tried. None while it runs."""
        with self._lock:
            if placement in self._results:
                return self._results[placement]
            for earlier, outcome in self._results.items():
                # A version that failed to load is not tried again on the server's next run: it would only
                # bring the server down again (an OOM), as Seldon's scheduler leaves it ModelFailed.
                same = (earlier.model_uid, earlier.generation) == (placement.model_uid, placement.generation)
                if same and outcome is not None and not outcome.ok:
                    return outcome
            self._results[placement] = None
        self._pool.submit(self._load, placement)
        return None

    def forget(self, model_uid: str) -> list[Placement]:
        with self._lock:
            gone = [p for p in self._results if p.model_uid == model_uid]
            for placement in gone:
                del self._results[placement]
        return gone

    def _url(self, placement: Placement, path: str) -> str:
        return f"http://{local_address(placement.pod_ip)}:{HTTP_PORT}{path}"

    def _load(self, placement: Placement) -> None:
        try:
            outcome = self._load_now(placement)
        except Exception as exc:  # a failed load is an answer, never a crashed agent
            log.exception("loading %s failed", placement.name)
            outcome = LoadResult(False, f"{type(exc).__name__}: {exc}")
        with self._lock:
            if placement in self._results:
                self._results[placement] = outcome
        self._on_done(placement)

    def _load_now(self, placement: Placement) -> LoadResult:
        write_model_settings(placement.repository, placement.name, placement.model_dir)
        url = self._url(placement, f"/v2/repository/models/{placement.name}/load")
        try:
            response = self._session.post(url, json={}, timeout=LOAD_TIMEOUT_S)
        except requests.ConnectionError as exc:
            # MLServer died under the load (OOMKilled, most likely): the kubelet reports the container.
            return LoadResult(False, f"MLServer dropped the connection while loading the model: {exc}")
        except requests.Timeout:
            return LoadResult(False, f"MLServer did not finish loading within {LOAD_TIMEOUT_S:.0f} s")
        if response.status_code != 200:
            return LoadResult(False, _error_text(response))
        ready = self._session.get(self._url(placement, f"/v2/models/{placement.name}/ready"), timeout=10)
        if ready.status_code != 200:
            return LoadResult(False, f"MLServer loaded the model but it is not ready ({ready.status_code})")
        log.info("model %s loaded on %s", placement.name, placement.pod_ip)
        return LoadResult(True)

    def unload(self, placement: Placement) -> None:
        """Best effort, as the agent does when a Model goes: MLServer may be gone already."""
        with contextlib.suppress(requests.RequestException):
            url = self._url(placement, f"/v2/repository/models/{placement.name}/unload")
            self._session.post(url, timeout=10)
        shutil.rmtree(placement.repository / placement.name, ignore_errors=True)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._session.close()
