"""The `services/proxy` and `pods/proxy` subresources: an HTTP request relayed to a pod, as kube-apiserver
relays it, so a client with only a kubeconfig reaches what runs inside the cluster.

`/api/v1/namespaces/NS/services/[scheme:]NAME[:port]/proxy/PATH` picks a ready pod the Service selects (a
real server reads the Service's EndpointSlices, which its endpoint controller fills from the same selector
and readiness), maps the port to the pod's container port, and forwards method, query, body and headers
(but `Authorization`, which is the API server's). Errors are the API server's own, with its wording: the
Service missing (404), a port it does not have or no ready endpoint (503), the pod refusing the connection
(503 "error trying to reach service"). A backend's own answer, error or not, passes through unchanged.
"""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from drkit_lab.apiserver.errors import ApiError
from drkit_lab.apiserver.selectors import label_matcher
from drkit_lab.apiserver.store import Store
from drkit_lab.apiserver.types import BUILTIN_TYPES, PODS
from drkit_lab.podnet import Unreachable, local_address

SERVICES = next(t for t in BUILTIN_TYPES if t.kind == "Service")
_PATH = re.compile(
    r"^/api/v1/namespaces/(?P<ns>[^/]+)/(?P<kind>services|pods)/(?P<id>[^/]+)/proxy(?P<rest>/.*)?$"
)
_HOP_HEADERS = {"authorization", "connection", "keep-alive", "transfer-encoding", "upgrade", "host", "te"}
_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class ProxyTarget:
    namespace: str
    kind: str  # services | pods
    name: str
    scheme: str
    port: str  # a number or a port name, "" for the first
    path: str


@dataclass(frozen=True)
class Relayed:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def parse_proxy_path(path: str) -> ProxyTarget | None:
    match = _PATH.match(path)
    if match is None:
        return None
    parts = match["id"].split(":")
    if len(parts) == 3:
        scheme, name, port = parts
    elif len(parts) == 2:
        scheme, name, port = ("", *parts) if parts[0] not in ("http", "https") else (parts[0], parts[1], "")
    else:
        scheme, name, port = "", parts[0], ""
    return ProxyTarget(match["ns"], match["kind"], name, scheme or "http", port, match["rest"] or "/")


def _ready(pod: dict[str, object]) -> bool:
    status = pod.get("status") or {}
    assert isinstance(status, dict)
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def _container_port(pod: dict[str, object], target: object) -> int | None:
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    spec = pod.get("spec") or {}
    assert isinstance(spec, dict)
    for container in spec.get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target:
                return int(port["containerPort"])
    return None


def resolve(store: Store, target: ProxyTarget) -> tuple[str, int]:
    """The pod address and port a proxied request goes to, or the API server's error."""
    if target.kind == "pods":
        pod = store.get(PODS, target.namespace, target.name)
        port = _container_port(pod, target.port) if target.port else None
        ip = str((pod.get("status") or {}).get("podIP") or "")
        if not ip or port is None:
            raise ApiError(
                503, "ServiceUnavailable", f'pod "{target.name}" has no address or port to proxy to'
            )
        return ip, port
    service = store.get(SERVICES, target.namespace, target.name)
    spec = service.get("spec") or {}
    ports = spec.get("ports") or []
    chosen = None
    for port in ports:
        if not target.port or str(port.get("port")) == target.port or port.get("name") == target.port:
            chosen = port
            break
    if chosen is None:
        raise ApiError(
            503, "ServiceUnavailable", f'no service port {target.port} found for service "{target.name}"'
        )
    selector = ",".join(f"{k}={v}" for k, v in (spec.get("selector") or {}).items())
    matches = label_matcher(selector) if selector else None
    pods, _ = store.list(PODS, target.namespace)
    for pod in pods:
        if matches is None or not matches(pod) or not _ready(pod):
            continue
        ip = str((pod.get("status") or {}).get("podIP") or "")
        port_number = _container_port(pod, chosen.get("targetPort", chosen.get("port")))
        if ip and port_number is not None:
            return ip, port_number
    raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{target.name}"')


def relay(  # noqa: PLR0917 (one call site, the HTTP handler)
    store: Store,
    target: ProxyTarget,
    method: str,
    query: dict[str, str],
    headers: list[tuple[str, str]],
    body: bytes,
) -> Relayed:
    ip, port = resolve(store, target)
    if target.scheme != "http":
        raise ApiError(503, "ServiceUnavailable", f"the lab's proxy speaks http to pods, not {target.scheme}")
    try:
        address = local_address(ip)
    except Unreachable as exc:
        raise ApiError(503, "ServiceUnavailable", f"error trying to reach service: {exc}") from None
    path = target.path + (f"?{urlencode(query)}" if query else "")
    connection = http.client.HTTPConnection(address, port, timeout=_TIMEOUT_S)
    try:
        forwarded = {k: v for k, v in headers if k.lower() not in _HOP_HEADERS}
        connection.request(method, path, body=body or None, headers=forwarded)
        response = connection.getresponse()
        data = response.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ApiError(
            503,
            "ServiceUnavailable",
            f"error trying to reach service: dial tcp {ip}:{port}: connect: {reason}",
        ) from None
    finally:
        connection.close()
    kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_HEADERS | {"content-length"}]
    return Relayed(response.status, kept, data)
