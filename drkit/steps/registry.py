"""Every step kind and checklist item kind drkit knows, listed explicitly.

Adding a kind is one module plus one line here; the loader, the JSON Schema and the engine read these maps.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from drkit.playbook.fields import KindSchema
from drkit.report.results import ResultReader
from drkit.steps import (
    apply,
    check,
    command,
    delete,
    finalizers,
    golden_predictions,
    http,
    inference,
    inventory,
    model_artifact,
    model_uris,
    pipeline,
    pod_logs,
    pods_probe,
    prediction_parity,
    reproduction_diff,
    resource_probe,
    sealed_secrets,
    wait,
)
from drkit.steps.base import ProbeKind, StepKind, results_of, schemas_of

PROBE_KINDS: Mapping[str, ProbeKind] = MappingProxyType(
    {
        "command": command.PROBE_KIND,
        "http": http.PROBE_KIND,
        "resource": resource_probe.PROBE_KIND,
        "pods": pods_probe.PROBE_KIND,
        "modelArtifact": model_artifact.PROBE_KIND,
        "inference": inference.PROBE_KIND,
        "podLogs": pod_logs.PROBE_KIND,
    }
)

STEP_KINDS: Mapping[str, StepKind] = MappingProxyType(
    {
        "command": command.STEP_KIND,
        "http": http.STEP_KIND,
        "check": check.STEP_KIND,
        "wait": wait.STEP_KIND,
        "pipeline": pipeline.STEP_KIND,
        "apply": apply.STEP_KIND,
        "delete": delete.STEP_KIND,
        "clearFinalizers": finalizers.STEP_KIND,
        "sealedSecrets": sealed_secrets.STEP_KIND,
        "modelUris": model_uris.STEP_KIND,
        "inference": inference.STEP_KIND,
        "goldenPredictions": golden_predictions.STEP_KIND,
        "predictionParity": prediction_parity.STEP_KIND,
        "inventory": inventory.STEP_KIND,
        "reproductionDiff": reproduction_diff.STEP_KIND,
    }
)


# Each kind's result reader, as the kind registered it: what reads a step's typed result back from report.json
# and the journal (drkit.report.results).
STEP_RESULTS: Mapping[str, ResultReader] = MappingProxyType(results_of(STEP_KINDS))


def step_schemas() -> dict[str, KindSchema]:
    return schemas_of(STEP_KINDS)


def probe_schemas() -> dict[str, KindSchema]:
    return schemas_of(PROBE_KINDS)
