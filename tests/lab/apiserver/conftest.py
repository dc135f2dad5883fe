"""A real lab API server per test: HTTPS with a throwaway CA, the users' and the system bearer tokens, the
namespace controller (fed over HTTP with the system token, so none of its traffic is in the request log)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apiserver_harness import SYSTEM_TOKEN, TOKEN, Lab, make_certs, write_kubeconfig

from drkit_lab.apiserver.http import ApiServer
from drkit_lab.apiserver.store import Store
from drkit_lab.controllers.base import ControllerManager
from drkit_lab.controllers.namespaces import NamespaceController
from drkit_lab.faults import Faults
from drkit_lab.kubeapi import ApiClient, ApiConnection
from drkit_lab.settings import LabSettings


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    ca, cert, key = make_certs(tmp_path)
    store = Store(seed=1)
    faults = Faults()
    log = tmp_path / "requests.jsonl"
    server = ApiServer(
        store, token=TOKEN, system_token=SYSTEM_TOKEN, tls=(cert, key), faults=faults, request_log=log
    )
    server.start()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.url, ca, TOKEN)
    informers = ApiClient(
        ApiConnection(server.url, ca_file=ca, token=SYSTEM_TOKEN), user_agent="lab-informers"
    )
    manager = ControllerManager(informers, [NamespaceController(store, LabSettings(state_dir=tmp_path))])
    manager.start()
    try:
        yield Lab(server, store, faults, kubeconfig, ca, log, tmp_path, manager)
    finally:
        manager.stop()
        server.stop()
