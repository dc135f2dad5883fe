"""Values shared by the report tests and their fixtures, and `drill_report`: a finished drill as the engine
reports it (a clearFinalizers audit, ready times, a workflow, a failed checklist and a step that never ran),
so every renderer has something of each kind to show."""

from __future__ import annotations

import dataclasses

from drkit.report.model import ChecklistItemReport, Outcome, PhaseReport, RunReport, StepReport, StepState
from drkit.report.reproduction import (
    Change,
    DiffReport,
    FieldChange,
    ModelIdentity,
    ModelParity,
    ObjectDiff,
    ParityReport,
    Verdict,
    WorstDifference,
)
from drkit.report.results import read_summary
from drkit.run_mode import RunMode
from drkit.steps.registry import STEP_RESULTS

FAILING_MESSAGE = "GET http://api.local/health: status 503, expected 200"

# A predictionParity verdict (one model equal, one retrained and different) and a reproduction diff (a
# missing ConfigMap, a Secret changed by digest, an expected change), as the steps report them.
OLD, NEW = "m-aaaa", "m-bbbb"
ENDPOINT = "service financial-inference/mlserver:9000 via the API server"

PARITY = ParityReport(
    snapshot="snapshot/golden",
    taken_at=1.0,
    absolute=0.001,
    relative=0.0,
    models=(
        ModelParity(
            "baseline-predictor",
            "baseline-predictor",
            ENDPOINT,
            Verdict.EQUAL,
            ModelIdentity(f"s3://b/1/models/{OLD}/artifacts", OLD),
            ModelIdentity(f"s3://b/1/models/{OLD}/artifacts", OLD),
            compared=6,
        ),
        ModelParity(
            "enhanced-predictor",
            "enhanced-predictor",
            ENDPOINT,
            Verdict.DIFFERENT,
            ModelIdentity("s3://x", OLD),
            ModelIdentity("s3://y", NEW),
            compared=6,
            beyond=2,
            inexact=2,
            worst=WorstDifference("output-1", (3, 0), 1, 0, 1.0, beyond_tolerance=True),
        ),
    ),
)
DIFF = DiffReport(
    before="inventory snapshot/inventory",
    after="the cluster now",
    namespaces=("financial-inference",),
    kinds=("ConfigMap", "Secret"),
    compared=5,
    objects=(
        ObjectDiff("v1", "ConfigMap", "financial-inference", "retired", Change.MISSING),
        ObjectDiff(
            "v1",
            "Secret",
            "financial-inference",
            "creds",
            Change.CHANGED,
            (FieldChange("data.password", "changed", secret=True),),
        ),
        ObjectDiff(
            "mlops.seldon.io/v1alpha1",
            "Model",
            "financial-inference",
            "baseline-predictor",
            Change.CHANGED,
            (FieldChange("spec.storageUri", "changed", "s3://x", "s3://y", accepted=True),),
            accepted=True,
        ),
    ),
    fail_on=("missing",),
)


def _audit(obj: str, finalizer: str) -> dict[str, object]:
    return {
        "object": obj,
        "uid": "u-1",
        "finalizersRemoved": [finalizer],
        "finalizersKept": [],
        "deletionTimestamp": "2026-01-01T00:00:01Z",
        "ageSeconds": 6.5,
        "owner": "Seldon Core v2 scheduler",
        "at": "2026-01-01T00:00:08Z",
    }


def drill_report() -> RunReport:
    unstick = StepReport(
        phase="teardown",
        index=1,
        name="unstick",
        kind="clearFinalizers",
        status=StepState.SUCCEEDED,
        message="removed finalizers from 2 objects",
        details={
            "dryRun": False,
            "removed": [
                _audit("Model ml/baseline", "seldon.model.finalizer"),
                _audit("Experiment ml/ab-test", "seldon.experiment.finalizer"),
            ],
            "orphaned": ["Seldon scheduler never unloaded model baseline (Model ml/baseline)"],
            "namespaces": [{"name": "ml", "gone": True, "finalized": False, "message": "gone"}],
            "remaining": [],
        },
        started_at=1_767_225_600.0,
        duration=7.0,
        attempts=1,
    )
    apply = StepReport(
        phase="rebuild",
        index=1,
        name="apply-base",
        kind="apply",
        status=StepState.SUCCEEDED,
        message="applied 5 object(s), all ready after 9.0s",
        details={
            "ready": [
                {"object": f"Deployment ml/d{i}", "readyAfterSeconds": float(i)} for i in (1, 2, 9, 4, 3)
            ]
        },
        duration=9.2,
        attempts=1,
    )
    train = StepReport(
        phase="rebuild",
        index=2,
        name="train",
        kind="pipeline",
        status=StepState.SUCCEEDED,
        message="workflow argo/train-x1 succeeded",
        details={"workflow": "train-x1", "namespace": "argo", "phase": "Succeeded", "duration": 42.0},
        duration=43.0,
        attempts=1,
    )
    health = StepReport(
        phase="validate",
        index=1,
        name="check-1",
        kind="check",
        status=StepState.FAILED,
        message=f"1 of 2 items of 'platform-health' still failing after 30.0s: api: {FAILING_MESSAGE}",
        details={"checklist": "platform-health"},
        duration=30.0,
        attempts=1,
        checklist_items=(
            ChecklistItemReport("pods", "pods ready", True, 1.25, 1, "3 pod(s) ready"),
            ChecklistItemReport("api", "GET /health answers 200", False, None, 7, FAILING_MESSAGE),
        ),
    )
    after = StepReport(
        phase="validate",
        index=2,
        name="notify",
        kind="command",
        status=StepState.NOT_RUN,
        message="not run: step validate/check-1 failed",
    )
    return RunReport(
        run_id="20260101-000000-abcd",
        playbook_name="platform",
        playbook_path="playbooks/platform.yaml",
        mode=RunMode.DRILL,
        outcome=Outcome.FAILED,
        phases=(
            PhaseReport(
                "teardown", (as_reported(unstick),), budget=60.0, drill_only=True, started_at=1_767_225_600.0
            ),
            PhaseReport("rebuild", (as_reported(apply), as_reported(train)), budget=30.0),
            PhaseReport("validate", (health, after), budget=None),
        ),
        rto=600.0,
        rto_measured=89.2,
        total_duration=89.5,
        started_at=1_767_225_600.0,
        message=f"step validate/check-1 failed: {health.message}",
        drkit_version="0.1.0",
    )


def as_reported(step: StepReport) -> StepReport:
    """A step as the engine reports it: with the typed result its kind reads from its details."""
    return dataclasses.replace(step, summary=read_summary(step.kind, step.details, STEP_RESULTS))
