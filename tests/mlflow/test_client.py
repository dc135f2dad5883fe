"""The HTTP side against tiny local servers: credentials, retries with Retry-After, paging, error texts."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from drkit.mlflow import MlflowAuthError, MlflowClient, MlflowRetryPolicy, MlflowSettings

Reply = Callable[[BaseHTTPRequestHandler, int], tuple[int, dict[str, str], bytes]]


@pytest.fixture
def serve() -> Iterator[Callable[[Reply], tuple[str, list[dict[str, str]]]]]:
    servers: list[ThreadingHTTPServer] = []
    threads: list[threading.Thread] = []

    def start(reply: Reply) -> tuple[str, list[dict[str, str]]]:
        seen: list[dict[str, str]] = []

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                seen.append({"path": self.path, "auth": self.headers.get("Authorization", ""), "body": body})
                status, headers, content = reply(self, len(seen))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever)
        thread.start()
        servers.append(server)
        threads.append(thread)
        return f"http://127.0.0.1:{server.server_address[1]}", seen

    yield start
    for server, thread in zip(servers, threads, strict=True):
        server.shutdown()
        server.server_close()
        thread.join()


def test_basic_auth_from_env_and_401_says_what_to_set(serve) -> None:  # type: ignore[no-untyped-def]
    url, seen = serve(lambda h, n: (401, {"WWW-Authenticate": 'Basic realm="mlflow"'}, b"unauthorized"))
    env = {"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": "s3cr3t-pw"}
    with (
        MlflowClient(MlflowSettings(url), env, lambda _: None) as client,
        pytest.raises(MlflowAuthError) as caught,
    ):
        client.get_json("experiments/get-by-name", {"experiment_name": "x"})
    assert seen[0]["auth"].startswith("Basic ")
    assert seen[0]["path"].startswith("/ajax-api/2.0/mlflow/experiments/get-by-name")
    text = str(caught.value)
    assert "MLFLOW_TRACKING_USERNAME" in text
    assert "MLFLOW_TRACKING_TOKEN" in text
    assert "s3cr3t-pw" not in text
    assert "alice" not in text


def test_bearer_token_and_no_auth(serve) -> None:  # type: ignore[no-untyped-def]
    url, seen = serve(lambda h, n: (200, {}, b"{}"))
    with MlflowClient(MlflowSettings(url), {"MLFLOW_TRACKING_TOKEN": "tok"}, lambda _: None) as client:
        assert client.get_json("x") == {}
    with MlflowClient(
        MlflowSettings(url, auth="none"), {"MLFLOW_TRACKING_TOKEN": "tok"}, lambda _: None
    ) as c:
        c.get_json("x")
    assert [s["auth"] for s in seen] == ["Bearer tok", ""]


def test_retries_honour_retry_after_then_succeed(serve) -> None:  # type: ignore[no-untyped-def]
    def reply(handler: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
        if n == 1:
            return 429, {"Retry-After": "7"}, b"{}"
        if n == 2:
            return 503, {}, b"busy"
        return 200, {}, b'{"ok": true}'

    url, seen = serve(reply)
    sleeps: list[float] = []
    policy = MlflowRetryPolicy(attempts=4, base_delay=0.5)
    with MlflowClient(MlflowSettings(url, retry=policy), {}, sleeps.append) as client:
        assert client.post_json("runs/search", {"experiment_ids": ["1"]}) == {"ok": True}
    assert sleeps == [7.0, 1.0]
    assert len(seen) == 3
    assert json.loads(seen[0]["body"]) == {"experiment_ids": ["1"]}


def test_search_follows_page_tokens_and_handles_empty(serve) -> None:  # type: ignore[no-untyped-def]
    def reply(handler: BaseHTTPRequestHandler, n: int) -> tuple[int, dict[str, str], bytes]:
        pages = {1: {"runs": [1, 2], "next_page_token": "p2"}, 2: {"runs": [3]}, 3: {}}
        return 200, {}, json.dumps(pages[n]).encode()

    url, seen = serve(reply)
    with MlflowClient(MlflowSettings(url), {}, lambda _: None) as client:
        assert list(client.search("runs/search", {}, "runs")) == [1, 2, 3]
        assert list(client.search("runs/search", {}, "runs")) == []
    assert json.loads(seen[1]["body"])["page_token"] == "p2"
