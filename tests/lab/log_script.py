"""A container program for log tests: its first run prints to both streams and fails; its later runs print
two lines, then serve their readiness probe on PORT, so "ready" means those lines were printed. The runs are
counted in a file, so each run knows which it is."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

from drkit_lab.containers.runtime import PodSandbox, ProcessSpec
from drkit_lab.controllers.kubelet import Kubelet
from drkit_lab.kubeapi import ApiClient
from drkit_lab.settings import LabSettings

IMAGE = "example/script:1"
PORT = 8080
SCRIPT = textwrap.dedent(
    """
    import http.server, os, pathlib, sys
    runs = pathlib.Path(os.environ["RUNS_FILE"])
    run = len(runs.read_text().splitlines()) if runs.exists() else 0
    runs.write_text("x\\n" * (run + 1))
    if run == 0:
        print("run 0 starting", flush=True)
        print("run 0 failing: no database", file=sys.stderr, flush=True)
        sys.exit(3)
    print(f"run {run} line 1", flush=True)
    print(f"run {run} line 2", flush=True)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    http.server.HTTPServer((os.environ["ADDRESS"], int(os.environ["PORT"])), Quiet).serve_forever()
    """
)


class Script:
    def __init__(self, runs_file: Path) -> None:
        self.runs_file = runs_file

    def process(self, pod: dict[str, Any], container: dict[str, Any], sandbox: PodSandbox) -> ProcessSpec:
        env = {"RUNS_FILE": str(self.runs_file), "ADDRESS": sandbox.listen_address, "PORT": str(PORT)}
        return ProcessSpec([sys.executable, "-c", SCRIPT], env)


def script_kubelet(runs_file: Path) -> type[Kubelet]:
    class ScriptKubelet(Kubelet):
        def __init__(self, api: ApiClient, settings: LabSettings) -> None:
            super().__init__(api, settings, programs={"example/script": Script(runs_file)})

    return ScriptKubelet


def script_pod(name: str, namespace: str, image: str = IMAGE) -> dict[str, Any]:
    """A pod of the script (`main`, probed) and a container the lab pretends (`sidecar`)."""
    probe = {"httpGet": {"path": "/", "port": PORT}}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "containers": [
                {"name": "main", "image": image, "readinessProbe": probe},
                {"name": "sidecar", "image": "envoy:1"},
            ]
        },
    }


def main_status(pod: dict[str, Any] | None) -> dict[str, Any]:
    statuses = ((pod or {}).get("status") or {}).get("containerStatuses") or []
    return next((c for c in statuses if c["name"] == "main"), {})
