"""The lab's kubelet (and scheduler): binds every unscheduled Pod to the lab's one Node and reports the
status a healthy node would, through the API only, so it serves the emulated and a real control plane alike.

A container whose image the lab knows (`drkit_lab.containers.images`: Seldon's MLServer) runs for real, on
the pod's address, under its memory limit; it is ready when its readiness probe passes, and its restarts and
`OOMKilled` are reported as a kubelet reports them. Every other container is pretended: a bound Pod becomes
Running with every container ready `settings.workload_ready_delay` after the kubelet first saw it bound; a
Pod owned by a Job then Succeeds (exit code 0) one delay later. A
Pod whose template is doomed (annotation `lab.drkit.io/fail: <Reason>`, or an image tagged `:broken`) stays
Pending with its containers waiting for that reason, as with an image that cannot be pulled, and a Warning
Event says so. The Node is created when missing and its Ready condition is renewed every `HEARTBEAT_SECONDS`,
so a real node lifecycle controller does not mark it unreachable.

Like a kubelet, it serves its containers' logs over HTTPS (`drkit_lab.controllers.kubeletserver`) on the port
its Node reports in `status.daemonEndpoints.kubeletEndpoint`, where either control plane asks for
`pods/NAME/log`. A container it really runs has its runs' output (the previous run's with `previous=true`);
a pretended container prints nothing, so its log is empty, as a real container's that wrote nothing.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Any

from drkit_lab.apiserver.errors import ApiError
from drkit_lab.apiserver.types import ResourceType
from drkit_lab.containers.cgroups import memory_cgroups
from drkit_lab.containers.images import lab_programs
from drkit_lab.containers.logs import read_log
from drkit_lab.containers.runtime import ContainerLogs, ContainerRuntime, ContainerState, PodSandbox, Program
from drkit_lab.controllers.base import Operator
from drkit_lab.controllers.conditions import rfc3339
from drkit_lab.controllers.kubeletserver import KubeletRefusal, KubeletServer, LogRequest
from drkit_lab.controllers.support import Obj, get_or_none, is_deleting, stable_hash, write_status
from drkit_lab.kubeapi import ApiClient
from drkit_lab.podnet import local_address, pod_address
from drkit_lab.settings import LabSettings
from drkit_lab.tls import kubelet_serving_tls

NODE_NAME = "lab-node-0"
# Every address the lab reports is a loopback one, so whatever a control plane dials for a Node or a Pod
# (kube-apiserver's exec or proxy) stays on this machine.
NODE_IP = "127.0.0.1"
FAIL_ANNOTATION = "lab.drkit.io/fail"
HEARTBEAT_SECONDS = 10.0
_NODE_RESOURCES = {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"}


def template_failure(template: Obj) -> str | None:
    """The waiting reason a pod (or pod template) is doomed to (annotation or `:broken` image), or None."""
    reason = (template.get("metadata", {}).get("annotations") or {}).get(FAIL_ANNOTATION)
    if reason:
        return str(reason)
    for container in template.get("spec", {}).get("containers", []) or []:
        if ":broken" in str(container.get("image", "")):
            return "ImagePullBackOff"
    return None


def runs_to_completion(pod: Obj) -> bool:
    """A Job's pod: its containers exit (successfully, in the lab) instead of serving forever."""
    return any(ref.get("kind") == "Job" for ref in pod.get("metadata", {}).get("ownerReferences") or [])


def pod_ip(pod: Obj, salt: str = "", attempt: int = 0) -> str:
    """The pod's address on the lab's pod network: the one it has, else one derived from its uid and the
    kubelet's salt (labs on one machine share the network, and an emulated lab's uids repeat)."""
    current = (pod.get("status") or {}).get("podIP")
    if current and attempt == 0:
        return str(current)
    uid = str(pod["metadata"].get("uid", pod["metadata"]["name"]))
    return pod_address(int(stable_hash(f"{salt}/{uid}/{attempt}", 6), 16))


def _ports_free(address: str, ports: list[int]) -> bool:
    """Whether a container could listen on each port of `address` (another lab's pod may hold it)."""
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((local_address(address), port))
            except OSError:
                return False
    return True


def kubelet_root(settings: LabSettings) -> Path:
    """Where the kubelet keeps pods' volumes and container logs."""
    return settings.state_dir / "kubelet"


def _conditions(previous: list[Obj], wanted: dict[str, tuple[str, str]], now: str) -> list[Obj]:
    """Pod conditions (type -> (status, reason)); lastTransitionTime kept while a status does not change."""
    before = {c.get("type"): c for c in previous}
    out = []
    for cond_type, (status, reason) in wanted.items():
        old = before.get(cond_type) or {}
        since = old.get("lastTransitionTime") if old.get("status") == status else None
        cond: Obj = {"type": cond_type, "status": status, "lastProbeTime": None}
        cond["lastTransitionTime"] = since or now
        if reason:
            cond["reason"] = reason
        out.append(cond)
    return out


def pod_status(
    pod: Obj,
    phase: str,
    now: str,
    failure: str | None = None,
    *,
    real: dict[str, ContainerState] | None = None,
    ip: str | None = None,
) -> Obj:
    """What a kubelet reports for `pod`: Running and ready, Succeeded (exit 0), or Pending with `failure`.
    `real` holds the state of the containers the lab really runs; the others are pretended."""
    current: Obj = pod.get("status") or {}
    started = str(current.get("startTime") or now)
    statuses = []
    real = real or {}
    for container in (pod.get("spec") or {}).get("containers") or []:
        name = str(container.get("name", ""))
        if name in real:
            statuses.append(real[name].as_status(name, str(container.get("image", ""))))
            continue
        state: Obj
        if phase == "Running":
            state = {"running": {"startedAt": started}}
        elif phase == "Succeeded":
            state = {
                "terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": now}
            }
        else:
            state = {
                "waiting": {"reason": failure, "message": f"lab: {failure} for {container.get('image')}"}
            }
        statuses.append(
            {
                "name": container.get("name", ""),
                "image": container.get("image", ""),
                "imageID": "",
                "ready": phase == "Running",
                "started": phase == "Running",
                "restartCount": 0,
                "state": state,
            }
        )
    all_ready = all(s["ready"] for s in statuses)
    ready = "True" if phase == "Running" and all_ready else "False"
    done = "PodCompleted" if phase == "Succeeded" else ""
    waiting = "ContainersNotReady" if phase == "Pending" or (phase == "Running" and not all_ready) else done
    wanted = {
        "PodReadyToStartContainers": ("False" if phase == "Succeeded" else "True", ""),
        "Initialized": ("True", done),
        "Ready": (ready, waiting),
        "ContainersReady": (ready, waiting),
        "PodScheduled": ("True", ""),
    }
    ip = ip or pod_ip(pod)
    return {
        "phase": phase,
        "conditions": _conditions(current.get("conditions") or [], wanted, now),
        "containerStatuses": statuses,
        "hostIP": NODE_IP,
        "hostIPs": [{"ip": NODE_IP}],
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": started,
        "qosClass": current.get("qosClass") or "BestEffort",
    }


class Kubelet(Operator):
    """Schedules and "runs" Pods on the lab's Node (see the module docstring)."""

    name = "kubelet"
    unit = (
        "workloads"  # `drkit lab fault --controller-down workloads` stops pods progressing, as it always did
    )
    watches = (("", "Pod"), ("", "Node"))

    def __init__(
        self, api: ApiClient, settings: LabSettings, programs: dict[str, Program] | None = None
    ) -> None:
        super().__init__(api, settings)
        self._lock = threading.Lock()
        self._bound_at: dict[str, float] = {}  # pod uid -> monotonic time the kubelet first saw it bound
        self._node_known = False
        self._salt = secrets.token_hex(8)
        self._addresses: dict[str, str] = {}  # pod uid -> its address, for the pod's life
        self._synced_as: dict[str, str] = {}  # pod uid -> a doomed pod's last synced spec and metadata
        self._server: KubeletServer | None = None  # started with the Node, whose status reports its port
        self.cgroups = memory_cgroups()
        self.runtime = ContainerRuntime(
            lab_programs() if programs is None else programs,
            kubelet_root(settings),
            self.cgroups,
            on_change=self._pod_changed,
        )

    def _pod_changed(self, namespace: str, name: str) -> None:
        pod_rt = self.api.resource("v1", "Pod")
        if pod_rt is not None:
            self.wake((pod_rt, namespace, name))

    def close(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()
        self.runtime.close()
        super().close()

    # ------------------------------------------------------------------------------------------ its server
    def _server_port(self) -> int:
        """The port of the kubelet's HTTPS server, started on first need."""
        with self._lock:
            if self._server is None:
                tls = kubelet_serving_tls(self.settings.state_dir, node_name=NODE_NAME, node_ip=NODE_IP)
                self._server = KubeletServer(self.container_log, tls, host=NODE_IP).start()
            return self._server.port

    def container_log(self, request: LogRequest) -> bytes:
        """`GET /containerLogs/...`: what a kubelet answers, with its wording when it cannot."""
        pod = get_or_none(self.api, self.api.require("v1", "Pod"), request.namespace, request.pod)
        if pod is None or (pod.get("spec") or {}).get("nodeName") != NODE_NAME:
            raise KubeletRefusal(404, f'pod "{request.pod}" does not exist')
        spec = pod.get("spec") or {}
        containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
        container = next((c for c in containers if c.get("name") == request.container), None)
        if container is None:
            raise KubeletRefusal(404, f'container "{request.container}" not found in pod "{request.pod}"')
        if self.runtime.program_for(container) is None:
            return self._pretended_log(pod, request)
        logs = self.runtime.logs(str(pod["metadata"].get("uid", "")), request.container)
        return read_log(_run_to_read(logs, request), request.options)

    def _pretended_log(self, pod: Obj, request: LogRequest) -> bytes:
        """A container the lab does not run has printed nothing; one that never started has no log yet."""
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        status: Obj = next((c for c in statuses if c.get("name") == request.container), {})
        state = status.get("state") or {}
        if request.options.previous:
            raise KubeletRefusal(
                400, f'previous terminated container "{request.container}" in pod "{request.pod}" not found'
            )
        if "running" in state or "terminated" in state:
            return b""
        reason = (state.get("waiting") or {}).get("reason") or "ContainerCreating"
        raise KubeletRefusal(400, _waiting_message(request, str(reason)))

    def reconcile(self, rt: ResourceType, namespace: str | None, name: str) -> float | None:
        if rt.kind == "Node":
            return self._node() if name == NODE_NAME else None
        pod = get_or_none(self.api, rt, namespace, name)
        if pod is None:
            return None
        uid = str(pod["metadata"].get("uid", ""))
        if is_deleting(pod):
            self._confirm_deletion(rt, pod, uid)
            return None
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            self._bind(rt, pod)
            return None  # the binding's event brings the pod back
        if node != NODE_NAME:
            return None  # another node's kubelet
        phase = (pod.get("status") or {}).get("phase") or "Pending"
        if phase in ("Succeeded", "Failed"):
            self._forget(uid)
            return None
        now = rfc3339()
        failure = template_failure(pod)
        if failure is not None:
            if self._already_synced(uid, pod):
                return None  # a status write's echo (its own): a kubelet syncs a pod on spec and metadata
            write_status(self.api, rt, pod, pod_status(pod, "Pending", now, failure, ip=self._address(pod)))
            self._warn(pod, "Failed", f"Error: {failure}", now)
            return None
        delay = self.settings.workload_ready_delay
        elapsed = self._elapsed(uid)
        if self.runtime.runs_any(pod):
            if elapsed < delay:
                return delay - elapsed
            return self._run_containers(rt, pod, uid, now)
        if phase == "Pending":
            if elapsed < delay:
                return delay - elapsed
            write_status(self.api, rt, pod, pod_status(pod, "Running", now, ip=self._address(pod)))
            return delay if runs_to_completion(pod) else None
        if phase == "Running" and runs_to_completion(pod):
            if elapsed < 2 * delay:
                return 2 * delay - elapsed
            write_status(self.api, rt, pod, pod_status(pod, "Succeeded", now, ip=self._address(pod)))
            self._forget(uid)
        return None

    def _warn(self, pod: Obj, reason: str, message: str, now: str) -> None:
        """A Warning Event about `pod`, as a kubelet's event recorder records one: the same warning again
        is counted on the first one's Event (`count`, `lastTimestamp`), not recorded twice."""
        meta = pod["metadata"]
        uid = str(meta.get("uid", ""))
        name = f"{meta['name']}.{stable_hash([uid, reason, message])}"
        event: Obj = {
            "metadata": {
                "name": name,
                "namespace": meta["namespace"],
            },
            "involvedObject": {
                "apiVersion": "v1",
                "kind": "Pod",
                "namespace": meta["namespace"],
                "name": meta["name"],
                "uid": uid,
            },
            "type": "Warning",
            "reason": reason,
            "message": message,
            "source": {"component": "kubelet", "host": NODE_NAME},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        events = self.api.require("v1", "Event")
        try:
            self.api.create(events, event)
        except ApiError as exc:
            if exc.code != 409:
                raise

            def seen_again(current: Obj) -> Obj:
                current["count"] = int(current.get("count") or 1) + 1
                current["lastTimestamp"] = now
                return current

            self.api.mutate(events, meta["namespace"], name, seen_again)

    def _run_containers(self, rt: ResourceType, pod: Obj, uid: str, now: str) -> float | None:
        """A pod with real containers: start them, report what they do; the runtime wakes us on changes."""
        volumes = {
            str(v["name"]): self.runtime.volume_dir(uid, str(v["name"]))
            for v in (pod.get("spec") or {}).get("volumes") or []
            if "emptyDir" in v and v.get("name")
        }
        for path in volumes.values():
            path.mkdir(parents=True, exist_ok=True)
        meta = pod["metadata"]
        ip = self._address(pod, real=True)
        sandbox = PodSandbox(meta["namespace"], meta["name"], uid, ip, volumes)
        states, wake = self.runtime.sync(pod, sandbox)
        phase = "Running" if any(s.running or s.restart_count for s in states.values()) else "Pending"
        write_status(self.api, rt, pod, pod_status(pod, phase, now, real=states, ip=ip))
        return wake

    def _address(self, pod: Obj, *, real: bool = False) -> str:
        """The pod's address, kept for its life. A pod whose containers really run gets one whose ports are
        free on this machine (a real node's CNI never hands out an address in use)."""
        uid = str(pod["metadata"].get("uid", ""))
        with self._lock:
            known = self._addresses.get(uid)
        if known:
            return known
        ports = [
            int(p["containerPort"])
            for c in (pod.get("spec") or {}).get("containers") or []
            for p in c.get("ports") or []
            if "containerPort" in p
        ]
        address = pod_ip(pod, self._salt)
        attempt = 0
        while real and not _ports_free(address, ports) and attempt < 64:
            attempt += 1
            address = pod_ip(pod, self._salt, attempt)
        with self._lock:
            return self._addresses.setdefault(uid, address)

    def _elapsed(self, uid: str) -> float:
        now = time.monotonic()
        with self._lock:
            return now - self._bound_at.setdefault(uid, now)

    def _already_synced(self, uid: str, pod: Obj) -> bool:
        """Whether the pod's spec, labels and annotations are those it last synced; records them if not (a
        kubelet's pod config passes on a change to these, never a status-only update)."""
        meta = pod["metadata"]
        key = stable_hash([pod.get("spec"), meta.get("labels"), meta.get("annotations")])
        with self._lock:
            seen, self._synced_as[uid] = self._synced_as.get(uid), key
        return seen == key

    def _forget(self, uid: str) -> None:
        with self._lock:
            self._bound_at.pop(uid, None)
            self._addresses.pop(uid, None)
            self._synced_as.pop(uid, None)

    def _confirm_deletion(self, rt: ResourceType, pod: Obj, uid: str) -> None:
        """Stop the pod's containers, then tell the server the pod is gone, as a kubelet does."""
        self._forget(uid)
        self.runtime.stop_pod(uid)
        if pod["metadata"].get("finalizers"):
            return
        try:
            self.api.delete(rt, pod["metadata"]["namespace"], pod["metadata"]["name"], grace_period=0)
        except ApiError as exc:
            if exc.code != 404:
                raise

    def _bind(self, rt: ResourceType, pod: Obj) -> None:
        if not self._node_known:
            self._node()
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": pod["metadata"]["name"], "namespace": pod["metadata"]["namespace"]},
            "target": {"apiVersion": "v1", "kind": "Node", "name": NODE_NAME},
        }
        try:
            self.api.post_subresource(
                rt, pod["metadata"]["namespace"], pod["metadata"]["name"], "binding", binding
            )
        except ApiError as exc:
            if exc.code not in (404, 409):  # gone, bound meanwhile, or being deleted
                raise

    # ------------------------------------------------------------------------------------------------ Node
    def _node(self) -> float:
        """Create the Node if missing and renew its heartbeat; the next look is one heartbeat later."""
        node_rt = self.api.require("v1", "Node")
        node = get_or_none(self.api, node_rt, None, NODE_NAME)
        if node is None:
            try:
                node = self.api.create(node_rt, _node_object())
            except ApiError as exc:
                if exc.code != 409:
                    raise
                node = self.api.get(node_rt, None, NODE_NAME)
        self._node_known = True
        ready: Obj = next(
            (c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), {}
        )
        beat = str(ready.get("lastHeartbeatTime") or "")
        port = self._server_port()
        reported = ((node.get("status") or {}).get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}
        stale = ready.get("status") != "True" or beat < rfc3339(time.time() - HEARTBEAT_SECONDS)
        if stale or reported.get("Port") != port:
            write_status(self.api, node_rt, node, _node_status(node, rfc3339(), port))
        return HEARTBEAT_SECONDS


def _node_object() -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": NODE_NAME,
            "labels": {
                "kubernetes.io/hostname": NODE_NAME,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
            },
        },
        "spec": {},
    }


def _waiting_message(request: LogRequest, reason: str) -> str:
    """The kubelet's words for a container with no log yet (kubelet_pods.go, validateContainerLogStatus)."""
    where = f'container "{request.container}" in pod "{request.pod}" is waiting to start'
    if reason == "ErrImagePull":
        return f"{where}: image can't be pulled"
    if reason == "ImagePullBackOff":
        return f"{where}: trying and failing to pull image"
    return f"{where}: {reason}"


def _run_to_read(logs: ContainerLogs | None, request: LogRequest) -> Path:
    """Which run's log a kubelet serves: the running one, else the last that ended; with `previous`, the
    last that ended (so in CrashLoopBackOff both are the same run, as on a node)."""
    runs = logs.runs if logs is not None else ()
    ended = runs[:-1] if logs is not None and logs.running else runs
    if request.options.previous:
        if not ended:
            raise KubeletRefusal(
                400, f'previous terminated container "{request.container}" in pod "{request.pod}" not found'
            )
        return ended[-1]
    if not runs:
        waiting = logs.waiting if logs is not None else None
        raise KubeletRefusal(400, _waiting_message(request, waiting[0] if waiting else "ContainerCreating"))
    return runs[-1]


def _node_status(node: Obj, now: str, kubelet_port: int) -> Obj:
    previous = {c.get("type"): c for c in (node.get("status") or {}).get("conditions") or []}

    def condition(cond_type: str, status: str, reason: str, message: str) -> dict[str, Any]:
        old = previous.get(cond_type) or {}
        since = old.get("lastTransitionTime") if old.get("status") == status else now
        return {
            "type": cond_type,
            "status": status,
            "reason": reason,
            "message": message,
            "lastHeartbeatTime": now,
            "lastTransitionTime": since or now,
        }

    return {
        "conditions": [
            condition(
                "MemoryPressure",
                "False",
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
            ),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            condition(
                "PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"
            ),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ],
        "addresses": [{"type": "InternalIP", "address": NODE_IP}, {"type": "Hostname", "address": NODE_NAME}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
        "allocatable": dict(_NODE_RESOURCES),
        "capacity": dict(_NODE_RESOURCES),
        "nodeInfo": {
            "kubeletVersion": "v1.37.0-drkit-lab",
            "operatingSystem": "linux",
            "architecture": "amd64",
            "containerRuntimeVersion": "none://lab",
            "osImage": "drkit lab",
            "kernelVersion": "",
            "kubeProxyVersion": "",
            "machineID": "",
            "systemUUID": "",
            "bootID": "",
        },
    }
