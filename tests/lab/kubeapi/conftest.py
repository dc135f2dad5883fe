"""An emulated API server per test (HTTPS, users' and system tokens) and the lab's API client for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from served_api import SYSTEM_TOKEN, USER_TOKEN, Served

from drkit_lab.apiserver.http import ApiServer
from drkit_lab.apiserver.store import Store
from drkit_lab.faults import Faults
from drkit_lab.kubeapi import ApiClient
from drkit_lab.tls import TlsFiles, ensure_tls


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return ensure_tls(tmp_path_factory.mktemp("client-tls"))


@pytest.fixture
def served(tmp_path: Path, tls_files: TlsFiles) -> Iterator[Served]:
    store = Store(history=50)
    faults = Faults()
    log = tmp_path / "requests.jsonl"
    server = ApiServer(
        store,
        token=USER_TOKEN,
        system_token=SYSTEM_TOKEN,
        tls=(tls_files.server_cert, tls_files.server_key),
        faults=faults,
        request_log=log,
    )
    server.start()
    try:
        yield Served(store, server, faults, tls_files, log)
    finally:
        server.stop()


@pytest.fixture
def client(served: Served) -> Iterator[ApiClient]:
    with ApiClient(served.connection(), user_agent="client-test", discovery_retry=0) as api:
        yield api
