"""The fault proxy in front of the real API server: passes requests through, injects the lab's faults."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from drkit_lab.controlplane.proxy import FaultProxy
from drkit_lab.controlplane.real import RealControlPlane
from drkit_lab.faults import Faults, FaultSettings


@pytest.fixture
def proxy(real_plane: RealControlPlane, tmp_path: Path) -> Iterator[FaultProxy]:
    assert real_plane.tls is not None
    admin_calls: list[tuple[str, dict[str, Any]]] = []

    def admin(path: str, body: dict[str, Any]) -> dict[str, Any]:
        admin_calls.append((path, body))
        return {"path": path, "body": body}

    server = FaultProxy(
        real_plane.url,
        ca_file=real_plane.tls.ca_cert,
        tls=(real_plane.tls.server_cert, real_plane.tls.server_key),
        faults=Faults(),
        token=real_plane.credentials.lab,
        request_log=tmp_path / "requests.jsonl",
        admin=admin,
    ).start()
    try:
        yield server
    finally:
        server.stop()


def _client(plane: RealControlPlane, token: str | None = None) -> requests.Session:
    assert plane.tls is not None
    session = requests.Session()
    session.trust_env = False
    session.verify = str(plane.tls.ca_cert)
    session.headers["Authorization"] = f"Bearer {token or plane.credentials.lab}"
    return session


def test_requests_pass_through_with_the_callers_credential(
    proxy: FaultProxy, real_plane: RealControlPlane
) -> None:
    client = _client(real_plane)
    created = client.post(
        f"{proxy.url}/api/v1/namespaces/default/configmaps",
        json={"metadata": {"name": "through-proxy"}, "data": {"k": "v"}},
    )
    assert created.status_code == 201
    direct = _client(real_plane).get(f"{real_plane.url}/api/v1/namespaces/default/configmaps/through-proxy")
    assert direct.json()["metadata"]["uid"] == created.json()["metadata"]["uid"]
    anonymous = requests.Session()
    anonymous.trust_env = False
    anonymous.verify = client.verify
    assert anonymous.get(f"{proxy.url}/api/v1/namespaces").status_code == 401  # the API server decided


def test_injected_errors_carry_a_status_and_retry_after_but_spare_health(
    proxy: FaultProxy, real_plane: RealControlPlane
) -> None:
    proxy.faults.update(FaultSettings(error_rate=1.0, error_codes=(429,)))
    client = _client(real_plane)
    refused = client.get(f"{proxy.url}/api/v1/namespaces")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["reason"] == "TooManyRequests"
    assert client.get(f"{proxy.url}/readyz").status_code == 200


def test_dropped_connections_get_no_response(proxy: FaultProxy, real_plane: RealControlPlane) -> None:
    proxy.faults.update(FaultSettings(drop_rate=1.0))
    with pytest.raises(requests.ConnectionError):
        _client(real_plane).get(f"{proxy.url}/api/v1/namespaces", timeout=10)


def test_watches_are_cut_early_as_a_load_balancer_would(
    proxy: FaultProxy, real_plane: RealControlPlane
) -> None:
    proxy.faults.update(FaultSettings(watch_cut_after=0.5))
    client = _client(real_plane)
    # The server would keep this watch open for 5 minutes; the read timeout fails the test if it is not cut.
    with client.get(
        f"{proxy.url}/api/v1/namespaces",
        params={"watch": "true", "timeoutSeconds": "300"},
        stream=True,
        timeout=(5, 10),
    ) as stream:
        events = [json.loads(line) for line in stream.iter_lines() if line]
    assert {e["type"] for e in events} <= {"ADDED", "BOOKMARK"}
    assert any(e["object"]["metadata"]["name"] == "default" for e in events)  # streamed before the cut


def test_user_requests_are_logged_and_admin_calls_need_the_lab_token(
    proxy: FaultProxy, real_plane: RealControlPlane, tmp_path: Path
) -> None:
    client = _client(real_plane)
    assert client.get(f"{proxy.url}/api/v1/namespaces/default").status_code == 200
    assert client.post(f"{proxy.url}/lab/faults", json={"latency_ms": 0}).json()["path"] == "/lab/faults"
    intruder = _client(real_plane, token="not-the-lab-token")
    assert intruder.get(f"{proxy.url}/lab/status").status_code == 401
    records = [json.loads(line) for line in (tmp_path / "requests.jsonl").read_text().splitlines()]
    assert [(r["method"], r["path"], r["status"]) for r in records] == [
        ("GET", "/api/v1/namespaces/default", 200)
    ]
    assert "not-the-lab-token" not in (tmp_path / "requests.jsonl").read_text()


def test_a_chunked_request_body_reaches_the_api_server_whole(
    proxy: FaultProxy, real_plane: RealControlPlane
) -> None:
    body = json.dumps({"metadata": {"name": "chunked"}, "data": {"k": "v" * 5000}}).encode()
    pieces = (body[i : i + 1000] for i in range(0, len(body), 1000))  # requests sends a generator chunked
    created = _client(real_plane).post(
        f"{proxy.url}/api/v1/namespaces/default/configmaps",
        data=pieces,
        headers={"Content-Type": "application/json"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["data"]["k"] == "v" * 5000


def _watch_of_nothing(proxy: FaultProxy, plane: RealControlPlane) -> requests.Response:
    """A watch that nothing matches, so no event would ever end it before its 5-minute timeout."""
    return _client(plane).get(
        f"{proxy.url}/api/v1/namespaces/default/configmaps",
        params={"watch": "true", "timeoutSeconds": "300", "fieldSelector": "metadata.name=absent"},
        stream=True,
        timeout=(5, 30),
    )


def _logged(tmp_path: Path) -> list[tuple[str, int, bool]]:
    records = [json.loads(line) for line in (tmp_path / "requests.jsonl").read_text().splitlines()]
    return [(r["path"], r["status"], r["watch"]) for r in records]


def test_a_watch_its_client_left_is_logged_when_the_proxy_stops(
    proxy: FaultProxy, real_plane: RealControlPlane, tmp_path: Path
) -> None:
    with _watch_of_nothing(proxy, real_plane) as stream:
        assert stream.status_code == 200
    proxy.stop()
    assert _logged(tmp_path) == [("/api/v1/namespaces/default/configmaps", 200, True)]


def test_a_watch_still_on_its_way_upstream_when_the_proxy_stops_is_cut_and_logged(
    proxy: FaultProxy, real_plane: RealControlPlane, tmp_path: Path
) -> None:
    """A watch that opens its upstream connection only after `stop` cut the others (here: held by the
    injected latency) is ended as soon as it streams, so `stop` has every watch in the log."""
    proxy.faults.update(FaultSettings(latency_ms=1500))
    answered: list[int] = []

    def watch() -> None:
        with _watch_of_nothing(proxy, real_plane) as stream:
            answered.append(stream.status_code)
            for _ in stream.iter_content(None):  # to the end of the stream: `stop` ends it
                pass

    client = threading.Thread(target=watch, daemon=True)
    client.start()
    with proxy._watches_changed:  # the watch has reached the proxy and waits out its latency
        assert proxy._watches_changed.wait_for(lambda: proxy._watches, timeout=30)
    proxy.stop()
    client.join(timeout=30)
    assert answered == [200]
    assert _logged(tmp_path) == [("/api/v1/namespaces/default/configmaps", 200, True)]
