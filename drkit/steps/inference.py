"""The `inference` step and checklist item: a model answers predictions correctly over the V2 protocol.

Objects saying Ready is not the end of a recovery; the platform answering a known request with the known
answer is. Each attempt walks the V2 (Open Inference) protocol the way a client meets it: the server is
ready (`GET /v2/health/ready`), the model is ready (`GET /v2/models/NAME/ready`), its metadata reads
(`GET /v2/models/NAME`), and `POST /v2/models/NAME/infer` with the playbook's request answers with the
expected outputs, within the latency bound. The first stage that fails is the one reported, with the server's
own error text; "not ready yet" stages (the server still starting, the model still loading, the Service
without endpoints) are marked as waiting, and a later pass says how long it waited.

The endpoint is a base URL (an ingress, a port-forward; headers such as `Seldon-Model` for Seldon's mesh) or
a Service reached through the API server's service proxy, which needs nothing but the kubeconfig and RBAC on
`services/proxy` (get for the GETs, create for the POST). Header values are never reported, only their names;
the values of credential headers (Authorization, Cookie, names with token/key/secret) are masked out of
whatever the server says, and secret variables are masked by the engine as for every step.
"""

from __future__ import annotations

from drkit.playbook.fields import Field, KindSchema, Obj
from drkit.playbook.model import Playbook, StepSpec
from drkit.steps.access import AccessScope, StepAccess
from drkit.steps.base import (
    ProbeKind,
    StepContext,
    StepKind,
    StepPlan,
    StepResult,
    StepStatus,
    retry_until_deadline,
)
from drkit.steps.v2_client import (
    DEFAULT_TIMEOUT_SECONDS,
    ENDPOINT_FIELDS,
    ENDPOINT_ONE_OF,
    EXPECT,
    INTERVAL_FIELD,
    STAGE_WORDS,
    Endpoint,
    InferenceSettings,
    attempt_once,
    endpoint_for,
    inference_access,
    parse_settings,
    with_request,
)

_ORDER = ("url", "service", "headers", "model", "version", "request", "requestFile")
BODY = Obj(
    description="Ask a model for a prediction over the V2 protocol and check the answer.",
    fields={
        **{key: ENDPOINT_FIELDS[key] for key in _ORDER},
        "expect": Field(EXPECT),
        "serverReady": ENDPOINT_FIELDS["serverReady"],
        "interval": INTERVAL_FIELD,
        **{key: ENDPOINT_FIELDS[key] for key in ("requestTimeout", "verifyTls", "caBundle")},
    },
    exactly_one_of=ENDPOINT_ONE_OF,
)

SCHEMA = KindSchema(
    kind="inference",
    body=BODY,
    description="A model answers a V2 inference request with the expected outputs (and within a latency).",
    examples=(
        {
            "url": "http://127.0.0.1:8080",
            "model": "iris",
            "request": {
                "inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}]
            },
            "expect": {"outputs": [{"name": "output-1", "datatype": "INT64", "shape": [1, 1], "data": [0]}]},
        },
        {
            "service": {"namespace": "seldon-mesh", "name": "seldon-mesh", "port": 80},
            "headers": {"Seldon-Model": "baseline-predictor"},
            "model": "baseline-predictor",
            "request": {
                "inputs": [{"name": "input-0", "shape": [1, 2], "datatype": "FP64", "data": [0.5, 1.5]}]
            },
            "expect": {"outputs": [{"data": [0.12], "tolerance": {"absolute": 0.01}}], "latency": "500ms"},
        },
    ),
)


class InferenceProbe:
    """One checklist item. It counts the "not ready yet" answers it met, so a pass says what it waited for."""

    def __init__(self, name: str, settings: InferenceSettings, endpoint: Endpoint | None = None) -> None:
        self.name = name
        self.settings = settings
        self.endpoint = endpoint or endpoint_for(settings)
        self.waited = 0
        self.last_wait: str | None = None

    def describe(self) -> str:
        return self.settings.describe()

    def access(self, ctx: StepContext, scope: AccessScope) -> StepAccess:
        return StepAccess(inference_access(self.settings))

    def attempt(self, ctx: StepContext) -> StepResult:
        outcome = attempt_once(self.settings, ctx, self.endpoint)
        result = outcome.result
        if outcome.waiting and outcome.stage is not None:
            self.waited += 1
            self.last_wait = STAGE_WORDS[outcome.stage]
        if result.status is StepStatus.SUCCEEDED and self.waited:
            note = f" (after {self.waited} not-ready attempt(s), last: {self.last_wait})"
            details = {**result.details, "notReadyAttempts": self.waited}
            # A run builds each probe once: a later check of the same checklist counts its own waits.
            self.waited, self.last_wait = 0, None
            return StepResult(result.status, result.message + note, details)
        return result


class InferenceStep:
    def __init__(self, spec: StepSpec, settings: InferenceSettings) -> None:
        self.spec = spec
        self.settings = settings

    def access(self, ctx: StepContext, scope: AccessScope) -> StepAccess:
        return StepAccess(inference_access(self.settings))

    def plan(self, ctx: StepContext) -> StepPlan:
        with_request(self.settings, ctx.base_dir)  # a bad request file is a playbook problem, before any run
        return StepPlan(summary=f"would wait until {self.settings.describe()}")

    def run(self, ctx: StepContext) -> StepResult:
        probe = InferenceProbe(self.spec.name, with_request(self.settings, ctx.base_dir))
        return retry_until_deadline(ctx, probe.attempt, self.settings.interval)


def _build_probe(name: str, body: object, playbook: Playbook) -> InferenceProbe:
    return InferenceProbe(name, parse_settings(body, playbook.base_dir))


def _build_step(spec: StepSpec) -> InferenceStep:
    # A requestFile is read by plan(), which the engine calls for every step before the first one runs.
    return InferenceStep(spec, parse_settings(spec.body))


STEP_KIND = StepKind(schema=SCHEMA, build=_build_step, default_timeout=DEFAULT_TIMEOUT_SECONDS)
PROBE_KIND = ProbeKind(schema=SCHEMA, build=_build_probe)
