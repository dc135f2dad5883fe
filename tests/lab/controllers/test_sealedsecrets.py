"""SealedSecrets open only with a restored key: the DR hazard a drill must check before applying them."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from controller_cluster import Cluster, condition, has_condition

from drkit_lab.controllers.sealedsecrets import SealedSecretsController
from drkit_lab.sealing import (
    SealingError,
    generate_key_pair,
    lab_sealing_key,
    seal,
    sealing_key_secret,
    unseal,
)

NS = "financial-inference"
NAME = "seldon-rclone-gs-public"
VALUES = {"RCLONE_CONFIG_S3_TYPE": b"s3", "RCLONE_CONFIG_S3_ENDPOINT": b"http://minio.minio:9000"}


def sealed(values: dict[str, bytes] = VALUES, namespace: str = NS, name: str = NAME) -> dict[str, Any]:
    _, cert = lab_sealing_key()
    obj = seal(cert, namespace, name, values, labels={"app": "seldon"})
    obj["spec"]["template"]["type"] = "Opaque"
    return obj


def test_seal_round_trip_is_scoped_to_namespace_and_name() -> None:
    key, _ = lab_sealing_key()
    obj = sealed()
    assert set(obj["spec"]["encryptedData"]) == set(VALUES)
    assert b"minio" not in base64.b64decode(obj["spec"]["encryptedData"]["RCLONE_CONFIG_S3_ENDPOINT"])
    assert unseal(key, obj) == VALUES

    moved = sealed()
    moved["metadata"]["namespace"] = "elsewhere"  # strict scope: a copy in another namespace cannot be opened
    with pytest.raises(SealingError):
        unseal(key, moved)
    other_key, _ = generate_key_pair()
    with pytest.raises(SealingError):
        unseal(other_key, obj)


def test_sealed_secret_becomes_a_secret_with_exact_keys(make_cluster: Any) -> None:
    cluster: Cluster = make_cluster(SealedSecretsController)
    cluster.namespace(NS)
    cluster.create(sealing_key_secret(*lab_sealing_key()))
    owner = cluster.create(sealed())

    synced = cluster.wait_for("bitnami.com/v1alpha1", "SealedSecret", NS, NAME, has_condition("Synced"))
    assert synced is not None
    assert synced["status"]["observedGeneration"] == 1
    secret = cluster.get("v1", "Secret", NS, NAME)
    assert secret is not None
    assert {k: base64.b64decode(v) for k, v in secret["data"].items()} == VALUES
    assert secret["type"] == "Opaque"
    assert secret["metadata"]["labels"] == {"app": "seldon"}
    assert secret["metadata"]["ownerReferences"][0]["uid"] == owner["metadata"]["uid"]


def test_without_the_key_nothing_is_decrypted_until_it_is_restored(make_cluster: Any) -> None:
    cluster: Cluster = make_cluster(SealedSecretsController)
    cluster.namespace(NS)
    cluster.create(sealed())

    failed = cluster.wait_for(
        "bitnami.com/v1alpha1", "SealedSecret", NS, NAME, has_condition("Synced", "False")
    )
    message = condition(failed, "Synced")["message"]  # type: ignore[index]
    assert message == "no key could decrypt secret (RCLONE_CONFIG_S3_ENDPOINT, RCLONE_CONFIG_S3_TYPE)"
    assert cluster.get("v1", "Secret", NS, NAME) is None

    wrong_key, wrong_cert = generate_key_pair()
    cluster.create(sealing_key_secret(wrong_key, wrong_cert, name="wrong-key"))
    with pytest.raises(AssertionError, match="timed out"):
        cluster.wait_for(
            "bitnami.com/v1alpha1", "SealedSecret", NS, NAME, has_condition("Synced"), timeout=0.3
        )

    cluster.create(sealing_key_secret(*lab_sealing_key()))  # restoring the key retries every SealedSecret
    cluster.wait_for("bitnami.com/v1alpha1", "SealedSecret", NS, NAME, has_condition("Synced"))
    assert cluster.get("v1", "Secret", NS, NAME) is not None
