"""Run a real Kubernetes control plane on loopback: etcd, kube-apiserver and kube-controller-manager.

This is the ground truth the emulated API server is measured against: server-side apply conflicts, deletion
propagation, namespace finalization, pagination, CRD schema validation and RBAC are Kubernetes' own code.
There are no kubelets and no scheduler: the lab's operators bind and run Pods as API clients.

Every process listens on 127.0.0.1 only, on ports picked free at start. Credentials are static bearer tokens
(`--token-auth-file`), so a proxy in front of the API server (the lab's fault injector) passes them through
unchanged; each identity is its own user, with RBAC on:
- the lab's user (the kubeconfig drkit and kubectl get): `drkit-lab-admin` in `system:masters`;
- the lab's operators (Seldon, Argo, SealedSecrets, kubelet stand-ins): `lab-operators` in `system:masters`;
- kube-controller-manager: `system:kube-controller-manager`, whose bootstrap ClusterRole lets it mint a token
  per controller (`--use-service-account-credentials`), as on a real cluster.
etcd's data is wiped at every start: like the emulated lab, nothing survives `drkit lab down` except MLflow.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from drkit_lab.children import die_with_parent
from drkit_lab.controlplane.build import Binaries
from drkit_lab.errors import LabError
from drkit_lab.podnet import PodNetworkProxy
from drkit_lab.tls import TlsFiles, ensure_tls, kubelet_client_tls

SERVICE_CIDR = "10.0.0.0/24"
LAB_USER = "drkit-lab-admin"
OPERATORS_USER = "lab-operators"
CONTROLLER_MANAGER_USER = "system:kube-controller-manager"
# The controllers a cluster needs for what drills do. Left out on purpose: the pod garbage collector and the
# node lifecycle controller, which would delete or evict the Pods of nodes that have no kubelet behind them.
CONTROLLERS = (
    "namespace-controller",
    "garbage-collector-controller",
    "deployment-controller",
    "replicaset-controller",
    "statefulset-controller",
    "job-controller",
    "cronjob-controller",
    "ttl-after-finished-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
    "clusterrole-aggregation-controller",
    "endpointslice-controller",
    "resourcequota-controller",
)
# Objects held per resource: the newer name first; kube-apiserver has published both across releases.
_OBJECT_METRICS = ("apiserver_resource_objects{", "apiserver_storage_objects{")
_READY_DEADLINE_S = 120.0
_STOP_DEADLINE_S = 15.0


@dataclass(frozen=True)
class Credentials:
    """The static bearer tokens of one control plane (the file is mode 0600 and never logged)."""

    lab: str
    operators: str
    controller_manager: str

    @classmethod
    def new(cls) -> Credentials:
        return cls(*(secrets.token_urlsafe(32) for _ in range(3)))

    def token_file(self) -> str:
        rows = [
            (self.lab, LAB_USER, "uid-lab-admin", "system:masters"),
            (self.operators, OPERATORS_USER, "uid-lab-operators", "system:masters"),
            (self.controller_manager, CONTROLLER_MANAGER_USER, "uid-kcm", ""),
        ]
        return "".join(f'{token},{user},{uid},"{groups}"\n' for token, user, uid, groups in rows)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _socket_path(wanted: Path) -> Path:
    """`wanted`, or a short path in the temp dir when it is too long for a unix socket (108 bytes)."""
    if len(str(wanted)) < 100:
        return wanted
    digest = hashlib.sha256(str(wanted).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"drkit-lab-{digest}.sock"


def _egress_selector(socket_path: Path) -> str:
    """kube-apiserver's egress selector: what it sends to pods, Services and Nodes goes over HTTP CONNECT to
    the lab's pod network proxy (as konnectivity carries it on a real cluster); etcd is dialled directly."""
    return (
        "apiVersion: apiserver.k8s.io/v1beta1\n"
        "kind: EgressSelectorConfiguration\n"
        "egressSelections:\n"
        "- name: cluster\n"
        "  connection:\n"
        "    proxyProtocol: HTTPConnect\n"
        "    transport:\n"
        "      uds:\n"
        f"        udsName: {socket_path}\n"
    )


class RealControlPlane:
    """etcd + kube-apiserver + kube-controller-manager under `root` (certificates, data, logs)."""

    name = "real"

    def __init__(self, binaries: Binaries, root: Path, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.binaries = binaries
        self.root = root
        self.host = host
        self.requested_port = port
        self.credentials = Credentials.new()
        self.tls: TlsFiles | None = None
        self.port = 0
        self.etcd_url = ""
        self._procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._pod_network: PodNetworkProxy | None = None

    @property
    def version(self) -> str:
        return self.binaries.kubernetes_version

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def start(self) -> RealControlPlane:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        pki = self.root / "pki"
        pki.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        self.tls = ensure_tls(self.root.parent)
        kubelet = kubelet_client_tls(self.root.parent)  # the same CA signs the lab kubelet's certificate
        sa_key = _ensure_service_account_key(pki / "service-account.key")
        tokens = pki / "tokens.csv"
        _write_private(tokens, self.credentials.token_file())
        etcd_client, etcd_peer = free_port(), free_port()
        data = self.root / "etcd"
        self.etcd_url = f"http://127.0.0.1:{etcd_client}"
        shutil.rmtree(data, ignore_errors=True)
        self._spawn(
            "etcd",
            [
                str(self.binaries.etcd),
                "--name=lab",
                f"--data-dir={data}",
                f"--listen-client-urls=http://127.0.0.1:{etcd_client}",
                f"--advertise-client-urls=http://127.0.0.1:{etcd_client}",
                f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-cluster=lab=http://127.0.0.1:{etcd_peer}",
                "--listen-metrics-urls=",
                "--unsafe-no-fsync",  # a lab's data is thrown away at every start
                "--auto-compaction-mode=periodic",
                "--auto-compaction-retention=5m",
                "--quota-backend-bytes=4294967296",
                "--log-level=warn",
            ],
        )
        self.port = self.requested_port or free_port(self.host)
        self._pod_network = PodNetworkProxy(_socket_path(self.root / "pod-network.sock")).start()
        egress = self.root / "egress-selector.yaml"
        egress.write_text(_egress_selector(self._pod_network.socket_path), encoding="utf-8")
        self._spawn(
            "kube-apiserver",
            [
                str(self.binaries.kube_apiserver),
                f"--etcd-servers=http://127.0.0.1:{etcd_client}",
                f"--bind-address={self.host}",
                f"--secure-port={self.port}",
                f"--advertise-address={self.host}",
                "--endpoint-reconciler-type=none",
                f"--tls-cert-file={self.tls.server_cert}",
                f"--tls-private-key-file={self.tls.server_key}",
                f"--client-ca-file={self.tls.ca_cert}",
                f"--token-auth-file={tokens}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={sa_key}",
                f"--service-account-signing-key-file={sa_key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=RBAC",
                "--kubelet-preferred-address-types=InternalIP",  # the lab's Node reports 127.0.0.1 only
                # `kubectl logs`: kube-apiserver verifies the lab kubelet's serving certificate and proves
                # itself with a client certificate the kubelet requires (drkit_lab.controllers.kubeletserver).
                f"--kubelet-certificate-authority={kubelet.ca_cert}",
                f"--kubelet-client-certificate={kubelet.cert}",
                f"--kubelet-client-key={kubelet.key}",
                # Pods, Services and the Node are reached through the lab's pod network (drkit_lab.podnet).
                f"--egress-selector-config-file={egress}",
                "--allow-privileged=true",
                "--anonymous-auth=false",
                "--profiling=false",
                "--v=1",
            ],
        )
        self._wait_ready()
        kcm_kubeconfig = self.root / "kube-controller-manager.kubeconfig"
        _write_private(kcm_kubeconfig, self.kubeconfig_text(self.credentials.controller_manager))
        self._spawn(
            "kube-controller-manager",
            [
                str(self.binaries.kube_controller_manager),
                f"--kubeconfig={kcm_kubeconfig}",
                f"--controllers={','.join(CONTROLLERS)}",
                f"--service-account-private-key-file={sa_key}",
                f"--root-ca-file={self.tls.ca_cert}",
                "--use-service-account-credentials",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                "--concurrent-gc-syncs=20",
                "--concurrent-namespace-syncs=10",
                "--v=1",
            ],
        )

    def kubeconfig_text(self, token: str) -> str:
        """A kubeconfig for `token` straight at the API server (the lab's own processes use it)."""
        from drkit_lab.kubeconfig import render_kubeconfig  # noqa: PLC0415 (ruamel is only needed here)

        assert self.tls is not None
        return render_kubeconfig(server=self.url, ca_pem=self.tls.ca_cert.read_bytes(), token=token)

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,  # noqa: PLW1509 (nothing but prctl runs before exec)
            )
        except OSError as exc:
            raise LabError(f"could not start {name}: {exc}", hint=f"is {argv[0]} built?") from exc
        finally:
            log.close()
        self._procs.append((name, proc))

    def _wait_ready(self) -> None:
        """Poll /readyz with the lab's token until the API server says it is ready (etcd included)."""
        assert self.tls is not None
        context = ssl.create_default_context(cafile=str(self.tls.ca_cert))
        request = urllib.request.Request(  # noqa: S310 (an https URL this module built)
            f"{self.url}/readyz", headers={"Authorization": f"Bearer {self.credentials.lab}"}
        )
        deadline = time.monotonic() + _READY_DEADLINE_S
        while time.monotonic() < deadline:
            self.check_alive()
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(request, context=context, timeout=2) as response,  # noqa: S310
            ):
                if response.status == 200:
                    return
            time.sleep(0.2)
        raise LabError(
            f"kube-apiserver did not become ready within {_READY_DEADLINE_S:.0f} s",
            hint=f"see {self.logs / 'kube-apiserver.log'}",
        )

    def process_ids(self) -> dict[str, int]:
        """The running programs' pids by name (benchmarks read their memory)."""
        return {name: proc.pid for name, proc in self._procs if proc.poll() is None}

    def object_count(self) -> int | None:
        """Objects held, from the API server's own storage metric (None until it is published or readable)."""
        assert self.tls is not None
        context = ssl.create_default_context(cafile=str(self.tls.ca_cert))
        request = urllib.request.Request(  # noqa: S310 (an https URL this module built)
            f"{self.url}/metrics", headers={"Authorization": f"Bearer {self.credentials.lab}"}
        )
        try:
            with urllib.request.urlopen(request, context=context, timeout=5) as response:  # noqa: S310
                text = response.read().decode("utf-8", errors="replace")
        except (OSError, urllib.error.URLError):
            return None
        counts = [
            float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(_OBJECT_METRICS)
        ]
        # kube-apiserver publishes the counts only after its first periodic estimate (about a minute in).
        return int(sum(counts)) if counts else None

    def check_alive(self) -> None:
        """Raise naming the first process that exited, with the tail of its log."""
        for name, proc in self._procs:
            code = proc.poll()
            if code is not None:
                raise LabError(
                    f"{name} exited with status {code}:\n{_tail(self.logs / f'{name}.log')}",
                    hint=f"see {self.logs / f'{name}.log'}",
                )

    def stop(self) -> None:
        """SIGTERM every process, newest first, and wait; SIGKILL what does not stop. Safe to call twice."""
        procs, self._procs = self._procs, []
        for _, proc in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(_STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        network, self._pod_network = self._pod_network, None
        if network is not None:
            network.stop()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text, encoding="utf-8")


def _ensure_service_account_key(path: Path) -> Path:
    """The key that signs ServiceAccount tokens (the API server verifies, the token controller signs)."""
    if not path.is_file():
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        _write_private(path, pem.decode("ascii"))
    return path
