"""Deployments, StatefulSets and Jobs that become ready after a delay, with Pods a `pods` check can read.

There is no kubelet: the controller writes the status a healthy rollout would reach (replica counts, the
Available/Progressing conditions kstatus reads, Running Pods with every container ready) once
`settings.workload_ready_delay` has passed since the generation it is rolling out was first seen. A pod
template annotated `lab.drkit.io/fail: ImagePullBackOff` (or an image tagged `:broken`) never becomes
available and hits ProgressDeadlineExceeded after three delays, which kstatus reads as Failed."""

from __future__ import annotations

import random
import string
import threading
import time
from typing import Any, Literal

from drkit.lab.apiserver.store import Store
from drkit.lab.apiserver.types import ResourceType
from drkit.lab.controllers.base import Controller
from drkit.lab.controllers.conditions import ConditionStatus, copy_conditions, rfc3339, set_condition
from drkit.lab.controllers.support import (
    Obj,
    get_or_none,
    is_deleting,
    owner_reference,
    stable_hash,
    write_status,
)
from drkit.lab.settings import LabSettings

FAIL_ANNOTATION = "lab.drkit.io/fail"
POD_TEMPLATE_HASH = "pod-template-hash"
_FAIL_DEADLINE_FACTOR = 3.0


_Rollout = Literal["progressing", "available", "timed-out"]
_Condition = tuple[ConditionStatus, str, str]  # status, reason, message (`{rs}`: the ReplicaSet's name)
# Available and Progressing as the Deployment controller writes them at each stage of a rollout.
_ROLLOUT_CONDITIONS: dict[_Rollout, tuple[_Condition, _Condition]] = {
    "progressing": (
        ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
        ("True", "ReplicaSetUpdated", 'ReplicaSet "{rs}" is progressing.'),
    ),
    "available": (
        ("True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
        ("True", "NewReplicaSetAvailable", 'ReplicaSet "{rs}" has successfully progressed.'),
    ),
    "timed-out": (
        ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
        ("False", "ProgressDeadlineExceeded", 'ReplicaSet "{rs}" has timed out progressing.'),
    ),
}


def _set_rollout_conditions(holder: Obj, rollout: _Rollout, rs_name: str, now: str) -> None:
    for cond_type, (status, reason, message) in zip(
        ("Available", "Progressing"), _ROLLOUT_CONDITIONS[rollout], strict=True
    ):
        set_condition(holder, cond_type, status, reason, message.format(rs=rs_name), now)


def template_failure(template: Obj) -> str | None:
    """The waiting reason a pod template is doomed to (annotation or `:broken` image), or None."""
    reason = (template.get("metadata", {}).get("annotations") or {}).get(FAIL_ANNOTATION)
    if reason:
        return str(reason)
    for container in template.get("spec", {}).get("containers", []) or []:
        if ":broken" in str(container.get("image", "")):
            return "ImagePullBackOff"
    return None


def pod_status(template: Obj, failure: str | None, now: str) -> Obj:
    """What a kubelet reports for a pod of `template`: all containers running and ready, or stuck waiting."""
    containers = template.get("spec", {}).get("containers", []) or []
    ready = failure is None
    statuses = []
    for container in containers:
        state: Obj = (
            {"running": {"startedAt": now}}
            if ready
            else {"waiting": {"reason": failure, "message": f"lab: {failure} for {container.get('image')}"}}
        )
        statuses.append(
            {
                "name": container.get("name", ""),
                "image": container.get("image", ""),
                "imageID": "",
                "ready": ready,
                "started": ready,
                "restartCount": 0,
                "state": state,
            }
        )
    flag = "True" if ready else "False"
    conditions = [
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
        {"type": "Initialized", "status": "True", "lastTransitionTime": now},
        {"type": "ContainersReady", "status": flag, "lastTransitionTime": now},
        {"type": "Ready", "status": flag, "lastTransitionTime": now},
    ]
    return {
        "phase": "Running" if ready else "Pending",
        "conditions": conditions,
        "containerStatuses": statuses,
        "hostIP": "10.0.0.1",
        "podIP": "10.244.0.10",
        "startTime": now,
        "qosClass": "BestEffort",
    }


class WorkloadsController(Controller):
    """Rolls out Deployments, StatefulSets and Jobs (see the module docstring)."""

    name = "workloads"
    watches = (("apps", "Deployment"), ("apps", "StatefulSet"), ("batch", "Job"))

    def __init__(self, store: Store, settings: LabSettings) -> None:
        super().__init__(store, settings)
        self._lock = threading.Lock()
        self._first_seen: dict[str, tuple[int, float]] = {}  # uid -> (generation, monotonic start)
        self._random = random.Random(settings.seed)  # noqa: S311 - pod name suffixes, not secrets

    def reconcile(self, rt: ResourceType, namespace: str | None, name: str) -> float | None:
        obj = get_or_none(self.store, rt, namespace, name)
        if obj is None or is_deleting(obj):
            return None
        if rt.kind == "Deployment":
            return self._deployment(rt, obj)
        if rt.kind == "StatefulSet":
            return self._statefulset(rt, obj)
        if rt.kind == "Job":
            return self._job(rt, obj)
        return None

    # --------------------------------------------------------------------------------------------- helpers
    def _elapsed(self, obj: Obj) -> float:
        """Seconds since this generation of `obj` was first seen by the controller."""
        uid, generation = obj["metadata"]["uid"], int(obj["metadata"].get("generation", 1))
        now = time.monotonic()
        with self._lock:
            seen_generation, started = self._first_seen.get(uid, (None, now))
            if seen_generation != generation:  # a new rollout starts now
                started = now
                self._first_seen[uid] = (generation, started)
        return now - started

    def _pods_rt(self) -> ResourceType:
        rt = self.store.registry.by_kind("v1", "Pod")
        assert rt is not None  # a built-in kind
        return rt

    def _owned_pods(self, owner: Obj) -> list[Obj]:
        namespace = owner["metadata"]["namespace"]
        uid = owner["metadata"]["uid"]
        pods, _ = self.store.list(self._pods_rt(), namespace)
        return [
            p
            for p in pods
            if any(ref.get("uid") == uid for ref in p["metadata"].get("ownerReferences", []) or [])
        ]

    def _suffix(self) -> str:
        with self._lock:
            return "".join(self._random.choices(string.ascii_lowercase + string.digits, k=5))

    def _sync_pods(
        self, owner: Obj, names: list[str], template: Obj, revision: str, failure: str | None
    ) -> int:
        """Make the owner's pods exactly `names` at `revision`; return how many are ready."""
        pods_rt = self._pods_rt()
        namespace = owner["metadata"]["namespace"]
        wanted = set(names)
        for pod in self._owned_pods(owner):
            labels = pod["metadata"].get("labels") or {}
            if pod["metadata"]["name"] not in wanted or labels.get(POD_TEMPLATE_HASH) != revision:
                self.store.delete(pods_rt, namespace, pod["metadata"]["name"])
        existing = {p["metadata"]["name"] for p in self._owned_pods(owner)}
        now = rfc3339()
        for pod_name in names:
            if pod_name in existing:
                continue
            labels = dict(template.get("metadata", {}).get("labels") or {})
            labels[POD_TEMPLATE_HASH] = revision
            new_pod: Obj = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": pod_name,
                    "namespace": namespace,
                    "labels": labels,
                    "annotations": dict(template.get("metadata", {}).get("annotations") or {}),
                    "ownerReferences": [owner_reference(owner)],
                },
                "spec": dict(template.get("spec") or {}) | {"nodeName": "drkit-lab-node"},
                "status": pod_status(template, failure, now),
            }
            self.store.create(pods_rt, new_pod)
        return 0 if failure else len(names)

    # ------------------------------------------------------------------------------------------ Deployment
    def _deployment(self, rt: ResourceType, obj: Obj) -> float | None:
        spec: Obj = obj.get("spec") or {}
        template: Obj = spec.get("template") or {}
        replicas = int(spec.get("replicas", 1))
        failure = template_failure(template)
        revision = stable_hash(template)
        elapsed = self._elapsed(obj)
        delay = self.settings.workload_ready_delay
        status: Obj = {"conditions": copy_conditions(obj)}
        status["observedGeneration"] = obj["metadata"].get("generation", 1)
        now = rfc3339()
        rs_name = f"{obj['metadata']['name']}-{revision}"
        requeue: float | None = None
        holder = {"status": status}
        if elapsed < delay:
            ready = 0
            _set_rollout_conditions(holder, "progressing", rs_name, now)
            requeue = delay - elapsed
        else:
            names = [f"{rs_name}-{self._suffix()}" for _ in range(replicas)]
            current = [
                p["metadata"]["name"]
                for p in self._owned_pods(obj)
                if (p["metadata"].get("labels") or {}).get(POD_TEMPLATE_HASH) == revision
            ]
            names = (current + names)[:replicas]
            ready = self._sync_pods(obj, names, template, revision, failure)
            if failure is None:
                _set_rollout_conditions(holder, "available", rs_name, now)
            elif elapsed < delay * _FAIL_DEADLINE_FACTOR:
                _set_rollout_conditions(holder, "progressing", rs_name, now)
                requeue = delay * _FAIL_DEADLINE_FACTOR - elapsed
            else:
                _set_rollout_conditions(holder, "timed-out", rs_name, now)
        status.update(
            replicas=replicas if elapsed >= delay else 0,
            updatedReplicas=replicas if elapsed >= delay else 0,
            readyReplicas=ready,
            availableReplicas=ready,
        )
        if ready < replicas and elapsed >= delay:
            status["unavailableReplicas"] = replicas - ready
        write_status(self.store, rt, obj, status)
        return requeue

    # ----------------------------------------------------------------------------------------- StatefulSet
    def _statefulset(self, rt: ResourceType, obj: Obj) -> float | None:
        spec: Obj = obj.get("spec") or {}
        template: Obj = spec.get("template") or {}
        replicas = int(spec.get("replicas", 1))
        failure = template_failure(template)
        revision = f"{obj['metadata']['name']}-{stable_hash(template)}"
        elapsed = self._elapsed(obj)
        delay = self.settings.workload_ready_delay
        status: Obj = {
            "observedGeneration": obj["metadata"].get("generation", 1),
            "replicas": 0,
            "availableReplicas": 0,
            "readyReplicas": 0,
            "currentReplicas": 0,
            "updatedReplicas": 0,
            "currentRevision": revision,
            "updateRevision": revision,
            "collisionCount": 0,
        }
        if elapsed < delay:
            write_status(self.store, rt, obj, status)
            return delay - elapsed
        names = [f"{obj['metadata']['name']}-{index}" for index in range(replicas)]
        ready = self._sync_pods(obj, names, template, revision, failure)
        status.update(
            replicas=replicas,
            currentReplicas=replicas,
            updatedReplicas=replicas,
            readyReplicas=ready,
            availableReplicas=ready,
        )
        write_status(self.store, rt, obj, status)
        return None

    # ------------------------------------------------------------------------------------------------- Job
    def _job(self, rt: ResourceType, obj: Obj) -> float | None:
        current: Obj = obj.get("status") or {}
        if current.get("succeeded") or current.get("failed"):
            return None
        elapsed = self._elapsed(obj)
        delay = self.settings.workload_ready_delay
        now = rfc3339()
        if elapsed < delay:
            if current.get("active") != 1:
                write_status(self.store, rt, obj, {"active": 1, "startTime": now, "ready": 0})
            return delay - elapsed
        status: Obj = {
            "startTime": current.get("startTime", now),
            "completionTime": now,
            "succeeded": 1,
            "ready": 0,
            "terminating": 0,
        }
        holder: dict[str, Any] = {"status": status}
        set_condition(
            holder,
            "SuccessCriteriaMet",
            "True",
            "CompletionsReached",
            "Reached expected number of succeeded pods",
            now,
        )
        set_condition(
            holder, "Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods", now
        )
        write_status(self.store, rt, obj, status)
        return None
