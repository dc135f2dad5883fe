"""A wait on an object no controller reconciles, as a log shows it: the watch sees no event after the first
list, yet the waiting lines come 5 s and 10 s in (the heartbeat, in real time here), naming the object and its
state, instead of nothing until the timeout."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

from helpers import WritePlaybook
from kube_lab import Lab

from drkit.cli import run
from drkit.context import Runtime

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: registry.k8s.io/pause:3.10}]}
"""

PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: stuck-wait}
target: {contexts: [drkit-lab]}
phases:
  - name: deploy
    steps:
      - name: apply-api
        apply: {files: [deployment.yaml], wait: false}
      - name: api-ready
        wait:
          objects: [{apiVersion: apps/v1, kind: Deployment, namespace: default, name: api}]
          timeout: 11s
"""


def test_a_wait_nothing_reconciles_prints_what_it_waits_for(
    lab: Lab, tmp_path: Path, write_playbook: WritePlaybook
) -> None:
    (tmp_path / "deployment.yaml").write_text(DEPLOYMENT, encoding="utf-8")
    out = io.StringIO()
    runtime = Runtime(  # the real clocks: the API server's watch runs in real time
        stdout=out,
        stderr=io.StringIO(),
        stdin=io.StringIO(),
        env={
            "PATH": os.environ.get("PATH", ""),
            "KUBECONFIG": str(lab.kubeconfig),
            "DRKIT_HOME": str(tmp_path / "state"),
        },
        cwd=tmp_path,
    )
    code = run(["recover", str(write_playbook(PLAYBOOK)), "--yes"], runtime)
    output = out.getvalue()
    assert code == 1, output
    waiting = re.findall(r"(?m)^  … deploy/api-ready waiting (\d+(?:\.\d+)?)s: (.*)$", output)
    assert [int(float(seconds)) for seconds, _ in waiting] == [5, 10], output
    for _, text in waiting:
        assert text.startswith("0/1 ready; Deployment default/api: "), text
    assert "1 of 1 object(s) not ready after 11" in output
