"""`drkit resume` acts on the cluster the run started on: a kubeconfig switched to another context since is
refused (exit 3) before any request, naming both, unless `--other-cluster` says to go on there."""

from __future__ import annotations

import sys
from pathlib import Path

from helpers import RunDrkit, WritePlaybook

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kube"))
from kube_lab import Lab, running_lab

from drkit.errors import ExitCode
from drkit_lab.apiserver.store import Store

NOWHERE = "https://127.0.0.1:9"  # nothing listens here: a request would fail as unreachable (exit 5)
PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: resumable}
target: {contexts: [drkit-lab, lab-alias, elsewhere]}
phases:
  - name: rebuild
    steps:
      - name: apply-settings
        apply: {files: [settings.yaml], wait: false}
      - name: gate
        command: {run: "test -f open.txt"}
"""
SETTINGS = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: default}\ndata: {k: v}\n"


def _use_context(lab: Lab, current: str) -> Path:
    """One kubeconfig, three contexts, switched as `kubectl config use-context` would: the lab's, another name
    for the same server, and one on another server."""
    servers = {"drkit-lab": lab.server.url, "lab-alias": lab.server.url, "elsewhere": NOWHERE}
    return lab.kubeconfig_with_contexts("switched-kubeconfig", servers, current=current)


def test_resume_stays_on_the_runs_cluster_unless_told_otherwise(
    drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(PLAYBOOK)
    (tmp_path / "settings.yaml").write_text(SETTINGS, encoding="utf-8")
    with running_lab(tmp_path / "lab", Store()) as lab:
        lab_server = lab.server.url
        env = {"KUBECONFIG": str(_use_context(lab, "drkit-lab"))}
        first = drkit("recover", "playbook.yaml", "--yes", "-o", "json", cwd=tmp_path, env=env)
        assert first.exit_code == ExitCode.DRILL_FAILED, first.stderr  # the gate: open.txt is missing
        run_id = first.json["runId"]
        assert first.json["cluster"] == {"context": "drkit-lab", "server": lab_server}

        _use_context(lab, "lab-alias")
        refused = drkit("resume", run_id, "--yes", cwd=tmp_path, env=env)
        assert refused.exit_code == ExitCode.REFUSED, refused.stderr
        assert f"acted on context drkit-lab ({lab_server})" in refused.stderr
        assert f"now points at context lab-alias ({lab_server})" in refused.stderr
        assert "--other-cluster" in refused.stderr

        told = drkit("resume", run_id, "--yes", "--other-cluster", "-o", "json", cwd=tmp_path, env=env)
        assert told.exit_code == ExitCode.DRILL_FAILED, told.stderr  # it went on, to the gate again
        assert told.json["cluster"] == {"context": "lab-alias", "server": lab_server}
        _use_context(lab, "elsewhere")

    # No API server is up any more: only a refusal before any request gives exit 3 (a request: exit 5).
    moved = drkit("resume", run_id, "--yes", cwd=tmp_path, env=env)
    assert moved.exit_code == ExitCode.REFUSED, moved.stderr
    assert f"acted on context lab-alias ({lab_server})" in moved.stderr  # where it went on last
    assert f"now points at context elsewhere ({NOWHERE})" in moved.stderr
