"""End to end: golden predictions before, the same requests replayed after, against a lab's real MLServer.

The first drill records the baseline model's answers and replays them at once: `equal`, the same MLflow
model. The second records, then stops at a step that fails until the test has "retrained": a classifier fit
on the opposite labels is saved as a new MLflow LoggedModel directory and the Seldon Model is pointed at it
(what the drill's model-URI step does after a rebuild). `drkit resume` then replays the golden requests of
the first attempt (the snapshot survived in the run directory) and finds the predictions `different`,
naming the retrained model (m-old → m-new) and the worst element.
"""

from __future__ import annotations

import json
import secrets
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from e2e_cluster import LAB_CONTEXT
from helpers import run_drkit
from lab_helpers import LabHandle

from drkit.kube import Cluster, ClusterConfig, ObjectRef, ready, wait_for

pytestmark = pytest.mark.real_plane

SELDON = "mlops.seldon.io/v1alpha1"
NS = "financial-inference"
MODEL = "baseline-predictor"
ROWS = np.random.default_rng(11).normal(scale=0.05, size=(6, 4)).round(6)
# The lab's models are logged without a signature: the request says how to decode it (one numpy array).
TENSOR = {"name": "input-0", "shape": [6, 4], "datatype": "FP64", "data": ROWS.flatten().tolist()}
REQUEST = {"parameters": {"content_type": "np"}, "inputs": [TENSOR]}


def _playbook(flag: Path | None) -> str:
    middle = (
        f"""
  - name: retrain
    steps:
      - name: wait-for-retraining
        command: {{run: "test -f {flag}"}}"""
        if flag is not None
        else ""
    )
    return f"""\
apiVersion: drkit.io/v1
kind: Playbook
metadata: {{name: e2e-parity}}
target: {{contexts: [{LAB_CONTEXT}]}}
phases:
  - name: before
    steps:
      - name: golden
        goldenPredictions:
          models:
            - service: {{namespace: {NS}, name: mlserver, port: 9000}}
              model: {MODEL}
              request: {json.dumps(REQUEST)}
              modelObject: {{namespace: {NS}, name: {MODEL}}}
        timeout: 2m{middle}
  - name: after
    steps:
      - name: parity
        predictionParity: {{snapshot: golden, tolerance: {{absolute: 0.000001}}}}
        timeout: 2m
"""


def _ready_at(generation: int) -> Callable[[dict[str, Any] | None], bool]:
    def predicate(obj: dict[str, Any] | None) -> bool:
        status = (obj or {}).get("status") or {}
        return status.get("observedGeneration") == generation and ready()(obj)

    return predicate


def _parity(run_dir: Path) -> dict[str, Any]:
    report = json.loads((run_dir / "report.json").read_text())
    step = next(s for p in report["phases"] for s in p["steps"] if s["name"] == "parity")
    return step["parity"]["models"][0]


def _retrain_opposite(artifacts: Path, experiment: str, golden: list[int]) -> str:
    """A LoggedModel directory of a classifier fit to the opposite of the golden labels; its storage URI."""
    import mlflow.sklearn  # noqa: PLC0415 - heavy: only this test needs it
    from mlflow.models import infer_signature  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    labels = [1 - g for g in golden]
    features = ROWS
    if len(set(labels)) == 1:  # one class cannot be fit: add one far-away row of the other class
        features = np.vstack([ROWS, np.full((1, 4), 10.0)])
        labels = [*labels, 1 - labels[0]]
    estimator = LogisticRegression(C=1e6, max_iter=10_000).fit(features, labels)
    model_id = f"m-{secrets.token_hex(16)}"
    directory = artifacts / experiment / "models" / model_id / "artifacts"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's advice about type hints; not what is tested here
        mlflow.sklearn.save_model(
            estimator, str(directory), signature=infer_signature(ROWS, estimator.predict(ROWS))
        )
    return f"s3://mlflow-artifacts/{experiment}/models/{model_id}/artifacts"


@pytest.mark.lab
@pytest.mark.lab_only
@pytest.mark.mlflow
def test_replayed_predictions_are_equal_then_different_after_retraining(
    lab_factory: Callable[..., LabHandle], tmp_path: Path
) -> None:
    handle = lab_factory(mlflow=True, platform="financial-mlops")
    args = ("--kubeconfig", str(handle.kubeconfig), "--context", LAB_CONTEXT, "--yes", "-o", "json")
    config = ClusterConfig.from_env({}, kubeconfig=handle.kubeconfig, context=LAB_CONTEXT)
    with Cluster(config) as cluster:
        uri = cluster.get(SELDON, "Model", MODEL, NS)["spec"]["storageUri"]  # type: ignore[index]
    old_id = uri.rstrip("/").split("/")[-2]

    same = tmp_path / "same.yaml"
    same.write_text(_playbook(None))
    first = run_drkit("drill", str(same), *args, cwd=tmp_path)
    assert first.exit_code == 0, first.stderr + first.stdout
    run_id = json.loads(first.stdout)["runId"]
    equal = _parity(tmp_path / ".drkit" / "runs" / run_id)
    assert (equal["verdict"], equal["sameness"]) == ("equal", "same model")
    assert equal["before"]["modelId"] == equal["after"]["modelId"] == old_id
    assert equal["compared"] == 6
    assert equal["worst"] is None

    flag = tmp_path / "retrained"
    drift = tmp_path / "drift.yaml"
    drift.write_text(_playbook(flag))
    stopped = run_drkit("drill", str(drift), *args, cwd=tmp_path)
    assert stopped.exit_code == 1, stopped.stderr + stopped.stdout
    run_id = json.loads(stopped.stdout)["runId"]
    run_dir = tmp_path / ".drkit" / "runs" / run_id
    snapshot = json.loads((run_dir / "snapshots" / "before.golden.json").read_text())
    golden = [int(v) for row in snapshot["models"][0]["outputs"][0]["data"] for v in np.ravel(row)]
    assert "Authorization" not in json.dumps(snapshot)

    new_uri = _retrain_opposite(handle.kubeconfig.parent / "mlflow" / "artifacts", uri.split("/")[3], golden)
    ref = ObjectRef(SELDON, "Model", NS, MODEL)
    with Cluster(config) as cluster:
        generation = cluster.patch_merge(ref, {"spec": {"storageUri": new_uri}})["metadata"]["generation"]
        # Ready for this generation: the controller has loaded the retrained model, not merely kept the old.
        loaded = wait_for(cluster, [ref], _ready_at(generation), cluster.monotonic() + 120)
    assert loaded.complete, loaded.last_seen
    flag.touch()

    resumed = run_drkit("resume", run_id, "--yes", "-o", "json", cwd=tmp_path)
    assert resumed.exit_code == 1, resumed.stderr + resumed.stdout
    different = _parity(run_dir)
    assert (different["verdict"], different["sameness"]) == ("different", "retrained")
    assert different["before"]["modelId"] == old_id
    assert different["after"]["modelId"] == new_uri.split("/")[-2] != old_id
    worst = different["worst"]
    assert worst["output"] == "output-1"
    assert worst["beyondTolerance"]
    row = worst["index"][0]
    assert worst["expected"] == golden[row]
    assert worst["got"] == 1 - golden[row]
    assert different["beyondTolerance"] >= 1
    step = next(s for p in json.loads(resumed.stdout)["phases"] for s in p["steps"] if s["name"] == "parity")
    assert f"model '{MODEL}'" in step["message"]
    assert "mlserver:9000" in step["message"]
    assert f"retrained ({old_id} → " in step["message"]
    assert f"output 'output-1'[{row}, 0]" in step["message"]
