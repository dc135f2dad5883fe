"""Refusals make zero write requests to the cluster (issue 4), proven with the lab's request log.

Each test runs the real CLI against a private lab through its kubeconfig; the proofs need the lab's request
log, so the tests that reach a cluster are `lab_only`. The wrong-context refusal happens
before drkit connects at all, so the log must not show a single request; the other refusals happen after
plans (which may read) and must show no write.
"""

from __future__ import annotations

import ssl
import time
import urllib.request
from pathlib import Path

import pytest
from e2e_cluster import E2ECluster
from e2e_support import lab_request_count, lab_requests_since
from helpers import DrkitResult, run_drkit
from lab_helpers import LabHandle

from drkit.errors import ExitCode

pytestmark = pytest.mark.real_plane

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def _playbook(steps: str, *, contexts: str) -> str:
    return (
        "apiVersion: drkit.io/v1\nkind: Playbook\nmetadata: {name: safety}\n"
        f"target:\n  contexts: [{contexts}]\n"
        "phases:\n  - name: main\n    steps:\n" + steps
    )


WAIT_STEP = (
    "      - wait:\n"
    "          objects: [{apiVersion: v1, kind: Namespace, name: default}]\n"
    "          timeout: 5s\n"
)
DESTRUCTIVE_STEPS = "      - command: {run: 'true', destructive: true}\n" + WAIT_STEP


def _run(tmp_path: Path, e2e: E2ECluster, command: str, text: str, *extra: str) -> DrkitResult:
    path = tmp_path / "playbook.yaml"
    path.write_text(text, encoding="utf-8")
    return run_drkit(command, str(path), *e2e.cli_args(), *extra, cwd=tmp_path)


@pytest.mark.lab_only
def test_a_context_the_playbook_does_not_target_is_refused_before_any_request(
    tmp_path: Path, e2e_cluster: E2ECluster
) -> None:
    handle = e2e_cluster.lab
    before = lab_request_count(handle)
    text = _playbook(WAIT_STEP, contexts="prod-eu-1")
    drilled = _run(tmp_path, e2e_cluster, "drill", text, "--yes")
    planned = _run(tmp_path, e2e_cluster, "plan", text)
    for result in (drilled, planned):
        assert result.exit_code == ExitCode.REFUSED, result.stdout + result.stderr
        assert f"may not act on kubeconfig context '{e2e_cluster.context}'" in result.stderr
        assert "prod-eu-1" in result.stderr
    _prove_logging_works(handle)
    assert [r for r in lab_requests_since(handle, before) if r.get("path") != _PROBE_PATH] == []


@pytest.mark.lab_only
def test_a_drill_without_yes_and_no_terminal_is_refused_with_zero_writes(
    tmp_path: Path, e2e_cluster: E2ECluster
) -> None:
    handle = e2e_cluster.lab
    before = lab_request_count(handle)
    result = _run(tmp_path, e2e_cluster, "drill", _playbook(DESTRUCTIVE_STEPS, contexts=e2e_cluster.context))
    assert result.exit_code == ExitCode.REFUSED, result.stdout + result.stderr
    assert "needs confirmation" in result.stderr
    _prove_logging_works(handle)
    assert [r for r in lab_requests_since(handle, before) if r["method"] in WRITES] == []


@pytest.mark.lab_only
def test_a_delete_in_kube_system_is_refused_with_zero_writes(tmp_path: Path, e2e_cluster: E2ECluster) -> None:
    handle = e2e_cluster.lab
    before = lab_request_count(handle)
    steps = (
        "      - delete:\n"
        "          objects: [{apiVersion: v1, kind: ConfigMap, namespace: kube-system, name: coredns}]\n"
    )
    result = _run(tmp_path, e2e_cluster, "drill", _playbook(steps, contexts=e2e_cluster.context), "--yes")
    assert result.exit_code == ExitCode.REFUSED, result.stdout + result.stderr
    assert "kube-system" in result.stderr
    _prove_logging_works(handle)
    assert [r for r in lab_requests_since(handle, before) if r["method"] in WRITES] == []


@pytest.mark.lab_only
def test_plan_refuses_a_wrong_context_even_for_a_checklist_of_cluster_items(
    tmp_path: Path, e2e_cluster: E2ECluster
) -> None:
    handle = e2e_cluster.lab
    before = lab_request_count(handle)
    text = (
        _playbook("      - check: cluster\n", contexts="prod-eu-1")
        + "checklists:\n  cluster:\n    - name: ns\n"
        + "      resource: {apiVersion: v1, kind: Namespace, name: default}\n"
    )
    result = _run(tmp_path, e2e_cluster, "plan", text)
    assert result.exit_code == ExitCode.REFUSED, result.stdout + result.stderr
    _prove_logging_works(handle)
    assert [r for r in lab_requests_since(handle, before) if r.get("path") != _PROBE_PATH] == []


def test_steps_that_need_no_cluster_do_not_read_the_kubeconfig(tmp_path: Path) -> None:
    """The early context check is only for runs that touch a cluster: a command-only playbook plans fine
    with a kubeconfig that does not exist."""
    text = _playbook("      - command: {run: 'true'}\n", contexts="prod-eu-1")
    (tmp_path / "playbook.yaml").write_text(text, encoding="utf-8")
    result = run_drkit("plan", "playbook.yaml", "--kubeconfig", str(tmp_path / "absent"), cwd=tmp_path)
    assert result.exit_code == ExitCode.OK, result.stdout + result.stderr


_PROBE_PATH = "/version"


def _prove_logging_works(handle: LabHandle) -> None:
    """Make one request of our own and wait until it is logged: everything drkit sent before it is then in
    the log too (the log's writer thread keeps order)."""
    count = lab_request_count(handle)
    context = ssl.create_default_context(cafile=str(handle.ca_file)) if handle.ca_file else None
    request = urllib.request.Request(
        handle.api_url + _PROBE_PATH, headers={"Authorization": f"Bearer {handle.token}"}
    )
    with urllib.request.urlopen(request, context=context, timeout=10) as answer:
        answer.read()
    deadline = time.monotonic() + 10
    while lab_request_count(handle) <= count:
        assert time.monotonic() < deadline, "the lab's request log did not record a request"
        time.sleep(0.02)
