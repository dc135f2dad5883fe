"""The kubelet's own HTTPS server, the one an API server dials for `kubectl logs`.

On a node, the kubelet listens on the port its Node reports in `status.daemonEndpoints.kubeletEndpoint`;
kube-apiserver answers `GET pods/NAME/log` by asking it `GET /containerLogs/NS/POD/CONTAINER?...` and relays
the answer. The lab's kubelet does the same on a free port of 127.0.0.1 (the Node's InternalIP), so both
control planes serve logs by one path: kube-apiserver through its egress selector and the lab's pod-network
proxy, the emulated server directly.

TLS both ways, as on a cluster: the serving certificate is the lab CA's (the API server verifies it with
`--kubelet-certificate-authority`), and a client must present a certificate the same CA signed
(kube-apiserver's `--kubelet-client-certificate`). That is the kubelet's authentication; its authorization (a
SubjectAccessReview for `nodes/proxy`) is not reproduced: only the API servers hold such a certificate.

Only `/containerLogs` is served (no exec, attach, port-forward or stats: 404). `follow=true` is answered with
what the log holds and the stream ends; it does not wait for more.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from drkit_lab.containers.logs import LogOptions, parse_time
from drkit_lab.tls import PeerTls

log = logging.getLogger(__name__)


class KubeletRefusal(Exception):
    """An answer other than the log: the HTTP status and the kubelet's own text."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class LogRequest:
    namespace: str
    pod: str
    container: str
    options: LogOptions


# A request -> the log's bytes; raises KubeletRefusal for any other answer
LogSource = Callable[[LogRequest], bytes]


def parse_options(query: dict[str, str]) -> LogOptions:
    """The `/containerLogs` query, read as a kubelet reads it (malformed numbers: 400)."""

    def number(name: str) -> int | None:
        text = query.get(name)
        if text is None or text == "":
            return None
        try:
            return int(text)
        except ValueError:
            raise KubeletRefusal(400, f"{name}: invalid value {text!r}: not an integer") from None

    since_time = None
    if query.get("sinceTime"):
        since_time = parse_time(query["sinceTime"])
        if since_time is None:
            raise KubeletRefusal(400, f"sinceTime: invalid value {query['sinceTime']!r}: not RFC 3339")
    return LogOptions(
        tail_lines=number("tailLines"),
        since_seconds=number("sinceSeconds"),
        since_time=since_time,
        timestamps=query.get("timestamps") == "true",
        limit_bytes=number("limitBytes"),
        previous=query.get("previous") == "true",
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "drkit-lab-kubelet"
    timeout = 60
    server: _Server

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()  # a client without a certificate the CA signed fails here
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("kubelet server: " + format, *args)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        try:
            if len(parts) != 4 or parts[0] != "containerLogs":
                raise KubeletRefusal(404, "404 page not found")
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            request = LogRequest(parts[1], parts[2], parts[3], parse_options(query))
            body = self.server.source(request)
        except KubeletRefusal as refusal:
            self._send(refusal.code, refusal.message.encode())
            return
        except Exception as exc:
            log.exception("kubelet server: serving %s", self.path)
            self._send(500, f"{type(exc).__name__}: {exc}".encode())
            return
        self._send(200, body)

    def _send(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], source: LogSource, context: ssl.SSLContext) -> None:
        self.source = source
        self._context = context
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = self.socket.accept()
        # Handshake in the handler thread (see _Handler.setup), not in accept().
        return self._context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("kubelet server: connection from %s failed", client_address, exc_info=True)


class KubeletServer:
    """The HTTPS server (see the module docstring): `start()` binds a free port on `host`."""

    def __init__(self, source: LogSource, tls: PeerTls, host: str = "127.0.0.1") -> None:
        self._source = source
        self._tls = tls
        self._host = host
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1]) if self._httpd is not None else 0

    def start(self) -> KubeletServer:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile=str(self._tls.cert), keyfile=str(self._tls.key))
        context.load_verify_locations(cafile=str(self._tls.ca_cert))
        context.verify_mode = ssl.CERT_REQUIRED
        self._httpd = _Server((self._host, 0), self._source, context)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="kubelet-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        with contextlib.suppress(OSError):
            httpd.server_close()
        if self._thread is not None:
            self._thread.join()
