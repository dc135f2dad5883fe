"""Helpers of the kube adapter tests: a real lab API server (TLS + bearer token) started in-process, and the
kubeconfig that points drkit at it, as drkit would be pointed at any cluster."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from drkit.context import Runtime
from drkit_lab.apiserver.http import ApiServer
from drkit_lab.apiserver.store import Store
from drkit_lab.faults import Faults, FaultSettings
from drkit_lab.kubeconfig import new_token, render_kubeconfig, write_kubeconfig
from drkit_lab.tls import ensure_tls

CRD_DIR = Path(__file__).resolve().parents[2] / "lab" / "drkit_lab" / "platforms" / "crds"


@dataclass
class Lab:
    server: ApiServer
    store: Store
    faults: Faults
    kubeconfig: Path
    ca_pem: bytes
    token: str
    state_dir: Path

    @property
    def request_log(self) -> Path:
        """Every request the API server answered, one JSON line each (the lab's request log)."""
        return self.state_dir / "requests.jsonl"

    def requests(self) -> list[dict[str, Any]]:
        if not self.request_log.exists():
            return []
        return [json.loads(line) for line in self.request_log.read_text(encoding="utf-8").splitlines()]

    def runtime(self, cwd: Path) -> Runtime:
        """A Runtime for drkit pointed at this lab, with its state under `cwd` (real clocks: the lab's watches
        run in real time)."""
        return Runtime(
            stdout=io.StringIO(),
            stderr=io.StringIO(),
            stdin=io.StringIO(),
            env={"KUBECONFIG": str(self.kubeconfig), "DRKIT_HOME": str(cwd / "state")},
            cwd=cwd,
        )

    def set_faults(self, **settings: Any) -> None:
        self.faults.update(FaultSettings(**settings))

    def kubeconfig_with(self, name: str, *, token: str | None = None, server: str | None = None) -> Path:
        text = render_kubeconfig(
            server=server or self.server.url, ca_pem=self.ca_pem, token=token or self.token
        )
        return write_kubeconfig(self.state_dir / name, text)

    def kubeconfig_with_contexts(self, name: str, servers: Mapping[str, str], *, current: str) -> Path:
        """`name` in the lab's state dir: one kubeconfig with a context per `servers` entry (context name ->
        API server), each with the lab's CA and token, `current` selected. Written again with another
        `current`, it is switched as `kubectl config use-context` would."""
        yaml = YAML(typ="safe", pure=True)
        docs = [
            yaml.load(render_kubeconfig(server=url, ca_pem=self.ca_pem, token=self.token, context=context))
            for context, url in servers.items()
        ]
        merged = {**docs[0], "current-context": current}
        for key in ("clusters", "users", "contexts"):
            merged[key] = [entry for doc in docs for entry in doc[key]]
        return write_kubeconfig(self.state_dir / name, json.dumps(merged))  # JSON is YAML


@dataclass
class RecordingSleep:
    """Runtime.sleep for tests: records what drkit wanted to wait, never waits."""

    calls: list[float]

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@contextmanager
def running_lab(tmp_path: Path, store: Store) -> Iterator[Lab]:
    tls = ensure_tls(tmp_path / "lab")
    token = new_token()
    faults = Faults()
    server = ApiServer(
        store,
        token=token,
        tls=(tls.server_cert, tls.server_key),
        faults=faults,
        request_log=tmp_path / "requests.jsonl",
    )
    server.start()
    try:
        ca_pem = tls.ca_cert.read_bytes()
        kubeconfig = write_kubeconfig(
            tmp_path / "kubeconfig", render_kubeconfig(server=server.url, ca_pem=ca_pem, token=token)
        )
        yield Lab(server, store, faults, kubeconfig, ca_pem, token, tmp_path)
    finally:
        server.stop()


def load_crd(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe", pure=True).load((CRD_DIR / name).read_text(encoding="utf-8"))
    return loaded
