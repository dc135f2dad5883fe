"""A stand-in for the Seldon Core v2 operator and scheduler (Server, Model, Experiment, Pipeline).

What DR tooling has to cope with is reproduced faithfully: Models and Experiments carry finalizers that only
the scheduler removes, so with this controller down (`ControllerManager.set_down("seldon-scheduler", True)`)
their deletion hangs and their namespace stays Terminating (seed 003).

A Server owns a StatefulSet whose pods carry the real three containers (mlserver, agent, rclone) and a
Service in front of them; the control plane's StatefulSet controller makes the pods, the lab's kubelet runs
their `mlserver` container as a real MLServer under its memory limit, and the Server follows the
StatefulSet. A Model is Ready only when that MLServer has loaded it and says it is ready (the agent's part,
`drkit_lab.serving.agent`); before that its `storageUri` must hold an `MLmodel` file and its Server must be
Ready. The condition message says exactly what is wrong, with MLServer's own error when a load fails.
Everything goes through the Kubernetes API, as the real operator's does."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drkit_lab.apiserver.errors import ApiError
from drkit_lab.apiserver.types import ResourceType
from drkit_lab.containers.images import MLSERVER_IMAGE
from drkit_lab.containers.runtime import pod_volume_dir
from drkit_lab.controllers.base import Operator
from drkit_lab.controllers.conditions import condition_is_true, copy_conditions, put_condition, rfc3339
from drkit_lab.controllers.kubelet import kubelet_root
from drkit_lab.controllers.support import (
    Obj,
    add_finalizer,
    get_or_none,
    is_deleting,
    is_subset,
    owner_reference,
    remove_finalizer,
    write_status,
)
from drkit_lab.kubeapi import ApiClient
from drkit_lab.serving.agent import Agent, ModelAgent, Placement, StandInAgent
from drkit_lab.serving.environment import MLSERVER_VERSION
from drkit_lab.serving.mlserver import GRPC_PORT, HTTP_PORT
from drkit_lab.settings import LabSettings

GROUP = "mlops.seldon.io"
API_VERSION = "mlops.seldon.io/v1alpha1"
MODEL_FINALIZER = "seldon.model.finalizer"
EXPERIMENT_FINALIZER = "seldon.experiment.finalizer"
PIPELINE_FINALIZER = "seldon.pipeline.finalizer"
FINALIZERS = {"Model": MODEL_FINALIZER, "Experiment": EXPERIMENT_FINALIZER, "Pipeline": PIPELINE_FINALIZER}
SERVER_CONTAINERS = (
    ("rclone", "rclone/rclone:1.68.2"),
    ("agent", "seldonio/seldon-agent:2.9.0"),
    ("mlserver", f"{MLSERVER_IMAGE}:{MLSERVER_VERSION}"),
)
MODELS_VOLUME = "mlserver-models"
MODELS_MOUNT = "/mnt/agent/models"
MLMODEL = "MLmodel"


@dataclass(frozen=True)
class Resolved:
    """Where a storage URI lives on this machine, or why it cannot be resolved."""

    path: Path | None
    problem: str | None = None


def resolve_storage_uri(uri: str, settings: LabSettings) -> Resolved:
    """Map a model storage URI to a local directory the lab can inspect.

    Absolute paths and file:// are local; `mlflow-artifacts:/<p>` is under the MLflow artifacts dir; a prefix
    in settings.storage_roots (e.g. `s3://mlflow-artifacts/`) maps onto its directory; anything else is not
    mapped.
    """
    if uri.startswith("file://"):
        return Resolved(Path(uri.removeprefix("file://")))
    if uri.startswith("/"):
        return Resolved(Path(uri))
    roots: list[tuple[str, Path]] = sorted(settings.storage_roots.items(), key=lambda kv: -len(kv[0]))
    if settings.mlflow_artifacts_dir is not None:
        roots.append(("mlflow-artifacts:", settings.mlflow_artifacts_dir))
    for prefix, root in roots:
        if uri.startswith(prefix):
            relative = uri.removeprefix(prefix).strip("/")
            path = (root / relative).resolve()
            if not path.is_relative_to(root.resolve()):
                return Resolved(None, f"storage URI {uri} leaves its storage root")
            return Resolved(path)
    scheme = uri.split("://", 1)[0] + "://" if "://" in uri else uri.split(":", 1)[0] + ":"
    return Resolved(None, f"storage URI scheme {scheme} is not mapped in this lab")


def storage_problem(uri: str, settings: LabSettings) -> str | None:
    """Why a Model with this storageUri cannot load (None when an MLmodel file is there)."""
    if not uri:
        return "spec.storageUri is empty"
    resolved = resolve_storage_uri(uri, settings)
    if resolved.path is None:
        return resolved.problem
    if not (resolved.path / MLMODEL).is_file():
        return f"no {MLMODEL} file at {uri} (looked in {resolved.path})"
    return None


class SeldonController(Operator):
    """The Seldon Core v2 operator + scheduler pair (see the module docstring)."""

    name = "seldon-scheduler"
    watches = (
        (GROUP, "Server"),
        (GROUP, "Model"),
        (GROUP, "Experiment"),
        (GROUP, "Pipeline"),
        ("apps", "StatefulSet"),
    )

    def __init__(self, api: ApiClient, settings: LabSettings) -> None:
        super().__init__(api, settings)
        self._lock = threading.Lock()
        self._since: dict[tuple[str, str], float] = {}  # (uid, what) -> monotonic time first seen
        # (namespace, experiment) -> the Models it names, as last reconciled: a Model's change wakes only
        # the Experiments that name it (the scheduler's own bookkeeping; a namespace-wide refresh per Model
        # is quadratic at a thousand Models).
        self._experiment_models: dict[tuple[str, str], frozenset[str]] = {}
        self.agent: Agent = (
            ModelAgent(self._loaded) if settings.model_loading == "mlserver" else StandInAgent()
        )

    def _loaded(self, placement: Placement) -> None:
        model_rt = self._rt("Model")
        if model_rt is not None:
            self.wake((model_rt, placement.namespace, placement.model))

    def close(self) -> None:
        self.agent.close()
        super().close()

    @property
    def _poll(self) -> float:
        """How often a waiting object is looked at again (dependencies are in other objects)."""
        return max(0.05, min(self.settings.model_ready_delay, self.settings.workload_ready_delay) / 2)

    def _elapsed(self, obj: Obj, what: str) -> float:
        key = (obj["metadata"]["uid"], what)
        now = time.monotonic()
        with self._lock:
            started = self._since.setdefault(key, now)
        return now - started

    def _forget(self, obj: Obj, what: str) -> None:
        with self._lock:
            self._since.pop((obj["metadata"]["uid"], what), None)

    def _rt(self, kind: str) -> ResourceType | None:
        return self.api.resource(API_VERSION, kind)

    def reconcile(self, rt: ResourceType, namespace: str | None, name: str) -> float | None:
        if rt.kind == "StatefulSet":
            return self._statefulset_changed(rt, namespace, name)
        obj = get_or_none(self.api, rt, namespace, name)
        if obj is None:
            return None
        if is_deleting(obj):
            return self._finalize(rt, obj)
        finalizer = FINALIZERS.get(rt.kind)
        if finalizer and finalizer not in (obj["metadata"].get("finalizers") or []):
            obj = add_finalizer(self.api, rt, obj, finalizer)
        if rt.kind == "Server":
            return self._server(rt, obj)
        if rt.kind == "Model":
            return self._model(rt, obj)
        if rt.kind == "Experiment":
            return self._experiment(rt, obj)
        if rt.kind == "Pipeline":
            return self._pipeline(rt, obj)
        return None

    def _finalize(self, rt: ResourceType, obj: Obj) -> float | None:
        """The scheduler unloads the object, then lets it go (after a short delay, as the real one does)."""
        finalizer = FINALIZERS.get(rt.kind)
        if not finalizer or finalizer not in (obj["metadata"].get("finalizers") or []):
            return None
        delay = self.settings.model_ready_delay / 2
        elapsed = self._elapsed(obj, "deleting")
        if elapsed < delay:
            return delay - elapsed
        remove_finalizer(self.api, rt, obj, finalizer)
        self._forget(obj, "deleting")
        self._forget(obj, "ready")
        if rt.kind == "Model":
            for placement in self.agent.forget(obj["metadata"]["uid"]):
                self.agent.unload(placement)
            server = (obj.get("spec") or {}).get("server")
            if server:
                self._wake_server(obj["metadata"]["namespace"], server)
            self._wake_experiments(obj["metadata"]["namespace"], obj["metadata"]["name"])
        elif rt.kind == "Experiment":
            with self._lock:
                self._experiment_models.pop((obj["metadata"]["namespace"], obj["metadata"]["name"]), None)
        return None

    # --------------------------------------------------------------------------------------------- Server
    def _server(self, rt: ResourceType, obj: Obj) -> float | None:
        sts_rt = self.api.require("apps/v1", "StatefulSet")  # a built-in kind
        namespace, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        replicas = int((obj.get("spec") or {}).get("replicas", 1))
        desired = self._server_statefulset(obj, replicas)
        service_rt = self.api.require("v1", "Service")
        if get_or_none(self.api, service_rt, namespace, name) is None:
            try:
                self.api.create(service_rt, self._server_service(obj))
            except ApiError as exc:
                if exc.code != 409:
                    raise
        sts = get_or_none(self.api, sts_rt, namespace, name)
        if sts is None:
            sts = self.api.create(sts_rt, desired)
        elif not is_subset(desired["spec"], sts["spec"]):  # a real server defaults more fields in

            def change(current: Obj) -> Obj:
                current["spec"] = desired["spec"]
                return current

            sts = self.api.mutate(sts_rt, namespace, name, change)
        sts_status: Obj = sts.get("status") or {}
        sts_ready = (
            sts_status.get("observedGeneration") == sts["metadata"].get("generation")
            and int(sts_status.get("readyReplicas", 0)) >= replicas
        )
        loaded = self._loaded_models(namespace, name)
        status: Obj = {"conditions": copy_conditions(obj)}
        now = rfc3339()
        if sts_ready:
            put_condition(status["conditions"], "StatefulSetReady", "True", "StatefulSetReady", "", now)
            put_condition(status["conditions"], "Ready", "True", "", "", now)
        else:
            message = f"StatefulSet {name}: {sts_status.get('readyReplicas', 0)}/{replicas} replicas ready"
            put_condition(
                status["conditions"], "StatefulSetReady", "False", "StatefulSetNotReady", message, now
            )
            put_condition(status["conditions"], "Ready", "False", "StatefulSetNotReady", message, now)
        body: Obj = {
            "conditions": status["conditions"],
            "replicas": replicas,
            "selector": f"seldon-server-name={name}",
            "loadedModels": loaded,
            "observedGeneration": obj["metadata"].get("generation", 1),
        }
        write_status(self.api, rt, obj, body)
        return None if sts_ready else self._poll

    def _server_statefulset(self, server: Obj, replicas: int) -> Obj:
        name = server["metadata"]["name"]
        labels = {
            "seldon-server-name": name,
            "app.kubernetes.io/name": "seldon-server",
            "app.kubernetes.io/managed-by": "seldon-core",
        }
        pod_spec: Obj = (server.get("spec") or {}).get("podSpec") or {}
        overrides = {str(c.get("name")): c for c in pod_spec.get("containers") or []}
        mount = {"name": MODELS_VOLUME, "mountPath": MODELS_MOUNT}
        containers: list[Obj] = []
        for c_name, image in SERVER_CONTAINERS:
            container: Obj = {"name": c_name, "image": image, "volumeMounts": [dict(mount)]}
            if c_name == "mlserver":  # as Seldon's ServerConfig `mlserver` runs it
                container["env"] = [
                    {"name": "MLSERVER_HTTP_PORT", "value": str(HTTP_PORT)},
                    {"name": "MLSERVER_GRPC_PORT", "value": str(GRPC_PORT)},
                    {"name": "MLSERVER_LOAD_MODELS_AT_STARTUP", "value": "false"},
                ]
                container["ports"] = [
                    {"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"},
                    {"name": "grpc", "containerPort": GRPC_PORT, "protocol": "TCP"},
                ]
                container["readinessProbe"] = {
                    "httpGet": {"path": "/v2/health/live", "port": HTTP_PORT, "scheme": "HTTP"},
                    "periodSeconds": 5,
                }
                container["resources"] = {"requests": {"memory": "1G"}, "limits": {"memory": "1G"}}
            if c_name in overrides and overrides[c_name].get("resources"):
                container["resources"] = overrides[c_name]["resources"]
            containers.append(container)
        return {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {
                "name": name,
                "namespace": server["metadata"]["namespace"],
                "labels": dict(labels),
                "ownerReferences": [owner_reference(server)],
            },
            "spec": {
                "replicas": replicas,
                "serviceName": name,
                "selector": {"matchLabels": {"seldon-server-name": name}},
                "template": {
                    "metadata": {"labels": dict(labels)},
                    "spec": {"containers": containers, "volumes": [{"name": MODELS_VOLUME, "emptyDir": {}}]},
                },
            },
        }

    def _server_service(self, server: Obj) -> Obj:
        """The Service in front of the Server's MLServers: what the API server's service proxy reaches."""
        name = server["metadata"]["name"]
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": name,
                "namespace": server["metadata"]["namespace"],
                "labels": {"seldon-server-name": name, "app.kubernetes.io/managed-by": "seldon-core"},
                "ownerReferences": [owner_reference(server)],
            },
            "spec": {
                "selector": {"seldon-server-name": name},
                "ports": [
                    {"name": "http", "port": HTTP_PORT, "targetPort": "http", "protocol": "TCP"},
                    {"name": "grpc", "port": GRPC_PORT, "targetPort": "grpc", "protocol": "TCP"},
                ],
            },
        }

    def _statefulset_changed(self, rt: ResourceType, namespace: str | None, name: str) -> float | None:
        sts = get_or_none(self.api, rt, namespace, name)
        if sts is None or namespace is None:
            return None
        for ref in sts["metadata"].get("ownerReferences") or []:
            if ref.get("kind") == "Server" and str(ref.get("apiVersion", "")).startswith(GROUP):
                self._refresh_server(namespace, ref["name"])
        return None

    def _refresh_server(self, namespace: str, name: str) -> None:
        server_rt = self._rt("Server")
        if server_rt is None:
            return
        server = get_or_none(self.api, server_rt, namespace, name)
        if server is not None and not is_deleting(server):
            self._server(server_rt, server)

    def _server_ready(self, namespace: str, name: str) -> bool:
        server_rt = self._rt("Server")
        server = get_or_none(self.api, server_rt, namespace, name) if server_rt else None
        return server is not None and not is_deleting(server) and condition_is_true(server, "Ready")

    def _loaded_models(self, namespace: str, server: str) -> int:
        model_rt = self._rt("Model")
        if model_rt is None:
            return 0
        models, _ = self.api.list(model_rt, namespace)
        return sum(
            1
            for m in models
            if (m.get("spec") or {}).get("server") == server and condition_is_true(m, "ModelReady")
        )

    # ---------------------------------------------------------------------------------------------- Model
    def _model_problem(self, model: Obj) -> tuple[str, str] | None:
        """(reason, message) that keeps the Model from loading, or None."""
        spec: Obj = model.get("spec") or {}
        namespace = model["metadata"]["namespace"]
        secret_name = spec.get("secretName")
        if secret_name:
            problem = self._secret_problem(namespace, str(secret_name))
            if problem:
                return "ModelFailed", problem
        problem = storage_problem(str(spec.get("storageUri") or ""), self.settings)
        if problem:
            return "ModelFailed", problem
        server = spec.get("server") or "mlserver"
        if not self._server_ready(namespace, str(server)):
            return "ScheduleFailed", f"server {server} not ready"
        return None

    def _secret_problem(self, namespace: str, secret_name: str) -> str | None:
        secret_rt = self.api.require("v1", "Secret")  # a built-in kind
        secret = get_or_none(self.api, secret_rt, namespace, secret_name)
        if secret is None:
            return f'secret "{secret_name}" not found in namespace {namespace}'
        keys = set((secret.get("data") or {}).keys()) | set((secret.get("stringData") or {}).keys())
        if len(keys) != 1:
            return f"Secret does not have 1 key {secret_name}"
        return None

    def _placement(self, model: Obj) -> Placement | str:
        """Where the agent loads this Model version: a ready replica of its Server (or why there is none)."""
        spec: Obj = model.get("spec") or {}
        namespace = model["metadata"]["namespace"]
        server = str(spec.get("server") or "mlserver")
        pods, _ = self.api.list(
            self.api.require("v1", "Pod"), namespace, label_selector=f"seldon-server-name={server}"
        )
        for pod in sorted(pods, key=lambda p: str(p["metadata"]["name"])):
            status: Obj = pod.get("status") or {}
            mlserver = next(
                (c for c in status.get("containerStatuses") or [] if c.get("name") == "mlserver"), None
            )
            if is_deleting(pod) or not status.get("podIP") or not (mlserver and mlserver.get("ready")):
                continue
            started = ((mlserver.get("state") or {}).get("running") or {}).get("startedAt")
            resolved = resolve_storage_uri(str(spec.get("storageUri") or ""), self.settings)
            assert resolved.path is not None  # _model_problem found the MLmodel there
            uid = str(pod["metadata"]["uid"])
            return Placement(
                namespace=namespace,
                model=model["metadata"]["name"],
                model_uid=model["metadata"]["uid"],
                generation=int(model["metadata"].get("generation", 1)),
                pod_uid=uid,
                pod_name=str(pod["metadata"]["name"]),
                container_run=f"{started}#{mlserver.get('restartCount', 0)}",
                pod_ip=str(status["podIP"]),
                repository=pod_volume_dir(kubelet_root(self.settings), uid, MODELS_VOLUME),
                name=model["metadata"]["name"],
                model_dir=resolved.path,
            )
        return f"no ready replica of server {server} to load the model on"

    def _oom_note(self, placement: Placement) -> str | None:
        """What the kubelet says when MLServer died under the load: OOMKilled, under which limit."""
        pod = get_or_none(self.api, self.api.require("v1", "Pod"), placement.namespace, placement.pod_name)
        if pod is None or pod["metadata"].get("uid") != placement.pod_uid:
            return None
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        mlserver: Obj = next((c for c in statuses if c.get("name") == "mlserver"), {})
        ended = (mlserver.get("lastState") or {}).get("terminated") or {}
        if ended.get("reason") != "OOMKilled":
            return None
        containers = (pod.get("spec") or {}).get("containers") or []
        spec: Obj = next((c for c in containers if c.get("name") == "mlserver"), {})
        limit = ((spec.get("resources") or {}).get("limits") or {}).get("memory", "none")
        return (
            f"the mlserver container of pod {placement.pod_name} was OOMKilled while loading it "
            f"(memory limit {limit}; exit code {ended.get('exitCode')}): "
            "the model needs more memory than the Server's limit leaves"
        )

    def _model(self, rt: ResourceType, obj: Obj) -> float | None:
        spec: Obj = obj.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        problem = self._model_problem(obj)
        now = rfc3339()
        status: Obj = {"conditions": copy_conditions(obj)}
        requeue: float | None = None
        ready = False
        server = str(spec.get("server") or "mlserver")
        if problem is None:
            placement = self._placement(obj)
            if isinstance(placement, str):
                problem = ("ScheduleFailed", placement)
            else:
                outcome = self.agent.result(placement)
                if outcome is None:
                    message = f"Model is loading on server {server} (replica pod {placement.pod_ip})"
                    put_condition(
                        status["conditions"], "ModelReady", "False", "ModelProgressing", message, now
                    )
                    put_condition(status["conditions"], "Ready", "False", "ModelProgressing", message, now)
                elif not outcome.ok:
                    why = self._oom_note(placement) or outcome.message
                    problem = ("ModelFailed", f"MLServer on server {server} failed to load it: {why}")
                else:
                    ready = True
                    put_condition(status["conditions"], "ModelReady", "True", "ModelAvailable", "", now)
                    put_condition(status["conditions"], "Ready", "True", "ModelAvailable", "", now)
                    requeue = self._poll * 8  # the server may restart and lose it: the agent looks again
        if problem is not None:
            reason, message = problem
            put_condition(status["conditions"], "ModelReady", "False", reason, message, now)
            put_condition(status["conditions"], "Ready", "False", reason, message, now)
            requeue = self._poll * 4  # storage, Secrets and Servers change outside this object
        body: Obj = {
            "conditions": status["conditions"],
            "replicas": replicas,
            "availableReplicas": replicas if ready else 0,
            "selector": f"seldon-model-name={obj['metadata']['name']}",
            "observedGeneration": obj["metadata"].get("generation", 1),
        }
        was_ready = condition_is_true(obj, "ModelReady")
        write_status(self.api, rt, obj, body)
        if was_ready != ready:
            self._wake_server(obj["metadata"]["namespace"], server)
            self._wake_experiments(obj["metadata"]["namespace"], obj["metadata"]["name"])
        return requeue

    # ----------------------------------------------------------------------------------------- Experiment
    def _wake_server(self, namespace: str, name: str) -> None:
        """Its loaded-model count changed; wakes merge, so a burst of Models costs one look."""
        server_rt = self._rt("Server")
        if server_rt is not None:
            self.wake((server_rt, namespace, name))

    def _wake_experiments(self, namespace: str, model: str) -> None:
        exp_rt = self._rt("Experiment")
        if exp_rt is None:
            return
        with self._lock:
            named = [
                e
                for (ns, e), models in self._experiment_models.items()
                if ns == namespace and model in models
            ]
        for experiment in named:
            self.wake((exp_rt, namespace, experiment))

    def _models_not_ready(self, namespace: str, names: list[str]) -> list[str]:
        model_rt = self._rt("Model")
        missing = []
        for name in names:
            model = get_or_none(self.api, model_rt, namespace, name) if model_rt else None
            if model is None or is_deleting(model) or not condition_is_true(model, "Ready"):
                missing.append(name)
        return missing

    def _experiment(self, rt: ResourceType, obj: Obj) -> float | None:
        spec: Obj = obj.get("spec") or {}
        namespace = obj["metadata"]["namespace"]
        candidates = [str(c.get("name")) for c in spec.get("candidates") or [] if c.get("name")]
        mirror = (spec.get("mirror") or {}).get("name")
        with self._lock:
            named = {*candidates, *([str(mirror)] if mirror else [])}
            self._experiment_models[(namespace, obj["metadata"]["name"])] = frozenset(named)
        now = rfc3339()
        status: Obj = {"conditions": copy_conditions(obj)}
        waiting = self._models_not_ready(namespace, candidates)
        if waiting:
            message = "candidate models not ready: " + ", ".join(waiting)
            put_condition(
                status["conditions"], "CandidatesReady", "False", "CandidatesNotReady", message, now
            )
        else:
            put_condition(status["conditions"], "CandidatesReady", "True", "CandidatesReady", "", now)
        mirror_waiting = self._models_not_ready(namespace, [str(mirror)]) if mirror else []
        if mirror_waiting:
            message = f"mirror model not ready: {mirror}"
            put_condition(status["conditions"], "MirrorReady", "False", "MirrorNotReady", message, now)
        else:
            put_condition(status["conditions"], "MirrorReady", "True", "MirrorReady", "", now)
        all_waiting = waiting + mirror_waiting
        if all_waiting:
            message = "models not ready: " + ", ".join(all_waiting)
            put_condition(status["conditions"], "ExperimentReady", "False", "ModelsNotReady", message, now)
            put_condition(status["conditions"], "Ready", "False", "ModelsNotReady", message, now)
        else:
            put_condition(status["conditions"], "ExperimentReady", "True", "ExperimentReady", "", now)
            put_condition(status["conditions"], "Ready", "True", "ExperimentReady", "", now)
        body: Obj = {
            "conditions": status["conditions"],
            "observedGeneration": obj["metadata"].get("generation", 1),
        }
        write_status(self.api, rt, obj, body)
        return self._poll * 4 if all_waiting else None

    # ------------------------------------------------------------------------------------------- Pipeline
    def _pipeline(self, rt: ResourceType, obj: Obj) -> float | None:
        spec: Obj = obj.get("spec") or {}
        steps = [str(step.get("name")) for step in spec.get("steps") or [] if step.get("name")]
        waiting = self._models_not_ready(obj["metadata"]["namespace"], steps)
        now = rfc3339()
        status: Obj = {"conditions": copy_conditions(obj)}
        if waiting:
            message = "models not ready: " + ", ".join(waiting)
            put_condition(status["conditions"], "ModelsReady", "False", "ModelsNotReady", message, now)
            put_condition(status["conditions"], "PipelineReady", "False", "ModelsNotReady", message, now)
            put_condition(status["conditions"], "Ready", "False", "ModelsNotReady", message, now)
        else:
            for cond_type in ("ModelsReady", "PipelineReady", "Ready"):
                put_condition(status["conditions"], cond_type, "True", "Ready", "", now)
        body: dict[str, Any] = {
            "conditions": status["conditions"],
            "observedGeneration": obj["metadata"].get("generation", 1),
        }
        write_status(self.api, rt, obj, body)
        return self._poll * 4 if waiting else None
