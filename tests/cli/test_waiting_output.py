"""`drkit check` with MLflow unreachable, as a log shows it (no terminal): not silence until the checklist
gives up, but what it waits for, 5 s, 10 s and 20 s in (the Runtime's fake clock, moved by drkit's own
waits), naming the server and its state; and MLflow's address taken from MLFLOW_TRACKING_URI."""

from __future__ import annotations

import dataclasses
import re
import socket
from collections.abc import Iterator

import pytest
from helpers import WritePlaybook

from drkit.cli import run
from drkit.context import Runtime

PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: mlflow-down}
vars:
  mlflow_url: "${env:MLFLOW_TRACKING_URI:-http://127.0.0.1:5000}"
phases:
  - name: p
    steps: [{check: infra}]
checklists:
  infra:
    timeout: 25s
    items:
      - name: mlflow-api
        http: {url: "${mlflow_url}/ajax-api/2.0/mlflow/experiments/get-by-name?experiment_name=x"}
      - name: artifact
        modelArtifact:
          storageUri: "s3://mlflow-artifacts/1/models/m-0123456789abcdef0123456789abcdef/artifacts"
          mlflow: {url: "${mlflow_url}"}
          storageRoot: s3://mlflow-artifacts/
          memoryLimit: 1Gi
"""


@pytest.fixture
def refused_url() -> Iterator[str]:
    """An address where a connection is refused: a port bound but never listening (no race for it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_check_on_an_unreachable_mlflow_says_what_it_waits_for(
    write_playbook: WritePlaybook, runtime: Runtime, refused_url: str
) -> None:
    runtime = dataclasses.replace(runtime, env={**runtime.env, "MLFLOW_TRACKING_URI": refused_url})
    code = run(["check", str(write_playbook(PLAYBOOK))], runtime)
    output = runtime.stdout.getvalue()  # type: ignore[attr-defined]
    assert code == 1, output
    blocks = re.split(r"(?m)^(?=  … |  ✘ )", output)
    waiting = [b for b in blocks if b.startswith("  … check/infra waiting ")]
    # The clock moves as drkit waits (retry delays, rounds), so each line comes at the first progress after
    # its slot: one line in each of [5s, 10s), [10s, 20s) and [20s, the end).
    seconds = [int(re.match(r"  … check/infra waiting (\d+)s:", b).group(1)) for b in waiting]  # type: ignore[union-attr]
    assert len(seconds) == 3, output
    assert 5 <= seconds[0] < 10 <= seconds[1] < 20 <= seconds[2], output
    for block in waiting:
        assert f"MLflow GET {refused_url}/api/2.0/mlflow-artifacts/artifacts: cannot connect" in block, block
        assert f"GET {refused_url}/ajax-api/2.0/mlflow/experiments/get-by-name" in block, block
    assert "2 of 2 items of checklist infra still failing" in output
