"""The platform the scale benchmark tears down and rebuilds: N Seldon Models with their Experiments.

One namespace holds a Server and, per model i, five objects: the Model (with the storage Secret it names),
the Secret, an Experiment routing to the Model, a ConfigMap of its settings and a ServiceAccount, so N = 1,000
is 5,000 objects. Models and Experiments carry the Seldon scheduler's finalizers, which is what sticks when
the scheduler is gone (seed 003). Each Model's storageUri is one local artifact directory with an MLmodel
file; the lab's agent stands in for loading it (LabSettings.model_loading "stand-in"), so a thousand Models
cost the API server and the tools, not a thousand MLServer loads.

Written as one manifest file that drkit's `apply`/`delete` (`files:`) and the baseline's `kubectl apply -f` /
`kubectl delete -f` read. Not a kustomize base as the platform's own is: kustomize takes 78 s to render 5,000
objects (`kubectl kustomize`, one core), a cost of kustomize that would hide both tools'.
"""

from __future__ import annotations

import json
from pathlib import Path

SELDON = "mlops.seldon.io/v1alpha1"
SERVER = "mlserver"
OBJECTS_PER_MODEL = 5  # Model, Secret, Experiment, ConfigMap, ServiceAccount


def namespace_for(n: int) -> str:
    return f"scale-{n}"


def model_name(i: int) -> str:
    return f"model-{i:04d}"


def write_artifact(directory: Path) -> Path:
    """A model directory the lab accepts as an artifact (its MLmodel file); never loaded (stand-in agent)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "MLmodel").write_text(
        "artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.sklearn\n",
        encoding="utf-8",
    )
    return directory


def _doc(obj: dict[str, object]) -> str:
    return "---\n" + json.dumps(obj, separators=(",", ":")) + "\n"  # JSON is YAML; one line per object


def _per_model(i: int, namespace: str, artifact: Path) -> list[dict[str, object]]:
    name = model_name(i)
    meta = {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/part-of": "scale"}}
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {**meta, "name": f"{name}-storage"},
            "stringData": {"rclone.conf": f"[{name}]\ntype = local\n"},
        },
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {**meta, "name": f"{name}-settings"},
         "data": {"variant": name, "threshold": "0.5"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {**meta, "name": f"{name}-runner"}},
        {
            "apiVersion": SELDON,
            "kind": "Model",
            "metadata": meta,
            "spec": {
                "storageUri": str(artifact),
                "requirements": ["mlflow"],
                "server": SERVER,
                "secretName": f"{name}-storage",
            },
        },
        {
            "apiVersion": SELDON,
            "kind": "Experiment",
            "metadata": {**meta, "name": f"{name}-rollout"},
            "spec": {"default": name, "candidates": [{"name": name, "weight": 100}]},
        },
    ]  # fmt: skip


def write_base(directory: Path, n: int, artifact: Path) -> Path:
    """The N-model platform as `directory`/platform.yaml; returns that file."""
    namespace = namespace_for(n)
    directory.mkdir(parents=True, exist_ok=True)
    head = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {
            "apiVersion": SELDON,
            "kind": "Server",
            "metadata": {"name": SERVER, "namespace": namespace},
            "spec": {
                "serverConfig": "mlserver",
                "replicas": 1,
                "podSpec": {"containers": [{"name": "mlserver", "resources": {"limits": {"memory": "1Gi"}}}]},
            },
        },
    ]
    objects = [obj for i in range(n) for obj in _per_model(i, namespace, artifact)]
    path = directory / "platform.yaml"
    path.write_text("".join(_doc(o) for o in (*head, *objects)), encoding="utf-8")
    return path


def write_playbook(path: Path, n: int, context: str) -> Path:
    """drkit's playbook for the same procedure: delete, clear the stuck finalizers, apply and wait."""
    namespace = namespace_for(n)
    path.write_text(
        f"""\
apiVersion: drkit.io/v1
kind: Playbook
metadata:
  name: scale-{n}
  description: Tear down and rebuild {n} Seldon Models with their Experiments (bench/scale.py).
target: {{contexts: [{context}]}}
vars: {{platform: ./base/platform.yaml}}
phases:
  - name: teardown
    steps:
      - name: delete-platform
        delete: {{files: ["${{platform}}"], wait: false}}
      - name: unstick-finalizers
        clearFinalizers:
          namespaces: [{namespace}]
          kinds: [Model, Experiment]
          after: 0s
        timeout: 10m
  - name: rebuild
    steps:
      - name: apply-platform
        apply: {{files: ["${{platform}}"], wait: true}}
        timeout: 15m
""",
        encoding="utf-8",
    )
    return path
