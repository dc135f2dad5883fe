"""Sealing crypto for the lab's SealedSecrets, in the spirit of bitnami-labs/sealed-secrets.

Each value is sealed on its own: a fresh AES-256-GCM session key encrypts the value, and RSA-OAEP (SHA-256)
wraps that session key with the label `namespace/name` (strict scope), so a value sealed for one Secret
cannot be replayed into another. Ciphertext layout: 2-byte big-endian length of the wrapped key, the wrapped
key, then the AES-GCM ciphertext (a zero nonce is safe because every session key is used once). Values are
base64 in `spec.encryptedData`, as in real SealedSecret manifests.

The committed key under platforms/ is for the lab only; see platforms/LAB-SEALING-KEY.md.
"""

from __future__ import annotations

import base64
import datetime
import os
import struct
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from drkit_lab.errors import LabError

PLATFORMS_DIR = Path(__file__).parent / "platforms"
LAB_KEY_PATH = PLATFORMS_DIR / "lab-sealing-key.pem"
LAB_CERT_PATH = PLATFORMS_DIR / "lab-sealing-cert.pem"

SEALING_KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
SEALING_KEY_NAMESPACE = "kube-system"
_SESSION_KEY_BYTES = 32
_ZERO_NONCE = bytes(12)


class SealingError(LabError):
    """A value could not be sealed or unsealed (wrong key, wrong scope, corrupted ciphertext)."""


def lab_sealing_key() -> tuple[bytes, bytes]:
    """The committed lab-only sealing key and its certificate, both PEM."""
    return LAB_KEY_PATH.read_bytes(), LAB_CERT_PATH.read_bytes()


def sealing_key_secret(
    key_pem: bytes, cert_pem: bytes, name: str = "sealed-secrets-key-lab"
) -> dict[str, Any]:
    """The kube-system Secret the SealedSecrets controller looks for (what a DR drill must restore first)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": SEALING_KEY_NAMESPACE,
            "labels": {SEALING_KEY_LABEL: "active"},
        },
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": base64.b64encode(cert_pem).decode("ascii"),
            "tls.key": base64.b64encode(key_pem).decode("ascii"),
        },
    }


def _public_key(public_key_pem_or_cert: bytes) -> rsa.RSAPublicKey:
    key: object
    if b"CERTIFICATE" in public_key_pem_or_cert:
        key = x509.load_pem_x509_certificate(public_key_pem_or_cert).public_key()
    elif b"PRIVATE KEY" in public_key_pem_or_cert:
        key = serialization.load_pem_private_key(public_key_pem_or_cert, password=None).public_key()
    else:
        key = serialization.load_pem_public_key(public_key_pem_or_cert)
    if not isinstance(key, rsa.RSAPublicKey):
        raise SealingError("the sealing certificate does not hold an RSA key", hint="use an RSA key pair")
    return key


def _oaep(label: bytes) -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=label)


def _scope_label(namespace: str, name: str) -> bytes:
    return f"{namespace}/{name}".encode()


def encrypt_value(public_key: rsa.RSAPublicKey, label: bytes, plaintext: bytes) -> bytes:
    session_key = os.urandom(_SESSION_KEY_BYTES)
    wrapped = public_key.encrypt(session_key, _oaep(label))
    sealed = AESGCM(session_key).encrypt(_ZERO_NONCE, plaintext, None)
    return struct.pack(">H", len(wrapped)) + wrapped + sealed


def decrypt_value(private_key: rsa.RSAPrivateKey, label: bytes, ciphertext: bytes) -> bytes:
    if len(ciphertext) < 2:
        raise ValueError("ciphertext too short")
    (wrapped_len,) = struct.unpack(">H", ciphertext[:2])
    wrapped, sealed = ciphertext[2 : 2 + wrapped_len], ciphertext[2 + wrapped_len :]
    session_key = private_key.decrypt(wrapped, _oaep(label))
    return AESGCM(session_key).decrypt(_ZERO_NONCE, sealed, None)


def seal(
    public_key_pem_or_cert: bytes,
    namespace: str,
    name: str,
    data: dict[str, bytes],
    *,
    secret_type: str = "Opaque",  # noqa: S107 - a Secret type, not a password
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A SealedSecret object whose controller will produce Secret `namespace/name` holding `data`."""
    public_key = _public_key(public_key_pem_or_cert)
    label = _scope_label(namespace, name)
    encrypted = {
        key: base64.b64encode(encrypt_value(public_key, label, value)).decode("ascii")
        for key, value in sorted(data.items())
    }
    template_meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        template_meta["labels"] = dict(labels)
    return {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "encryptedData": encrypted,
            "template": {"metadata": template_meta, "type": secret_type},
        },
    }


def load_private_key(private_key_pem: bytes) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise SealingError("the sealing key is not a readable PEM private key") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SealingError("the sealing key is not an RSA key")
    return key


def unseal(private_key_pem: bytes, sealed_obj: dict[str, Any]) -> dict[str, bytes]:
    """The plaintext values of a SealedSecret; SealingError when this key (or this scope) cannot open them."""
    private_key = load_private_key(private_key_pem)
    meta = sealed_obj.get("metadata", {})
    namespace, name = meta.get("namespace", ""), meta.get("name", "")
    label = _scope_label(namespace, name)
    result: dict[str, bytes] = {}
    for key, value in (sealed_obj.get("spec", {}).get("encryptedData") or {}).items():
        try:
            result[key] = decrypt_value(private_key, label, base64.b64decode(value))
        except (ValueError, InvalidTag) as exc:
            raise SealingError(f"cannot decrypt key {key!r} of SealedSecret {namespace}/{name}") from exc
    return result


def generate_key_pair(common_name: str = "drkit-lab-sealed-secrets") -> tuple[bytes, bytes]:
    """A fresh RSA-2048 key and a self-signed certificate (how the committed lab key was made)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650 * 3))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)
