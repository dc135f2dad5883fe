"""drkit with a least-privilege ServiceAccount token on the real control plane, where RBAC is enforced.

The playbook applies two ConfigMaps and deletes them again. The ServiceAccount gets exactly what
`drkit rbac` generates for it, nothing written by hand: the drill passes; with `delete` taken out of the
generated rule, real RBAC refuses the delete and drkit's failure names the missing verb and resource, and the
rule to add; without the generated lease rules, the drill is refused before it writes anything.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers import run_drkit
from ruamel.yaml import YAML

from drkit.errors import ExitCode
from drkit_lab.controlplane.real import RealControlPlane
from drkit_lab.platforms.financial_mlops import find_kubectl

CONTEXT = "least-privilege"
RBAC_API = "/apis/rbac.authorization.k8s.io/v1"
PLURALS = {"Role": "roles", "RoleBinding": "rolebindings", "ClusterRole": "clusterroles"}
PLURALS["ClusterRoleBinding"] = "clusterrolebindings"


def _admin(plane: RealControlPlane) -> requests.Session:
    assert plane.tls is not None
    session = requests.Session()
    session.trust_env = False
    session.verify = str(plane.tls.ca_cert)
    session.headers["Authorization"] = f"Bearer {plane.credentials.lab}"
    return session


def _generated_rbac(playbook: Path, namespace: str) -> list[dict[str, Any]]:
    """What `drkit rbac` prints for the playbook and the ServiceAccount NAMESPACE/drkit (no cluster asked)."""
    result = run_drkit(
        "rbac", str(playbook), "--service-account", f"{namespace}/drkit", "-o", "json", cwd=playbook.parent
    )
    assert result.exit_code == ExitCode.OK, result.stderr
    items: list[dict[str, Any]] = result.json["items"]
    return items


def _create(admin: requests.Session, plane: RealControlPlane, obj: dict[str, Any]) -> None:
    namespace = obj["metadata"].get("namespace")
    where = f"/namespaces/{namespace}" if namespace else ""
    admin.post(f"{plane.url}{RBAC_API}{where}/{PLURALS[obj['kind']]}", json=obj).raise_for_status()


def _service_account_kubeconfig(
    plane: RealControlPlane, tmp_path: Path, namespace: str, rbac: list[dict[str, Any]]
) -> Path:
    """A namespace, a ServiceAccount granted `rbac` (drkit's generated objects), and a kubeconfig for it."""
    admin = _admin(plane)
    core = f"{plane.url}/api/v1"
    admin.post(f"{core}/namespaces", json={"metadata": {"name": namespace}}).raise_for_status()
    admin.post(
        f"{core}/namespaces/{namespace}/serviceaccounts", json={"metadata": {"name": "drkit"}}
    ).raise_for_status()
    for obj in rbac:
        _create(admin, plane, obj)
    issued = admin.post(
        f"{core}/namespaces/{namespace}/serviceaccounts/drkit/token",
        json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )
    issued.raise_for_status()
    assert plane.tls is not None
    config: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "real",
                "cluster": {
                    "server": plane.url,
                    "certificate-authority-data": base64.b64encode(plane.tls.ca_cert.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": "sa", "user": {"token": issued.json()["status"]["token"]}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": "real", "user": "sa", "namespace": namespace}}],
        "current-context": CONTEXT,
    }
    path = tmp_path / "kubeconfig"
    with path.open("w", encoding="utf-8") as handle:
        YAML(typ="safe", pure=True).dump(config, handle)
    return path


def _without_verb(rbac: list[dict[str, Any]], resource: str, verb: str) -> list[dict[str, Any]]:
    """The generated objects with `verb` taken out of the one rule on `resource` that grants it."""
    holding = [
        rule
        for obj in rbac
        for rule in obj.get("rules", [])
        if resource in rule["resources"] and verb in rule["verbs"]
    ]
    assert len(holding) == 1, holding
    holding[0]["verbs"].remove(verb)
    return rbac


def _without_lease(rbac: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The generated objects without the rules on leases (the drill lease's, in kube-system)."""
    for obj in rbac:
        if "rules" in obj:
            obj["rules"] = [r for r in obj["rules"] if "leases" not in r["resources"]]
    return rbac


def _playbook(tmp_path: Path, namespace: str) -> Path:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "config.yaml").write_text(
        "".join(
            f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
            f"data: {{k: v}}\n"
            for name in ("settings", "features")
        ),
        encoding="utf-8",
    )
    (manifests / "kustomization.yaml").write_text("resources: [config.yaml]\n", encoding="utf-8")
    path = tmp_path / "playbook.yaml"
    path.write_text(
        "apiVersion: drkit.io/v1\nkind: Playbook\nmetadata: {name: least-privilege}\n"
        f"target:\n  contexts: [{CONTEXT}]\n"
        "phases:\n"
        "  - name: rebuild\n    steps:\n      - apply: {kustomize: manifests}\n        timeout: 30s\n"
        "  - name: teardown\n    steps:\n      - delete: {kustomize: manifests}\n        timeout: 30s\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("namespace", "removed_verb", "code"),
    [("lp-granted", None, ExitCode.OK), ("lp-no-delete", "delete", ExitCode.DRILL_FAILED)],
)
def test_a_drill_with_the_rules_drkit_rbac_generates_passes_and_fails_without_one(
    real_plane: RealControlPlane, tmp_path: Path, namespace: str, removed_verb: str | None, code: ExitCode
) -> None:
    playbook = _playbook(tmp_path, namespace)
    rbac = _generated_rbac(playbook, namespace)
    if removed_verb is not None:
        rbac = _without_verb(rbac, "configmaps", removed_verb)
    kubeconfig = _service_account_kubeconfig(real_plane, tmp_path, namespace, rbac)
    result = run_drkit(
        "drill", str(playbook), "--yes", "--kubeconfig", str(kubeconfig), "--output", "json", cwd=tmp_path
    )
    assert result.exit_code == code, result.stdout + result.stderr
    configmaps = (
        _admin(real_plane).get(f"{real_plane.url}/api/v1/namespaces/{namespace}/configmaps").json()["items"]
    )
    names = {c["metadata"]["name"] for c in configmaps}
    if code == ExitCode.OK:
        assert names.isdisjoint({"settings", "features"})  # applied, then deleted
        return
    assert {"settings", "features"} <= names  # applied; the delete was refused
    failed = [s for p in result.json["phases"] for s in p["steps"] if s["status"] == "failed"]
    assert len(failed) == 1
    message = failed[0]["message"]
    assert f"may not delete configmaps in namespace {namespace}" in message
    assert 'add a Role rule {apiGroups: [""], resources: [configmaps], verbs: [delete]}' in message


def test_a_drill_that_may_not_hold_the_drill_lease_is_refused_before_any_write(
    real_plane: RealControlPlane, tmp_path: Path
) -> None:
    namespace = "lp-no-lease"
    playbook = _playbook(tmp_path, namespace)
    kubeconfig = _service_account_kubeconfig(
        real_plane, tmp_path, namespace, _without_lease(_generated_rbac(playbook, namespace))
    )
    result = run_drkit("drill", str(playbook), "--yes", "--kubeconfig", str(kubeconfig), cwd=tmp_path)
    assert result.exit_code == ExitCode.REFUSED, result.stdout + result.stderr
    assert "may not hold the drill lease kube-system/drkit-drill" in result.stderr
    assert "resources: [leases]" in result.stderr
    configmaps = (
        _admin(real_plane).get(f"{real_plane.url}/api/v1/namespaces/{namespace}/configmaps").json()["items"]
    )
    assert {c["metadata"]["name"] for c in configmaps}.isdisjoint({"settings", "features"})  # nothing applied


@pytest.mark.parametrize("output", ["yaml", "json"])
def test_real_kubectl_accepts_what_drkit_rbac_prints(
    real_plane: RealControlPlane, tmp_path: Path, output: str
) -> None:
    """The scheduled drill's own playbook (manifests/drkit), in both output forms, through a client-side
    dry run of the real kubectl against the real API server's schema."""
    root = Path(__file__).resolve().parents[3]
    result = run_drkit(
        "rbac",
        "manifests/drkit/playbook.yaml",
        "--set",
        "manifests=../financial-mlops",
        "-o",
        output,
        cwd=root,
        env={"DRKIT_HOME": str(tmp_path / ".drkit")},
    )
    assert result.exit_code == ExitCode.OK, result.stderr
    admin = tmp_path / "admin.kubeconfig"
    admin.write_text(real_plane.kubeconfig_text(real_plane.credentials.lab), encoding="utf-8")
    applied = subprocess.run(
        [find_kubectl(), "--kubeconfig", str(admin), "apply", "--dry-run=client", "-o", "name", "-f", "-"],
        input=result.stdout,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert applied.returncode == 0, applied.stderr
    names = applied.stdout.split()
    assert "clusterrole.rbac.authorization.k8s.io/drkit-drkit" in names
    assert names.count("role.rbac.authorization.k8s.io/drkit-drkit") == 1  # the lease's, in kube-system


def test_with_a_context_resource_names_come_from_that_clusters_discovery(
    real_plane: RealControlPlane, tmp_path: Path
) -> None:
    """ControllerRevision is in no built-in table drkit has: only the cluster can say it is
    `controllerrevisions` in `apps`, and without --context drkit says it cannot tell, at the step."""
    path = tmp_path / "playbook.yaml"
    path.write_text(
        "apiVersion: drkit.io/v1\nkind: Playbook\nmetadata: {name: revisions}\ntarget: {contexts: [lab]}\n"
        "phases:\n  - name: main\n    steps:\n      - name: revisions\n        wait:\n"
        "          objects: [{apiVersion: apps/v1, kind: ControllerRevision, namespace: lp-disc, name: r}]\n"
        "          for: exists\n",
        encoding="utf-8",
    )
    admin = tmp_path / "admin.kubeconfig"
    admin.write_text(real_plane.kubeconfig_text(real_plane.credentials.lab), encoding="utf-8")
    without = run_drkit("rbac", str(path), "-o", "json", cwd=tmp_path)
    assert without.exit_code == ExitCode.USAGE
    assert f"{path}:8:" in without.stderr
    assert "cannot tell the resource of kind ControllerRevision" in without.stderr
    context = YAML(typ="safe", pure=True).load(admin.read_text())["current-context"]
    found = run_drkit("rbac", str(path), "--kubeconfig", str(admin), "--context", context, cwd=tmp_path)
    assert found.exit_code == ExitCode.OK, found.stderr
    assert f"# Resource names from the discovery of context {context!r}" in found.stdout
    assert '  - apiGroups: ["apps"]\n    resources: ["controllerrevisions"]' in found.stdout
