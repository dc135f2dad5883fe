"""A fault-injecting HTTPS proxy in front of kube-apiserver: the real control plane's `drkit lab fault`.

Users of the lab (drkit, kubectl, the official client) reach the real API server through this proxy; the lab's
operators and kube-controller-manager talk to the API server directly, so a fault hits the tool under test and
not the platform it is recovering. The proxy passes requests through unchanged (the bearer token included: it
is the API server that authenticates and authorizes), and injects the same faults, from the same seeded dice,
as the emulated server: latency, error statuses (429 with Retry-After), dropped connections and watch streams
cut early. It writes the same `requests.jsonl` lines, so benchmarks and zero-write proofs read one format.

`/lab/...` is the lab's admin endpoint (status, faults, controllers), answered here for the lab's own token.
"""

from __future__ import annotations

import contextlib
import hmac
import http.client
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from drkit_lab.apiserver.requestlog import RequestLog, read_body
from drkit_lab.faults import Faults, fault_status

log = logging.getLogger(__name__)

Admin = Callable[[str, dict[str, Any]], dict[str, Any]]

HEALTH_PATHS = ("/healthz", "/readyz", "/livez")
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
}
_UPSTREAM_TIMEOUT_S = 330.0  # longer than any watch a client asks for (kubectl: up to 5 min)
_WATCHES_END_S = 5.0  # how long `stop` waits for the watches it cut to log themselves


class FaultProxy:
    """Serves on host:port (TLS with the lab's serving certificate) and forwards to `upstream`."""

    def __init__(
        self,
        upstream: str,
        *,
        ca_file: Path,
        tls: tuple[Path, Path],
        faults: Faults,
        token: str,
        request_log: Path | None,
        admin: Admin | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 443
        self.upstream_tls = ssl.create_default_context(cafile=str(ca_file))
        self.faults = faults
        self.token = token
        self.admin = admin
        self.request_log = RequestLog(request_log) if request_log is not None else None
        self._server = _Server((host, port), _Handler)
        self._server.proxy = self
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        # Watches still streaming. A watch is logged when it ends, and one whose client went away ends only
        # at its next event or its timeout: `stop` cuts them so that every watch made is in the log.
        self._watches: set[_Handler] = set()
        self._watches_changed = threading.Condition()
        self.stopping = False  # a watch whose upstream opens after `stop` began ends at once

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"https://{host!s}:{port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with self._watches_changed:
            self.stopping = True
            for handler in self._watches:
                handler.cut_upstream()
            self._watches_changed.wait_for(lambda: not self._watches, timeout=_WATCHES_END_S)
        if self.request_log is not None:
            self.request_log.close()

    def watch_started(self, handler: _Handler) -> None:
        with self._watches_changed:
            self._watches.add(handler)
            self._watches_changed.notify_all()

    def watch_ended(self, handler: _Handler) -> None:
        with self._watches_changed:
            self._watches.discard(handler)
            self._watches_changed.notify_all()

    def upstream(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            self.upstream_host, self.upstream_port, context=self.upstream_tls, timeout=_UPSTREAM_TIMEOUT_S
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    proxy: FaultProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self._upstream: http.client.HTTPSConnection | None = None

    def finish(self) -> None:
        if self._upstream is not None:
            self._upstream.close()
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _serve(self) -> None:
        started, clock = time.time(), time.monotonic()
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        watching = _is_watch(url.path, url.query)
        proxy = self.server.proxy
        if watching:
            proxy.watch_started(self)
        status = 0
        try:
            status = self._route(path, url.query, watching)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError, OSError):
            self.close_connection = True
            status = status or 499
        finally:
            if proxy.request_log is not None and not path.startswith("/lab"):
                proxy.request_log.record_request(
                    started=started,
                    clock=clock,
                    method=self.command,
                    target=self.path,
                    status=status,
                    user_agent=self.headers.get("User-Agent", ""),
                    watch=watching,
                )
            if watching:
                proxy.watch_ended(self)

    def _route(self, path: str, query: str, watching: bool) -> int:
        proxy = self.server.proxy
        body = read_body(self.headers, self.rfile)
        if path == "/lab" or path.startswith("/lab/"):
            return self._admin(path, body)
        decision = proxy.faults.decide(
            f"{self.command} {path}", errors_allowed=path not in (*HEALTH_PATHS, "/version")
        )
        if decision.delay_seconds:
            time.sleep(decision.delay_seconds)
        if decision.verdict == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return 0
        if decision.verdict == "error":
            return self._fault(decision.code)
        if self.headers.get("Upgrade"):
            return self._tunnel(body)
        return self._forward(body, watching)

    def _tunnel(self, body: bytes) -> int:
        """An upgraded connection (exec, attach, port-forward over WebSocket or SPDY): send the request as it
        came, then copy bytes both ways until either side closes. The API server answers the upgrade."""
        proxy = self.server.proxy
        upstream = socket.create_connection((proxy.upstream_host, proxy.upstream_port), timeout=30)
        upstream = proxy.upstream_tls.wrap_socket(upstream, server_hostname=proxy.upstream_host)
        head = [f"{self.command} {self.path} HTTP/1.1"]
        head += [f"{name}: {value}" for name, value in self.headers.items() if name.lower() != "host"]
        head.append(f"Host: {proxy.upstream_host}:{proxy.upstream_port}")
        upstream.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        self.close_connection = True
        client = self.connection
        upstream.settimeout(None)
        pumps = [
            threading.Thread(target=_pump, args=(upstream, client), daemon=True),
            threading.Thread(target=_pump, args=(client, upstream), daemon=True),
        ]
        for pump in pumps:
            pump.start()
        pumps[0].join()  # the API server's side ended: the session is over
        with contextlib.suppress(OSError):
            upstream.close()
        return 101  # as logged: the API server's own answer went through the tunnel

    def _admin(self, path: str, body: bytes) -> int:
        proxy = self.server.proxy
        scheme, _, given = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), proxy.token.encode()
        ):
            return self._json(401, _status(401, "Unauthorized", "Unauthorized"))
        if proxy.admin is None:
            return self._json(404, _status(404, "NotFound", "this proxy has no admin endpoint"))
        try:
            data = json.loads(body or b"{}")
            return self._json(200, proxy.admin(path, data if isinstance(data, dict) else {}))
        except ValueError as exc:
            return self._json(400, _status(400, "BadRequest", str(exc)))

    def _fault(self, code: int) -> int:
        reason, message = fault_status(code)
        headers = {"Retry-After": "1"} if code == 429 else {}
        return self._json(code, _status(code, reason, message), headers)

    def _forward(self, body: bytes, watching: bool) -> int:
        proxy = self.server.proxy
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP and k.lower() != "host"
        }
        if body or self.command in {"POST", "PUT", "PATCH"}:
            headers["Content-Length"] = str(len(body))
        for attempt in range(2):  # a kept-alive upstream connection may have been closed meanwhile
            if self._upstream is None:
                self._upstream = proxy.upstream()
            try:
                self._upstream.request(self.command, self.path, body=body or None, headers=headers)
                response = self._upstream.getresponse()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._upstream.close()
                self._upstream = None
                if attempt:
                    raise
        else:  # pragma: no cover (the loop either breaks or raises)
            raise AssertionError
        return self._relay(response, watching)

    def _relay(self, response: http.client.HTTPResponse, watching: bool) -> int:
        proxy = self.server.proxy
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        chunked = response.getheader("Transfer-Encoding", "").lower() == "chunked" or (
            response.getheader("Content-Length") is None and self.command != "HEAD"
        )
        if not chunked:
            data = response.read()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return response.status
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        cut = proxy.faults.settings.watch_cut_after if watching else None
        cutter = threading.Timer(cut, self.cut_upstream) if cut else None
        if cutter is not None:
            cutter.daemon = True
            cutter.start()
        if watching and proxy.stopping:  # its upstream opened after `stop` cut the others
            self.cut_upstream()
        try:
            self._stream(response)
        except OSError:  # the client went away mid-stream: the status it was sent is the answer's
            self.close_connection = True
        finally:
            if cutter is not None:
                cutter.cancel()
        if self.close_connection or not response.isclosed() or cutter is not None:
            self._drop_upstream()
        return response.status

    def _stream(self, response: http.client.HTTPResponse) -> None:
        while True:
            try:
                data = response.read1(65536)
            except (OSError, http.client.HTTPException):
                data = b""  # cut (by the timer, by `stop`, or by the API server going away)
            if not data:
                break
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def cut_upstream(self) -> None:
        """End a watch early, as a load balancer does: the client sees a cleanly finished stream."""
        upstream = self._upstream
        if upstream is not None and upstream.sock is not None:
            with contextlib.suppress(OSError):
                upstream.sock.shutdown(socket.SHUT_RDWR)

    def _drop_upstream(self) -> None:
        if self._upstream is not None:
            self._upstream.close()
        self._upstream = None

    def _json(self, code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> int:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response_only(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        return code


def _pump(source: socket.socket, target: socket.socket) -> None:
    """Copy bytes from `source` to `target` until `source` ends, then shut down `target`'s sending side."""
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


def _is_watch(path: str, query: str) -> bool:
    values = parse_qs(query).get("watch", [])
    return "/watch/" in path or any(v.lower() in {"true", "1"} for v in values)


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
