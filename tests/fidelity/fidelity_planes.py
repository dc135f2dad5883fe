"""The two planes a fidelity scenario runs on, and the per-scenario client that records what they answer.

A `Plane` is one API server reachable over HTTPS with a bearer token and a kubeconfig: the emulated lab or the
real control plane. A `Client` binds a plane to the scenario's namespace and appends every request it makes
(and every kubectl run) to a transcript, which the comparison normalises and diffs. Waiting (for the real
server's asynchronous controllers) goes through `wait_for`, which watches and is never recorded.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

from drkit_lab.platforms.financial_mlops import find_kubectl

KUBECTL = Path(find_kubectl())  # the pinned kubectl beside this Python, as the lab itself uses
WAIT_DEADLINE_S = 30.0
Obj = dict[str, Any]


@dataclass
class Plane:
    """One API server: its URL, credentials and a kubeconfig kubectl uses (with its own discovery cache)."""

    name: str
    url: str
    token: str
    ca_file: Path
    kubeconfig: Path
    cache_dir: Path
    has_service_account_controller: bool
    compact: Callable[[], None]  # forget history, as etcd compaction does
    session: requests.Session = field(init=False)

    def __post_init__(self) -> None:
        self.session = requests.Session()
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would override `verify`
        self.session.verify = str(self.ca_file)
        self.session.headers["Authorization"] = f"Bearer {self.token}"
        self.session.headers["User-Agent"] = "drkit-fidelity/1.0"

    @property
    def address(self) -> str:
        return self.url.split("://", 1)[1]


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: Any  # parsed JSON when the reply is JSON, else the text

    def json(self) -> Obj:
        assert isinstance(self.body, dict), self.body
        return self.body


@dataclass(frozen=True)
class KubectlRun:
    code: int
    stdout: str
    stderr: str


Masks = list[tuple[str, str]]


def _shown(params: dict[str, str] | None) -> dict[str, str]:
    """Query parameters as recorded: tokens and resourceVersions differ between servers by nature."""
    masked = {"continue": "<token>", "resourceVersion": "<rv>"}
    return {k: (masked[k] if k in masked and v else v) for k, v in (params or {}).items()}


class Client:
    """A plane seen from one scenario: every call is recorded, in order, for the comparison."""

    def __init__(self, plane: Plane, namespace: str, workdir: Path) -> None:
        self.plane = plane
        self.ns = namespace
        self.workdir = workdir
        self.transcript: list[Obj] = []

    # ------------------------------------------------------------------------------------------ raw HTTP
    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content_type: str = "application/json",
        accept: str | None = None,
        params: dict[str, str] | None = None,
        record: bool = True,
        headers: tuple[str, ...] = (),
        masks: Masks | None = None,
        label: str | None = None,
    ) -> Reply:
        """Send one request; `headers` names response headers worth comparing (Content-Type always is)."""
        data: bytes | None = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {"Content-Type": content_type} if data is not None else {}
        if accept is not None:
            sent["Accept"] = accept
        url = self.plane.url + path + (f"?{urlencode(params)}" if params else "")
        response = self.plane.session.request(method, url, data=data, headers=sent, timeout=60)
        try:
            parsed: Any = response.json()
        except ValueError:
            parsed = response.text
        reply = Reply(response.status_code, dict(response.headers), parsed)
        if record:
            shown = _shown(params)
            entry: Obj = {
                "request": label or f"{method} {path}" + (f"?{urlencode(shown)}" if shown else ""),
                "status": reply.status,
                "content-type": response.headers.get("Content-Type", ""),
                "body": reply.body,
            }
            for name in headers:
                entry[f"header:{name.lower()}"] = response.headers.get(name)
            if masks:
                entry["masks"] = masks
            self.transcript.append(entry)
        return reply

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> Reply:
        return self.request("POST", path, body=body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> Reply:
        return self.request("PUT", path, body=body, **kw)

    def patch(self, path: str, body: Any, content_type: str, **kw: Any) -> Reply:
        return self.request("PATCH", path, body=body, content_type=content_type, **kw)

    def delete(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("DELETE", path, body=body, **kw)

    def watch(
        self,
        path: str,
        params: dict[str, str],
        *,
        until: Callable[[Obj], bool],
        masks: Masks | None = None,
        timeout: float = 20.0,
    ) -> list[Obj]:
        """Stream a watch until `until(event)` holds or the server ends it; the events are recorded."""
        events: list[Obj] = []
        query = dict(params, timeoutSeconds=params.get("timeoutSeconds", str(int(timeout))))
        with self.plane.session.get(
            self.plane.url + path, params=query, stream=True, timeout=timeout + 5
        ) as stream:
            status = stream.status_code
            for line in stream.iter_lines():
                event = json.loads(line)
                events.append(event)
                if until(event):
                    break
        entry: Obj = {"watch": f"GET {path}?{urlencode(_shown(params))}", "status": status, "events": events}
        if masks:
            entry["masks"] = masks
        self.transcript.append(entry)
        return events

    def compact(self) -> None:
        self.plane.compact()

    def note(self, label: str, value: Any) -> None:
        """Record a value the scenario derived (a field it extracted, a count), compared like a response."""
        self.transcript.append({"note": label, "value": value})

    # ------------------------------------------------------------------------------------------ kubectl
    def kubectl(self, *args: str, stdin: str | None = None, record: bool = True) -> KubectlRun:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.plane.cache_dir.parent),
            "KUBECACHEDIR": str(self.plane.cache_dir),
            "KUBERC": "off",
        }
        done = subprocess.run(
            [str(KUBECTL), "--kubeconfig", str(self.plane.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=env,
            cwd=self.workdir,
        )
        run = KubectlRun(done.returncode, done.stdout, done.stderr)
        if record:
            self.transcript.append(
                {"kubectl": " ".join(args), "exit": run.code, "stdout": run.stdout, "stderr": run.stderr}
            )
        return run

    # ------------------------------------------------------------------------------------------ waiting
    def wait_for(
        self,
        collection: str,
        name: str,
        predicate: Callable[[Obj | None], bool],
        *,
        timeout: float = WAIT_DEADLINE_S,
    ) -> Obj | None:
        """Block until `predicate(object or None when gone)` holds, watching `collection` (not recorded).

        Only for what a real server does asynchronously (garbage collection, namespace finalization); the
        emulator usually satisfies the predicate at once.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = self.get(f"{collection}/{name}", record=False)
            obj = current.json() if current.status == 200 else None
            if predicate(obj):
                return obj
            rv = obj["metadata"]["resourceVersion"] if obj else ""
            params = {
                "watch": "true",
                "fieldSelector": f"metadata.name={name}",
                "timeoutSeconds": str(max(1, int(deadline - time.monotonic()))),
            }
            if rv:
                params["resourceVersion"] = rv
            with self.plane.session.get(
                self.plane.url + collection, params=params, stream=True, timeout=timeout + 5
            ) as stream:
                for line in stream.iter_lines():
                    event = json.loads(line)
                    if event["type"] == "ERROR":
                        break  # 410 and the like: read the object again
                    seen = None if event["type"] == "DELETED" else event["object"]
                    if event["type"] != "BOOKMARK" and predicate(seen):
                        return seen
        raise AssertionError(
            f"{self.plane.name}: {collection}/{name} did not reach the state within {timeout}s"
        )

    def wait_default_service_account(self) -> None:
        """Pods need `default` in their namespace on a server that runs the service-account admission."""
        if self.plane.has_service_account_controller:
            self.wait_for(f"/api/v1/namespaces/{self.ns}/serviceaccounts", "default", lambda o: o is not None)
