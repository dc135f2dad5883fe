"""TLS material for the lab's API server: a throwaway CA and a serving certificate signed by it.

kubectl and the official client verify the server against `certificate-authority-data` in the kubeconfig,
exactly as they do against a real cluster; serving plain HTTP would let drkit's TLS handling go untested. The
CA lives only as long as the lab's state directory and is never trusted system-wide.

The same CA signs the kubelet's pair, as a cluster CA signs them on a node: the kubelet's serving certificate
(`kubelet_serving_tls`) (for the Node's address, which the API server verifies with
`--kubelet-certificate-authority`) and the API server's client certificate (`kubelet_client_tls`,
`--kubelet-client-certificate`,
`kube-apiserver-kubelet-client` in `system:masters`, as kubeadm issues it), which the kubelet requires.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = datetime.timedelta(days=365)
# Clock skew between the process that issues and the one that verifies is zero here, but keep a margin anyway.
_BACKDATE = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class TlsFiles:
    """Where the lab keeps its TLS material (PEM files; keys are mode 0600)."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path

    @classmethod
    def in_dir(cls, state_dir: Path) -> TlsFiles:
        tls_dir = state_dir / "tls"
        return cls(
            ca_cert=state_dir / "ca.crt",
            ca_key=tls_dir / "ca.key",
            server_cert=tls_dir / "server.crt",
            server_key=tls_dir / "server.key",
        )

    def exist(self) -> bool:
        return all(p.is_file() for p in (self.ca_cert, self.ca_key, self.server_cert, self.server_key))


@dataclass(frozen=True)
class PeerTls:
    """One side of a mutually authenticated connection: its certificate and key, and the CA that signed them
    (which also verifies the other side)."""

    ca_cert: Path
    cert: Path
    key: Path


def _new_key() -> ec.EllipticCurvePrivateKey:
    # P-256 keys are generated in microseconds (RSA would cost a noticeable fraction of lab start-up).
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(data)


def ensure_tls(state_dir: Path, *, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> TlsFiles:
    """Create (once) a CA and a serving certificate for `hosts` in `state_dir`, and return their paths.

    Existing material is reused so a restarted lab keeps the CA that kubeconfigs already trust.
    """
    files = TlsFiles.in_dir(state_dir)
    if files.exist():
        return files
    now = datetime.datetime.now(datetime.UTC)
    ca_key = _new_key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "drkit-lab-ca")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = _new_key()
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "drkit-lab-apiserver")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectAlternativeName(_alt_names(hosts)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(files.ca_key, _key_pem(ca_key))
    _write_private(files.server_key, _key_pem(server_key))
    files.server_cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    files.ca_cert.parent.mkdir(parents=True, exist_ok=True)
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return files


def _alt_names(hosts: tuple[str, ...]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _issue(
    files: TlsFiles,
    cert_path: Path,
    key_path: Path,
    *,
    common_name: str,
    organization: str | None,
    hosts: tuple[str, ...],
    usage: x509.ObjectIdentifier,
) -> None:
    """A leaf certificate signed by the lab CA, written once (kept while the CA is the same)."""
    if cert_path.is_file() and key_path.is_file():
        return
    ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = _new_key()
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName(_alt_names(hosts)), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    _write_private(key_path, _key_pem(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def kubelet_serving_tls(state_dir: Path, *, node_name: str, node_ip: str) -> PeerTls:
    """The kubelet's serving pair in `state_dir` (see the module docstring), signed by its CA (made when
    missing), for the Node's name and the address an API server dials."""
    files = ensure_tls(state_dir)
    out = PeerTls(
        files.ca_cert, files.server_cert.parent / "kubelet.crt", files.server_cert.parent / "kubelet.key"
    )
    _issue(
        files,
        out.cert,
        out.key,
        common_name=f"system:node:{node_name}",
        organization="system:nodes",
        hosts=(node_ip, node_name, "localhost"),
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
    )
    return out


def kubelet_client_tls(state_dir: Path) -> PeerTls:
    """The API server's client pair for kubelets in `state_dir`, signed by its CA (made when missing)."""
    files = ensure_tls(state_dir)
    tls_dir = files.server_cert.parent
    out = PeerTls(
        files.ca_cert, tls_dir / "apiserver-kubelet-client.crt", tls_dir / "apiserver-kubelet-client.key"
    )
    _issue(
        files,
        out.cert,
        out.key,
        common_name="kube-apiserver-kubelet-client",
        organization="system:masters",
        hosts=(),
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
    )
    return out
