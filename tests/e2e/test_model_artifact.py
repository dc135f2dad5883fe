"""End to end: `modelArtifact` checklist items through the real `drkit check` CLI and a kubeconfig.

The first test is read-only against the shared platform lab: the trained baseline model, found through the
Model's storageUri (s3://mlflow-artifacts/... mapped onto the lab's MLflow artifact proxy) and checked against
the Server it is scheduled on, passes, and nothing is written to the cluster (`lab_only`: it reads the lab's
platform and request log). The second uses the test's own cluster and namespace:
a Seldon Server whose pod spec limits the serving container to 1Mi and a Model on a 2 MiB local model
directory; the check fails before any deploy, naming the size, MLServer's reserve and the limit. Only
`lab_install_crds` is lab-specific (a real cluster with Seldon already has the CRDs).
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest
from e2e_cluster import LAB_CONTEXT, E2ECluster
from helpers import run_drkit
from lab_helpers import LabHandle
from ruamel.yaml import YAML

from drkit.kube import Cluster

pytestmark = pytest.mark.real_plane

SELDON = "mlops.seldon.io/v1alpha1"
CRD_DIR = Path(__file__).resolve().parents[2] / "lab" / "drkit_lab" / "platforms" / "crds"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def checklist_playbook(context: str, items: str) -> str:
    return (
        "apiVersion: drkit.io/v1\nkind: Playbook\nmetadata: {name: e2e-model-artifact}\n"
        f"target:\n  contexts: [{context}]\n"
        "phases:\n  - name: verify\n    steps:\n      - check: models\n"
        "checklists:\n  models:\n    timeout: 20s\n    items:\n"
        + textwrap.indent(textwrap.dedent(items), "      ")
    )


def run_check(playbook: Path, cli_args: tuple[str, ...], tmp_path: Path) -> tuple[int, dict[str, Any], str]:
    result = run_drkit("check", str(playbook), *cli_args, "-o", "json", cwd=tmp_path)
    items = _items(json.loads(result.stdout)) if result.stdout.strip() else {}
    return result.exit_code, items, result.stdout + result.stderr


def _items(report: Any) -> dict[str, Any]:
    """Checklist items by name, wherever the JSON report nests them."""
    found: dict[str, Any] = {}
    if isinstance(report, dict):
        if "name" in report and "passed" in report and "message" in report:
            found[str(report["name"])] = report
        for value in report.values():
            found.update(_items(value))
    elif isinstance(report, list):
        for value in report:
            found.update(_items(value))
    return found


def _write_requests(handle: LabHandle) -> list[dict[str, Any]]:
    log = handle.kubeconfig.parent / "requests.jsonl"
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [e for e in entries if str(e.get("method", "")).upper() in WRITE_METHODS]


@pytest.mark.lab
@pytest.mark.lab_only
@pytest.mark.mlflow
def test_trained_model_passes_against_its_server_and_nothing_is_written(
    lab_with_platform: LabHandle, tmp_path: Path
) -> None:
    assert lab_with_platform.mlflow_uri is not None
    playbook = tmp_path / "playbook.yaml"
    playbook.write_text(
        checklist_playbook(
            LAB_CONTEXT,
            f"""\
            - name: baseline-artifacts
              modelArtifact:
                model: {{namespace: financial-inference, name: baseline-predictor}}
                server: {{namespace: financial-inference, name: mlserver}}
                mlflow: {{url: "{lab_with_platform.mlflow_uri}", auth: none}}
                storageRoot: s3://mlflow-artifacts/
            """,
        ),
        encoding="utf-8",
    )
    writes_before = len(_write_requests(lab_with_platform))
    cli_args = ("--kubeconfig", str(lab_with_platform.kubeconfig), "--context", LAB_CONTEXT)
    code, items, output = run_check(playbook, cli_args, tmp_path)
    assert code == 0, output
    item = items["baseline-artifacts"]
    assert item["passed"] is True
    assert "MLflow model at s3://mlflow-artifacts/" in item["message"]
    assert len(_write_requests(lab_with_platform)) == writes_before  # read-only


@pytest.mark.lab
def test_oversized_model_fails_against_the_servers_memory_limit(
    e2e_cluster: E2ECluster, tmp_path: Path
) -> None:
    namespace = e2e_cluster.namespace("serving")
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "MLmodel").write_text(
        "flavors:\n  sklearn:\n    pickled_model: model.pkl\n", encoding="utf-8"
    )
    (model_dir / "model.pkl").write_bytes(os.urandom(2 * 1024 * 1024))
    with e2e_cluster.open() as cluster:
        if e2e_cluster.is_lab:
            lab_install_crds(cluster)
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        cluster.apply(
            {
                "apiVersion": SELDON,
                "kind": "Server",
                "metadata": {"name": "small", "namespace": namespace},
                "spec": {
                    "serverConfig": "mlserver",
                    "podSpec": {
                        "containers": [{"name": "mlserver", "resources": {"limits": {"memory": "1Mi"}}}]
                    },
                },
            }
        )
        cluster.apply(
            {
                "apiVersion": SELDON,
                "kind": "Model",
                "metadata": {"name": "big", "namespace": namespace},
                "spec": {"storageUri": f"file://{model_dir}", "server": "small", "requirements": ["sklearn"]},
            }
        )
    playbook = tmp_path / "playbook.yaml"
    playbook.write_text(
        checklist_playbook(
            e2e_cluster.context,
            f"""\
            - name: big-artifacts
              modelArtifact:
                model: {{namespace: {namespace}, name: big}}
            """,
        ).replace("timeout: 20s", "timeout: 1s"),
        encoding="utf-8",
    )
    code, items, output = run_check(playbook, e2e_cluster.cli_args(), tmp_path)
    assert code == 1, output
    message = items["big-artifacts"]["message"]
    # A Server's mlserver container: the limit must also hold MLServer itself (512Mi reserved by default).
    reserve = "model 2.0 MiB + server reserve 512 MiB > mlserver's memory limit 1Mi"
    assert f"{reserve} (from Server {namespace}/small)" in message


def lab_install_crds(cluster: Cluster) -> None:
    """Lab only: the Seldon CRDs a real cluster with Seldon Core v2 already has."""
    yaml = YAML(typ="safe", pure=True)
    for path in sorted(CRD_DIR.glob("*.yaml")):
        for doc in yaml.load_all(path.read_text(encoding="utf-8")):
            if doc:
                cluster.apply(doc)
    cluster.invalidate_discovery()
