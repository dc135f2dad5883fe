"""A tiny real HTTP server standing in for a cluster: it records every connection and every request.

The hostile-input tests point a kubeconfig at it and assert it saw nothing; a positive control proves that a
valid playbook does reach it, so "nothing" means something. Every request is answered 404 with a Kubernetes
Status, which drkit reads as "not found" and moves on.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CONTEXT = "hostile"


@dataclass
class Record:
    connections: int = 0
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.connections = 0
            self.requests.clear()

    def seen(self) -> tuple[int, list[str]]:
        with self.lock:
            return self.connections, list(self.requests)


class _Handler(BaseHTTPRequestHandler):
    record: Record  # set on the subclass made per server

    def setup(self) -> None:
        with self.record.lock:
            self.record.connections += 1
        super().setup()

    def _answer(self) -> None:
        with self.record.lock:
            self.record.requests.append(f"{self.command} {self.path}")
        body = json.dumps(
            {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}
        ).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass(frozen=True)
class RecordingCluster:
    url: str
    kubeconfig: Path
    record: Record


@contextmanager
def recording_cluster(directory: Path) -> Iterator[RecordingCluster]:
    """A recording server on 127.0.0.1 and a kubeconfig (context `hostile`) pointing at it."""
    record = Record()
    handler = type("Handler", (_Handler,), {"record": record})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="recording-cluster", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    kubeconfig = directory / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": CONTEXT, "cluster": {"server": url}}],
                "users": [{"name": CONTEXT, "user": {"token": "hostile-test-token"}}],
                "contexts": [
                    {
                        "name": CONTEXT,
                        "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": "hostile"},
                    }
                ],
                "current-context": CONTEXT,
            }
        ),
        encoding="utf-8",
    )
    try:
        yield RecordingCluster(url, kubeconfig, record)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
