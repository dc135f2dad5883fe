"""End to end: the sealedSecrets step checks the sealing key first, then proves the Secrets have exact keys.

Sealing uses the lab's committed key (drkit_lab.sealing), which these tests install into kube-system: never
on a real cluster's SealedSecrets controller, so the module is `lab_only` (there, seal with `kubeseal`).
The plaintext is a marker that must never show up in anything drkit prints or records.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_cluster import E2ECluster
from finalizers_support import cluster_of, install_crds, log_size, writes_since
from helpers import WritePlaybook, run_drkit
from lab_helpers import LabHandle
from ruamel.yaml import YAML

from drkit_lab.sealing import lab_sealing_key, seal, sealing_key_secret

pytestmark = [pytest.mark.real_plane, pytest.mark.lab_only]

NAMESPACE = "seldon-mesh"
SECRET = "seldon-rclone-gs-public"
PLAINTEXT = b"PLAINTEXT-MARKER-7f3a9c-do-not-print"


def _lab(e2e_cluster: E2ECluster, tmp_path: Path, *, with_key: bool) -> LabHandle:
    handle = e2e_cluster.lab
    with cluster_of(handle, tmp_path) as cluster:
        install_crds(cluster)
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        if with_key:
            cluster.apply(sealing_key_secret(*lab_sealing_key()))
    return handle


def _sealed_file(tmp_path: Path) -> str:
    _, cert = lab_sealing_key()
    sealed = seal(cert, NAMESPACE, SECRET, {"rclone.conf": PLAINTEXT})
    path = tmp_path / "sealed.yaml"
    with path.open("w", encoding="utf-8") as handle:
        YAML().dump(sealed, handle)
    return path.name


def _playbook(write_playbook: WritePlaybook, tmp_path: Path, context: str, keys: str) -> Path:
    return write_playbook(
        f"""
        apiVersion: drkit.io/v1
        kind: Playbook
        metadata: {{name: secrets}}
        target: {{contexts: [{context}]}}
        phases:
          - name: rebuild
            steps:
              - sealedSecrets:
                  files: [{_sealed_file(tmp_path)}]
                  expectSecrets: [{{name: {SECRET}, namespace: {NAMESPACE}, keys: {keys}}}]
                  timeout: 5s
        """
    )


def _recorded_text(tmp_path: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in (tmp_path / ".drkit").rglob("*.json*"))


def _assert_no_plaintext(result_text: str, tmp_path: Path) -> None:
    marker = PLAINTEXT.decode()
    assert marker not in result_text
    assert marker not in _recorded_text(tmp_path)


def test_with_the_key_restored_the_secret_comes_out_with_exactly_its_keys(
    e2e_cluster: E2ECluster, tmp_path: Path, write_playbook: WritePlaybook
) -> None:
    handle = _lab(e2e_cluster, tmp_path, with_key=True)
    path = _playbook(write_playbook, tmp_path, e2e_cluster.context, "[rclone.conf]")

    result = run_drkit("drill", str(path), "--yes", *e2e_cluster.cli_args(), "-o", "json", cwd=tmp_path)

    assert result.exit_code == 0, result.stderr + result.stdout
    details = result.json["phases"][0]["steps"][0]["details"]
    assert details["sealingKeys"] == ["sealed-secrets-key-lab"]
    assert details["secrets"] == [
        {
            "secret": f"{NAMESPACE}/{SECRET}",
            "exists": True,
            "keys": ["rclone.conf"],
            "missingKeys": [],
            "unexpectedKeys": [],
        }
    ]
    _assert_no_plaintext(result.stdout + result.stderr, tmp_path)
    with cluster_of(handle, tmp_path) as cluster:
        assert cluster.get("v1", "Secret", SECRET, NAMESPACE) is not None


def test_without_the_sealing_key_it_fails_fast_and_writes_nothing(
    e2e_cluster: E2ECluster, tmp_path: Path, write_playbook: WritePlaybook
) -> None:
    handle = _lab(e2e_cluster, tmp_path, with_key=False)
    path = _playbook(write_playbook, tmp_path, e2e_cluster.context, "[rclone.conf]")
    before = log_size(handle)

    result = run_drkit("drill", str(path), "--yes", *e2e_cluster.cli_args(), "-o", "json", cwd=tmp_path)

    assert result.exit_code == 1
    step = result.json["phases"][0]["steps"][0]
    assert "no SealedSecrets sealing key in namespace kube-system" in step["message"]
    assert "restored first" in step["message"]
    assert "kubectl apply -f <backup of the key secret>" in step["hint"]
    assert writes_since(handle, before) == []
    _assert_no_plaintext(result.stdout + result.stderr, tmp_path)


def test_a_secret_without_exactly_the_expected_keys_fails_naming_the_keys(
    e2e_cluster: E2ECluster, tmp_path: Path, write_playbook: WritePlaybook
) -> None:
    _lab(e2e_cluster, tmp_path, with_key=True)
    path = _playbook(write_playbook, tmp_path, e2e_cluster.context, "[rclone-config, token]")

    result = run_drkit("drill", str(path), "--yes", *e2e_cluster.cli_args(), "-o", "json", cwd=tmp_path)

    assert result.exit_code == 1, result.stderr
    message = result.json["phases"][0]["steps"][0]["message"]
    assert f"Secret {NAMESPACE}/{SECRET} does not have exactly the keys rclone-config, token" in message
    assert "missing keys rclone-config, token" in message
    assert "unexpected keys rclone.conf" in message
    _assert_no_plaintext(result.stdout + result.stderr, tmp_path)
