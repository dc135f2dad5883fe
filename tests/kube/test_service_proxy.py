"""The service proxy: its paths, and the API server's own refusals told apart from the backend's answers.

The bodies are as the two servers send them: the API server's Status objects (kubernetes
staging/src/k8s.io/apiserver, responsewriters) and MLServer 1.7.1's `{"error": ...}` and FastAPI's 422.
`Cluster.proxy` is driven against a local HTTP server that answers proxy paths with those recorded bodies
(the end-to-end run through a real kube-apiserver in front of a real MLServer belongs to the lab's serving).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from drkit.kube import (
    NO_RETRY,
    Cluster,
    ClusterConfig,
    Forbidden,
    NotFound,
    RetryPolicy,
    ServerError,
    ServiceRef,
    api_server_status,
    service_proxy_path,
)
from drkit_lab.kubeconfig import render_kubeconfig, write_kubeconfig


def status(code: int, reason: str, message: str) -> bytes:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message}
    return json.dumps({**body, "reason": reason, "code": code}).encode()


NO_ENDPOINTS = status(503, "ServiceUnavailable", 'no endpoints available for service "seldon-mesh"')
NO_SERVICE = status(404, "NotFound", 'services "seldon-mesh" not found')
FORBIDDEN = status(
    403,
    "Forbidden",
    'services "seldon-mesh" is forbidden: User "system:serviceaccount:drill:drkit" cannot create resource '
    '"services/proxy" in API group "" in the namespace "seldon-mesh"',
)
SCHEMA_ERROR = json.dumps(
    {
        "error": "mlflow.exceptions.MlflowException: Failed to enforce schema of data "
        "'[[0. 0. 0. 0. 1. 1. 1. 1.]]' with schema '[Tensor('float64', (-1, 4))]'. "
        "Error: Shape of input (1, 8) does not match expected shape (-1, 4)."
    }
).encode()
NOT_FOUND_MODEL = b'{"error":"Model iris not found"}'
FASTAPI_422 = b'{"detail":[{"type":"missing","loc":["body","inputs",0,"data"],"msg":"Field required"}]}'


@pytest.mark.parametrize(
    ("service", "path", "expected"),
    [
        (
            ServiceRef("seldon-mesh", "seldon-mesh", 80, "http"),
            "v2/models/iris/infer",
            "/api/v1/namespaces/seldon-mesh/services/http:seldon-mesh:80/proxy/v2/models/iris/infer",
        ),
        (
            ServiceRef("models", "mlserver", "http"),
            "/v2/health/ready",
            "/api/v1/namespaces/models/services/mlserver:http/proxy/v2/health/ready",
        ),
        (
            ServiceRef("models", "mlserver", 9000, "https"),
            "",
            "/api/v1/namespaces/models/services/https:mlserver:9000/proxy/",
        ),
    ],
)
def test_proxy_paths(service: ServiceRef, path: str, expected: str) -> None:
    assert service_proxy_path(service, path) == expected


@pytest.mark.parametrize(
    ("code", "body", "from_api_server"),
    [
        (503, NO_ENDPOINTS, True),
        (404, NO_SERVICE, True),
        (403, FORBIDDEN, True),
        (500, SCHEMA_ERROR, False),
        (404, NOT_FOUND_MODEL, False),
        (422, FASTAPI_422, False),
        (400, b"", False),  # MLServer's "not ready" has no body
        (502, b"<html>Bad Gateway</html>", False),
        (200, NO_SERVICE, False),  # a 2xx is always the backend's, whatever it looks like
    ],
)
def test_status_bodies_are_the_api_servers_and_everything_else_the_backends(
    code: int, body: bytes, from_api_server: bool
) -> None:
    assert (api_server_status(code, body) is not None) is from_api_server


@dataclass
class Recorded:
    """What the fake API server answers per path suffix, and what it was sent."""

    answers: dict[str, list[tuple[int, bytes]]] = field(default_factory=dict)
    seen: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def api_server() -> Iterator[tuple[str, Recorded]]:
    recorded = Recorded()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            recorded.seen.append((self.command, self.path, dict(self.headers), body))
            key = next((k for k in recorded.answers if self.path.endswith(k)), None)
            queue = recorded.answers.get(key or "", [])
            code, data = queue.pop(0) if len(queue) > 1 else (queue[0] if queue else (599, b""))
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", recorded
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def cluster_at(url: str, tmp_path: Path, retry: RetryPolicy = NO_RETRY) -> Cluster:
    kubeconfig = write_kubeconfig(
        tmp_path / "kubeconfig", render_kubeconfig(server=url, ca_pem=None, token="t0k")
    )
    return Cluster(
        ClusterConfig.from_env({"KUBECONFIG": str(kubeconfig)}),
        sleep=lambda _: None,
        retry=retry,
    )


MESH = ServiceRef("seldon-mesh", "seldon-mesh", 80)


def test_the_backends_errors_come_back_as_they_are(api_server: tuple[str, Recorded], tmp_path: Path) -> None:
    url, recorded = api_server
    recorded.answers["/infer"] = [(500, SCHEMA_ERROR)]
    request = {"inputs": [{"name": "input-0", "shape": [1, 8], "datatype": "FP64", "data": [0] * 8}]}
    with cluster_at(url, tmp_path, RetryPolicy(attempts=3, base_delay=0)) as cluster:
        answer = cluster.proxy(
            "POST",
            MESH,
            "v2/models/iris/infer",
            body=request,
            headers={"Seldon-Model": "iris"},
            repeatable=True,
        )
    assert answer.status == 500
    assert json.loads(answer.body) == json.loads(SCHEMA_ERROR)
    (method, path, headers, body) = recorded.seen[0]
    assert len(recorded.seen) == 1  # the backend's 5xx is its verdict: not retried
    assert (method, path) == (
        "POST",
        "/api/v1/namespaces/seldon-mesh/services/seldon-mesh:80/proxy/v2/models/iris/infer",
    )
    assert headers["Seldon-Model"] == "iris"
    assert json.loads(body) == request


def test_forbidden_names_the_services_proxy_rule(api_server: tuple[str, Recorded], tmp_path: Path) -> None:
    url, recorded = api_server
    recorded.answers["/infer"] = [(403, FORBIDDEN)]
    with cluster_at(url, tmp_path) as cluster, pytest.raises(Forbidden) as caught:
        cluster.proxy("POST", MESH, "v2/models/iris/infer", body={"inputs": []})
    assert "may not create services/proxy in namespace seldon-mesh" in caught.value.message
    assert (
        'add a Role rule {apiGroups: [""], resources: [services/proxy], verbs: [create]}'
        in caught.value.message
    )


def test_a_missing_service_is_not_found(api_server: tuple[str, Recorded], tmp_path: Path) -> None:
    url, recorded = api_server
    recorded.answers["/ready"] = [(404, NO_SERVICE)]
    with cluster_at(url, tmp_path) as cluster, pytest.raises(NotFound) as caught:
        cluster.proxy("GET", MESH, "v2/health/ready")
    assert (
        caught.value.message == 'Service seldon-mesh/seldon-mesh not found: services "seldon-mesh" not found'
    )


def test_no_endpoints_is_retried_and_then_says_so(api_server: tuple[str, Recorded], tmp_path: Path) -> None:
    url, recorded = api_server
    recorded.answers["/ready"] = [(503, NO_ENDPOINTS), (503, NO_ENDPOINTS), (200, b"")]
    with cluster_at(url, tmp_path, RetryPolicy(attempts=3, base_delay=0)) as cluster:
        assert cluster.proxy("GET", MESH, "v2/health/ready").status == 200
        assert len(recorded.seen) == 3
        recorded.answers["/ready"] = [(503, NO_ENDPOINTS)]
        with pytest.raises(ServerError) as caught:
            cluster.proxy("GET", MESH, "v2/health/ready")
    assert (
        "could not proxy to service seldon-mesh/seldon-mesh:80 (503): no endpoints available for service"
        in str(caught.value)
    )
    assert caught.value.hint is not None
    assert "no ready endpoint" in caught.value.hint
