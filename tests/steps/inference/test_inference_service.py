"""The `service:` mode: requests go through `Cluster.proxy`, and its refusals become the item's verdict.

A stand-in for the Cluster answers with recorded bodies (Cluster.proxy itself is tested against an HTTP
server in tests/kube/test_service_proxy.py); the run through a real API server is the lab's serving's.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from inference_support import context, probe

from drkit.context import Runtime
from drkit.kube import Forbidden, ProxyAnswer, ServerError, ServiceRef
from drkit.steps.base import StepStatus

MESH = {"namespace": "seldon-mesh", "name": "seldon-mesh", "port": 80}
REQUEST = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [1.0, 2.0, 3.0, 4.0]}]}
METADATA = {
    "name": "iris",
    "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, 4]}],
    "outputs": [],
}
ANSWER = {
    "model_name": "iris_1",
    "outputs": [{"name": "output-1", "shape": [1, 1], "datatype": "INT64", "data": [2]}],
}


class StandIn:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, ServiceRef, str, dict[str, str] | None]] = []

    def proxy(self, method: str, service: ServiceRef, path: str, **kwargs: Any) -> ProxyAnswer:
        self.calls.append((method, service, path, kwargs.get("headers")))
        answer = self.answers[path]
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        return ProxyAnswer(status, {}, json.dumps(body).encode() if body is not None else b"")


def attempt(runtime: Runtime, tmp_path: Any, stand_in: StandIn, **expect: object):  # type: ignore[no-untyped-def]
    body = {
        "service": MESH,
        "headers": {"Seldon-Model": "iris"},
        "model": "iris",
        "request": REQUEST,
        "expect": expect or {"outputs": [{"name": "output-1", "data": [2]}]},
    }
    ctx = dataclasses.replace(context(runtime, timeout=30), cluster=lambda: stand_in)
    return probe(body, tmp_path).attempt(ctx)


def healthy() -> dict[str, Any]:
    return {
        "v2/health/ready": (200, None),
        "v2/models/iris/ready": (200, None),
        "v2/models/iris": (200, METADATA),
        "v2/models/iris/infer": (200, ANSWER),
    }


def test_the_stages_go_through_the_proxy_with_the_headers(runtime: Runtime, tmp_path: Any) -> None:
    stand_in = StandIn(healthy())
    result = attempt(runtime, tmp_path, stand_in)
    assert result.status is StepStatus.SUCCEEDED, result.message
    assert [(m, p) for m, _, p, _ in stand_in.calls] == [
        ("GET", "v2/health/ready"),
        ("GET", "v2/models/iris/ready"),
        ("GET", "v2/models/iris"),
        ("POST", "v2/models/iris/infer"),
    ]
    assert all(s == ServiceRef("seldon-mesh", "seldon-mesh", 80) for _, s, _, _ in stand_in.calls)
    assert all(h == {"Seldon-Model": "iris"} for *_, h in stand_in.calls)
    assert "service seldon-mesh/seldon-mesh:80 via the API server" in result.message
    assert "/api/v1/namespaces/seldon-mesh/services/seldon-mesh:80/proxy/" in result.message


def test_model_name_is_compared_only_when_asked(runtime: Runtime, tmp_path: Any) -> None:
    asked = attempt(runtime, tmp_path, StandIn(healthy()), modelName="iris")
    assert asked.status is StepStatus.FAILED
    assert "model_name is 'iris_1', expected 'iris'" in asked.message
    assert attempt(runtime, tmp_path, StandIn(healthy()), modelName="iris_1").status is StepStatus.SUCCEEDED


def test_no_endpoints_is_a_wait_and_rbac_is_a_failure_naming_the_rule(
    runtime: Runtime, tmp_path: Any
) -> None:
    answers = healthy()
    answers["v2/health/ready"] = ServerError(
        "the API server could not proxy to service seldon-mesh/seldon-mesh:80 (503): "
        'no endpoints available for service "seldon-mesh"',
        status=503,
    )
    waiting = attempt(runtime, tmp_path, StandIn(answers))
    assert waiting.status is StepStatus.FAILED
    assert waiting.details["waiting"] is True
    assert (
        "waiting: server not ready: GET /v2/health/ready: the API server could not proxy" in waiting.message
    )
    rule = 'add a Role rule {apiGroups: [""], resources: [services/proxy], verbs: [create]}'
    answers = healthy()
    answers["v2/models/iris/infer"] = Forbidden(f"may not create services/proxy: {rule}", status=403)
    refused = attempt(runtime, tmp_path, StandIn(answers))
    assert refused.details["waiting"] is False
    assert refused.details["stage"] == "infer"
    assert rule in refused.message


def test_the_backends_error_text_is_reported_as_its_own(runtime: Runtime, tmp_path: Any) -> None:
    answers = healthy()
    answers["v2/models/iris/infer"] = (400, {"error": "builtins.ValueError: X has 3 features, but expects 4"})
    result = attempt(runtime, tmp_path, StandIn(answers))
    assert result.details["stage"] == "infer"
    assert "POST /v2/models/iris/infer answered 400: builtins.ValueError: X has 3 features" in result.message


def test_a_credential_header_echoed_by_the_server_is_masked(runtime: Runtime, tmp_path: Any) -> None:
    answers = healthy()
    answers["v2/models/iris/infer"] = (401, {"error": "key k3y-value-123 is not valid for model iris"})
    body = {
        "service": MESH,
        "headers": {"X-Api-Key": "k3y-value-123", "Seldon-Model": "iris"},
        "model": "iris",
        "request": REQUEST,
    }
    ctx = dataclasses.replace(context(runtime, timeout=30), cluster=lambda: StandIn(answers))
    result = probe(body, tmp_path).attempt(ctx)
    assert "answered 401: key **** is not valid for model iris" in result.message
    assert "k3y-value-123" not in result.message + json.dumps(result.details)
