"""Which cluster and which user a kubeconfig context names, read from the file without connecting.

A destructive prompt must say where it would act (the context and its API server) and an audit record who
acted (the kubeconfig's user entry): both come from the kubeconfig itself, before any credential is loaded
(loading one may run an exec plugin) and before any request. Only names and the server URL are read here;
no token, password or key ever leaves this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from drkit.kube.config import IN_CLUSTER_CONTEXT, ClusterConfig, current_context


@dataclass(frozen=True)
class ContextIdentity:
    context: str
    server: str  # the API server URL; "" when the kubeconfig does not say
    user: str  # the name of the context's user entry; "" when it names none

    @property
    def where(self) -> str:
        """`context 'prod' (API server https://...)`, for prompts and refusals."""
        server = f" (API server {self.server})" if self.server else " (API server unknown)"
        return f"context {self.context!r}{server}"


def _documents(paths: tuple[Path, ...]) -> list[dict[str, Any]]:
    yaml = YAML(typ="safe", pure=True)
    docs: list[dict[str, Any]] = []
    for path in paths:
        try:
            doc = yaml.load(path.read_text(encoding="utf-8"))
        except Exception:  # noqa: S112 - current_context has already reported an unreadable file
            continue
        if isinstance(doc, dict):
            docs.append(doc)
    return docs


def _first_named(docs: list[dict[str, Any]], section: str, name: str) -> dict[str, Any]:
    """kubectl's merge rule: the first file that defines an entry of that name wins."""
    for doc in docs:
        for entry in doc.get(section) or ():
            if isinstance(entry, dict) and entry.get("name") == name:
                body = entry.get(section[:-1])  # clusters -> cluster, contexts -> context
                return body if isinstance(body, dict) else {}
    return {}


def describe_context(config: ClusterConfig) -> ContextIdentity:
    """The context drkit would use (checked to exist, as `current_context` does), its server and user."""
    context = current_context(config)
    if config.in_cluster:
        return ContextIdentity(
            IN_CLUSTER_CONTEXT, "https://kubernetes.default.svc", "the Pod's service account"
        )
    docs = _documents(config.kubeconfig)
    entry = _first_named(docs, "contexts", context)
    cluster = _first_named(docs, "clusters", str(entry.get("cluster") or ""))
    return ContextIdentity(context, str(cluster.get("server") or ""), str(entry.get("user") or ""))
