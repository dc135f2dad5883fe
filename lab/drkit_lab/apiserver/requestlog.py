"""One JSON line per API request: what benchmarks count and what shows which endpoints a client really calls.

Lines are written synchronously under a lock (a few microseconds each), and for ordinary requests before the
response body goes out, so a client that has its response can already find its line. Watches are logged when
they end, with their full duration. The log never holds the Authorization header or bodies.
"""

from __future__ import annotations

import json
import threading
import time
from email.message import Message
from io import BufferedIOBase
from pathlib import Path
from typing import TypedDict
from urllib.parse import urlsplit


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

    def record_request(
        self,
        *,
        started: float,
        clock: float,
        method: str,
        target: str,
        status: int,
        user_agent: str,
        watch: bool,
    ) -> None:
        """Record one request that arrived at epoch `started` (monotonic `clock`) for the raw `target`."""
        url = urlsplit(target)
        self.record(
            {
                "time": started,
                "method": method,
                "path": url.path,
                "query": url.query,
                "status": status,
                "duration_ms": round((time.monotonic() - clock) * 1000, 3),
                "user_agent": user_agent,
                "watch": watch,
            }
        )

    def close(self) -> None:
        with self._lock:
            self._file.close()


def read_body(headers: Message, rfile: BufferedIOBase) -> bytes:
    """A request body, sized by Content-Length or chunked (`kubectl replace --raw -f -` sends chunks)."""
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        chunks = []
        while (size := int(rfile.readline().split(b";")[0].strip() or b"0", 16)) > 0:
            chunks.append(rfile.read(size))
            rfile.readline()
        while rfile.readline().strip():  # trailers, then the blank line
            pass
        return b"".join(chunks)
    length = int(headers.get("Content-Length") or 0)
    return rfile.read(length) if length else b""
