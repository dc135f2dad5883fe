"""A real lab API server per test: HTTPS with a throwaway CA, a bearer token, the namespace controller."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apiserver_harness import TOKEN, Lab, make_certs, write_kubeconfig

from drkit.lab.apiserver.http import ApiServer
from drkit.lab.apiserver.store import Store
from drkit.lab.controllers.base import ControllerManager
from drkit.lab.controllers.namespaces import NamespaceController
from drkit.lab.faults import Faults
from drkit.lab.settings import LabSettings


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    ca, cert, key = make_certs(tmp_path)
    store = Store(seed=1)
    faults = Faults()
    log = tmp_path / "requests.jsonl"
    server = ApiServer(store, token=TOKEN, tls=(cert, key), faults=faults, request_log=log)
    server.start()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.url, ca, TOKEN)
    manager = ControllerManager(store, [NamespaceController(store, LabSettings(state_dir=tmp_path))])
    manager.start()
    try:
        yield Lab(server, store, faults, kubeconfig, ca, log, tmp_path, manager)
    finally:
        manager.stop()
        server.stop()
