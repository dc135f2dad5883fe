"""Start and stop a whole lab: TLS material, MLflow, store, API server, controllers, kubeconfig.

The emulated control plane is the Store, the API server and its control-plane controllers (namespaces,
workloads); the operators the lab plays (kubelet, Seldon, Argo, SealedSecrets) and the platform bootstrap
reach it over HTTPS with the lab's system credential, as they would reach a real control plane. The users'
kubeconfig holds a different token: only user traffic is faulted and written to requests.jsonl.

`Lab` is used in-process by tests and benchmarks; `python -m drkit_lab.runner` is the process `drkit lab up`
detaches, which runs a `Lab` until SIGTERM/SIGINT. The runner also answers the API server's admin endpoint
(`/lab/status`, `/lab/faults`, `/lab/controllers`), because it is the one part that sees every other part.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, Literal

import drkit
from drkit_lab.apiserver.http import ApiServer
from drkit_lab.apiserver.store import Store
from drkit_lab.controllers import control_plane_controllers, operators
from drkit_lab.controllers.base import Controller, ControllerManager
from drkit_lab.controlplane.build import Binaries, find_built
from drkit_lab.controlplane.proxy import FaultProxy
from drkit_lab.controlplane.real import RealControlPlane
from drkit_lab.errors import EXIT_OK, LabError, LabUsageError
from drkit_lab.faults import Faults, FaultSettings
from drkit_lab.kubeapi import ApiClient, ApiConnection
from drkit_lab.kubeconfig import new_token, render_kubeconfig, write_kubeconfig
from drkit_lab.launcher import check_port_free, parse_error_codes, port_in_use_error
from drkit_lab.mlflow_server import ARTIFACTS_BUCKET_ROOT, MlflowAuth, MlflowServer
from drkit_lab.platforms import ensure_system_namespaces, install_platform
from drkit_lab.settings import LabSettings
from drkit_lab.state import LabInfo, StateDir, remove_lab_info, write_lab_info
from drkit_lab.suggest import did_you_mean
from drkit_lab.tls import ensure_tls, kubelet_client_tls

log = logging.getLogger("drkit_lab")

Progress = Callable[[str], None]
ControlPlaneName = Literal["emulated", "real"]


def serving_status() -> dict[str, Any]:
    """Which MLServer the model servers run, and whether their memory limits are enforced (if not, why)."""
    from drkit_lab.containers.cgroups import memory_cgroups  # noqa: PLC0415 (status only)
    from drkit_lab.serving.environment import MLSERVER_VERSION, find_serving  # noqa: PLC0415

    cgroups = memory_cgroups()
    built = find_serving()
    return {
        "mlserver": MLSERVER_VERSION,
        "environment": str(built.root) if built else None,
        "memory_limits": f"enforced (cgroup v{cgroups.version})" if cgroups.enforced else cgroups.problem,
    }


class Lab:
    """One lab instance. `start()` brings every part up (rolling back on failure); `stop()` takes it down."""

    def __init__(
        self,
        settings: LabSettings,
        faults: FaultSettings | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        mlflow: bool = True,
        mlflow_port: int = 0,
        mlflow_basic_auth: bool = False,
        tls: bool = True,
        platform: str | None = None,
        progress: Progress | None = None,
        control_plane: ControlPlaneName = "emulated",
        binaries: Binaries | None = None,
    ) -> None:
        self.state = StateDir(settings.state_dir)
        self.settings = settings
        self.faults = Faults(faults or FaultSettings())
        self.host = host
        self.port = port
        self.use_mlflow = mlflow
        self.mlflow_port = mlflow_port
        self.mlflow_basic_auth = mlflow_basic_auth
        self.use_tls = tls
        self.platform = platform
        self._progress = progress or (lambda line: log.info("%s", line))
        self.token = new_token()  # the users' (kubeconfig)
        self.system_token = new_token()  # the lab's own: operators and bootstrap (never in a file)
        self.connection: ApiConnection | None = None
        self.store: Store | None = None
        self.server: ApiServer | None = None
        self.manager: ControllerManager | None = None
        self.mlflow: MlflowServer | None = None
        self.started_at: float | None = None
        self.control_plane = control_plane
        self.binaries = binaries
        self.real: RealControlPlane | None = None  # the real control plane, and the proxy users reach it by
        self.proxy: FaultProxy | None = None
        if control_plane == "real" and not tls:
            raise LabUsageError("the real control plane serves TLS only; drop --insecure-http")

    # Public properties used by tests, the CLI and the benchmark.
    @property
    def kubeconfig_path(self) -> Path:
        return self.state.kubeconfig

    @property
    def ca_path(self) -> Path | None:
        return self.state.ca_cert if self.use_tls else None

    @property
    def api_url(self) -> str:
        """The URL users reach: the emulated server, or the fault proxy in front of kube-apiserver."""
        front = self.server.url if self.server else self.proxy.url if self.proxy else None
        if front is None:
            raise LabError("the lab is not started")
        return front

    @property
    def control_plane_version(self) -> str:
        return self.real.version if self.real is not None else f"emulated (drkit {drkit.__version__})"

    @property
    def mlflow_uri(self) -> str | None:
        return self.mlflow.url if self.mlflow else None

    @property
    def mlflow_client_env(self) -> dict[str, str]:
        """The credentials an MLflow client needs (empty unless MLflow runs with basic auth)."""
        auth = self.mlflow.auth if self.mlflow else None
        return auth.client_env if auth is not None else {}

    def api(self, user_agent: str) -> ApiClient:
        """An API client with the lab's system credential (not faulted, not logged): for what the lab plays
        itself, such as a platform's original bootstrap. Close it after use."""
        if self.connection is None:
            raise LabError("the lab is not started")
        return ApiClient(self.connection, user_agent=user_agent)

    def start(self) -> Lab:
        self.state.create()
        check_port_free(self.host, self.port)
        try:
            self._start_parts()
        except BaseException:
            self.stop()
            raise
        self.started_at = time.time()
        return self

    def _start_parts(self) -> None:
        if self.use_mlflow:
            self._progress("starting MLflow")
            auth = MlflowAuth.for_data_dir(self.state.mlflow_dir) if self.mlflow_basic_auth else None
            self.mlflow = MlflowServer(
                self.state.mlflow_dir, self.state.mlflow_log, host=self.host, port=self.mlflow_port, auth=auth
            )
            self.mlflow.start()
            artifacts = self.mlflow.paths.artifacts
            self.settings = dataclasses.replace(
                self.settings,
                mlflow_uri=self.mlflow.url,
                mlflow_client_env=self.mlflow_client_env,
                mlflow_artifacts_dir=artifacts,
                storage_roots={ARTIFACTS_BUCKET_ROOT: artifacts, **self.settings.storage_roots},
            )
            self._progress(f"MLflow is up at {self.mlflow.url}" + (" (basic auth)" if auth else ""))
        start = self._start_real if self.control_plane == "real" else self._start_emulated
        control_plane_parts, self.connection = start()
        with self.api("lab-bootstrap") as bootstrap:
            ensure_system_namespaces(bootstrap)
        self.manager = ControllerManager(
            self.api("lab-controller-manager"),
            [*control_plane_parts, *operators(self.connection, self.settings)],
            resync_period=self.settings.resync_period,
        )
        for name in self.faults.settings.down_controllers:
            self._set_down(name, True)
        self.manager.start()
        ca_pem = self.state.ca_cert.read_bytes() if self.use_tls else None
        write_kubeconfig(
            self.state.kubeconfig, render_kubeconfig(server=self.api_url, ca_pem=ca_pem, token=self.token)
        )
        self._progress(f"API server ({self.control_plane_version}) is up at {self.api_url}")
        if self.platform:
            install_platform(self.platform, self, progress=self._progress)

    def _start_emulated(self) -> tuple[list[Controller], ApiConnection]:
        """The in-memory API server, whose own namespace and workload controllers play the controller
        manager."""
        tls_files = ensure_tls(self.state.root) if self.use_tls else None
        self.store = Store(seed=self.settings.seed)
        try:
            self.server = ApiServer(
                self.store,
                host=self.host,
                port=self.port,
                token=self.token,
                system_token=self.system_token,
                tls=(tls_files.server_cert, tls_files.server_key) if tls_files else None,
                faults=self.faults,
                request_log=self.state.request_log,
                admin=self.admin,
                kubelet_tls=kubelet_client_tls(self.state.root),
            )
        except OSError as exc:
            raise port_in_use_error(self.port) from exc
        self.server.start()
        connection = ApiConnection(
            self.server.url, ca_file=tls_files.ca_cert if tls_files else None, token=self.system_token
        )
        return control_plane_controllers(self.store, self.settings), connection

    def _start_real(self) -> tuple[list[Controller], ApiConnection]:
        """etcd, kube-apiserver and kube-controller-manager, with the fault proxy in front for users.

        The operators reach kube-apiserver directly with their own token, so faults and the request log
        concern the users (drkit, kubectl) only, as on the emulated server."""
        binaries = self.binaries or find_built()
        if binaries is None:
            raise LabUsageError(
                "the real control plane is not built", hint="run `drkit lab build` (once, about 8 minutes)"
            )
        self._progress(
            f"starting etcd, kube-apiserver and kube-controller-manager {binaries.kubernetes_version}"
        )
        self.real = RealControlPlane(binaries, self.state.root / "controlplane", host=self.host).start()
        assert self.real.tls is not None
        self.token = self.real.credentials.lab
        try:
            self.proxy = FaultProxy(
                self.real.url,
                ca_file=self.real.tls.ca_cert,
                tls=(self.real.tls.server_cert, self.real.tls.server_key),
                faults=self.faults,
                token=self.token,
                request_log=self.state.request_log,
                admin=self.admin,
                host=self.host,
                port=self.port,
            ).start()
        except OSError as exc:
            raise port_in_use_error(self.port) from exc
        connection = ApiConnection(
            self.real.url, ca_file=self.real.tls.ca_cert, token=self.real.credentials.operators
        )
        return [], connection  # kube-controller-manager runs the namespace, GC and workload controllers

    def stop(self) -> None:
        """Stop every part that started, in reverse order. Safe to call twice."""
        manager, self.manager = self.manager, None
        server, self.server = self.server, None
        proxy, self.proxy = self.proxy, None
        real, self.real = self.real, None
        mlflow, self.mlflow = self.mlflow, None
        if manager is not None:
            manager.stop()
        if server is not None:
            server.stop()
        if proxy is not None:
            proxy.stop()
        if real is not None:
            real.stop()
        if mlflow is not None:
            mlflow.stop()

    def info(self, pid: int) -> LabInfo:
        return LabInfo(
            pid=pid,
            api_url=self.api_url,
            api_port=int(self.api_url.rsplit(":", 1)[1]),
            mlflow_url=self.mlflow.url if self.mlflow else None,
            mlflow_port=self.mlflow.port if self.mlflow else None,
            kubeconfig=str(self.state.kubeconfig),
            started=self.started_at or time.time(),
            platform=self.platform,
            mlflow_pid=self.mlflow.pid if self.mlflow else None,
            mlflow_basic_auth=bool(self.mlflow and self.mlflow.auth),
        )

    # The admin endpoint.

    def admin(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """Handle `/lab/<what>` for the API server; `body` is the JSON request body ({} for GET)."""
        try:
            return self._admin(path, body)
        except LabUsageError as exc:
            raise ValueError(exc.message) from None  # the API server answers 400 with the message

    def _admin(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        what = path.rstrip("/").rsplit("/", 1)[-1]
        if what == "faults" and body:
            self.update_faults(body)
        elif what == "controllers" and body:
            name = body.get("name")
            if not isinstance(name, str) or not isinstance(body.get("down"), bool):
                raise LabUsageError('a controller change needs {"name": str, "down": bool}')
            self._set_down(name, bool(body["down"]))
            outage = body.get("for")
            if body["down"] and isinstance(outage, int | float) and outage > 0:
                self._end_outage_after(name, float(outage))
        elif what not in {"status", "faults", "controllers"}:
            raise LabUsageError(f"unknown lab admin endpoint {path!r}")
        return self.status()

    def status(self) -> dict[str, Any]:
        manager = self.manager
        controllers = (
            {name: ("down" if manager.is_down(name) else "up") for name in manager.names()} if manager else {}
        )
        running = self.server is not None or self.proxy is not None
        return {
            "running": running,
            "api_url": self.api_url if running else None,
            "control_plane": {"name": self.control_plane, "version": self.control_plane_version},
            "mlflow_url": self.mlflow_uri,
            "platform": self.platform,
            "objects": self._object_count(),
            "controllers": controllers,
            "faults": self.faults.settings.to_json(),
            "started": self.started_at,
            "serving": serving_status(),
        }

    def _object_count(self) -> int | None:
        if self.store is not None:
            return self.store.count()
        if self.real is not None:
            return self.real.object_count()
        return 0

    def update_faults(self, changes: dict[str, Any]) -> FaultSettings:
        """Apply a partial change (`{"clear": true}` resets everything first) and return the new settings."""
        current = FaultSettings() if changes.get("clear") else self.faults.settings
        values = {k: v for k, v in changes.items() if k != "clear"}
        try:
            new = FaultSettings.from_json({**current.to_json(), **values})
        except (ValueError, TypeError) as exc:
            raise LabUsageError(str(exc)) from None
        before = set(self.faults.settings.down_controllers)
        self.faults.update(new)
        for name in before - set(new.down_controllers):
            self._set_down(name, False, record=False)
        for name in new.down_controllers:
            self._set_down(name, True, record=False)
        return new

    def _end_outage_after(self, name: str, seconds: float) -> None:
        """A timed outage: the controller comes back by itself, as a restarted operator would."""
        timer = threading.Timer(seconds, self._set_down, args=(name, False))
        timer.daemon = True
        timer.start()

    def _set_down(self, name: str, down: bool, *, record: bool = True) -> None:
        if self.manager is not None:
            if name not in self.manager.names():
                # The suggestion is in the message: the admin endpoint answers 400 with the message only.
                near = did_you_mean(name, self.manager.names())
                raise LabUsageError(
                    f"the lab has no controller named {name!r}; {near + ' ' if near else ''}"
                    f"(controllers: {', '.join(self.manager.names())})"
                )
            self.manager.set_down(name, down)
        if record:
            names = [n for n in self.faults.settings.down_controllers if n != name]
            if down:
                names.append(name)
            self.faults.update(dataclasses.replace(self.faults.settings, down_controllers=tuple(names)))


# The detached process (`python -m drkit_lab.runner`).


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m drkit_lab.runner", description="Run a drkit lab until SIGTERM."
    )
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=6443)
    p.add_argument("--mlflow-port", type=int, default=0)
    p.add_argument("--no-mlflow", action="store_true")
    p.add_argument("--mlflow-basic-auth", action="store_true")
    p.add_argument("--insecure-http", action="store_true")
    p.add_argument("--platform")
    p.add_argument("--control-plane", choices=["emulated", "real"], default="emulated")
    p.add_argument("--binaries", type=Path, help="the built real control plane (see `drkit lab build`)")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--error-rate", type=float, default=0.0)
    p.add_argument("--error-codes", default="500,503,429")
    p.add_argument("--drop-rate", type=float, default=0.0)
    p.add_argument("--watch-cut-after", type=float)
    p.add_argument("--controller-down", action="append", default=[])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workload-delay", type=float)
    return p


def lab_from_args(args: argparse.Namespace, progress: Progress | None = None) -> Lab:
    state_dir = args.dir.resolve()
    settings = LabSettings(state_dir=state_dir, seed=args.seed)
    if args.workload_delay is not None:
        settings = dataclasses.replace(settings, workload_ready_delay=args.workload_delay)
    faults = FaultSettings(
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        error_codes=parse_error_codes(args.error_codes),
        drop_rate=args.drop_rate,
        watch_cut_after=args.watch_cut_after,
        down_controllers=tuple(args.controller_down),
        seed=args.seed,
    )
    return Lab(
        settings,
        faults,
        host=args.host,
        port=args.port,
        mlflow=not args.no_mlflow,
        mlflow_port=args.mlflow_port,
        mlflow_basic_auth=args.mlflow_basic_auth,
        tls=not args.insecure_http,
        platform=args.platform,
        progress=progress,
        control_plane=args.control_plane,
        binaries=Binaries(args.binaries) if args.binaries else None,
    )


def run(argv: Sequence[str] | None = None) -> int:
    """Run a lab until SIGTERM/SIGINT; lab.json exists exactly while the lab serves."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    lab = lab_from_args(args, progress=lambda line: print(f"[lab] {line}", file=sys.stderr, flush=True))
    try:
        lab.start()
    except LabError as exc:
        print(f"[lab] error: {exc}", file=sys.stderr, flush=True)
        return int(exc.exit_code)
    pid = os.getpid()
    try:
        write_lab_info(lab.state, lab.info(pid))
        print(f"[lab] ready: {lab.api_url} (kubeconfig {lab.kubeconfig_path})", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
        print("[lab] stopping", file=sys.stderr, flush=True)
    finally:
        remove_lab_info(lab.state, pid)
        lab.stop()
    print("[lab] stopped", file=sys.stderr, flush=True)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(run())
