"""Values shared by the report tests and their fixtures."""

import dataclasses

from drkit.report.model import StepReport
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


def as_reported(step: StepReport) -> StepReport:
    """A step as the engine reports it: with the typed result its kind reads from its details."""
    return dataclasses.replace(step, summary=read_summary(step.kind, step.details, STEP_RESULTS))
