"""The real control plane answers as Kubernetes does: version, RBAC, controllers, namespace finalization."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from drkit_lab.controlplane.real import RealControlPlane
from drkit_lab.platforms.financial_mlops import find_kubectl

pytestmark = pytest.mark.kubectl


def _session(plane: RealControlPlane, token: str) -> requests.Session:
    assert plane.tls is not None
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would override `verify`
    session.verify = str(plane.tls.ca_cert)
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def _kubectl(plane: RealControlPlane, tmp_path: Path, *args: str, token: str | None = None) -> Any:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(plane.kubeconfig_text(token or plane.credentials.lab), encoding="utf-8")
    return subprocess.run(
        [find_kubectl(), "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_server_reports_the_pinned_version(real_plane: RealControlPlane) -> None:
    version = _session(real_plane, real_plane.credentials.lab).get(f"{real_plane.url}/version").json()
    assert version["gitVersion"] == real_plane.version
    assert version["minor"] == real_plane.version.split(".")[1]


def test_requests_without_a_credential_are_refused(real_plane: RealControlPlane) -> None:
    assert real_plane.tls is not None
    response = requests.get(f"{real_plane.url}/api/v1/namespaces", verify=str(real_plane.tls.ca_cert))
    assert response.status_code == 401


def test_rbac_refuses_a_service_account_what_it_was_not_granted(
    real_plane: RealControlPlane, tmp_path: Path
) -> None:
    admin = _session(real_plane, real_plane.credentials.lab)
    base = f"{real_plane.url}/api/v1"
    admin.post(f"{base}/namespaces", json={"metadata": {"name": "rbac-probe"}}).raise_for_status()
    admin.post(
        f"{base}/namespaces/rbac-probe/serviceaccounts", json={"metadata": {"name": "reader"}}
    ).raise_for_status()
    grant = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "cm-reader"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}],
    }
    rbac = f"{real_plane.url}/apis/rbac.authorization.k8s.io/v1/namespaces/rbac-probe"
    admin.post(f"{rbac}/roles", json=grant).raise_for_status()
    binding = {
        "metadata": {"name": "cm-reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": "rbac-probe"}],
    }
    admin.post(f"{rbac}/rolebindings", json=binding).raise_for_status()
    token_request = admin.post(
        f"{base}/namespaces/rbac-probe/serviceaccounts/reader/token",
        json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )
    token_request.raise_for_status()
    reader = _session(real_plane, token_request.json()["status"]["token"])

    assert reader.get(f"{base}/namespaces/rbac-probe/configmaps").status_code == 200
    denied = reader.get(f"{base}/namespaces/rbac-probe/secrets")
    assert denied.status_code == 403
    body = denied.json()
    assert body["reason"] == "Forbidden"
    assert 'cannot list resource "secrets"' in body["message"]
    assert "system:serviceaccount:rbac-probe:reader" in body["message"]
    can_i = _kubectl(
        real_plane,
        tmp_path,
        "auth",
        "can-i",
        "delete",
        "configmaps",
        "-n",
        "rbac-probe",
        token=token_request.json()["status"]["token"],
    )
    assert can_i.stdout.strip() == "no"


def test_the_controller_manager_runs_deployments_through_replicasets(real_plane: RealControlPlane) -> None:
    admin = _session(real_plane, real_plane.credentials.lab)
    apps = f"{real_plane.url}/apis/apps/v1/namespaces/default"
    deployment = {
        "metadata": {"name": "probe", "labels": {"app": "probe"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "probe"}},
            "template": {
                "metadata": {"labels": {"app": "probe"}},
                "spec": {"containers": [{"name": "c", "image": "example.invalid/probe:1"}]},
            },
        },
    }
    created = admin.post(f"{apps}/deployments", json=deployment)
    created.raise_for_status()
    rv = created.json()["metadata"]["resourceVersion"]
    # Wait on the watch (not a sleep) for the ReplicaSet the deployment controller creates.
    with admin.get(
        f"{apps}/replicasets",
        params={"watch": "true", "resourceVersion": rv, "timeoutSeconds": "30"},
        stream=True,
        timeout=40,
    ) as stream:
        for line in stream.iter_lines():
            event = json.loads(line)
            owners = event["object"]["metadata"].get("ownerReferences", [])
            if any(o["kind"] == "Deployment" and o["name"] == "probe" for o in owners):
                replicaset = event["object"]
                break
        else:
            pytest.fail("no ReplicaSet was created for the Deployment within 30 s")
    assert replicaset["spec"]["replicas"] == 2
    assert replicaset["metadata"]["labels"]["pod-template-hash"]
