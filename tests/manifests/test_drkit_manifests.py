"""manifests/drkit (the scheduled-drill CronJob) renders with real kubectl and runs the shipped playbook."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "manifests" / "drkit"


def test_the_configmap_playbook_is_the_financial_mlops_drill() -> None:
    assert (BASE / "playbook.yaml").read_text() == (ROOT / "playbooks" / "financial-mlops.yaml").read_text()


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl")
def test_kubectl_kustomize_renders_a_forbid_cronjob_with_its_service_account() -> None:
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(BASE)], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    docs = {doc["kind"]: doc for doc in yaml.safe_load_all(rendered)}
    assert {"ServiceAccount", "ConfigMap", "PersistentVolumeClaim", "CronJob"} <= set(docs)
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
    claim = docs["PersistentVolumeClaim"]["metadata"]["name"]
    assert volumes["home"]["persistentVolumeClaim"]["claimName"] == claim
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert env["DRKIT_HOME"] == mounts["home"]
