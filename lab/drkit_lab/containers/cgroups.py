"""Memory limits for the containers the lab runs, enforced by the kernel as a kubelet has them enforced.

A container's `resources.limits.memory` becomes the limit of a memory cgroup holding all its processes; past
it the kernel's OOM killer kills one of them. Kubernetes (cgroup v2, since 1.28) then kills the whole
container and reports it `OOMKilled` with exit code 137; the lab does the same on cgroup v2 (memory.oom.group)
and v1 (it kills the group itself on the kernel's OOM notification). Where no writable memory cgroup exists
(an unprivileged user without delegation), limits cannot be enforced: `memory_cgroups()` says so and why,
and the lab reports it instead of pretending.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_V2_ROOT = Path("/sys/fs/cgroup")
_V1_ROOT = Path("/sys/fs/cgroup/memory")
_LAB_GROUP = "drkit-lab"


@dataclass(frozen=True)
class CgroupSupport:
    """Where the lab makes its containers' memory cgroups, or why it cannot."""

    parent: Path | None
    version: int  # 1 or 2 (0: none)
    problem: str = ""

    @property
    def enforced(self) -> bool:
        return self.parent is not None


def _own_cgroup_v1() -> Path | None:
    try:
        lines = Path("/proc/self/cgroup").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return _V1_ROOT / path.lstrip("/")
    return None


def _writable_dir(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK)


def memory_cgroups() -> CgroupSupport:
    """Find a place for per-container memory cgroups: cgroup v2 with the memory controller, else v1."""
    controllers = _V2_ROOT / "cgroup.controllers"
    if controllers.is_file() and "memory" in controllers.read_text(encoding="utf-8").split():
        if _writable_dir(_V2_ROOT):
            return CgroupSupport(_V2_ROOT / _LAB_GROUP, 2)
        return CgroupSupport(None, 0, f"{_V2_ROOT} is not writable (no delegated cgroup)")
    own = _own_cgroup_v1()
    for base in (own, _V1_ROOT):
        if base is not None and _writable_dir(base) and (base / "memory.limit_in_bytes").is_file():
            return CgroupSupport(base / _LAB_GROUP, 1)
    return CgroupSupport(None, 0, "no writable memory cgroup (neither a cgroup v2 memory controller nor v1)")


class MemoryCgroup:
    """One container's memory cgroup. `add(pid)` puts a process in before it runs its program."""

    def __init__(self, support: CgroupSupport, name: str, limit_bytes: int) -> None:
        assert support.parent is not None
        self.version = support.version
        self.path = support.parent / name
        self.limit_bytes = limit_bytes
        support.parent.mkdir(exist_ok=True)
        if self.version == 2:
            subtree = support.parent / "cgroup.subtree_control"
            if "memory" not in subtree.read_text(encoding="utf-8"):
                subtree.write_text("+memory", encoding="utf-8")
        self.path.mkdir(exist_ok=True)
        if self.version == 2:
            (self.path / "memory.max").write_text(str(limit_bytes), encoding="utf-8")
            (self.path / "memory.swap.max").write_text("0", encoding="utf-8")
            (self.path / "memory.oom.group").write_text("1", encoding="utf-8")
        else:
            (self.path / "memory.limit_in_bytes").write_text(str(limit_bytes), encoding="utf-8")
        self._oom_seen = 0

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid), encoding="utf-8")

    def oom_kills(self) -> int:
        """How many times the kernel's OOM killer struck in this cgroup."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            lines = (self.path / name).read_text(encoding="utf-8").splitlines()
        except OSError:
            return 0
        for line in lines:
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def watch_oom(self, on_oom: Callable[[], None]) -> threading.Thread | None:
        """v1 only: call `on_oom` when the kernel reports an OOM in this cgroup (an eventfd, not polling).
        v2 needs no watcher: memory.oom.group makes the kernel kill the whole container itself."""
        if self.version != 1:
            return None
        efd = os.eventfd(0)
        control = os.open(self.path / "memory.oom_control", os.O_RDONLY)
        (self.path / "cgroup.event_control").write_text(f"{efd} {control}", encoding="utf-8")

        def wait() -> None:
            try:
                os.eventfd_read(efd)  # returns on an OOM, or when the cgroup is removed
                if self.path.exists():
                    on_oom()
            finally:
                os.close(efd)
                os.close(control)

        thread = threading.Thread(target=wait, name=f"oom-{self.path.name}", daemon=True)
        thread.start()
        return thread

    def kill_all(self) -> None:
        """SIGKILL every process left in the cgroup (the whole container, as on a real node)."""
        try:
            pids = (self.path / "cgroup.procs").read_text(encoding="utf-8").split()
        except OSError:
            return
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                continue

    def remove(self) -> None:
        self.kill_all()
        with contextlib.suppress(OSError):  # processes still exiting: the group is left empty
            self.path.rmdir()
