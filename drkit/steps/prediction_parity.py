"""The `predictionParity` step: after the rebuild, replay the golden requests and compare the answers.

For every model the `goldenPredictions` step named by `snapshot` recorded, the same request goes to the same
endpoint (as that step declares it), and the answer is compared value by value with the recorded one:
`equal`, `within tolerance`, or `different` with the worst difference (which output, which element,
expected and got). The serving object's storage URI is read again, so the verdict says whether the same
MLflow model answered or a retrained one (`m-old → m-new`). A model that is `different`, or gives no
answer, fails the step (exit 1, like any failed step); within the tolerance passes.

When the snapshot step did not run in this run (a drill-only phase skipped by `drkit recover`), there is
nothing to compare with: the step is skipped, saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from drkit.playbook.fields import Field, Float, KindSchema, Obj, Str
from drkit.playbook.model import Playbook, StepSpec
from drkit.report.reproduction import ModelIdentity, ModelParity, ParityReport, Verdict
from drkit.reproduction.parity import Tolerance, compare_outputs
from drkit.reproduction.snapshots import read_snapshot, snapshot_path
from drkit.steps.access import AccessScope, StepAccess
from drkit.steps.base import StepContext, StepKind, StepPlan, StepResult, StepStatus
from drkit.steps.golden_models import (
    GOLDEN_KIND,
    GOLDEN_SCHEMA,
    GoldenModel,
    ServerReadiness,
    parse_golden,
    read_identity,
)
from drkit.steps.settings import as_mapping, opt_number, req_str
from drkit.steps.snapshot_refs import SnapshotStep, resolve_snapshot
from drkit.steps.v2_client import DEFAULT_TIMEOUT_SECONDS, INTERVAL_FIELD, InferenceSettings

KIND = "predictionParity"

BODY = Obj(
    description="Replay a goldenPredictions snapshot and compare each model's answers with it.",
    fields={
        "snapshot": Field(
            Str(min_length=1),
            required=True,
            description="The goldenPredictions step to compare with (STEP, or PHASE/STEP); it must run "
            "before this one.",
        ),
        "tolerance": Field(
            Obj(
                description="Numbers match when |got - expected| <= absolute + relative * |expected|.",
                fields={
                    "absolute": Field(Float(minimum=0.0), description="Absolute tolerance (default 0)."),
                    "relative": Field(Float(minimum=0.0), description="Relative tolerance (default 0)."),
                },
            ),
            description="How close a retrained model's numbers must be (default: exactly equal).",
        ),
        "interval": INTERVAL_FIELD,
    },
)
SCHEMA = KindSchema(
    kind=KIND,
    body=BODY,
    description="The rebuilt platform predicts what it predicted before: equal, within tolerance or not.",
    examples=({"snapshot": "golden-predictions", "tolerance": {"absolute": 1e-6, "relative": 1e-3}},),
)


@dataclass(frozen=True)
class ParitySettings:
    snapshot: str
    tolerance: Tolerance
    interval: float


def parse_parity(body: object) -> ParitySettings:
    data = as_mapping(body, KIND)
    tolerance = as_mapping(data.get("tolerance") or {}, "tolerance")
    absolute, relative = (opt_number(tolerance, key, 0.0) for key in ("absolute", "relative"))
    return ParitySettings(
        req_str(data, "snapshot"), Tolerance(absolute, relative), opt_number(data, "interval", 2.0)
    )


class PredictionParityStep:
    def __init__(self, spec: StepSpec, settings: ParitySettings) -> None:
        self.spec = spec
        self.settings = settings

    def check_playbook(self, playbook: Playbook) -> None:
        resolve_snapshot(playbook, self.settings.snapshot, GOLDEN_KIND, self.spec)

    def access(self, ctx: StepContext, scope: AccessScope) -> StepAccess:
        """It asks the models its snapshot step asked, as that step did."""
        source = resolve_snapshot(ctx.playbook, self.settings.snapshot, GOLDEN_KIND, self.spec)
        return StepAccess(same_as=(source.path,))

    def plan(self, ctx: StepContext) -> StepPlan:
        source = resolve_snapshot(ctx.playbook, self.settings.snapshot, GOLDEN_KIND, self.spec)
        return StepPlan(
            summary=f"would replay the golden predictions of {source.path} and compare the answers"
        )

    def run(self, ctx: StepContext) -> StepResult:
        source = resolve_snapshot(ctx.playbook, self.settings.snapshot, GOLDEN_KIND, self.spec)
        path = snapshot_path(ctx.run_dir, source.phase.name, source.spec.name)
        document = read_snapshot(path, GOLDEN_SCHEMA)
        if document is None:
            return StepResult(
                StepStatus.SKIPPED,
                f"no golden predictions to compare with: step {source.path} recorded none in this run "
                "(a drill-only phase that `drkit recover` skips?)",
            )
        declared = {m.name: m for m in parse_golden(source.spec.body).models}
        servers = ServerReadiness()
        models = tuple(
            self._replay(ctx, recorded, declared.get(str(recorded.get("name"))), servers)
            for recorded in _records(document.get("models"))
        )
        taken = document.get("takenAt")
        report = ParityReport(
            snapshot=source.path,
            taken_at=float(taken) if isinstance(taken, int | float) else None,
            absolute=self.settings.tolerance.absolute,
            relative=self.settings.tolerance.relative,
            models=models,
        )
        return StepResult(_status(report), _message(report, source), {"snapshot": source.path}, parity=report)

    def _replay(
        self,
        ctx: StepContext,
        recorded: Mapping[str, Any],
        declared: GoldenModel | None,
        servers: ServerReadiness,
    ) -> ModelParity:
        name = str(recorded.get("name", ""))
        before = ModelIdentity.from_json(recorded.get("identity") or {})
        endpoint = str(recorded.get("endpoint", ""))
        if declared is None:
            return ModelParity(
                name,
                str(recorded.get("model", "")),
                endpoint,
                Verdict.NO_ANSWER,
                before,
                ModelIdentity(None, None),
                message="the goldenPredictions step no longer declares this model",
            )
        request = recorded.get("request")
        settings: InferenceSettings = replace(
            declared.inference, request=request if isinstance(request, Mapping) else None, request_file=None
        )
        after, _ = read_identity(ctx, declared.model_object)
        outcome = servers.ask_until_answered(settings, ctx, self.settings.interval)
        if outcome.result.status is not StepStatus.SUCCEEDED:
            return ModelParity(
                name,
                settings.model,
                settings.endpoint,
                Verdict.NO_ANSWER,
                before,
                after,
                message=outcome.result.message,
            )
        golden = _records(recorded.get("outputs"))
        comparison = compare_outputs(golden, outcome.outputs, self.settings.tolerance)
        return ModelParity(
            name=name,
            model=settings.model,
            endpoint=settings.endpoint,
            verdict=comparison.verdict,
            before=before,
            after=after,
            compared=comparison.compared,
            beyond=comparison.beyond,
            inexact=comparison.inexact,
            worst=comparison.worst,
        )


def _records(value: object) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _status(report: ParityReport) -> StepStatus:
    return StepStatus.SUCCEEDED if report.passed and report.models else StepStatus.FAILED


def _message(report: ParityReport, source: SnapshotStep) -> str:
    if not report.models:
        return f"the snapshot of {source.path} holds no models"
    if report.passed:
        counts = ", ".join(f"{n} {verdict}" for verdict, n in report.counts().items() if n)
        return f"{len(report.models)} model(s) predict as recorded by {source.path} ({counts})"
    failing = [m for m in report.models if not m.passed]
    return " | ".join(f"model {m.name!r} at {m.endpoint}: {m.summary()}" for m in failing)


def _build(spec: StepSpec) -> PredictionParityStep:
    return PredictionParityStep(spec, parse_parity(spec.body))


STEP_KIND = StepKind(schema=SCHEMA, build=_build, default_timeout=DEFAULT_TIMEOUT_SECONDS, needs_cluster=True)
