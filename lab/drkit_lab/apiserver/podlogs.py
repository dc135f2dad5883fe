"""The `pods/log` subresource, answered as kube-apiserver answers it: by asking the pod's node's kubelet.

`GET /api/v1/namespaces/NS/pods/NAME/log?container=C&tailLines=N&previous=true&...` validates the options
(422, kube-apiserver's wording), finds the pod (404) and the container (400 `container C is not valid for pod
NAME`; without `container`, a pod of one container means that one), and, for a pod bound to a node, calls
`https://<node InternalIP>:<status.daemonEndpoints.kubeletEndpoint.Port>/containerLogs/NS/NAME/C?...` with the
API server's kubelet client certificate, verifying the kubelet against the lab CA, exactly what
kube-apiserver does with `--kubelet-client-certificate` and `--kubelet-certificate-authority`. The kubelet's
answer is relayed: its text on success; its 400 and 404 as BadRequest and NotFound with its text
(kube-apiserver's GenericHttpResponseChecker). A pod not yet bound to a node has an empty log.
"""

from __future__ import annotations

import http.client
import re
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from drkit_lab.apiserver.errors import ApiError, bad_request
from drkit_lab.apiserver.store import Store
from drkit_lab.apiserver.types import BUILTIN_TYPES, PODS
from drkit_lab.tls import PeerTls

NODES = next(t for t in BUILTIN_TYPES if t.kind == "Node")
_PATH = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods/(?P<name>[^/]+)/log/?$")
_TIMEOUT_S = 60.0
_MAX_ERROR_BYTES = 64 * 1024  # kube-apiserver reads at most this much of a kubelet's error body
_NUMBERS = ("tailLines", "sinceSeconds", "limitBytes")


@dataclass(frozen=True)
class LogTarget:
    namespace: str
    name: str


def parse_log_path(path: str) -> LogTarget | None:
    match = _PATH.match(path)
    return LogTarget(match["ns"], match["name"]) if match else None


def _validate(name: str, query: dict[str, str]) -> dict[str, str]:
    """The kubelet's query (kube-apiserver's LogLocation builds the same), after ValidatePodLogOptions."""
    numbers: dict[str, int] = {}
    for field in _NUMBERS:
        text = query.get(field)
        if text is None or text == "":
            continue
        try:
            numbers[field] = int(text)
        except ValueError:
            raise bad_request(f'{field}: invalid value "{text}": not an integer') from None
    problems = []
    if numbers.get("tailLines", 0) < 0:
        problems.append(
            f"tailLines: Invalid value: {numbers['tailLines']}: must be greater than or equal to 0"
        )
    if numbers.get("limitBytes", 1) < 1:
        problems.append(f"limitBytes: Invalid value: {numbers['limitBytes']}: must be greater than 0")
    if "sinceSeconds" in numbers and query.get("sinceTime"):
        problems.append("<nil>: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified")
    elif numbers.get("sinceSeconds", 1) < 1:
        problems.append(f"sinceSeconds: Invalid value: {numbers['sinceSeconds']}: must be greater than 0")
    if problems:
        joined = problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"
        raise ApiError(422, "Invalid", f'PodLogOptions "{name}" is invalid: {joined}')
    params: dict[str, str] = {}
    for flag in ("follow", "previous", "timestamps"):
        if query.get(flag) == "true":
            params[flag] = "true"
    if "sinceSeconds" in numbers:
        params["sinceSeconds"] = str(numbers["sinceSeconds"])
    if query.get("sinceTime"):
        params["sinceTime"] = query["sinceTime"]
    for field in ("tailLines", "limitBytes"):
        if field in numbers:
            params[field] = str(numbers[field])
    return params


def _container(pod: dict[str, Any], wanted: str) -> str:
    spec = pod.get("spec") or {}
    name = str((pod.get("metadata") or {}).get("name", ""))
    every = [
        str(c.get("name"))
        for key in ("initContainers", "containers", "ephemeralContainers")
        for c in spec.get(key) or []
    ]
    if wanted:
        if wanted not in every:
            raise bad_request(f"container {wanted} is not valid for pod {name}")
        return wanted
    containers = spec.get("containers") or []
    if len(containers) == 1:
        return str(containers[0].get("name"))
    if not containers:
        raise bad_request(f"a container name must be specified for pod {name}")
    raise bad_request(
        f"a container name must be specified for pod {name}, choose one of: [{' '.join(every)}]"
    )


def _kubelet_address(store: Store, node_name: str) -> tuple[str, int]:
    """The node's InternalIP (`--kubelet-preferred-address-types=InternalIP`) and its kubelet's port."""
    node = store.get(NODES, None, node_name)
    status = node.get("status") or {}
    address = next(
        (a.get("address") for a in status.get("addresses") or [] if a.get("type") == "InternalIP"), None
    )
    if not address:
        known = status.get("addresses") or []
        raise ApiError(500, "InternalError", f"no preferred addresses found; known addresses: {known}")
    port = int(((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port") or 10250)
    return str(address), port


def pod_log(store: Store, target: LogTarget, query: dict[str, str], kubelet: PeerTls | None) -> bytes:
    """The log's bytes, or the API server's error (see the module docstring)."""
    params = _validate(target.name, query)
    pod = store.get(PODS, target.namespace, target.name)
    container = _container(pod, query.get("container", ""))
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name:
        return b""  # kube-apiserver: no location yet, an empty stream
    host, port = _kubelet_address(store, str(node_name))
    path = f"/containerLogs/{target.namespace}/{target.name}/{container}"
    if params:
        path += "?" + urlencode(params)
    url = f"https://{host}:{port}{path}"
    if kubelet is None:
        raise ApiError(500, "InternalError", f'Get "{url}": the API server has no kubelet client certificate')
    context = ssl.create_default_context(cafile=str(kubelet.ca_cert))
    context.load_cert_chain(certfile=str(kubelet.cert), keyfile=str(kubelet.key))
    connection = http.client.HTTPSConnection(host, port, timeout=_TIMEOUT_S, context=context)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read() if response.status == 200 else response.read(_MAX_ERROR_BYTES)
    except (OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ApiError(
            500, "InternalError", f'Get "{url}": dial tcp {host}:{port}: connect: {reason}'
        ) from None
    finally:
        connection.close()
    if 200 <= response.status <= 206:
        return body
    text = body.decode("utf-8", errors="replace")
    if response.status == 400:
        raise bad_request(text)
    if response.status == 404:
        raise ApiError(404, "NotFound", text, details={"name": target.name, "kind": "pods/log"})
    raise ApiError(response.status, "InternalError" if response.status == 500 else "", text)
