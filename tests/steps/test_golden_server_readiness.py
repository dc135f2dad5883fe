"""goldenPredictions and predictionParity ask a server's readiness once per server, each model's every time.

A stand-in for the Cluster answers the service proxy's requests and records them (the walk through a real
API server and MLServer is tests/e2e/test_prediction_parity.py's).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from steps_support import context

from drkit.context import Runtime
from drkit.kube import ProxyAnswer, ServiceRef
from drkit.playbook.loader import load_playbook_text
from drkit.playbook.model import Playbook
from drkit.steps import golden_predictions, prediction_parity
from drkit.steps.base import StepContext, StepResult, StepStatus
from drkit.steps.registry import probe_schemas, step_schemas

REQUEST = {"inputs": [{"name": "input-0", "shape": [1, 2], "datatype": "FP64", "data": [1.0, 2.0]}]}
# Two models on one MLServer, a third on another, and a fourth on the first but routed by a header.
MODELS = (("mlserver", "a", None), ("mlserver", "b", None), ("other", "c", None), ("mlserver", "d", "x"))


def _entry(service: str, model: str, route: str | None) -> str:
    headers = f", headers: {{Seldon-Model: {route}}}" if route else ""
    target = f"{{namespace: ns, name: {service}, port: 9000}}"
    return f"            - {{service: {target}, model: {model}, request: {json.dumps(REQUEST)}{headers}}}\n"


PLAYBOOK = (
    "apiVersion: drkit.io/v1\nkind: Playbook\nmetadata: {name: t}\nphases:\n"
    "  - name: before\n    steps:\n      - name: golden\n        goldenPredictions:\n          models:\n"
    + "".join(_entry(*m) for m in MODELS)
    + "  - name: after\n    steps:\n      - name: parity\n        predictionParity: {snapshot: golden}\n"
)


class Served:
    """Every model loaded and answering; each request recorded as (service, path, headers)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, str] | None]] = []

    def proxy(self, method: str, service: ServiceRef, path: str, **kwargs: Any) -> ProxyAnswer:
        self.calls.append((service.name, path, kwargs.get("headers") or None))
        model = path.split("/")[2] if path.startswith("v2/models/") else ""
        if path.endswith("/infer"):
            body = {
                "model_name": model,
                "outputs": [{"name": "o", "shape": [1], "datatype": "FP64", "data": [3]}],
            }
        elif path == f"v2/models/{model}":
            body = {"name": model, "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, 2]}]}
        else:
            body = None
        return ProxyAnswer(200, {}, json.dumps(body).encode() if body is not None else b"")

    def asked(self, suffix: str) -> list[tuple[str, str, dict[str, str] | None]]:
        return [call for call in self.calls if call[1].endswith(suffix)]


def _run(runtime: Runtime, playbook: Playbook, phase: int, served: Served) -> StepResult:
    spec = playbook.phases[phase].steps[0]
    kind = golden_predictions if phase == 0 else prediction_parity
    ctx: StepContext = dataclasses.replace(
        context(runtime, timeout=60),
        playbook=playbook,
        phase=playbook.phases[phase].name,
        cluster=lambda: served,
    )
    return kind.STEP_KIND.build(spec).run(ctx)


def test_each_server_is_asked_once_and_each_model_every_time(runtime: Runtime) -> None:
    playbook = load_playbook_text(
        PLAYBOOK, filename="t.yaml", step_kinds=step_schemas(), check_kinds=probe_schemas()
    )
    for phase in (0, 1):
        served = Served()
        result = _run(runtime, playbook, phase, served)
        assert result.status is StepStatus.SUCCEEDED, result.message
        assert served.asked("v2/health/ready") == [
            ("mlserver", "v2/health/ready", None),
            ("other", "v2/health/ready", None),
            ("mlserver", "v2/health/ready", {"Seldon-Model": "x"}),
        ]
        assert [path for _, path, _ in served.asked("/ready") if path.startswith("v2/models/")] == [
            f"v2/models/{model}/ready" for _, model, _ in MODELS
        ]
        assert len(served.asked("/infer")) == len(MODELS)


def test_a_server_that_failed_a_model_is_asked_again_for_the_next(runtime: Runtime) -> None:
    """Only a server found ready is taken as ready: parity goes on after a model without an answer, and
    asks that model's server again for the next one."""

    class FailingOnce(Served):
        def proxy(self, method: str, service: ServiceRef, path: str, **kwargs: Any) -> ProxyAnswer:
            if path == "v2/health/ready" and not self.asked("v2/health/ready"):
                self.calls.append((service.name, path, None))
                return ProxyAnswer(500, {}, b"")  # not "loading": the model's walk fails at once
            return super().proxy(method, service, path, **kwargs)

    playbook = load_playbook_text(
        PLAYBOOK, filename="t.yaml", step_kinds=step_schemas(), check_kinds=probe_schemas()
    )
    assert _run(runtime, playbook, 0, Served()).status is StepStatus.SUCCEEDED
    served = FailingOnce()
    result = _run(runtime, playbook, 1, served)
    assert result.status is StepStatus.FAILED
    assert result.parity is not None
    assert [m.verdict.value for m in result.parity.models] == ["no answer", "equal", "equal", "equal"]
    assert [name for name, _, _ in served.asked("v2/health/ready")] == [
        "mlserver",
        "mlserver",
        "other",
        "mlserver",
    ]
