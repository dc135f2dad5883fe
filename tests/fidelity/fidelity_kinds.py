"""Small builders for the objects and URLs scenarios use, so each scenario reads as its request sequence."""

from __future__ import annotations

import json
from typing import Any

from fidelity_planes import Client

Obj = dict[str, Any]
APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def core(c: Client, plural: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{c.ns}/{plural}" + (f"/{name}" if name else "")


def apps(c: Client, plural: str, name: str = "") -> str:
    return f"/apis/apps/v1/namespaces/{c.ns}/{plural}" + (f"/{name}" if name else "")


def widgets(c: Client, name: str = "") -> str:
    return f"/apis/fidelity.drkit.io/v1/namespaces/{c.ns}/widgets" + (f"/{name}" if name else "")


def configmap(name: str, labels: dict[str, str] | None = None, **data: str) -> Obj:
    meta: Obj = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def secret(name: str, **data: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data}


def pod(name: str, image: str = "example.invalid/app:1", containers: int = 1) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"containers": [{"name": f"c{i}", "image": image} for i in range(containers)]},
    }


def deployment(name: str, *containers: tuple[str, str]) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": n, "image": i} for n, i in containers]},
            },
        },
    }


def owner_ref(owner: Obj, *, block: bool = True) -> Obj:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "blockOwnerDeletion": block,
    }


def containers_of(obj: Obj) -> list[tuple[str, str]]:
    """The (name, image) pairs of a pod template or pod: what a merge by key decides, without defaults."""
    spec = obj["spec"]
    spec = spec.get("template", {}).get("spec", spec)
    return [(ct["name"], ct["image"]) for ct in spec["containers"]]


def yaml_of(obj: Obj) -> str:
    """JSON is YAML: kubectl and apply bodies accept it."""
    return json.dumps(obj)
