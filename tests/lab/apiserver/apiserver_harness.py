"""Test harness for the lab API server: throwaway TLS material, a kubeconfig, a handle on the server."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from drkit_lab.apiserver.http import ApiServer
from drkit_lab.apiserver.store import Store
from drkit_lab.controllers.base import ControllerManager
from drkit_lab.faults import Faults

TOKEN = "test-token-not-a-secret"
SYSTEM_TOKEN = "system-token-not-a-secret"  # the lab's operators' credential
KUBECTL = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "kubectl"


def wait_for(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    """Poll `predicate` until it holds: for a state another thread or process reaches."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certs(directory: Path) -> tuple[Path, Path, Path]:
    """CA certificate, server certificate (127.0.0.1, localhost) and server key, as PEM files."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("drkit-test-ca"))
        .issuer_name(_name("drkit-test-ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("drkit-lab-apiserver"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    paths = (directory / "ca.crt", directory / "server.crt", directory / "server.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@dataclass
class Lab:
    server: ApiServer
    store: Store
    faults: Faults
    kubeconfig: Path
    ca: Path
    request_log: Path
    tmp: Path
    manager: ControllerManager

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(KUBECTL), "--kubeconfig", str(self.kubeconfig), *args],
            input=input,
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
            env={"HOME": str(self.tmp), "PATH": "/usr/bin:/bin"},
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def requests(self, until: Any = None, timeout: float = 3.0) -> list[dict[str, Any]]:
        """The request log; with `until`, polls until that predicate holds on it (a watch is logged when
        it ends, which may be after the client gave up on it)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.request_log.read_text() if self.request_log.exists() else ""
            rows = [json.loads(line) for line in text.splitlines()]
            if until is None or until(rows) or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)

    def raw(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "",
    ) -> Any:
        """One authenticated request outside any client library; returns the `requests` response."""
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        return requests.request(
            method,
            self.server.url + path,
            data=data,
            headers={
                "Authorization": f"Bearer {TOKEN}",
                "Content-Type": content_type,
                "Accept": accept or "*/*",
            },
            verify=str(self.ca),
            timeout=10,
        )

    def client(self) -> Any:
        return kubernetes.config.new_client_from_config(config_file=str(self.kubeconfig), context="drkit-lab")


def write_kubeconfig(path: Path, server: str, ca: Path, token: str) -> Path:
    ca_data = base64.b64encode(ca.read_bytes()).decode()
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "drkit-lab", "cluster": {"server": server, "certificate-authority-data": ca_data}}
        ],
        "users": [{"name": "drkit-lab-admin", "user": {"token": token}}],
        "contexts": [
            {
                "name": "drkit-lab",
                "context": {"cluster": "drkit-lab", "user": "drkit-lab-admin", "namespace": "default"},
            }
        ],
        "current-context": "drkit-lab",
    }
    path.write_text(json.dumps(doc))
    return path
