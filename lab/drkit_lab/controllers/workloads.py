"""The emulated control plane's workload controllers (kube-controller-manager's deployment, replicaset,
statefulset and job controllers): they turn workloads into Pods and report status computed from those Pods.

A Deployment owns one ReplicaSet per pod template (named after its pod-template-hash; older ones are scaled
to zero), a ReplicaSet and a StatefulSet own their Pods, a Job owns one Pod. The lab's kubelet makes Pods
Running/Ready (or Succeeded, for a Job's) after `settings.workload_ready_delay`; these controllers only count
them, as the real ones do. A Deployment that is not available `spec.progressDeadlineSeconds` (600 by
default, as on a real server) after its rollout started reports ProgressDeadlineExceeded, which kstatus reads
as Failed (a doomed pod template never gets
there: see `kubelet.template_failure`).

Part of the emulated server, so they act on its Store; on a real control plane kube-controller-manager
does all this and the lab runs only its operators.
"""

from __future__ import annotations

import random
import string
import threading
import time
from typing import Literal

from drkit_lab.apiserver.errors import ApiError
from drkit_lab.apiserver.store import Store
from drkit_lab.apiserver.types import ResourceType
from drkit_lab.controllers.base import ControlPlaneController
from drkit_lab.controllers.conditions import (
    ConditionStatus,
    condition_is_true,
    copy_conditions,
    rfc3339,
    set_condition,
)
from drkit_lab.controllers.support import (
    Obj,
    controller_of,
    get_or_none,
    is_deleting,
    owner_reference,
    stable_hash,
    write_status,
)
from drkit_lab.settings import LabSettings

POD_TEMPLATE_HASH = "pod-template-hash"
REVISION_HASH = "controller-revision-hash"
_DEFAULT_DEADLINE_S = 600.0  # the API server's default for spec.progressDeadlineSeconds

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
OWNER_KINDS = ("ReplicaSet", "StatefulSet", "Job")


def _set_rollout_conditions(holder: Obj, rollout: _Rollout, rs_name: str, now: str) -> None:
    for cond_type, (status, reason, message) in zip(
        ("Available", "Progressing"), _ROLLOUT_CONDITIONS[rollout], strict=True
    ):
        set_condition(holder, cond_type, status, reason, message.format(rs=rs_name), now)


def is_ready(pod: Obj) -> bool:
    return not is_deleting(pod) and condition_is_true(pod, "Ready")


def _phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")


class WorkloadControllers(ControlPlaneController):
    """Deployments, ReplicaSets, StatefulSets and Jobs (see the module docstring)."""

    name = "workload-controllers"
    unit = "workloads"
    watches = (
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "StatefulSet"),
        ("batch", "Job"),
        ("", "Pod"),
    )

    def __init__(self, store: Store, settings: LabSettings) -> None:
        super().__init__(store, settings)
        self._lock = threading.Lock()
        self._first_seen: dict[str, tuple[int, float]] = {}  # uid -> (generation, monotonic start)
        self._random = random.Random(settings.seed)  # noqa: S311 - pod name suffixes, not secrets

    def _rt(self, api_version: str, kind: str) -> ResourceType:
        rt = self.store.registry.by_kind(api_version, kind)
        assert rt is not None  # a built-in kind
        return rt

    def reconcile(self, rt: ResourceType, namespace: str | None, name: str) -> float | None:
        assert namespace is not None  # every workload kind is namespaced
        if rt.kind == "Pod":
            self._pod_changed(rt, namespace, name)
            return None
        obj = get_or_none(self.store, rt, namespace, name)
        if obj is None or is_deleting(obj):
            return None
        if rt.kind == "Deployment":
            return self._deployment(rt, obj)
        if rt.kind == "ReplicaSet":
            self._replicaset(rt, obj)
        elif rt.kind == "StatefulSet":
            self._statefulset(rt, obj)
        elif rt.kind == "Job":
            self._job(rt, obj)
        return None

    def _pod_changed(self, rt: ResourceType, namespace: str, name: str) -> None:
        """Recount the pod's owner; for a pod that is gone, every owner in its namespace (one may miss it)."""
        pod = get_or_none(self.store, rt, namespace, name)
        if pod is not None:
            ref = controller_of(pod)
            if ref is None or ref.get("kind") not in OWNER_KINDS:
                return
            owners = [(ref["kind"], ref["name"])]
        else:
            owners = [
                (kind, obj["metadata"]["name"])
                for kind, api_version in (
                    ("ReplicaSet", "apps/v1"),
                    ("StatefulSet", "apps/v1"),
                    ("Job", "batch/v1"),
                )
                for obj in self.store.list(self._rt(api_version, kind), namespace)[0]
            ]
        for kind, owner_name in owners:
            owner_rt = self._rt("batch/v1" if kind == "Job" else "apps/v1", kind)
            owner = get_or_none(self.store, owner_rt, namespace, owner_name)
            if owner is not None and not is_deleting(owner):
                self.reconcile(owner_rt, namespace, owner_name)

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

    def _owned(self, api_version: str, kind: str, owner: Obj) -> list[Obj]:
        items, _ = self.store.list(self._rt(api_version, kind), owner["metadata"]["namespace"])
        uid = owner["metadata"]["uid"]
        return [o for o in items if (controller_of(o) or {}).get("uid") == uid]

    def _suffix(self) -> str:
        with self._lock:
            return "".join(self._random.choices(string.ascii_lowercase + string.digits, k=5))

    def _create_pod(self, owner: Obj, name: str, template: Obj, labels: dict[str, str]) -> None:
        spec = dict(template.get("spec") or {})
        pod: Obj = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": owner["metadata"]["namespace"],
                "labels": dict(template.get("metadata", {}).get("labels") or {}) | labels,
                "annotations": dict(template.get("metadata", {}).get("annotations") or {}),
                "ownerReferences": [owner_reference(owner)],
            },
            "spec": spec,
            "status": {"phase": "Pending", "qosClass": "BestEffort"},
        }
        try:
            self.store.create(self._rt("v1", "Pod"), pod)
        except ApiError as exc:
            if exc.code not in (403, 404, 409):  # namespace terminating or gone; a pod of that name exists
                raise

    def _delete_pod(self, pod: Obj) -> None:
        if is_deleting(pod):
            return
        try:
            self.store.delete(self._rt("v1", "Pod"), pod["metadata"]["namespace"], pod["metadata"]["name"])
        except ApiError as exc:
            if exc.code != 404:
                raise

    def _set_replicas(self, rt: ResourceType, obj: Obj, replicas: int) -> None:
        def change(current: Obj) -> Obj | None:
            if int((current.get("spec") or {}).get("replicas", 1)) == replicas:
                return None
            current.setdefault("spec", {})["replicas"] = replicas
            return current

        self.store.mutate(rt, obj["metadata"]["namespace"], obj["metadata"]["name"], change)

    # ------------------------------------------------------------------------------------------ Deployment
    def _deployment(self, rt: ResourceType, obj: Obj) -> float | None:
        spec: Obj = obj.get("spec") or {}
        template: Obj = spec.get("template") or {}
        replicas = int(spec.get("replicas", 1))
        revision = stable_hash(template)
        rs_name = f"{obj['metadata']['name']}-{revision}"
        rs_rt = self._rt("apps/v1", "ReplicaSet")
        sets = self._owned("apps/v1", "ReplicaSet", obj)
        new_rs = next((rs for rs in sets if rs["metadata"]["name"] == rs_name), None)
        if new_rs is None:
            new_rs = self._create_replicaset(rs_rt, obj, rs_name, revision)
            if new_rs is None:
                return None
            sets.append(new_rs)
        elif int((new_rs.get("spec") or {}).get("replicas", 1)) != replicas:
            self._set_replicas(rs_rt, new_rs, replicas)
        for old in sets:
            if old is not new_rs and int((old.get("spec") or {}).get("replicas", 1)) != 0:
                self._set_replicas(rs_rt, old, 0)

        def count(rs: Obj, field: str) -> int:
            return int((rs.get("status") or {}).get(field) or 0)

        available = sum(count(rs, "availableReplicas") for rs in sets)
        updated = count(new_rs, "replicas")
        old_left = sum(count(rs, "replicas") for rs in sets if rs is not new_rs)
        elapsed = self._elapsed(obj)
        deadline = float((obj.get("spec") or {}).get("progressDeadlineSeconds") or _DEFAULT_DEADLINE_S)
        now = rfc3339()
        status: Obj = {
            "observedGeneration": obj["metadata"].get("generation", 1),
            "replicas": sum(count(rs, "replicas") for rs in sets),
            "updatedReplicas": updated,
            "readyReplicas": sum(count(rs, "readyReplicas") for rs in sets),
            "availableReplicas": available,
            "conditions": copy_conditions(obj),
        }
        if replicas > available:
            status["unavailableReplicas"] = replicas - available
        holder = {"status": status}
        requeue: float | None = None
        if count(new_rs, "availableReplicas") >= replicas and old_left == 0 and updated == replicas:
            _set_rollout_conditions(holder, "available", rs_name, now)
        elif elapsed < deadline:
            _set_rollout_conditions(holder, "progressing", rs_name, now)
            requeue = deadline - elapsed
        else:
            _set_rollout_conditions(holder, "timed-out", rs_name, now)
        write_status(self.store, rt, obj, status)
        return requeue

    def _create_replicaset(
        self, rs_rt: ResourceType, deployment: Obj, name: str, revision: str
    ) -> Obj | None:
        template: Obj = (deployment.get("spec") or {}).get("template") or {}
        replicas = int((deployment.get("spec") or {}).get("replicas", 1))
        labels = dict(template.get("metadata", {}).get("labels") or {}) | {POD_TEMPLATE_HASH: revision}
        selector = dict(((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
        rs_template = {
            "metadata": dict(template.get("metadata") or {}) | {"labels": labels},
            "spec": template.get("spec") or {},
        }
        body: Obj = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": deployment["metadata"]["namespace"],
                "labels": labels,
                "annotations": {"deployment.kubernetes.io/desired-replicas": str(replicas)},
                "ownerReferences": [owner_reference(deployment)],
            },
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": selector | {POD_TEMPLATE_HASH: revision}},
                "template": rs_template,
            },
        }
        try:
            return self.store.create(rs_rt, body)
        except ApiError as exc:
            if exc.code in (403, 404):  # the namespace is going away
                return None
            raise

    # ------------------------------------------------------------------------------------------ ReplicaSet
    def _replicaset(self, rt: ResourceType, rs: Obj) -> None:
        spec: Obj = rs.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        template: Obj = spec.get("template") or {}
        pods = [p for p in self._owned("v1", "Pod", rs) if not is_deleting(p)]
        for pod in pods[replicas:]:
            self._delete_pod(pod)
        pods = pods[:replicas]
        for _ in range(replicas - len(pods)):
            self._create_pod(rs, f"{rs['metadata']['name']}-{self._suffix()}", template, {})
        pods = [p for p in self._owned("v1", "Pod", rs) if not is_deleting(p)]
        ready = sum(1 for p in pods if is_ready(p))
        status = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        write_status(self.store, rt, rs, status)
        owner = controller_of(rs)
        if owner is not None and owner.get("kind") == "Deployment":
            deployment_rt = self._rt("apps/v1", "Deployment")
            deployment = get_or_none(self.store, deployment_rt, rs["metadata"]["namespace"], owner["name"])
            if deployment is not None and not is_deleting(deployment):
                self._deployment(deployment_rt, deployment)

    # ----------------------------------------------------------------------------------------- StatefulSet
    def _statefulset(self, rt: ResourceType, sts: Obj) -> None:
        spec: Obj = sts.get("spec") or {}
        template: Obj = spec.get("template") or {}
        replicas = int(spec.get("replicas", 1))
        name = sts["metadata"]["name"]
        revision = f"{name}-{stable_hash(template)}"
        wanted = {f"{name}-{index}" for index in range(replicas)}
        pods = {p["metadata"]["name"]: p for p in self._owned("v1", "Pod", sts) if not is_deleting(p)}
        for pod_name, pod in list(pods.items()):
            if pod_name not in wanted or (pod["metadata"].get("labels") or {}).get(REVISION_HASH) != revision:
                self._delete_pod(pod)
                del pods[pod_name]
        for index in range(replicas):
            pod_name = f"{name}-{index}"
            if pod_name not in pods:
                labels = {REVISION_HASH: revision, "statefulset.kubernetes.io/pod-name": pod_name}
                self._create_pod(sts, pod_name, template, labels)
        pods_now = [p for p in self._owned("v1", "Pod", sts) if not is_deleting(p)]
        ready = sum(1 for p in pods_now if is_ready(p))
        status: Obj = {
            "observedGeneration": sts["metadata"].get("generation", 1),
            "replicas": len(pods_now),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "currentReplicas": len(pods_now),
            "updatedReplicas": len(pods_now),
            "currentRevision": revision,
            "updateRevision": revision,
            "collisionCount": 0,
        }
        write_status(self.store, rt, sts, status)

    # ------------------------------------------------------------------------------------------------- Job
    def _job(self, rt: ResourceType, job: Obj) -> None:
        current: Obj = job.get("status") or {}
        if condition_is_true(job, "Complete") or condition_is_true(job, "Failed"):
            return
        pods = [p for p in self._owned("v1", "Pod", job) if not is_deleting(p)]
        succeeded = sum(1 for p in pods if _phase(p) == "Succeeded")
        failed = sum(1 for p in pods if _phase(p) == "Failed")
        active = [p for p in pods if _phase(p) not in ("Succeeded", "Failed")]
        if not pods:
            template: Obj = (job.get("spec") or {}).get("template") or {}
            uid = job["metadata"]["uid"]
            job_name = job["metadata"]["name"]
            labels = {
                "batch.kubernetes.io/controller-uid": uid,
                "batch.kubernetes.io/job-name": job_name,
                "controller-uid": uid,
                "job-name": job_name,
            }
            template = {
                "metadata": template.get("metadata") or {},
                "spec": {"restartPolicy": "Never"} | (template.get("spec") or {}),
            }
            self._create_pod(job, f"{job_name}-{self._suffix()}", template, labels)
            active = [{}]  # just created
        now = rfc3339()
        status: Obj = {
            "startTime": current.get("startTime", now),
            "active": len(active),
            "ready": sum(1 for p in active if p and is_ready(p)),
            "succeeded": succeeded,
            "failed": failed,
            "terminating": 0,
            "conditions": copy_conditions(job),
        }
        if succeeded >= int((job.get("spec") or {}).get("completions", 1) or 1):
            status.update(active=0, ready=0, completionTime=now)
            message = "Reached expected number of succeeded pods"
            holder: Obj = {"status": status}
            set_condition(holder, "SuccessCriteriaMet", "True", "CompletionsReached", message, now)
            set_condition(holder, "Complete", "True", "CompletionsReached", message, now)
        if not status["conditions"]:
            del status["conditions"]
        write_status(self.store, rt, job, status)
