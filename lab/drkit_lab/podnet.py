"""The lab's pod network: pod addresses that look like a cluster's, and the one way into them.

Pods get addresses in POD_CIDR (10.244.0.0/16), as a cluster's CNI hands out. A container the lab really runs
listens on the loopback twin of its pod's address (10.244.a.b -> 127.244.a.b), which every Linux machine
routes to itself without privileges. Nothing outside the lab dials pod addresses, exactly as on a real
cluster: users go through the API server's service proxy, a port-forward or an ingress. The API servers
reach pods through `PodNetworkProxy`, an HTTP CONNECT proxy on a unix socket: kube-apiserver is pointed at it
by its egress selector (the way konnectivity carries a real cluster's control-plane traffic), the emulated
server calls `local_address` itself.
"""

from __future__ import annotations

import ipaddress
import logging
import select
import socket
import socketserver
import threading
from pathlib import Path

log = logging.getLogger(__name__)

POD_CIDR = ipaddress.ip_network("10.244.0.0/16")
_LOOPBACK_TWIN = ipaddress.ip_network("127.244.0.0/16")
_MAX_REQUEST_HEAD = 8192
_PIPE_CHUNK = 65536


class Unreachable(ValueError):
    """The address is neither a pod's nor this machine's: the lab has no route to it."""


def pod_address(number: int) -> str:
    """The `number`-th pod address (stable for a pod: derived from its uid by the kubelet)."""
    host = number % (POD_CIDR.num_addresses - 4) + 2
    return str(POD_CIDR.network_address + host)


def local_address(address: str) -> str:
    """Where the lab really listens for `address`: a pod address's loopback twin, loopback as itself."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise Unreachable(f"{address!r} is not an IP address") from None
    if ip in POD_CIDR:
        offset = int(ip) - int(POD_CIDR.network_address)
        return str(_LOOPBACK_TWIN.network_address + offset)
    if ip.is_loopback:
        return address
    raise Unreachable(f"{address} is not on the lab's pod network ({POD_CIDR}) nor on this machine")


def dial(address: str, port: int, timeout: float = 10.0) -> socket.socket:
    """A TCP connection to `address:port` on the pod network."""
    return socket.create_connection((local_address(address), port), timeout=timeout)


class _ConnectHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        client: socket.socket = self.request
        head = b""
        while b"\r\n\r\n" not in head and len(head) < _MAX_REQUEST_HEAD:
            chunk = client.recv(1024)
            if not chunk:
                return
            head += chunk
        first = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, _, rest = first.partition(" ")
        target = rest.split(" ", 1)[0]
        host, _, port = target.rpartition(":")
        if method != "CONNECT" or not host or not port.isdigit():
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        try:
            upstream = dial(host.strip("[]"), int(port))
        except (Unreachable, OSError) as exc:
            log.info("pod network: no route to %s: %s", target, exc)
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        with upstream:
            upstream.settimeout(None)
            client.settimeout(None)
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _pipe(client, upstream)


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy both ways until either side closes."""
    peers = {a: b, b: a}
    while True:
        readable, _, _ = select.select(list(peers), [], [])
        for sock in readable:
            try:
                data = sock.recv(_PIPE_CHUNK)
            except OSError:
                return
            if not data:
                return
            try:
                peers[sock].sendall(data)
            except OSError:
                return


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class PodNetworkProxy:
    """An HTTP CONNECT proxy on a unix socket into the pod network (see the module docstring)."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        socket_path.unlink(missing_ok=True)
        self._server = _Server(str(socket_path), _ConnectHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="pod-network", daemon=True)

    def start(self) -> PodNetworkProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.socket_path.unlink(missing_ok=True)
