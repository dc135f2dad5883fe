"""manifests/drkit (the scheduled-drill CronJob) renders with real kubectl and runs the shipped playbook."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import run_drkit

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "manifests" / "drkit"


def _contexts_line(text: str) -> tuple[str, str]:
    """The text without its `target.contexts` line, and that line."""
    lines = text.splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.lstrip().startswith("contexts:"))
    return "".join(lines[:index] + lines[index + 1 :]), lines[index]


def test_the_configmap_playbook_is_the_financial_mlops_drill_allowed_only_in_cluster() -> None:
    copy, contexts = _contexts_line((BASE / "playbook.yaml").read_text())
    original, _ = _contexts_line((ROOT / "playbooks" / "financial-mlops.yaml").read_text())
    assert copy == original
    assert contexts.split("#")[0].strip() == "contexts: [in-cluster]"
    for request in ("baseline.json", "enhanced.json"):
        shipped = (ROOT / "playbooks" / "requests" / request).read_text()
        assert (BASE / "requests" / request).read_text() == shipped


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl")
def test_the_committed_rbac_is_what_drkit_rbac_prints_now(tmp_path: Path) -> None:
    """Regenerate with the command in manifests/drkit/rbac.yaml's header when this fails."""
    result = run_drkit(
        "rbac",
        "manifests/drkit/playbook.yaml",
        "--service-account",
        "drkit/drkit",
        "--set",
        "manifests=../financial-mlops",
        cwd=ROOT,
        env={"DRKIT_HOME": str(tmp_path)},
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (BASE / "rbac.yaml").read_text()


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl")
def test_kubectl_kustomize_renders_a_forbid_cronjob_with_its_service_account() -> None:
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(BASE)], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    every = list(yaml.safe_load_all(rendered))
    docs = {doc["kind"]: doc for doc in every}
    assert {"ServiceAccount", "ConfigMap", "PersistentVolumeClaim", "CronJob", "ClusterRole"} <= set(docs)
    # The drill lease's Role stays in kube-system (no kustomize `namespace:` moves it), and every binding
    # names the CronJob's ServiceAccount.
    roles = {(d["kind"], d["metadata"].get("namespace")) for d in every if d["kind"].endswith("Role")}
    assert ("Role", "kube-system") in roles
    account = docs["ServiceAccount"]["metadata"]
    subject = {"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}
    assert all(d["subjects"] == [subject] for d in every if d["kind"].endswith("RoleBinding"))
    cron = docs["CronJob"]["spec"]
    assert cron["concurrencyPolicy"] == "Forbid"
    assert cron["startingDeadlineSeconds"] > 0
    job = cron["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0
    assert job["activeDeadlineSeconds"] > 0
    pod = job["template"]["spec"]
    assert pod["serviceAccountName"] == docs["ServiceAccount"]["metadata"]["name"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["playbook"]["configMap"]["name"] == docs["ConfigMap"]["metadata"]["name"]
    # Every key of the ConfigMap is mounted, the request files where the playbook's requestFile looks.
    mounted = {i["key"]: i["path"] for i in volumes["playbook"]["configMap"]["items"]}
    assert set(mounted) == set(docs["ConfigMap"]["data"])
    assert mounted["baseline.json"] == "requests/baseline.json"
    claim = docs["PersistentVolumeClaim"]["metadata"]["name"]
    assert volumes["home"]["persistentVolumeClaim"]["claimName"] == claim
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert env["DRKIT_HOME"] == mounts["home"]
