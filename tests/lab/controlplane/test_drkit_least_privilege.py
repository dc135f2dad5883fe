"""drkit with a least-privilege ServiceAccount token on the real control plane, where RBAC is enforced.

The playbook applies two ConfigMaps and deletes them again. With a Role granting exactly what those steps
need, the drill passes; with `delete` left out, real RBAC refuses the delete and drkit's failure names the
missing verb and resource, and the rule to add.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers import run_drkit
from ruamel.yaml import YAML

from drkit.errors import ExitCode
from drkit_lab.controlplane.real import RealControlPlane

CONTEXT = "least-privilege"
VERBS_FOR_APPLY_AND_DELETE = ["get", "list", "watch", "create", "patch", "delete"]


def _admin(plane: RealControlPlane) -> requests.Session:
    assert plane.tls is not None
    session = requests.Session()
    session.trust_env = False
    session.verify = str(plane.tls.ca_cert)
    session.headers["Authorization"] = f"Bearer {plane.credentials.lab}"
    return session


def _service_account_kubeconfig(
    plane: RealControlPlane, tmp_path: Path, namespace: str, verbs: list[str], *, lease: bool = True
) -> Path:
    """A namespace, a ServiceAccount bound to a Role with `verbs` on configmaps, and a kubeconfig for it;
    with `lease`, also the Role in kube-system that lets it hold the drill lease."""
    admin = _admin(plane)
    core = f"{plane.url}/api/v1"
    rbac = f"{plane.url}/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
    admin.post(f"{core}/namespaces", json={"metadata": {"name": namespace}}).raise_for_status()
    admin.post(
        f"{core}/namespaces/{namespace}/serviceaccounts", json={"metadata": {"name": "drkit"}}
    ).raise_for_status()
    role = {
        "metadata": {"name": "drkit"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": verbs}],
    }
    admin.post(f"{rbac}/roles", json=role).raise_for_status()
    binding = {
        "metadata": {"name": "drkit"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "drkit"},
        "subjects": [{"kind": "ServiceAccount", "name": "drkit", "namespace": namespace}],
    }
    admin.post(f"{rbac}/rolebindings", json=binding).raise_for_status()
    if lease:
        _grant_the_drill_lease(admin, plane, namespace)
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


def _grant_the_drill_lease(admin: requests.Session, plane: RealControlPlane, namespace: str) -> None:
    """What docs/reliability.md says a drill needs in kube-system: its own Lease, by name where RBAC can."""
    rbac = f"{plane.url}/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system"
    group = "coordination.k8s.io"
    role = {
        "metadata": {"name": f"drkit-lease-{namespace}"},
        "rules": [
            {"apiGroups": [group], "resources": ["leases"], "verbs": ["create"]},
            {
                "apiGroups": [group],
                "resources": ["leases"],
                "resourceNames": ["drkit-drill"],
                "verbs": ["get", "update", "delete"],
            },
        ],
    }
    admin.post(f"{rbac}/roles", json=role).raise_for_status()
    binding = {
        "metadata": {"name": f"drkit-lease-{namespace}"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": role["metadata"]["name"],
        },
        "subjects": [{"kind": "ServiceAccount", "name": "drkit", "namespace": namespace}],
    }
    admin.post(f"{rbac}/rolebindings", json=binding).raise_for_status()


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
    ("namespace", "verbs", "code"),
    [
        ("lp-granted", VERBS_FOR_APPLY_AND_DELETE, ExitCode.OK),
        ("lp-no-delete", [v for v in VERBS_FOR_APPLY_AND_DELETE if v != "delete"], ExitCode.DRILL_FAILED),
    ],
)
def test_a_drill_with_a_service_account_token_gets_exactly_what_its_role_grants(
    real_plane: RealControlPlane, tmp_path: Path, namespace: str, verbs: list[str], code: ExitCode
) -> None:
    kubeconfig = _service_account_kubeconfig(real_plane, tmp_path, namespace, verbs)
    playbook = _playbook(tmp_path, namespace)
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
    kubeconfig = _service_account_kubeconfig(
        real_plane, tmp_path, namespace, VERBS_FOR_APPLY_AND_DELETE, lease=False
    )
    result = run_drkit(
        "drill", str(_playbook(tmp_path, namespace)), "--yes", "--kubeconfig", str(kubeconfig), cwd=tmp_path
    )
    assert result.exit_code == ExitCode.REFUSED, result.stdout + result.stderr
    assert "may not hold the drill lease kube-system/drkit-drill" in result.stderr
    assert "resources: [leases]" in result.stderr
    configmaps = (
        _admin(real_plane).get(f"{real_plane.url}/api/v1/namespaces/{namespace}/configmaps").json()["items"]
    )
    assert {c["metadata"]["name"] for c in configmaps}.isdisjoint({"settings", "features"})  # nothing applied
