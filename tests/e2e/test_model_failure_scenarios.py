"""End to end: a bad model from the pipeline is stopped before deploy, and fails when served if deployed.

Seeds 000 and 002: models that MLflow takes happily and that break only when served. The shipped scenarios
playbook trains a bad enhanced model (an oversized one; one built for 4 features while the app sends 8); the
drill's deploy gate must stop it naming why, and an operator who deploys it anyway must see it fail where the
seed says: OOMKilled under the Server's real memory limit, or Ready and then failing on the app's request.

One private lab serves the module. Not `real_plane`: these are about the models (their checks against the
Server and MLServer's answers), which both control planes serve alike, and on the real plane they cost six
more minutes; tests/e2e/test_playbooks.py runs the shipped drill itself on the real one.
"""

from __future__ import annotations

import re

import pytest
from playbooks_support import (
    INFERENCE,
    MLFLOW3_URI,
    MODELS,
    SCENARIOS,
    SELDON,
    Platform,
    explain,
    items,
    manifest_uris,
    model_ready,
    steps,
    wait_until,
)

from drkit.kube import ObjectRef

pytestmark = [pytest.mark.lab_only, pytest.mark.mlflow]


@pytest.mark.parametrize(
    ("scenario", "reason", "served"),
    [
        (
            "oversized",
            r"model \d+ MiB \+ server reserve 512 MiB > mlserver's memory limit 768Mi \(from Server "
            r"financial-inference/mlserver\): it would be OOMKilled",
            # Deployed anyway, it is OOMKilled for real while MLServer loads it under the 768Mi limit.
            ("deploy-anyway/deploy-models", r"OOMKilled while loading it \(memory limit 768Mi"),
        ),
        (
            # The enhanced variant's bad model is a 4-feature one; the enhanced app sends 8 features.
            "bad-architecture",
            r"input 0: the model expects float64 \(-1, 4\), the playbook's app sends float64 \(-1, 8\)",
            # Deployed anyway, it loads, reports Ready and fails on the app's request (MLServer's words).
            ("deploy-anyway/serving", r"Shape of input \(3, 8\) does not match expected shape \(-1, 4\)"),
        ),
    ],
    ids=["oversized", "bad-architecture"],
)
def test_a_bad_model_from_the_pipeline_is_stopped_before_deploy(
    platform: Platform, scenario: str, reason: str, served: tuple[str, str]
) -> None:
    manifests = platform.copy_manifests(f"scenario-{scenario}")
    serving_before = platform.model_uri("enhanced-predictor")
    result = platform.drkit(
        "drill",
        str(SCENARIOS),
        "--yes",
        *platform.run_args(manifests),
        "--set",
        f"scenario={scenario}",
        "-o",
        "json",
    )
    assert result.exit_code == 1, explain(result)
    report = steps(result.json)
    assert report["pipelines/train-enhanced"]["status"] == "succeeded"  # MLflow took the model happily
    failed = report["deploy/model-artifacts"]
    assert failed["status"] == "failed"
    assert re.search(reason, failed["message"]), failed["message"]
    bad_uri = manifest_uris(manifests)["enhanced-predictor"]
    assert MLFLOW3_URI.match(bad_uri)
    assert bad_uri != serving_before
    assert bad_uri in items(failed)["enhanced-artifact"]["message"]
    assert items(failed)["baseline-artifact"]["passed"] is True
    assert report["deploy-anyway/deploy-models"]["status"] == "not-run"
    # The bad model never reached the cluster: the Model still serves what it served before the drill.
    assert platform.model_uri("enhanced-predictor") == serving_before
    assert platform.server_memory_limit() == "768Mi"

    # An operator overrides the gate: the bad model meets the real model server and fails there.
    anyway = platform.drkit(
        "drill",
        str(SCENARIOS),
        "--yes",
        *platform.run_args(manifests),
        "--set",
        f"scenario={scenario}",
        "--from-phase",
        "deploy-anyway",
        "-o",
        "json",
    )
    assert anyway.exit_code == 1, explain(anyway)
    step, message = served
    failed_there = steps(anyway.json)[step]
    assert failed_there["status"] == "failed", explain(anyway)
    assert re.search(message, failed_there["message"]), failed_there["message"]
    assert "enhanced-predictor" in failed_there["message"]
    assert platform.model_uri("enhanced-predictor") == bad_uri
    # Back to the model that served before, for the tests that follow.
    platform.cluster.patch_merge(
        ObjectRef(SELDON, "Model", INFERENCE, "enhanced-predictor"), {"spec": {"storageUri": serving_before}}
    )
    for name in MODELS:  # an OOMKilled server restarts empty: wait until it has both models again
        wait_until(lambda name=name: model_ready(platform.model(name)), 180)
