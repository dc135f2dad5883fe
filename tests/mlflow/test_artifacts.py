"""Artifact trees: local directories, and a real MLflow server's artifact proxy with real logged models.

The MLflow part starts one `mlflow server --serve-artifacts` for the module and logs two models in a child
process (so MLflow's own warnings stay out of this pytest process): a tiny scikit-learn model through
`mlflow.sklearn.log_model` (an MLflow 3 LoggedModel, `models/m-<id>/artifacts`) and an "oversized" model
directory padded with ~5 MB, logged as run artifacts (the 2.x layout). The probe is then run against both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlflow_support import MlflowServer

from drkit.context import Runtime
from drkit.errors import AdapterError
from drkit.mlflow.artifacts import (
    ArtifactError,
    LocalArtifactTree,
    ProxiedArtifactTree,
    open_tree,
    proxy_path,
)
from drkit.mlflow.client import MlflowClient, MlflowRetryPolicy, MlflowSettings
from drkit.playbook.model import Playbook, Target
from drkit.playbook.source import Position
from drkit.steps.base import StepContext, StepStatus
from drkit.steps.model_artifact import ModelArtifactProbe, parse_settings

STORAGE_ROOT = "s3://mlflow-artifacts/"
PADDING_BYTES = 5 * 1024 * 1024

# --- local trees (no server) ------------------------------------------------------------------------------


def test_local_tree_lists_recursively_with_sizes_and_reads(tmp_path: Path) -> None:
    (tmp_path / "m" / "adapters").mkdir(parents=True)
    (tmp_path / "m" / "adapters" / "adapters.safetensors").write_bytes(b"x" * 100)
    (tmp_path / "m" / "config.json").write_text("{}")
    tree = LocalArtifactTree(tmp_path / "m")
    assert [(e.path, e.size) for e in tree.list()] == [
        ("adapters/adapters.safetensors", 100),
        ("config.json", 2),
    ]
    assert [e.path for e in tree.list("adapters")] == ["adapters/adapters.safetensors"]
    assert tree.read_small("config.json", 10) == b"{}"
    with pytest.raises(ArtifactError, match="larger than 10 bytes"):
        tree.read_small("adapters/adapters.safetensors", 10)
    with pytest.raises(ArtifactError, match="leaves the model directory"):
        tree.read_small("../outside", 10)
    assert LocalArtifactTree(tmp_path / "missing").list() == []


def test_uris_choose_the_store(tmp_path: Path) -> None:
    assert proxy_path("mlflow-artifacts:/1/models/m-a/artifacts", None) == "1/models/m-a/artifacts"
    assert proxy_path("mlflow-artifacts://host:5000/1/models/m-a/artifacts", None) == "1/models/m-a/artifacts"
    assert proxy_path("s3://mlflow-artifacts/1/x", STORAGE_ROOT) == "1/x"
    assert proxy_path("s3://mlflow-artifacts/1/x", None) is None
    assert proxy_path("s3://other-bucket/1/x", STORAGE_ROOT) is None
    with pytest.raises(ArtifactError, match="leaves its storage root"):
        proxy_path("mlflow-artifacts:/1/../../etc", None)
    local = open_tree(f"file://{tmp_path}", storage_root=None, base_dir=Path("/"), transport=None)
    assert isinstance(local, LocalArtifactTree)
    relative = open_tree("models/a", storage_root=None, base_dir=tmp_path, transport=None)
    assert isinstance(relative, LocalArtifactTree)
    assert relative.root == tmp_path / "models" / "a"
    with pytest.raises(ArtifactError, match="no MLflow server is configured"):
        open_tree("mlflow-artifacts:/1/x", storage_root=None, base_dir=tmp_path, transport=None)
    with pytest.raises(ArtifactError, match=r"gs://b/m \(gs:\) is not one drkit can read") as caught:
        open_tree("gs://b/m", storage_root=STORAGE_ROOT, base_dir=tmp_path, transport=None)
    assert caught.value.hint is not None
    assert "storageRoot" in caught.value.hint


def test_probe_on_local_lora_and_fused_dirs(tmp_path: Path, runtime: Runtime) -> None:
    lora = tmp_path / "lora" / "adapters"
    lora.mkdir(parents=True)
    (lora / "adapters.safetensors").write_bytes(os.urandom(2048))
    (lora / "adapter_config.json").write_text('{"r": 8}')
    fused = tmp_path / "fused"
    fused.mkdir()
    (fused / "model.safetensors").write_bytes(b"mock_fused_model_weights")  # seed 002's test stand-in
    (fused / "config.json").write_text('{"model_type": "OLMoForCausalLM"}')
    ok = attempt(runtime, {"storageUri": str(tmp_path / "lora"), "memoryLimit": "1Mi"})
    assert ok.status is StepStatus.SUCCEEDED, ok.message
    assert ok.details["format"] == "lora"
    bad = attempt(runtime, {"storageUri": f"file://{fused}", "format": "fused"})
    assert bad.status is StepStatus.FAILED
    assert "placeholder files instead of weights: model.safetensors (24 bytes)" in bad.message
    unknown = attempt(runtime, {"storageUri": str(tmp_path)})  # the parent: neither layout
    assert unknown.status is StepStatus.FAILED
    assert "unknown model structure" in unknown.message


# --- a real MLflow server ---------------------------------------------------------------------------------

LOG_MODELS = textwrap.dedent(
    """
    import json, os, sys, tempfile
    import numpy as np
    import mlflow, mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression
    mlflow.set_tracking_uri(sys.argv[1])
    mlflow.set_experiment("artifact-checks")
    features = np.array([[0.0], [1.0], [2.0], [3.0]])
    clf = LogisticRegression().fit(features, [0, 0, 1, 1])
    signature = infer_signature(features, clf.predict(features))
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(clf, name="model", signature=signature)
        with tempfile.TemporaryDirectory() as tmp:
            target = os.path.join(tmp, "oversized")
            mlflow.sklearn.save_model(clf, target)
            with open(os.path.join(target, "padding.bin"), "wb") as out:
                out.write(os.urandom(int(sys.argv[2])))
            mlflow.log_artifacts(target, artifact_path="oversized")
    model_dir = mlflow.get_logged_model(info.model_id).artifact_location
    print(json.dumps({"model": model_dir, "run": run.info.artifact_uri}))
    """
)


@dataclass(frozen=True)
class LoggedModels:
    url: str
    artifacts_dir: Path
    small_uri: str  # mlflow-artifacts:/<exp>/models/m-<id>/artifacts; signature float64 (-1, 1)
    oversized_uri: str  # mlflow-artifacts:/<exp>/<run>/artifacts/oversized; no signature


@pytest.fixture(scope="module")
def logged(mlflow_server: MlflowServer) -> LoggedModels:
    """Models logged into the experiment "artifact-checks" of the session's shared server."""
    server = mlflow_server
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(
        [sys.executable, "-c", LOG_MODELS, server.url, str(PADDING_BYTES)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return LoggedModels(
        url=server.url,
        artifacts_dir=server.artifacts,
        small_uri=answer["model"],
        oversized_uri=answer["run"] + "/oversized",
    )


def client(url: str) -> MlflowClient:
    settings = MlflowSettings(base_url=url, auth="none", retry=MlflowRetryPolicy(attempts=1))
    return MlflowClient(settings, env={}, sleep=lambda _: None)


@pytest.mark.mlflow
def test_proxy_lists_a_logged_model_like_the_disk_holds_it(logged: LoggedModels) -> None:
    assert logged.small_uri.startswith("mlflow-artifacts:/")
    relative = proxy_path(logged.small_uri, None)
    assert relative is not None
    on_disk = logged.artifacts_dir / relative
    expected = sorted(
        (p.relative_to(on_disk).as_posix(), p.stat().st_size) for p in on_disk.rglob("*") if p.is_file()
    )
    with client(logged.url) as mlflow:
        tree = open_tree(logged.small_uri, storage_root=None, base_dir=Path("/"), transport=mlflow)
        assert isinstance(tree, ProxiedArtifactTree)
        listed = [(e.path, e.size) for e in tree.list()]
        assert listed == expected
        assert "MLmodel" in dict(listed)
        assert tree.read_small("MLmodel", 100_000) == (on_disk / "MLmodel").read_bytes()
        with pytest.raises(ArtifactError, match="cannot download"):
            tree.read_small("MLmodel", 10)  # larger than allowed: refused, not truncated
        # the same directory through the bucket the playbook maps onto the proxy
        mapped = STORAGE_ROOT + relative
        via_root = open_tree(mapped, storage_root=STORAGE_ROOT, base_dir=Path("/"), transport=mlflow)
        assert [(e.path, e.size) for e in via_root.list()] == expected
        nowhere = open_tree(
            "mlflow-artifacts:/no/such/dir", storage_root=None, base_dir=Path("/"), transport=mlflow
        )
        assert nowhere.list() == []


@pytest.mark.mlflow
def test_probe_passes_a_real_model_and_fails_the_oversized_one(
    logged: LoggedModels, runtime: Runtime
) -> None:
    mlflow = {"url": logged.url, "auth": "none"}
    mapped = STORAGE_ROOT + (proxy_path(logged.small_uri, None) or "")
    good = attempt(
        runtime, {"storageUri": mapped, "storageRoot": STORAGE_ROOT, "mlflow": mlflow, "memoryLimit": "4Mi"}
    )
    assert good.status is StepStatus.SUCCEEDED, good.message
    assert good.details["format"] == "mlflow"
    checks = {c["check"]: c for c in good.details["checks"]}  # type: ignore[union-attr]
    assert set(checks) >= {"structure", "mlmodel", "flavorFiles", "jsonConfigs", "placeholders", "size"}
    assert all(c["ok"] for c in checks.values())

    big = attempt(runtime, {"storageUri": logged.oversized_uri, "mlflow": mlflow, "memoryLimit": "4Mi"})
    assert big.status is StepStatus.FAILED
    assert big.details["format"] == "mlflow"
    assert int(big.details["totalBytes"]) > PADDING_BYTES  # type: ignore[call-overload]
    assert "but the configured memory limit is 4Mi: it would be OOMKilled" in big.message
    assert "model is 5.0 MiB" in big.message


@pytest.mark.mlflow
def test_probe_compares_the_logged_signature_and_adds_the_server_reserve(
    logged: LoggedModels, runtime: Runtime
) -> None:
    mlflow = {"url": logged.url, "auth": "none"}

    def expecting(width: int) -> dict[str, object]:
        return {"inputs": [{"dtype": "float64", "shape": [-1, width]}]}

    same = attempt(runtime, {"storageUri": logged.small_uri, "mlflow": mlflow, "signature": expecting(1)})
    assert same.status is StepStatus.SUCCEEDED, same.message
    other = attempt(runtime, {"storageUri": logged.small_uri, "mlflow": mlflow, "signature": expecting(4)})
    assert other.status is StepStatus.FAILED
    assert (
        "input 0: the model expects float64 (-1, 1), the playbook's app sends float64 (-1, 4)"
        in other.message
    )
    assert logged.small_uri in other.message
    unsigned = attempt(
        runtime, {"storageUri": logged.oversized_uri, "mlflow": mlflow, "signature": expecting(1)}
    )
    assert unsigned.status is StepStatus.FAILED
    assert "the model was logged without a signature" in unsigned.message

    body = {"storageUri": logged.oversized_uri, "mlflow": mlflow, "memoryLimit": "8Mi"}
    assert attempt(runtime, body).status is StepStatus.SUCCEEDED  # 5 MiB fits 8Mi by itself
    reserved = attempt(runtime, {**body, "serverReserve": "4Mi"})
    assert reserved.status is StepStatus.FAILED
    assert "model 5.0 MiB + server reserve 4.0 MiB > the configured memory limit 8Mi" in reserved.message
    assert reserved.details["serverReserve"] == 4 * 1024 * 1024


@pytest.mark.mlflow
def test_probe_on_a_missing_model_directory_fails_saying_so(logged: LoggedModels, runtime: Runtime) -> None:
    result = attempt(
        runtime, {"storageUri": "mlflow-artifacts:/0/models/m-0/artifacts", "mlflow": {"url": logged.url}}
    )
    assert result.status is StepStatus.FAILED
    assert "no files at mlflow-artifacts:/0/models/m-0/artifacts" in result.message


# --- helpers ----------------------------------------------------------------------------------------------


def test_probe_reads_the_storage_uri_a_manifest_would_deploy(tmp_path: Path, runtime: Runtime) -> None:
    model = tmp_path / "models" / "baseline"
    model.mkdir(parents=True)
    (model / "MLmodel").write_text("flavors:\n  sklearn:\n    pickled_model: model.pkl\n")
    (model / "model.pkl").write_bytes(os.urandom(4096))
    (runtime.cwd / "models.yaml").write_text(
        "apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata: {name: other}\n"
        "spec: {storageUri: /nowhere}\n---\n"
        "apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata: {name: baseline}\n"
        f"spec: {{storageUri: '{model}'}}\n"
    )
    ok = attempt(runtime, {"manifest": {"file": "models.yaml", "name": "baseline"}, "memoryLimit": "1Mi"})
    assert ok.status is StepStatus.SUCCEEDED, ok.message
    assert ok.details["storageUri"] == str(model)
    too_big = attempt(
        runtime, {"manifest": {"file": "models.yaml", "name": "baseline"}, "memoryLimit": "2Ki"}
    )
    assert too_big.status is StepStatus.FAILED
    with pytest.raises(AdapterError, match="has no Seldon Model named 'missing'"):
        attempt(runtime, {"manifest": {"file": "models.yaml", "name": "missing"}})


def attempt(runtime: Runtime, body: dict[str, object]):  # type: ignore[no-untyped-def]
    probe = ModelArtifactProbe("artifact", parse_settings(body))
    return probe.attempt(step_context(runtime))


def step_context(runtime: Runtime) -> StepContext:
    playbook = Playbook(  # type: ignore[call-arg]
        name="t",
        path=runtime.cwd / "playbook.yaml",
        position=Position("test.yaml", 1, 1),
        target=Target(),
        vars={},
        phases=(),
        checklists={},
    )
    return StepContext(
        runtime=runtime,
        playbook=playbook,
        run_id="20260101-000000-abcd",
        run_dir=runtime.cwd / ".drkit" / "runs" / "x",
        deadline=None,
        progress=lambda _: None,
    )
