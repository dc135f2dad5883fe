"""The kube adapter registers what it learns is secret: the context's credentials when it loads them, and the
data of every Secret it sends or receives (get, list, watch, apply answers), before any caller sees it."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from kube_lab import Lab

from drkit.kube import Cluster, ClusterConfig
from drkit.kube.config import credential_values, load_client_configuration
from drkit.secret_registry import SecretRegistry

NAMESPACE = "secrets-ns"
KEY_PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
    "-----END PRIVATE KEY-----\n"
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _kubeconfig(tmp_path: Path, user: str) -> ClusterConfig:
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
        f"users: [{{name: u, user: {user}}}]\n",
        encoding="utf-8",
    )
    return ClusterConfig.from_env({"KUBECONFIG": str(path)})


def test_a_token_and_a_basic_auth_password_are_credentials(tmp_path: Path) -> None:
    token = _kubeconfig(tmp_path, "{token: tok-0123456789abcdef}")
    assert "tok-0123456789abcdef" in credential_values(load_client_configuration(token, tmp_path / "a"))
    basic = _kubeconfig(tmp_path, "{username: admin, password: pw-basic-98765}")
    assert "pw-basic-98765" in credential_values(load_client_configuration(basic, tmp_path / "b"))


def test_a_client_key_is_a_credential_as_pem_and_as_its_kubeconfig_base64(tmp_path: Path) -> None:
    config = _kubeconfig(
        tmp_path, f"{{client-certificate-data: {b64('CERT-NOT-SECRET')}, client-key-data: {b64(KEY_PEM)}}}"
    )
    values = credential_values(load_client_configuration(config, tmp_path / "state"))
    assert KEY_PEM in values
    assert b64(KEY_PEM) in values
    assert not any("CERT-NOT-SECRET" in v for v in values)


def test_opening_a_cluster_registers_the_contexts_token(lab: Lab, tmp_path: Path) -> None:
    registry = SecretRegistry()
    config = ClusterConfig.from_env({"KUBECONFIG": str(lab.kubeconfig)})
    with Cluster(config, secrets=registry):
        assert lab.token in registry
        assert registry.mask(f"Authorization: Bearer {lab.token}") == "Authorization: Bearer ****"


def test_every_secret_sent_or_read_is_registered_as_stored_and_decoded(lab: Lab, tmp_path: Path) -> None:
    config = ClusterConfig.from_env({"KUBECONFIG": str(lab.kubeconfig)})
    writer_registry = SecretRegistry()
    with Cluster(config, secrets=writer_registry) as writer:
        writer.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        writer.apply(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "applied", "namespace": NAMESPACE},
                "data": {"password": b64("applied-value-1234")},
            }
        )
        assert "applied-value-1234" in writer_registry  # from the manifest drkit sent

    reads = {
        "get": lambda c: c.get("v1", "Secret", "applied", NAMESPACE),
        "list": lambda c: c.list("v1", "Secret", NAMESPACE),
    }
    for how, read in reads.items():
        registry = SecretRegistry()
        with Cluster(config, secrets=registry) as reader:
            assert "applied-value-1234" not in registry
            read(reader)
            assert "applied-value-1234" in registry, how
            assert b64("applied-value-1234") in registry, how

    registry = SecretRegistry()
    with Cluster(config, secrets=registry) as reader:
        _, version = reader.list_with_version("v1", "ConfigMap", NAMESPACE)  # reads no Secret
        assert "watched-value-5678" not in registry
        with Cluster(config) as other:
            other.apply(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "watched", "namespace": NAMESPACE},
                    "stringData": {"token": "watched-value-5678"},
                }
            )
        with reader.watch(
            "v1", "Secret", namespace=NAMESPACE, resource_version=version, timeout_seconds=5
        ) as stream:
            event = next(iter(stream))
            stream.interrupt()
        assert event.object["metadata"]["name"] == "watched"
        assert "watched-value-5678" in registry


def _pod(name: str, secret: str) -> dict[str, Any]:
    """A pod (never bound to a node, so its log is empty) that takes `secret` through an env var."""
    env = [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": secret, "key": "token"}}}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"containers": [{"name": "main", "image": "w", "env": env}]},
    }


def test_a_pods_log_is_read_after_the_secrets_it_takes_and_names_the_ones_it_could_not_mask(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = ClusterConfig.from_env({"KUBECONFIG": str(lab.kubeconfig)})
    with Cluster(config) as writer:  # a workload's Secret, written past the reader: it has never seen it
        writer.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        writer.apply(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "api-token", "namespace": NAMESPACE},
                "stringData": {"token": "tok-log-4c1d9e"},
            }
        )
        kept, orphan = writer.apply(_pod("worker", "api-token")), writer.apply(_pod("orphan", "gone"))
    registry = SecretRegistry()
    with Cluster(config, secrets=registry) as reader:
        secret_reads: list[str] = []
        real_get = reader.get

        def counting_get(api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
            if kind == "Secret":
                secret_reads.append(name)
            return real_get(api_version, kind, name, namespace)

        monkeypatch.setattr(reader, "get", counting_get)

        first = reader.pod_log(kept, "main")
        again = reader.pod_log(kept, "main", tail_lines=5)
        unmaskable = reader.pod_log(orphan, "main")

    assert first.maskable
    assert again.maskable
    assert registry.mask("printed tok-log-4c1d9e") == "printed ****"
    assert unmaskable.unmasked_secrets == ("gone",)
    assert "Secret gone" in unmaskable.withheld_because()
    # Read once for both logs of the pod that takes it.
    assert secret_reads == ["api-token", "gone"]
