"""What a run records for a postmortem about where it acted: the cluster (context and API server) in its
journal and report, a resume that stays on that cluster, and no run directory for what never started.

Against the lab's API server in-process (tests/kube/kube_lab.py), whose kubeconfig holds its CA inline: the
kind of kubeconfig that used to leave certificate files (and so a run directory) behind."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from helpers import WritePlaybook
from kube_lab import Lab

from drkit.context import Runtime
from drkit.engine import NullListener, RunMode, RunRequest, execute, plan, resume
from drkit.engine.journal import read_journal
from drkit.errors import ExitCode, RefusedError
from drkit.report.model import ClusterRef, Outcome, RunReport

PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: recorded}
target: {contexts: [drkit-lab, drkit-lab-b]}
phases:
  - name: teardown
    drillOnly: true
    steps:
      - {name: say, command: {run: "true"}}
  - name: rebuild
    steps:
      - name: apply-settings
        apply: {files: [settings.yaml], wait: false}
      - name: gate
        command: {run: "test -f open.txt"}
"""
SETTINGS = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: default}\ndata: {k: v}\n"


def _on(runtime: Runtime, kubeconfig: Path) -> Runtime:
    return dataclasses.replace(runtime, env={**runtime.env, "KUBECONFIG": str(kubeconfig)})


def _request(write_playbook: WritePlaybook, runtime: Runtime, mode: RunMode, **fields: object) -> RunRequest:
    (runtime.cwd / "settings.yaml").write_text(SETTINGS, encoding="utf-8")
    return RunRequest(playbook_path=write_playbook(PLAYBOOK), mode=mode, **fields)  # type: ignore[arg-type]


def _failed_first_run(lab: Lab, runtime: Runtime, write_playbook: WritePlaybook) -> RunReport:
    """A recovery that applied its ConfigMap, then stopped at the gate (open.txt is missing)."""
    request = _request(write_playbook, runtime, RunMode.RECOVER, assume_yes=True)
    report = execute(request, _on(runtime, lab.kubeconfig), NullListener(), None)
    assert report.outcome is Outcome.FAILED, report.message
    assert report.run_id is not None
    return report


def _journal(runtime: Runtime, run_id: str) -> list[dict[str, object]]:
    return read_journal(runtime.state_dir / "runs" / run_id / "journal.jsonl")


def _other_context(lab: Lab) -> Path:
    """Context drkit-lab-b: another name (the playbook allows it too) for the same API server."""
    return lab.kubeconfig_with_contexts(
        "other-context", {"drkit-lab-b": lab.server.url}, current="drkit-lab-b"
    )


def test_the_journal_and_the_report_name_the_cluster_the_run_acted_on(
    lab: Lab, runtime: Runtime, write_playbook: WritePlaybook
) -> None:
    report = _failed_first_run(lab, runtime, write_playbook)
    assert report.run_id is not None
    lab_cluster = {"context": "drkit-lab", "server": lab.server.url}
    assert report.cluster == ClusterRef("drkit-lab", lab.server.url)
    (started,) = [e for e in _journal(runtime, report.run_id) if e["event"] == "run-started"]
    assert started["cluster"] == lab_cluster
    assert "otherCluster" not in started

    (runtime.cwd / "open.txt").write_text("")
    resumed = resume(report.run_id, _on(runtime, lab.kubeconfig), NullListener(), None, assume_yes=True)
    assert resumed.outcome is Outcome.SUCCEEDED, resumed.message  # the same cluster: no refusal
    assert resumed.to_json()["cluster"] == lab_cluster


def test_resume_refuses_a_kubeconfig_that_now_points_at_another_api_server(
    lab: Lab, runtime: Runtime, write_playbook: WritePlaybook
) -> None:
    report = _failed_first_run(lab, runtime, write_playbook)
    assert report.run_id is not None
    # Same context name, another server, one nothing listens on: only a refusal before any request is exit 3.
    moved = lab.kubeconfig_with("moved", server="https://127.0.0.1:9")
    before = _journal(runtime, report.run_id)
    with pytest.raises(RefusedError) as refused:
        resume(report.run_id, _on(runtime, moved), NullListener(), None, assume_yes=True)
    assert refused.value.exit_code is ExitCode.REFUSED
    assert lab.server.url in refused.value.message
    assert "https://127.0.0.1:9" in refused.value.message
    assert "--other-cluster" in (refused.value.hint or "")
    assert _journal(runtime, report.run_id) == before  # no attempt was recorded


def test_resume_goes_on_on_another_context_only_when_told_and_the_journal_says_so(
    lab: Lab, runtime: Runtime, write_playbook: WritePlaybook
) -> None:
    report = _failed_first_run(lab, runtime, write_playbook)
    assert report.run_id is not None
    elsewhere = _on(runtime, _other_context(lab))
    with pytest.raises(RefusedError) as refused:
        resume(report.run_id, elsewhere, NullListener(), None, assume_yes=True)
    assert f"acted on context drkit-lab ({lab.server.url})" in refused.value.message
    assert f"now points at context drkit-lab-b ({lab.server.url})" in refused.value.message

    (runtime.cwd / "open.txt").write_text("")
    resumed = resume(report.run_id, elsewhere, NullListener(), None, assume_yes=True, other_cluster=True)
    assert resumed.outcome is Outcome.SUCCEEDED, resumed.message
    assert resumed.cluster == ClusterRef("drkit-lab-b", lab.server.url)
    first, second = [e for e in _journal(runtime, report.run_id) if e["event"] == "run-started"]
    assert first["cluster"] == {"context": "drkit-lab", "server": lab.server.url}
    assert second["cluster"] == {"context": "drkit-lab-b", "server": lab.server.url}
    assert second["otherCluster"] is True
    assert second["movedFrom"] == first["cluster"]


def test_a_plan_leaves_no_run_directory(lab: Lab, runtime: Runtime, write_playbook: WritePlaybook) -> None:
    report = plan(_request(write_playbook, runtime, RunMode.PLAN), _on(runtime, lab.kubeconfig))
    assert report.outcome is Outcome.PLANNED
    assert not (runtime.state_dir / "runs").exists()


def test_a_run_not_confirmed_leaves_no_run_directory(
    lab: Lab, runtime: Runtime, write_playbook: WritePlaybook
) -> None:
    asked: list[str] = []

    def decline(question: str) -> bool:
        asked.append(question)
        return False

    request = _request(write_playbook, runtime, RunMode.DRILL)  # the drill-only teardown needs consent
    with pytest.raises(RefusedError):
        execute(request, _on(runtime, lab.kubeconfig), NullListener(), decline)
    assert len(asked) == 1  # the plans ran (and opened the cluster) before the question
    assert not (runtime.state_dir / "runs").exists()
