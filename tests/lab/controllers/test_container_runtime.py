"""The container runtime under the kubelet: a real process per container, a kubelet's account of how it
ended (exit code, OOMKilled under a real memory limit), restarts with back-off, and a stop that leaves
nothing running."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from drkit_lab.containers.cgroups import CgroupSupport, memory_cgroups
from drkit_lab.containers.runtime import ContainerRuntime, PodSandbox, ProcessSpec

Obj = dict[str, Any]


class Script:
    """A Program that runs a Python snippet."""

    def __init__(self, code: str) -> None:
        self.code = code

    def process(self, pod: Obj, container: Obj, sandbox: PodSandbox) -> ProcessSpec:
        return ProcessSpec([sys.executable, "-c", self.code], {})


def _pod(limit: str | None = None) -> Obj:
    container: Obj = {"name": "main", "image": "example/script:1"}
    if limit:
        container["resources"] = {"limits": {"memory": limit}}
    return {"metadata": {"namespace": "ns", "name": "p", "uid": "uid-1"}, "spec": {"containers": [container]}}


def _run(code: str, tmp_path: Path, cgroups: CgroupSupport, limit: str | None = None) -> Any:
    changed = threading.Event()
    runtime = ContainerRuntime(
        {"example/script": Script(code)}, tmp_path, cgroups, lambda ns, n: changed.set()
    )
    sandbox = PodSandbox("ns", "p", "uid-1", "10.244.0.9", {})
    try:
        states, _ = runtime.sync(_pod(limit), sandbox)
        assert states["main"].running
        while True:  # each change is one event from the runtime's supervisor
            assert changed.wait(60), "the container never changed state"
            changed.clear()
            states, wake = runtime.sync(_pod(limit), sandbox)
            if states["main"].last_terminated is not None:
                return states["main"], wake
    finally:
        runtime.close()


def test_an_exit_is_reported_and_the_container_backs_off(tmp_path: Path) -> None:
    state, wake = _run("import sys; print('bye'); sys.exit(3)", tmp_path, CgroupSupport(None, 0, "off"))
    assert state.last_terminated["exitCode"] == 3
    assert state.last_terminated["reason"] == "Error"
    assert state.restart_count == 1
    assert state.waiting[0] == "CrashLoopBackOff"
    assert 0 < wake <= 10.0  # the first back-off, as a kubelet's
    assert "bye" in (tmp_path / "pods" / "ns_p_uid-1" / "main.log").read_text()


@pytest.mark.skipif(not memory_cgroups().enforced, reason=f"no memory cgroup: {memory_cgroups().problem}")
def test_a_process_past_its_memory_limit_is_oomkilled(tmp_path: Path) -> None:
    hog = "blocks = [bytearray(16 * 2**20) for _ in range(32)]; print('survived')"
    state, _ = _run(hog, tmp_path, memory_cgroups(), limit="64Mi")
    assert state.last_terminated["reason"] == "OOMKilled"
    assert state.last_terminated["exitCode"] == 137
    assert "survived" not in (tmp_path / "pods" / "ns_p_uid-1" / "main.log").read_text()


@pytest.mark.skipif(not memory_cgroups().enforced, reason=f"no memory cgroup: {memory_cgroups().problem}")
def test_two_labs_with_the_same_pod_uid_never_share_a_memory_cgroup(tmp_path: Path) -> None:
    """The emulated API server numbers pod uids from uid-1 in every lab: two labs at once (two test
    workers) must each get their own memory cgroup, or stopping one kills the other's container."""
    forever = "import time\nwhile True: time.sleep(1)"
    second_changed = threading.Event()
    runtimes = [
        ContainerRuntime(
            {"example/script": Script(forever)},
            tmp_path / f"lab-{i}",
            memory_cgroups(),
            (lambda *_: None) if i == 0 else (lambda *_: second_changed.set()),
        )
        for i in range(2)
    ]
    sandbox = PodSandbox("ns", "p", "uid-1", "10.244.0.9", {})
    try:
        for runtime in runtimes:
            states, _ = runtime.sync(_pod("64Mi"), sandbox)
            assert states["main"].running
        assert second_changed.wait(30), "the second container never became ready"  # its one expected change
        second_changed.clear()
        runtimes[0].stop_pod("uid-1")
        # Killed with a shared group, the second container's supervisor would report its end at once.
        assert not second_changed.wait(3), "stopping the first lab's pod ended the second lab's container"
        states, _ = runtimes[1].sync(_pod("64Mi"), sandbox)
        assert states["main"].running
    finally:
        for runtime in runtimes:
            runtime.close()
