"""One JSON line per API request: what benchmarks count and what shows which endpoints a client really calls.

Lines are written synchronously under a lock (a few microseconds each), and for ordinary requests before the
response body goes out, so a client that has its response can already find its line. Watches are logged when
they end, with their full duration. The log never holds the Authorization header or bodies.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TypedDict


class RequestRecord(TypedDict):
    time: float  # epoch seconds when the request arrived
    method: str
    path: str
    query: str
    status: int
    duration_ms: float
    user_agent: str
    watch: bool


class RequestLog:
    """Appends records to `path`; thread-safe; `close` when the server stops."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._file = path.open("a", encoding="utf-8")

    def record(self, record: RequestRecord) -> None:
        line = json.dumps(record) + "\n"
        with self._lock:
            if not self._file.closed:
                self._file.write(line)
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()
