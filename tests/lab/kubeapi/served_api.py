"""What the API client tests share: the emulated server they run against (fixtures are in conftest.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drkit_lab.apiserver.http import ApiServer
from drkit_lab.apiserver.store import Store
from drkit_lab.faults import Faults
from drkit_lab.kubeapi import ApiConnection
from drkit_lab.tls import TlsFiles

USER_TOKEN = "user-token-for-client-tests"
SYSTEM_TOKEN = "system-token-for-client-tests"


@dataclass
class Served:
    store: Store
    server: ApiServer
    faults: Faults
    tls: TlsFiles
    request_log: Path

    def connection(self, token: str = USER_TOKEN) -> ApiConnection:
        return ApiConnection(self.server.url, ca_file=self.tls.ca_cert, token=token)

    def logged(self) -> list[dict[str, Any]]:
        text = self.request_log.read_text() if self.request_log.exists() else ""
        return [json.loads(line) for line in text.splitlines() if line.strip()]
