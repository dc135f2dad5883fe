"""Server-side printing: the `Table` documents kubectl asks for when it prints objects for people.

kubectl get (without -o json/yaml) asks for `application/json;as=Table;g=meta.k8s.io;v=v1`; a real server
answers with columns per kind (a namespace's STATUS, a pod's READY) and, for custom resources, the CRD's
additionalPrinterColumns. Without this, `kubectl get ns` would print no STATUS column and runbooks that grep
for `Terminating` would not work against the lab.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from drkit_lab.apiserver.types import ResourceType

Obj = dict[str, Any]
Column = tuple[str, str, Callable[[Obj], Any]]  # name, type, cell


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def age(obj: Obj, now: datetime | None = None) -> str:
    """kubectl's short human duration since creationTimestamp: 45s, 3m12s, 5h, 2d."""
    created = obj.get("metadata", {}).get("creationTimestamp")
    if not created:
        return "<unknown>"
    then = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    seconds = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d"


def _get(obj: Obj, *path: str, default: Any = None) -> Any:
    node: Any = obj
    for part in path:
        if not isinstance(node, dict):
            return default
        node = node.get(part)
    return default if node is None else node


def _pod_ready(pod: Obj) -> str:
    statuses = _get(pod, "status", "containerStatuses", default=[])
    total = len(_get(pod, "spec", "containers", default=[])) or len(statuses)
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _pod_status(pod: Obj) -> str:
    if _get(pod, "metadata", "deletionTimestamp"):
        return "Terminating"
    return str(_get(pod, "status", "reason") or _get(pod, "status", "phase", default="Pending"))


def _service_ports(svc: Obj) -> str:
    ports = _get(svc, "spec", "ports", default=[])
    return ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


_BUILTIN_COLUMNS: dict[tuple[str, str], list[Column]] = {
    ("", "namespaces"): [("Status", "string", lambda o: _get(o, "status", "phase", default=""))],
    ("", "pods"): [
        ("Ready", "string", _pod_ready),
        ("Status", "string", _pod_status),
        (
            "Restarts",
            "string",
            lambda o: str(
                sum(s.get("restartCount", 0) for s in _get(o, "status", "containerStatuses", default=[]))
            ),
        ),
    ],
    ("apps", "deployments"): [
        (
            "Ready",
            "string",
            lambda o: (
                f"{_get(o, 'status', 'readyReplicas', default=0)}/{_get(o, 'spec', 'replicas', default=1)}"
            ),
        ),
        ("Up-to-date", "integer", lambda o: _get(o, "status", "updatedReplicas", default=0)),
        ("Available", "integer", lambda o: _get(o, "status", "availableReplicas", default=0)),
    ],
    ("apps", "statefulsets"): [
        (
            "Ready",
            "string",
            lambda o: (
                f"{_get(o, 'status', 'readyReplicas', default=0)}/{_get(o, 'spec', 'replicas', default=1)}"
            ),
        ),
    ],
    ("apps", "replicasets"): [
        ("Desired", "integer", lambda o: _get(o, "spec", "replicas", default=1)),
        ("Current", "integer", lambda o: _get(o, "status", "replicas", default=0)),
        ("Ready", "integer", lambda o: _get(o, "status", "readyReplicas", default=0)),
    ],
    ("batch", "jobs"): [
        (
            "Completions",
            "string",
            lambda o: (
                f"{_get(o, 'status', 'succeeded', default=0)}/{_get(o, 'spec', 'completions', default=1)}"
            ),
        ),
    ],
    ("", "services"): [
        ("Type", "string", lambda o: _get(o, "spec", "type", default="ClusterIP")),
        ("Cluster-IP", "string", lambda o: _get(o, "spec", "clusterIP", default="<none>")),
        ("Port(s)", "string", _service_ports),
    ],
    ("", "configmaps"): [
        ("Data", "integer", lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))
    ],
    ("", "secrets"): [
        ("Type", "string", lambda o: o.get("type", "Opaque")),
        ("Data", "integer", lambda o: len(o.get("data") or {})),
    ],
}

_SEGMENT = re.compile(
    r"\.([A-Za-z0-9_-]+)|\[\?\(@\.([A-Za-z0-9_.-]+)\s*==\s*['\"]([^'\"]*)['\"]\)\]|\[(\d+)\]"
)


def json_path(obj: Obj, path: str) -> Any:
    """The subset of JSONPath printer columns use: `.a.b`, `[0]`, `[?(@.type=="Ready")]`."""
    nodes: list[Any] = [obj]
    for match in _SEGMENT.finditer(path.strip().removeprefix("{").removesuffix("}")):
        field, filter_path, filter_value, index = match.groups()
        found: list[Any] = []
        for node in nodes:
            if field is not None and isinstance(node, dict) and field in node:
                found.append(node[field])
            elif filter_path is not None and isinstance(node, list):
                found.extend(
                    item
                    for item in node
                    if isinstance(item, dict) and str(_get(item, *filter_path.split("."))) == filter_value
                )
            elif index is not None and isinstance(node, list) and int(index) < len(node):
                found.append(node[int(index)])
        nodes = found
    return nodes[0] if nodes else None


def _path_cell(path: str) -> Callable[[Obj], Any]:
    return lambda obj: json_path(obj, path)


def _crd_columns(crd: Obj | None, version: str) -> list[Column]:
    if crd is None:
        return []
    spec = crd.get("spec") or {}
    entry: Obj = next((v for v in spec.get("versions") or [] if v.get("name") == version), {})
    columns = entry.get("additionalPrinterColumns") or spec.get("additionalPrinterColumns") or []
    out: list[Column] = []
    for column in columns:
        path = column.get("jsonPath", "")
        if path == ".metadata.creationTimestamp":
            out.append((column.get("name", "Age"), "date", age))
            continue
        out.append((column.get("name", ""), column.get("type", "string"), _path_cell(path)))
    return out


def columns_for(rt: ResourceType, crd: Obj | None) -> list[Column]:
    name: Column = ("Name", "string", lambda o: o["metadata"]["name"])
    if not rt.builtin:
        custom = _crd_columns(crd, rt.version)
        if any(c[2] is age for c in custom):
            return [name, *custom]
        return [name, *custom, ("Age", "date", age)] if custom else [name, ("Age", "date", age)]
    return [name, *_BUILTIN_COLUMNS.get(rt.storage_key, []), ("Age", "date", age)]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return str(value)
    return value


def table(columns: list[Column], items: list[Obj], resource_version: str, *, headers: bool = True) -> Obj:
    definitions = [
        {
            "name": name,
            "type": kind if kind != "date" else "string",
            "format": "name" if name == "Name" else "",
            "description": "",
            "priority": 0,
        }
        for name, kind, _ in columns
    ]
    rows = [
        {
            "cells": [_cell(cell(item)) for _, _, cell in columns],
            "object": {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": item.get("metadata", {}),
            },
        }
        for item in items
    ]
    doc: Obj = {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
    }
    doc["columnDefinitions"] = definitions if headers else None
    doc["rows"] = rows
    return doc
