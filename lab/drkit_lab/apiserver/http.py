"""The lab's HTTPS front door: ThreadingHTTPServer speaking enough of the Kubernetes API for kubectl and the
official Python client (HTTP/1.1 keep-alive, chunked watch streams, bearer-token auth, Status errors).

Routing: `/lab/*` goes to the runner's admin callable (no faults), health endpoints answer "ok", discovery and
OpenAPI documents come from the live registry, `services|pods/NAME/proxy` is relayed to a pod
(`serviceproxy.py`), `pods/NAME/log` is asked of the pod's kubelet (`podlogs.py`), everything else is a
resource URL handled by `resources.py`.
Faults (latency, errors, dropped connections, cut watches) are applied here, per request.

Two credentials are accepted: the users' token (drkit, kubectl, tests) and the lab's system token (the
operators the lab plays, its platform bootstrap). System requests are the simulated cluster's own traffic:
they are never faulted and never written to the request log, which records what users sent.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from drkit_lab.apiserver import discovery, openapi, podlogs, serviceproxy
from drkit_lab.apiserver.errors import (
    ApiError,
    bad_request,
    method_not_allowed,
    path_not_found,
    unauthorized,
)
from drkit_lab.apiserver.requestlog import RequestLog, read_body
from drkit_lab.apiserver.resources import Request, Response, WatchPlan, handle, parse_target
from drkit_lab.apiserver.store import Store
from drkit_lab.apiserver.watch import stream_watch
from drkit_lab.faults import Faults, fault_status
from drkit_lab.tls import PeerTls

log = logging.getLogger(__name__)

GIT_VERSION = "v1.31.0-drkit-lab"
HEALTH_PATHS = ("/healthz", "/livez", "/readyz")
AdminHandler = Callable[[str, dict[str, Any]], dict[str, Any]]


class _HttpServer(ThreadingHTTPServer):
    """Tracks open connections so `stop` can close idle keep-alive sockets and join every handler thread."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], api: ApiServer, context: ssl.SSLContext | None) -> None:
        self.api = api
        self._context = context
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = self.socket.accept()
        # Headers and body go out in separate writes; without NODELAY, Nagle plus the client's delayed ACK
        # add ~40 ms to every response.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._context is not None:
            # Handshake in the handler thread, not here: a slow client must not stall accept().
            sock = self._context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        with self._connections_lock:
            self._connections.add(sock)
        return sock, address

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "drkit-lab"
    timeout = 60  # idle keep-alive connections are closed after this many seconds
    server: _HttpServer
    _started: float = 0.0  # per request: wall clock and monotonic clock at arrival, logged yet?
    _clock: float = 0.0
    _logged: bool = False
    _system: bool = False  # per request: sent with the lab's system token

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the request log records every request."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    # ------------------------------------------------------------------------------------------------ serving
    def _serve(self) -> None:
        self._started, self._clock, self._logged = time.time(), time.monotonic(), False
        self._system = self.server.api.is_system(self.headers.get("Authorization", ""))
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        body = read_body(self.headers, self.rfile)
        request = Request(
            self.command,
            url.path,
            query,
            body,
            self.headers.get("Content-Type", ""),
            self.headers.get("Accept", ""),
            self.headers.get("User-Agent", ""),
        )
        status, watching = 0, False
        try:
            status, watching = self._route(request)
        finally:
            self._log(status, watching)

    def _log(self, status: int, watching: bool = False) -> None:
        """Record this request once: before the body of an ordinary response, at the end of a watch."""
        api = self.server.api
        if self._logged or api.request_log is None or self._system:
            return
        self._logged = True
        api.request_log.record_request(
            started=self._started,
            clock=self._clock,
            method=self.command,
            target=self.path,
            status=status,
            user_agent=self.headers.get("User-Agent", ""),
            watch=watching,
        )

    def _client_gone(self) -> bool:
        """True when the client closed a streaming connection (it sends nothing while it watches)."""
        connection = self.connection
        try:
            readable, _, _ = select.select([connection], [], [], 0)
        except (OSError, ValueError):
            return True
        if not readable:
            return False
        timeout = connection.gettimeout()
        connection.setblocking(False)  # a TLS record without data must not block the stream
        try:
            return not connection.recv(1)
        except (ssl.SSLWantReadError, BlockingIOError):
            return False
        except OSError:
            return True
        finally:
            connection.settimeout(timeout)

    def _route(self, request: Request) -> tuple[int, bool]:
        api = self.server.api
        path = request.path.rstrip("/") or "/"
        is_admin = path.startswith("/lab/") or path == "/lab"
        try:
            if not is_admin and not self._system:
                decision = api.faults.decide(
                    f"{request.method} {path}", errors_allowed=path not in (*HEALTH_PATHS, "/version")
                )
                if decision.delay_seconds:
                    time.sleep(decision.delay_seconds)
                if decision.verdict == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return 0, False
                if decision.verdict == "error":
                    raise _fault_error(decision.code)
            if path in HEALTH_PATHS:
                return self._send_text(200, "ok"), False
            authorization = self.headers.get("Authorization", "")
            if api.token is not None and not self._system and not _authorized(authorization, api.token):
                raise unauthorized()
            if is_admin:
                return self._send_json(200, api.call_admin(path, request)), False
            if path == "/openapi/v2" and "protobuf" in self.headers.get("Accept", ""):
                return self._send_bytes(200, openapi.v2_protobuf(), openapi.V2_PROTOBUF), False
            document = api.document(path, self.headers.get("Host", ""))
            if document is not None:
                return self._send_json(200, document), False
            proxied = serviceproxy.parse_proxy_path(request.path)
            if proxied is not None:
                return self._send_relayed(proxied, request), False
            logs = podlogs.parse_log_path(request.path)
            if logs is not None:
                if request.method != "GET":
                    raise method_not_allowed()
                text = podlogs.pod_log(api.store, logs, request.query, api.kubelet_tls)
                return self._send_bytes(200, text, "text/plain"), False
            target = parse_target(api.store, path)
            if target is None:
                raise path_not_found(path)
            outcome = handle(api.store, target, request)
            if isinstance(outcome, WatchPlan):
                return self._stream(outcome), True
            return self._send_response(outcome), False
        except ApiError as exc:
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}
            return self._send_json(exc.code, exc.to_status(), headers), False
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
            return 499, False
        except Exception as exc:
            log.exception("internal error serving %s %s", request.method, request.path)
            status = ApiError(500, "InternalError", f"Internal error occurred: {type(exc).__name__}: {exc}")
            return self._send_json(500, status.to_status()), False

    def _stream(self, plan: WatchPlan) -> int:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()

        def write(data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        api = self.server.api
        try:
            stream_watch(
                api.store,
                plan,
                write,
                stopping=api.stopping,
                cut_after=None if self._system else api.faults.settings.watch_cut_after,
                client_gone=self._client_gone,
            )
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        return 200

    def _send_relayed(self, target: serviceproxy.ProxyTarget, request: Request) -> int:
        relayed = serviceproxy.relay(
            self.server.api.store,
            target,
            request.method,
            request.query,
            list(self.headers.items()),
            request.body,
        )
        self.send_response(relayed.status)
        for name, value in relayed.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(relayed.body)))
        self.end_headers()
        self._log(relayed.status)
        self.wfile.write(relayed.body)
        return relayed.status

    def _send_response(self, response: Response) -> int:
        return self._send_json(response.code, response.body, response.headers)

    def _send_json(self, code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> int:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self._log(code)
        self.wfile.write(data)
        return code

    def _send_text(self, code: int, text: str) -> int:
        return self._send_bytes(code, text.encode(), "text/plain; charset=utf-8")

    def _send_bytes(self, code: int, data: bytes, content_type: str) -> int:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self._log(code)
        self.wfile.write(data)
        return code


def _authorized(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _fault_error(code: int) -> ApiError:
    reason, message = fault_status(code)
    return ApiError(code, reason, message, retry_after=1 if code == 429 else None)


class ApiServer:
    """The lab's API server process-side object: start, url, stop."""

    def __init__(
        self,
        store: Store,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None,
        system_token: str | None = None,
        tls: tuple[Path, Path] | None,
        faults: Faults,
        request_log: Path | None,
        admin: AdminHandler | None = None,
        kubelet_tls: PeerTls | None = None,
    ) -> None:
        self.store = store
        self.kubelet_tls = kubelet_tls  # the CA kubelets are verified with, and the client pair they require
        self.token = token
        self.system_token = system_token
        self.faults = faults
        self.admin = admin
        self.stopping = threading.Event()
        self.request_log = RequestLog(request_log) if request_log is not None else None
        context = None
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certfile=str(tls[0]), keyfile=str(tls[1]))
        self._scheme = "https" if context is not None else "http"
        self._httpd = _HttpServer((host, port), self, context)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="lab-apiserver",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = str(self._httpd.server_address[0])
        return f"{self._scheme}://{host}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, end watch streams and idle connections, join every thread, flush the log."""
        self.stopping.set()
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.close_connections()
        self._httpd.server_close()
        if self.request_log is not None:
            self.request_log.close()

    def is_system(self, authorization: str) -> bool:
        """True for a request made with the lab's system token (see the module docstring)."""
        return self.system_token is not None and _authorized(authorization, self.system_token)

    def call_admin(self, path: str, request: Request) -> dict[str, Any]:
        if self.admin is None:
            raise path_not_found(path)
        try:
            payload = json.loads(request.body) if request.body.strip() else {}
        except ValueError:
            raise bad_request("the admin request body must be JSON") from None
        if not isinstance(payload, dict):
            raise bad_request("the admin request body must be a JSON object")
        try:
            return self.admin(path, payload)
        except (ValueError, KeyError) as exc:
            raise bad_request(f"{path}: {exc}") from None

    def document(self, path: str, host: str) -> dict[str, Any] | None:
        """Discovery and OpenAPI documents; None when `path` is not one."""
        registry = self.store.registry
        parts = [p for p in path.split("/") if p]
        if path == "/version":
            return {
                "major": "1",
                "minor": "31",
                "gitVersion": GIT_VERSION,
                "gitCommit": "drkit",
                "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "python",
                "compiler": "cpython",
                "platform": "linux/amd64",
            }
        if path == "/api":
            return discovery.api_versions(host or self.url.split("://", 1)[1])
        if path == "/apis":
            return discovery.api_group_list(registry)
        if parts[:1] == ["api"] and len(parts) == 2:
            return discovery.api_resource_list(registry, "", parts[1]) or _raise_not_found(path)
        if parts[:1] == ["apis"] and len(parts) == 2:
            return discovery.api_group(registry, parts[1]) or _raise_not_found(path)
        if parts[:1] == ["apis"] and len(parts) == 3:
            return discovery.api_resource_list(registry, parts[1], parts[2]) or _raise_not_found(path)
        if path == "/openapi/v2":
            return openapi.v2(registry)
        if path == "/openapi/v3":
            return openapi.v3_index(registry)
        if parts[:2] == ["openapi", "v3"]:
            rest = parts[2:]
            if rest[:1] == ["api"] and len(rest) == 2:
                return openapi.v3_group_version(registry, "", rest[1]) or _raise_not_found(path)
            if rest[:1] == ["apis"] and len(rest) == 3:
                return openapi.v3_group_version(registry, rest[1], rest[2]) or _raise_not_found(path)
            raise path_not_found(path)
        return None


def _raise_not_found(path: str) -> dict[str, Any]:
    raise path_not_found(path)
