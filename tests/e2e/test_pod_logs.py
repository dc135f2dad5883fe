"""End to end: the `podLogs` checklist item through the real `drkit check` CLI, against the platform lab,
whose Seldon Server pod runs a real MLServer: seed 003's "MLServer agent logs show successful model loading"
passes as a check, and a log that lacks a line (or holds one it must not) fails naming pod, container, the
text and the log's last lines."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from e2e_cluster import LAB_CONTEXT
from helpers import run_drkit
from lab_helpers import LabHandle

pytestmark = [pytest.mark.real_plane, pytest.mark.lab, pytest.mark.lab_only, pytest.mark.mlflow]


def _playbook(tmp_path: Path, items: str, timeout: str) -> Path:
    path = tmp_path / "playbook.yaml"
    path.write_text(
        "apiVersion: drkit.io/v1\nkind: Playbook\nmetadata: {name: e2e-pod-logs}\n"
        f"target:\n  contexts: [{LAB_CONTEXT}]\n"
        "phases:\n  - name: verify\n    steps:\n      - check: serving-logs\n"
        f"checklists:\n  serving-logs:\n    timeout: {timeout}\n    items:\n"
        + textwrap.indent(textwrap.dedent(items), "      "),
        encoding="utf-8",
    )
    return path


def _items(report: Any) -> dict[str, Any]:
    """Checklist items by name, wherever the JSON report nests them."""
    found: dict[str, Any] = {}
    if isinstance(report, dict):
        if "name" in report and "passed" in report and "message" in report:
            found[str(report["name"])] = report
        for value in report.values():
            found.update(_items(value))
    elif isinstance(report, list):
        for value in report:
            found.update(_items(value))
    return found


def _check(handle: LabHandle, playbook: Path, tmp_path: Path) -> tuple[int, dict[str, Any], str]:
    cli = ("--kubeconfig", str(handle.kubeconfig), "--context", LAB_CONTEXT, "-o", "json")
    result = run_drkit("check", str(playbook), *cli, cwd=tmp_path)
    items = _items(json.loads(result.stdout)) if result.stdout.strip() else {}
    return result.exit_code, items, result.stdout + result.stderr


def test_mlserver_logs_show_the_model_loaded(lab_with_platform: LabHandle, tmp_path: Path) -> None:
    playbook = _playbook(
        tmp_path,
        """\
        - name: mlserver-loaded-baseline
          podLogs:
            namespace: financial-inference
            selector: {seldon-server-name: mlserver}
            container: mlserver
            contains: ["Loaded model 'baseline-predictor' successfully"]
            matches: ["^.*\\\\[mlserver\\\\].*Loaded model '[a-z-]+' successfully"]
            absent: ["Traceback"]
        """,
        timeout="60s",
    )
    code, items, output = _check(lab_with_platform, playbook, tmp_path)
    assert code == 0, output
    item = items["mlserver-loaded-baseline"]
    assert item["passed"] is True
    assert "1 pod(s)" in item["message"]


def test_a_missing_line_fails_naming_the_pod_the_container_and_the_text(
    lab_with_platform: LabHandle, tmp_path: Path
) -> None:
    playbook = _playbook(
        tmp_path,
        """\
        - name: mlserver-loaded-ghost
          podLogs:
            namespace: financial-inference
            selector: {seldon-server-name: mlserver}
            container: mlserver
            contains: ["Loaded model 'ghost-predictor' successfully"]
            tailLines: 200
        - name: no-such-container
          podLogs:
            namespace: financial-inference
            name: mlserver-0
            container: agent-sidecar
            contains: ["anything"]
        """,
        timeout="3s",
    )
    code, items, output = _check(lab_with_platform, playbook, tmp_path)
    assert code != 0, output
    ghost = items["mlserver-loaded-ghost"]
    assert ghost["passed"] is False
    message = ghost["message"]
    assert "pod mlserver-0 container mlserver" in message
    assert "missing \"Loaded model 'ghost-predictor' successfully\"" in message
    assert "last lines: " in message
    sidecar = items["no-such-container"]
    assert sidecar["passed"] is False
    assert "container agent-sidecar is not valid for pod mlserver-0" in sidecar["message"]
