"""The scheduled drill's least privilege, proven where RBAC is enforced: the real control plane.

`manifests/drkit` (the CronJob base, with the `rbac.yaml` that `drkit rbac` generated) is rendered with real
kubectl and applied as an operator would; then the shipped financial-mlops drill runs with nothing but the
`drkit/drkit` ServiceAccount's token, through seed 003's stuck teardown (the Seldon scheduler down, so the
Models keep their finalizers and the clearing patches them under those rules). It must pass, and the token
must not be able to do what the drill never does.

The CronJob's own playbook differs from the shipped one only in `target.contexts` (`in-cluster`, which a Pod
has and a test process does not; tests/manifests/test_drkit_manifests.py holds the two equal otherwise), so
the shipped one runs here, through a kubeconfig context named as the lab's.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from e2e_cluster import LAB_CONTEXT
from helpers import REPO_ROOT, run_drkit
from lab_helpers import LabHandle
from playbooks_support import DRILL, Platform, explain, lab_models_stuck_until_unstuck, steps
from ruamel.yaml import YAML

from drkit_lab.platforms.financial_mlops import find_kubectl

pytestmark = [pytest.mark.real_plane, pytest.mark.lab_only, pytest.mark.mlflow]

SERVICE_ACCOUNT = ("drkit", "drkit")  # what manifests/drkit/serviceaccount.yaml and rbac.yaml name


@pytest.fixture(scope="module")
def admin(lab: LabHandle) -> Iterator[requests.Session]:
    """The lab's administrator, who installs the base (never drkit's own credential here)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(lab.ca_file) if lab.ca_file else True
    session.headers["Authorization"] = f"Bearer {lab.token}"
    yield session
    session.close()


@pytest.fixture(scope="module")
def service_account_kubeconfig(
    lab: LabHandle, admin: requests.Session, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """`kubectl kustomize manifests/drkit | kubectl apply -f -` as the administrator, then a kubeconfig
    holding only a token issued to the base's ServiceAccount (TokenRequest, as a Pod gets one mounted)."""
    kubectl = str(find_kubectl())
    rendered = subprocess.run(
        [kubectl, "kustomize", str(REPO_ROOT / "manifests" / "drkit")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    applied = subprocess.run(
        [kubectl, "--kubeconfig", str(lab.kubeconfig), "apply", "-f", "-"],
        input=rendered,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert applied.returncode == 0, applied.stderr
    namespace, name = SERVICE_ACCOUNT
    issued = admin.post(
        f"{lab.api_url}/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
        json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )
    issued.raise_for_status()
    config: dict[str, Any] = YAML(typ="safe", pure=True).load(lab.kubeconfig.read_text(encoding="utf-8"))
    token = issued.json()["status"]["token"]
    config["users"] = [{"name": "drkit-sa", "user": {"token": token}}]
    for context in config["contexts"]:
        context["context"]["user"] = "drkit-sa"
    assert any(c["name"] == LAB_CONTEXT for c in config["contexts"])
    path = tmp_path_factory.mktemp("scheduled-drill") / "kubeconfig"
    path.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    return path


def _allowed(lab: LabHandle, kubeconfig: Path, verb: str, resource: str, namespace: str | None) -> bool:
    """`kubectl auth can-i` as the ServiceAccount (a SelfSubjectAccessReview the API server answers)."""
    where = ["-n", namespace] if namespace else []
    answer = subprocess.run(
        [str(find_kubectl()), "--kubeconfig", str(kubeconfig), "auth", "can-i", verb, resource, *where],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    return answer.stdout.strip() == "yes"


def test_the_drill_runs_with_only_the_generated_rules_and_the_token_can_do_no_more(
    lab: LabHandle, platform: Platform, service_account_kubeconfig: Path
) -> None:
    manifests = platform.copy_manifests("scheduled")
    with lab_models_stuck_until_unstuck(lab, platform.workdir):  # seed 003's stuck teardown
        result = run_drkit(
            "drill",
            str(DRILL),
            "--yes",
            "--kubeconfig",
            str(service_account_kubeconfig),
            *platform.run_args(manifests),
            "-o",
            "json",
            cwd=platform.workdir,
        )

    assert result.exit_code == 0, explain(result)
    by_step = steps(result.json)
    assert all(s["status"] == "succeeded" for s in by_step.values()), {
        path: s["status"] for path, s in by_step.items()
    }
    removed = by_step["teardown/unstick-finalizers"]["details"]["removed"]
    assert removed, "the scheduler outage left nothing stuck: the clearing's rules were not exercised"
    kube_config = service_account_kubeconfig  # the same token, asked with SelfSubjectAccessReviews
    # What the drill never does stays forbidden: other namespaces, other Secrets, RBAC itself.
    assert not _allowed(lab, kube_config, "delete", "namespaces/default", None)
    assert not _allowed(lab, kube_config, "delete", "deployments", "kube-system")
    assert not _allowed(lab, kube_config, "create", "clusterrolebindings", None)
    assert not _allowed(lab, kube_config, "patch", "secrets", "kube-system")
    # ...and what it does is allowed, so the checks above are not vacuous.
    assert _allowed(lab, kube_config, "delete", "namespaces/financial-inference", None)
    # The ServiceAccount's token, which drkit read from the kubeconfig, is in nothing it printed.
    token = json.loads(service_account_kubeconfig.read_text(encoding="utf-8"))["users"][0]["user"]["token"]
    assert token not in result.stdout + result.stderr
