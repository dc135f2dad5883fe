"""The `goldenPredictions` step: before the teardown, record what each model predicts for known inputs.

Each model is asked over the V2 protocol (the `inference` item's endpoint and request fields; not-ready
answers are asked again until the step's timeout), and its answer is kept with the request and the storage
URI of its serving object, so that `predictionParity` can replay the same inputs after the rebuild and say
whether the same, or a retrained, model predicts the same. The snapshot is JSON in the run directory
(`snapshots/<phase>.<step>.json`) and survives `drkit resume`; it holds no header values.
"""

from __future__ import annotations

from drkit.playbook.fields import KindSchema, Obj
from drkit.playbook.model import StepSpec
from drkit.reproduction.snapshots import snapshot_path, write_snapshot
from drkit.steps.access import AccessScope, StepAccess, on
from drkit.steps.base import StepContext, StepKind, StepPlan, StepResult, StepStatus
from drkit.steps.golden_models import (
    GOLDEN_KIND,
    GOLDEN_SCHEMA,
    MODELS_FIELD,
    GoldenSettings,
    ServerReadiness,
    parse_golden,
    read_identity,
    recorded_outputs,
)
from drkit.steps.v2_client import DEFAULT_TIMEOUT_SECONDS, INTERVAL_FIELD, inference_access, with_request

BODY = Obj(
    description="Record each model's answers to known requests, to replay after the rebuild.",
    fields={"models": MODELS_FIELD, "interval": INTERVAL_FIELD},
)
SCHEMA = KindSchema(
    kind=GOLDEN_KIND,
    body=BODY,
    description="Record golden predictions of each model (before the teardown) for predictionParity.",
    examples=(
        {
            "models": [
                {
                    "service": {"namespace": "financial-inference", "name": "mlserver", "port": 9000},
                    "model": "baseline-predictor",
                    "requestFile": "requests/baseline.json",
                    "modelObject": {"namespace": "financial-inference", "name": "baseline-predictor"},
                }
            ]
        },
    ),
)


class GoldenPredictionsStep:
    def __init__(self, spec: StepSpec, settings: GoldenSettings) -> None:
        self.spec = spec
        self.settings = settings

    def access(self, ctx: StepContext, scope: AccessScope) -> StepAccess:
        """Each model's answers, and the object that says which model it serves (read by name)."""
        rules = [a for m in self.settings.models for a in inference_access(m.inference)]
        rules += [
            on(o.api_version, o.kind, ("get",), o.namespace, names=(o.name,))
            for o in (m.model_object for m in self.settings.models)
            if o is not None
        ]
        return StepAccess(tuple(rules))

    def plan(self, ctx: StepContext) -> StepPlan:
        for model in self.settings.models:
            with_request(model.inference, ctx.base_dir)  # a bad request file is a playbook problem
        names = ", ".join(f"{m.name} at {m.inference.endpoint}" for m in self.settings.models)
        return StepPlan(summary=f"would record the predictions of {names}")

    def run(self, ctx: StepContext) -> StepResult:
        phase = ctx.phase
        recorded: list[dict[str, object]] = []
        lines: list[str] = []
        servers = ServerReadiness()
        for model in self.settings.models:
            settings = with_request(model.inference, ctx.base_dir)
            identity, note = read_identity(ctx, model.model_object)
            outcome = servers.ask_until_answered(settings, ctx, self.settings.interval)
            if outcome.result.status is not StepStatus.SUCCEEDED:
                return StepResult(
                    StepStatus.FAILED,
                    f"no golden predictions for {model.name!r}: {outcome.result.message}",
                    {"model": model.name, **outcome.result.details},
                )
            outputs = recorded_outputs(outcome.outputs)
            recorded.append(
                {
                    "name": model.name,
                    "model": settings.model,
                    "endpoint": settings.endpoint,
                    "request": dict(settings.request or {}),
                    "outputs": outputs,
                    "modelName": outcome.result.details.get("modelName"),
                    "identity": identity.to_json(),
                    "identityNote": note,
                }
            )
            values = sum(len(_flat(o.get("data"))) for o in outputs)
            which = identity.model_id or (note or "model id unknown")
            lines.append(f"{model.name} ({which}: {len(outputs)} output(s), {values} value(s))")
        path = snapshot_path(ctx.run_dir, phase, self.spec.name)
        write_snapshot(
            path,
            {
                "schema": GOLDEN_SCHEMA,
                "step": f"{phase}/{self.spec.name}",
                "takenAt": ctx.runtime.wall_clock(),
                "models": recorded,
            },
        )
        relative = path.relative_to(ctx.run_dir).as_posix()
        return StepResult(
            StepStatus.SUCCEEDED,
            f"recorded golden predictions of {', '.join(lines)} in {relative}",
            {
                "snapshot": relative,
                "models": [{"name": r["name"], "identity": r["identity"]} for r in recorded],
            },
        )


def _flat(data: object) -> list[object]:
    if not isinstance(data, list):
        return [data]
    return [v for item in data for v in _flat(item)]


def _build(spec: StepSpec) -> GoldenPredictionsStep:
    return GoldenPredictionsStep(spec, parse_golden(spec.body))


STEP_KIND = StepKind(schema=SCHEMA, build=_build, default_timeout=DEFAULT_TIMEOUT_SECONDS, needs_cluster=True)
