"""Reaching a Service through the API server's proxy, and telling the API server's answers from the backend's.

`/api/v1/namespaces/NS/services/[SCHEME:]NAME:PORT/proxy/PATH` reaches the Service's backend with nothing
but a kubeconfig: no port-forward, no ingress, no route into the pod network. The price is that two servers
answer on one connection. The API server answers itself when it cannot proxy (the Service does not exist, it
has no ready endpoint, the backend refused the connection, RBAC denies `services/proxy`), always with a
`kind: Status` object; everything else is the backend's, whatever its status code. Pure: no requests here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from drkit.kube.refs import ResourceInfo

# The subresource RBAC checks for proxied requests; its verb follows the HTTP method (GET: get, POST: create).
SERVICES_PROXY = ResourceInfo("", "v1", "Service", "services/proxy", namespaced=True)
_VERBS = {
    "GET": "get",
    "HEAD": "get",
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}

Scheme = Literal["http", "https"]
SCHEMES: tuple[Scheme, ...] = ("http", "https")


@dataclass(frozen=True)
class ServiceRef:
    """A Service port as the proxy addresses it: `port` is a number or the port's name."""

    namespace: str
    name: str
    port: int | str
    scheme: Scheme | None = None  # None: the API server's default, http

    def __str__(self) -> str:
        scheme = f"{self.scheme}://" if self.scheme else ""
        return f"service {scheme}{self.namespace}/{self.name}:{self.port}"


@dataclass(frozen=True)
class ProxyAnswer:
    """The backend's answer, as it gave it."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def service_proxy_path(service: ServiceRef, path: str = "") -> str:
    """The API path that proxies to `path` (e.g. `v2/health/ready`) on the Service's port."""
    scheme = f"{service.scheme}:" if service.scheme else ""
    target = quote(f"{scheme}{service.name}:{service.port}", safe=":")
    base = f"/api/v1/namespaces/{quote(service.namespace, safe='')}/services/{target}/proxy"
    rest = path.lstrip("/")
    return f"{base}/{rest}" if rest else f"{base}/"


def proxy_verb(method: str) -> str:
    """The RBAC verb the API server checks on `services/proxy` for this HTTP method."""
    return _VERBS.get(method.upper(), method.lower())


def api_server_status(status: int, body: object) -> Mapping[str, Any] | None:
    """The API server's own `Status` object when it, not the backend, answered with an error; else None.

    The API server refuses with a `kind: Status`, `apiVersion: v1` JSON body; a model server's errors look
    different (MLServer: `{"error": "..."}`, FastAPI: `{"detail": [...]}`), and a 2xx is always the backend's.
    """
    if status < 400:
        return None
    text = body.decode("utf-8", "replace") if isinstance(body, bytes | bytearray) else str(body or "")
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None
    if isinstance(data, Mapping) and data.get("kind") == "Status" and data.get("apiVersion") == "v1":
        return data
    return None
