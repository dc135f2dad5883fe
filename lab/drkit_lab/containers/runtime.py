"""The lab's container runtime: real processes for the images the lab knows how to run.

Most images in the lab are never run (the kubelet reports them Running). An image with a `Program`
(`drkit_lab.containers.images`) runs for real: its process listens on the pod's address, lives in a memory
cgroup with the container's limit, and writes its log where `drkit lab` and tests can read it. The runtime
reports what a kubelet reports of it: running and since when, ready (its readiness probe passed), restarts,
and how the last run ended (exit code, `OOMKilled`). A container that ends is restarted with a kubelet's
back-off (10 s, doubling, at most 5 min), `CrashLoopBackOff` while it waits.

What a container prints goes, as a node's runtime writes it, to one CRI-format file per run
(`drkit_lab.containers.logs`), so the kubelet can serve the current and the previous run's log; all runs also
go, raw and in order, to `<container>.log` beside them, for a person reading the lab's state directory.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from drkit_lab.children import die_with_parent
from drkit_lab.containers.cgroups import CgroupSupport, MemoryCgroup
from drkit_lab.containers.logs import CriLogWriter
from drkit_lab.controllers.conditions import rfc3339
from drkit_lab.podnet import local_address

log = logging.getLogger(__name__)

Obj = dict[str, Any]
PodKey = tuple[str, str, str]  # namespace, name, uid
BACKOFF_START_S = 10.0
BACKOFF_MAX_S = 300.0
_STOP_GRACE_S = 10.0
_PROBE_EVERY_S = 0.25  # a kubelet probes every periodSeconds; the lab's servers come up in seconds
_LOG_DRAIN_S = 5.0  # after an exit, how long the log copiers may take to write what is left in the pipes


@dataclass(frozen=True)
class ProcessSpec:
    argv: list[str]
    env: dict[str, str]


@dataclass(frozen=True)
class PodSandbox:
    """What a container can see of its pod: its address and its volumes' directories."""

    namespace: str
    name: str
    uid: str
    ip: str  # the pod's address on the pod network
    volumes: dict[str, Path]

    @property
    def listen_address(self) -> str:
        return local_address(self.ip)


class ImageUnavailable(RuntimeError):
    """The image cannot be run on this machine yet (a kubelet's ErrImagePull)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class Program(Protocol):
    """How to run one image: the process for a container of a pod."""

    def process(self, pod: Obj, container: Obj, sandbox: PodSandbox) -> ProcessSpec: ...


@dataclass
class ContainerState:
    """What the kubelet reports of one container."""

    running: bool = False
    ready: bool = False
    started_at: str | None = None
    restart_count: int = 0
    last_terminated: Obj | None = None
    waiting: tuple[str, str] | None = None  # (reason, message)

    def as_status(self, name: str, image: str) -> Obj:
        state: Obj
        if self.running:
            state = {"running": {"startedAt": self.started_at}}
        elif self.waiting is not None:
            state = {"waiting": {"reason": self.waiting[0], "message": self.waiting[1]}}
        else:
            state = {"waiting": {"reason": "ContainerCreating"}}
        status: Obj = {
            "name": name,
            "image": image,
            "imageID": "",
            "ready": self.ready,
            "started": self.running,
            "restartCount": self.restart_count,
            "state": state,
        }
        if self.last_terminated is not None:
            status["lastState"] = {"terminated": dict(self.last_terminated)}
        return status


@dataclass
class _Container:
    key: PodKey
    name: str
    spec: ProcessSpec
    probe: Obj | None
    limit_bytes: int | None
    log_path: Path
    address: str  # where its process listens (the pod address's loopback twin)
    state: ContainerState = field(default_factory=ContainerState)
    proc: subprocess.Popen[bytes] | None = None
    cgroup: MemoryCgroup | None = None
    oom: bool = False
    next_start: float = 0.0
    backoff: float = BACKOFF_START_S
    stopping: bool = False
    runs: list[Path] = field(default_factory=list)  # each run's CRI log file, oldest first
    copiers: list[threading.Thread] = field(default_factory=list)


@dataclass(frozen=True)
class ContainerLogs:
    """What the kubelet needs to serve a container's log: its runs' files and its current state."""

    runs: tuple[Path, ...]
    running: bool
    waiting: tuple[str, str] | None


def memory_limit_bytes(container: Obj) -> int | None:
    limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
    return quantity_bytes(str(limit)) if limit else None


def quantity_bytes(text: str) -> int:
    """Bytes in a Kubernetes memory quantity (`768Mi`, `1Gi`, `500M`, `1048576`)."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "K": 10**3, "M": 10**6, "G": 10**9}
    for suffix in sorted(units, key=len, reverse=True):
        if text.endswith(suffix):
            return int(float(text.removesuffix(suffix)) * units[suffix])
    return int(float(text))


def pod_volume_dir(root: Path, uid: str, volume: str) -> Path:
    """An emptyDir of a pod (what a kubelet keeps under /var/lib/kubelet/pods/<uid>/volumes), under the
    runtime's `root`: the lab's Seldon agent writes model settings into the one MLServer reads."""
    return root / "volumes" / uid / volume


class ContainerRuntime:
    """Runs the containers whose images have a Program; `on_change(namespace, name)` is called whenever what
    the kubelet should report of a pod changes (ready, exited), so it writes the pod's status again."""

    def __init__(
        self,
        programs: dict[str, Program],
        root: Path,
        cgroups: CgroupSupport,
        on_change: Callable[[str, str], None],
    ) -> None:
        self.programs = programs
        self.root = root
        self.cgroups = cgroups
        self._on_change = on_change
        self._lock = threading.Lock()
        self._containers: dict[tuple[str, str], _Container] = {}  # (pod uid, container name)
        self._closed = False
        # Cgroups are machine-wide, pod uids only unique within one API server (the emulated one counts
        # them from uid-1 in every lab): two labs at once must never share, and so kill, a container's group.
        self._instance = secrets.token_hex(4)

    def program_for(self, container: Obj) -> Program | None:
        image = str(container.get("image") or "")
        image = image.split("@", 1)[0]
        repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
        return self.programs.get(repository)

    def runs_any(self, pod: Obj) -> bool:
        return any(self.program_for(c) for c in (pod.get("spec") or {}).get("containers") or [])

    def log_path(self, namespace: str, name: str, uid: str, container: str) -> Path:
        """Every run's output, raw (for people); the kubelet serves the per-run files beside it."""
        return self.root / "pods" / f"{namespace}_{name}_{uid}" / f"{container}.log"

    def run_log_path(self, namespace: str, name: str, uid: str, container: str, run: int) -> Path:
        """The CRI log of one run (0 first), as `/var/log/pods/<ns>_<pod>_<uid>/<container>/<run>.log`."""
        return self.root / "pods" / f"{namespace}_{name}_{uid}" / container / f"{run}.log"

    def logs(self, uid: str, container: str) -> ContainerLogs | None:
        """The runs and state of a container the runtime runs, or None when it runs no such container."""
        with self._lock:
            entry = self._containers.get((uid, container))
            if entry is None:
                return None
            return ContainerLogs(tuple(entry.runs), entry.state.running, entry.state.waiting)

    def volume_dir(self, uid: str, volume: str) -> Path:
        return pod_volume_dir(self.root, uid, volume)

    def sync(self, pod: Obj, sandbox: PodSandbox) -> tuple[dict[str, ContainerState], float | None]:
        """Start what should run and is not (after its back-off). Returns the state of every container it
        runs, and in how many seconds a back-off ends (the kubelet looks at the pod again then)."""
        states = {}
        wake: float | None = None
        now = time.monotonic()
        for container in (pod.get("spec") or {}).get("containers") or []:
            program = self.program_for(container)
            if program is None:
                continue
            name = str(container.get("name"))
            with self._lock:
                if self._closed:
                    break
                entry = self._containers.get((sandbox.uid, name))
                if entry is None:
                    try:
                        spec = program.process(pod, container, sandbox)
                    except ImageUnavailable as exc:
                        states[name] = ContainerState(waiting=(exc.reason, exc.message))
                        wake = BACKOFF_START_S if wake is None else min(wake, BACKOFF_START_S)
                        continue
                    entry = _Container(
                        (sandbox.namespace, sandbox.name, sandbox.uid),
                        name,
                        spec,
                        container.get("readinessProbe"),
                        memory_limit_bytes(container),
                        self.log_path(sandbox.namespace, sandbox.name, sandbox.uid, name),
                        sandbox.listen_address,
                    )
                    self._containers[(sandbox.uid, name)] = entry
                if entry.proc is None and not entry.stopping:
                    if now >= entry.next_start:
                        self._start(entry, sandbox)
                    else:
                        wait = entry.next_start - now
                        entry.state.waiting = (
                            "CrashLoopBackOff",
                            f"back-off {entry.backoff:.0f}s restarting failed container={name} "
                            f"pod={sandbox.name}_{sandbox.namespace}({sandbox.uid})",
                        )
                        wake = wait if wake is None else min(wake, wait)
                states[name] = ContainerState(**vars(entry.state))
        return states, wake

    def _start(self, entry: _Container, sandbox: PodSandbox) -> None:
        entry.log_path.parent.mkdir(parents=True, exist_ok=True)
        cgroup = None
        if entry.limit_bytes is not None and self.cgroups.enforced:
            name = f"{self._instance}-{sandbox.uid}-{entry.name}"
            cgroup = MemoryCgroup(self.cgroups, name, entry.limit_bytes)
        procs_file = str(cgroup.path / "cgroup.procs") if cgroup else None

        def before_exec() -> None:  # in the child: only a prctl and one write before exec
            die_with_parent()
            if procs_file:
                with open(procs_file, "w", encoding="ascii") as handle:
                    handle.write(str(os.getpid()))

        try:
            proc = subprocess.Popen(
                entry.spec.argv,
                env={**os.environ, **entry.spec.env},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=before_exec,  # noqa: PLW1509 (see before_exec)
            )
        except OSError as exc:
            if cgroup:
                cgroup.remove()
            entry.state.waiting = ("RunContainerError", f"{entry.spec.argv[0]}: {exc}")
            entry.next_start = time.monotonic() + entry.backoff
            return
        namespace, pod, uid = entry.key
        run_path = self.run_log_path(namespace, pod, uid, entry.name, len(entry.runs))
        writer = CriLogWriter(run_path, entry.log_path)
        assert proc.stdout is not None
        assert proc.stderr is not None
        entry.copiers = [writer.copy("stdout", proc.stdout), writer.copy("stderr", proc.stderr)]
        entry.runs.append(run_path)
        entry.proc, entry.cgroup, entry.oom = proc, cgroup, False
        entry.state.running, entry.state.ready, entry.state.waiting = True, False, None
        entry.state.started_at = rfc3339()
        if cgroup is not None:
            cgroup.watch_oom(lambda: self._oom(entry, proc))
        threading.Thread(target=self._supervise, args=(entry, proc), daemon=True).start()
        log.info("started container %s of pod %s/%s (pid %d)", entry.name, *entry.key[:2], proc.pid)

    def _oom(self, entry: _Container, proc: subprocess.Popen[bytes]) -> None:
        """The kernel OOM-killed a process of the container: the whole container goes, as on a node."""
        entry.oom = True
        if entry.cgroup is not None:
            entry.cgroup.kill_all()
        if proc.poll() is None:
            proc.kill()

    def _supervise(self, entry: _Container, proc: subprocess.Popen[bytes]) -> None:
        """Probe readiness until ready or exit, then wait for the exit and record it."""
        ready_reported = False
        while proc.poll() is None and not ready_reported:
            if self._probe(entry):
                with self._lock:
                    entry.state.ready = True
                ready_reported = True
                self._changed(entry)
                break
            time.sleep(_PROBE_EVERY_S)  # the probe period: a kubelet probes on a timer too
        code = proc.wait()
        for copier in entry.copiers:  # the run's log is whole before anyone is told it ended
            copier.join(_LOG_DRAIN_S)
        oom = entry.oom or (entry.cgroup is not None and entry.cgroup.oom_kills() > 0)
        with self._lock:
            if entry.cgroup is not None:
                entry.cgroup.remove()
                entry.cgroup = None
            entry.proc = None
            exit_code = 128 + -code if code < 0 else code
            reason = "OOMKilled" if oom else ("Completed" if code == 0 else "Error")
            entry.state.last_terminated = {
                "exitCode": 137 if oom else exit_code,
                "reason": reason,
                "startedAt": entry.state.started_at,
                "finishedAt": rfc3339(),
            }
            entry.state.running = entry.state.ready = False
            if entry.stopping:
                return
            entry.state.restart_count += 1
            entry.next_start = time.monotonic() + entry.backoff
            entry.backoff = min(entry.backoff * 2, BACKOFF_MAX_S)
            entry.state.waiting = ("CrashLoopBackOff", f"last run ended: {reason} (exit {exit_code})")
        log.warning("container %s of pod %s/%s ended: %s (exit %d)", entry.name, *entry.key[:2], reason, code)
        self._changed(entry)

    def _probe(self, entry: _Container) -> bool:
        probe = entry.probe or {}
        http = probe.get("httpGet")
        if not http:
            return True  # no readiness probe: ready once started, as a kubelet has it
        host = local_address(str(http.get("host") or "")) if http.get("host") else None
        address = host or entry.address
        url = f"http://{address}:{http.get('port')}{http.get('path') or '/'}"
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return 200 <= int(response.status) < 400
        except (urllib.error.URLError, OSError):
            return False

    def _changed(self, entry: _Container) -> None:
        if not self._closed:
            self._on_change(entry.key[0], entry.key[1])

    def stop_pod(self, uid: str) -> None:
        """Stop every container of the pod (SIGTERM, then SIGKILL after the grace period) and forget it."""
        with self._lock:
            entries = [e for (pod_uid, _), e in self._containers.items() if pod_uid == uid]
            for entry in entries:
                entry.stopping = True
                del self._containers[(uid, entry.name)]
        for entry in entries:
            self._stop(entry)

    def _stop(self, entry: _Container) -> None:
        proc = entry.proc
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if entry.cgroup is not None:
            entry.cgroup.remove()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            entries = list(self._containers.values())
            for entry in entries:
                entry.stopping = True
            self._containers.clear()
        for entry in entries:
            self._stop(entry)
