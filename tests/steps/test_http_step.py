"""The `http` step and probe against a real local HTTP server."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from steps_support import BODY_LINE, context, load_problem, pointed_at, spec

from drkit.context import Runtime
from drkit.steps import http
from drkit.steps.base import StepStatus
from drkit.steps.settings import StepConfigError

KNOWN_SECRET = "registered-secret-0f9e8d"


class Handler(BaseHTTPRequestHandler):
    flaky_left = 0
    seen_headers: ClassVar[list[dict[str, str]]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: object) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        Handler.seen_headers.append(dict(self.headers))
        if self.path == "/health":
            self._send(
                200, {"status": "ok", "items": [{"name": "a", "ready": True}, {"name": "b", "ready": True}]}
            )
        elif self.path == "/mixed":
            self._send(200, {"items": [{"ready": True}, {"ready": False}]})
        elif self.path == "/flaky":
            if Handler.flaky_left > 0:
                Handler.flaky_left -= 1
                self._send(503, {"status": "starting"})
            else:
                self._send(200, {"status": "ok"})
        elif self.path == "/known-secret":  # a value drkit knows is secret, where the excerpt is cut
            self._send(200, "x" * 290 + " " + KNOWN_SECRET + " and more")
        elif self.path == "/leaky":
            self._send(500, {"error": "bad", "token": "tok-SECRET-123", "pad": "x" * 1000})
        else:
            self._send(404, "not found")


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def attempt(body: dict[str, object], runtime: Runtime):  # type: ignore[no-untyped-def]
    probe = http.PROBE_KIND.build("p", body, context(runtime).playbook)
    return probe.attempt(context(runtime, timeout=5))


def test_status_and_json_assertions(server: str, runtime: Runtime) -> None:
    ok = attempt(
        {
            "url": f"{server}/health",
            "expect": {
                "status": 200,
                "bodyContains": '"ok"',
                "json": [
                    {"path": "$.status", "equals": "ok"},
                    {"path": "$.items[*].ready", "equals": True},
                    {"path": "$.items[1].name", "matches": "^b$"},
                    {"path": "$.missing", "exists": False},
                ],
            },
        },
        runtime,
    )
    assert ok.status is StepStatus.SUCCEEDED, ok.message
    assert ok.details["status"] == 200


@pytest.mark.parametrize(
    ("path", "expect", "fragment"),
    [
        ("/nope", {"status": 200}, "status 404, expected 200"),
        ("/health", {"status": [201, 202]}, "status 200, expected 201 or 202"),
        ("/health", {"json": [{"path": "$.status", "equals": "down"}]}, "$.status is 'ok', expected 'down'"),
        ("/mixed", {"json": [{"path": "$.items[*].ready", "equals": True}]}, "$.items[*].ready is false"),
        ("/health", {"json": [{"path": "$.nothing", "exists": True}]}, "$.nothing is missing"),
        ("/health", {"bodyContains": "degraded"}, "does not contain 'degraded'"),
    ],
)
def test_failures_say_what_was_wrong(
    server: str, runtime: Runtime, path: str, expect: dict[str, object], fragment: str
) -> None:
    result = attempt({"url": f"{server}{path}", "expect": expect}, runtime)
    assert result.status is StepStatus.FAILED
    assert fragment in result.message


def test_header_values_and_secret_bodies_stay_out_of_details(server: str, runtime: Runtime) -> None:
    result = attempt({"url": f"{server}/leaky", "headers": {"Authorization": "Bearer abc.def"}}, runtime)
    assert Handler.seen_headers[-1]["Authorization"] == "Bearer abc.def"
    text = json.dumps(result.details) + result.message
    assert "abc.def" not in text
    assert "tok-SECRET-123" not in text
    assert result.details["headerNames"] == ["Authorization"]
    excerpt = result.details["bodyExcerpt"]
    assert isinstance(excerpt, str)
    assert len(excerpt) <= http.BODY_EXCERPT_CHARS + 1


def test_step_retries_until_the_endpoint_passes(server: str, runtime: Runtime, clock) -> None:  # type: ignore[no-untyped-def]
    Handler.flaky_left = 2
    step = http.STEP_KIND.build(spec("http", {"url": f"{server}/flaky", "interval": 0.5}))
    progress: list[str] = []
    result = step.run(context(runtime, timeout=60, progress=progress))
    assert result.status is StepStatus.SUCCEEDED
    assert result.details["attempts"] == 3
    assert clock.sleeps == [0.5, 0.5]
    assert "attempt 1: GET" in progress[0]
    assert "status 503" in progress[0]


def test_step_waits_for_a_server_that_is_not_up_yet(runtime: Runtime) -> None:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    started: list[ThreadingHTTPServer] = []

    def start_server_on_first_sleep(seconds: float) -> None:
        if not started:
            httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
            threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
            started.append(httpd)

    waiting = dataclasses.replace(runtime, sleep=start_server_on_first_sleep)
    step = http.STEP_KIND.build(spec("http", {"url": f"http://127.0.0.1:{port}/health"}))
    progress: list[str] = []
    try:
        result = step.run(context(waiting, timeout=60, progress=progress))
    finally:
        for httpd in started:
            httpd.shutdown()
            httpd.server_close()
    assert result.status is StepStatus.SUCCEEDED
    assert result.details["attempts"] == 2
    assert "connection failed (connection refused)" in progress[0]


def test_step_gives_up_at_its_deadline(server: str, runtime: Runtime, clock) -> None:  # type: ignore[no-untyped-def]
    step = http.STEP_KIND.build(spec("http", {"url": f"{server}/nope", "interval": 2}))
    result = step.run(context(runtime, timeout=5))
    assert result.status is StepStatus.FAILED
    assert "status 404" in result.message
    assert "after 4 attempts" in result.message
    assert clock.sleeps == [2, 2, 1]


def test_settings_are_checked() -> None:
    with pytest.raises(StepConfigError, match="not an http:// or https:// URL"):
        http.parse_settings({"url": "ftp://x"})
    with pytest.raises(StepConfigError, match="not a valid regular expression"):
        http.parse_settings({"url": "http://x", "expect": {"json": [{"path": "$.a", "matches": "("}]}})


def test_a_path_not_starting_at_the_root_is_refused_by_the_loader_at_its_position() -> None:
    problem = load_problem("http", "{url: 'http://x', expect: {json: [{path: status, equals: 1}]}}")
    assert problem.position.line == BODY_LINE
    assert "'status' is not valid for 'path'" in problem.message
    assert pointed_at(problem).startswith("status,")


def test_a_known_secret_in_the_answer_is_masked_before_the_excerpt_is_cut(
    server: str, runtime: Runtime
) -> None:
    runtime.secrets.add(KNOWN_SECRET)
    result = attempt({"url": f"{server}/known-secret"}, runtime)
    excerpt = str(result.details["bodyExcerpt"])
    # Cut at 300 characters after masking; cut before, the first 9 characters of the value would be left.
    assert excerpt == "x" * 290 + " **** and …"
