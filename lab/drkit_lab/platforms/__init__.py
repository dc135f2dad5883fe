"""Demo platforms `drkit lab up --platform NAME` installs, and the CRDs every lab platform needs.

A platform install plays the part of the cluster's original bootstrap (whoever built the platform before drkit
was ever run). It is an ordinary API client (the lab's `ApiClient`, never drkit), so it installs into any API
server it is given a URL and a credential for.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML

from drkit_lab.apiserver.errors import ApiError
from drkit_lab.errors import LabUsageError
from drkit_lab.kubeapi import ApiClient

if TYPE_CHECKING:
    from drkit_lab.runner import Lab

CRD_DIR = Path(__file__).parent / "crds"
# Namespaces every real cluster has from the start.
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

Progress = Callable[[str], None]


def load_yaml_documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in YAML(typ="safe", pure=True).load_all(text) if isinstance(doc, dict)]


def create_or_replace(api: ApiClient, obj: dict[str, Any]) -> dict[str, Any]:
    """Create `obj`, or replace the spec, labels and annotations of the existing one (idempotent)."""
    rt = api.resource(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    if rt is None:
        raise LabUsageError(f"the cluster does not serve {obj.get('apiVersion')} {obj.get('kind')}")
    body = {k: v for k, v in obj.items() if k != "status"}
    meta = body.get("metadata", {})
    try:
        return api.create(rt, body)
    except ApiError as exc:
        if exc.code != 409:
            raise
    namespace = meta.get("namespace") if rt.namespaced else None

    def _replace(current: dict[str, Any]) -> dict[str, Any]:
        for key, value in body.items():
            if key not in ("metadata", "apiVersion", "kind"):
                current[key] = value
        for key in ("labels", "annotations"):
            if key in meta:
                current["metadata"][key] = meta[key]
        return current

    return api.mutate(rt, namespace, meta["name"], _replace)


def ensure_system_namespaces(api: ApiClient) -> None:
    namespaces = api.require("v1", "Namespace")
    for name in SYSTEM_NAMESPACES:
        try:
            api.create(namespaces, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        except ApiError as exc:
            if exc.code != 409:
                raise


def install_crds(api: ApiClient) -> list[str]:
    """Install every CRD under platforms/crds (Seldon, Argo, SealedSecrets); return their names."""
    names: list[str] = []
    for path in sorted(CRD_DIR.glob("*.yaml")):
        for doc in load_yaml_documents(path.read_text(encoding="utf-8")):
            if doc.get("kind") == "CustomResourceDefinition":
                create_or_replace(api, doc)
                names.append(doc["metadata"]["name"])
    return names


def install_platform(name: str, lab: Lab, *, progress: Progress) -> None:
    """Install platform `name` into a started lab."""
    if name == "financial-mlops":
        from drkit_lab.platforms.financial_mlops import install  # noqa: PLC0415 (imports platform code on use)

        install(lab, progress=progress)
        return
    raise LabUsageError(f"unknown lab platform {name!r}", hint="the lab knows: financial-mlops")
