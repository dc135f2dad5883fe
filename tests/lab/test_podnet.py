"""The lab's pod network: pod addresses map onto their loopback twins, and the CONNECT proxy (what
kube-apiserver's egress selector dials) carries a connection to a pod and refuses what is off the network."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from drkit_lab.podnet import PodNetworkProxy, Unreachable, local_address, pod_address


def test_pod_addresses_are_on_the_pod_network_and_listen_on_loopback() -> None:
    assert pod_address(0) == "10.244.0.2"
    assert local_address(pod_address(70_000)) == "127.244." + pod_address(70_000).split(".", 2)[2]
    assert local_address("127.0.0.1") == "127.0.0.1"
    with pytest.raises(Unreachable, match="not on the lab's pod network"):
        local_address("192.0.2.10")


@pytest.fixture
def echo_pod() -> Iterator[tuple[str, int]]:
    """A TCP echo server listening where the pod 10.244.3.4 really listens."""
    server = socket.create_server((local_address("10.244.3.4"), 0))
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(1024):
                conn.sendall(data.upper())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield "10.244.3.4", port
    server.close()


def _connect(proxy: PodNetworkProxy, target: str) -> tuple[socket.socket, bytes]:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(10)
    client.connect(str(proxy.socket_path))
    client.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += client.recv(1)
    return client, head


def test_connect_reaches_a_pod_and_refuses_the_rest(echo_pod: tuple[str, int], tmp_path: Path) -> None:
    proxy = PodNetworkProxy(tmp_path / "pod-network.sock").start()
    try:
        client, head = _connect(proxy, f"{echo_pod[0]}:{echo_pod[1]}")
        with client:
            assert head.startswith(b"HTTP/1.1 200")
            client.sendall(b"ping")
            assert client.recv(1024) == b"PING"
        refused, head = _connect(proxy, "192.0.2.10:80")
        refused.close()
        assert head.startswith(b"HTTP/1.1 502")
    finally:
        proxy.stop()
    assert not (tmp_path / "pod-network.sock").exists()
