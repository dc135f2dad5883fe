"""Variables taken from the environment, end to end through the CLI: `drkit plan` and the run's report say
where each value came from, a secret one never with its value, and an unset required one stops the run
before anything runs (exit 2, located)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from helpers import REPO_ROOT, WritePlaybook, run_drkit

from drkit.context import Runtime
from drkit.engine.usecases import load

SECRET = "upstream-pw-58c1d2"

PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: env-vars}
vars:
  mlflow_url: "${env:MLFLOW_TRACKING_URI:-http://127.0.0.1:5000}"
  upstream: ${env:UPSTREAM_PASSWORD}
  grace: 1s
phases:
  - name: one
    steps:
      - name: show
        command: {run: "test -n '${upstream}' && echo ${mlflow_url}"}
"""


def test_plan_shows_where_each_value_came_from_and_no_secret(
    write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    path = write_playbook(PLAYBOOK)
    env = {"MLFLOW_TRACKING_URI": "http://mlflow.lab:5001", "UPSTREAM_PASSWORD": SECRET}
    result = run_drkit("plan", str(path), cwd=tmp_path, env=env)
    assert result.exit_code == 0, result.stderr
    assert "mlflow_url = http://mlflow.lab:5001 (from $MLFLOW_TRACKING_URI)" in result.stdout
    assert "upstream = **** (from $UPSTREAM_PASSWORD)" in result.stdout
    assert "grace = 1s (playbook)" in result.stdout
    assert SECRET not in result.stdout + result.stderr

    defaulted = run_drkit(
        "plan", str(path), cwd=tmp_path, env={"UPSTREAM_PASSWORD": SECRET, "MLFLOW_TRACKING_URI": None}
    )
    assert "mlflow_url = http://127.0.0.1:5000 (default ($MLFLOW_TRACKING_URI not set))" in defaulted.stdout


def test_the_report_records_each_origin(write_playbook: WritePlaybook, tmp_path: Path) -> None:
    path = write_playbook(PLAYBOOK)
    env = {"MLFLOW_TRACKING_URI": "http://mlflow.lab:5001", "UPSTREAM_PASSWORD": SECRET}
    result = run_drkit("recover", str(path), "--set", "grace=2s", cwd=tmp_path, env=env)
    assert result.exit_code == 0, result.stdout + result.stderr
    (run_dir,) = (tmp_path / ".drkit" / "runs").iterdir()
    report = json.loads((run_dir / "report.json").read_text())
    assert report["variables"] == [
        {"name": "mlflow_url", "value": "http://mlflow.lab:5001", "secret": False,
         "origin": "from $MLFLOW_TRACKING_URI"},
        {"name": "upstream", "value": None, "secret": True, "origin": "from $UPSTREAM_PASSWORD"},
        {"name": "grace", "value": "2s", "secret": False, "origin": "--set"},
    ]  # fmt: skip
    markdown = (run_dir / "report.md").read_text()
    assert "| `mlflow_url` | `http://mlflow.lab:5001` | from $MLFLOW_TRACKING_URI |" in markdown
    for name in ("report.json", "report.md", "journal.jsonl"):
        assert SECRET not in (run_dir / name).read_text(), name


def test_an_unset_required_environment_variable_stops_before_anything_runs(
    write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    path = write_playbook(PLAYBOOK)
    result = run_drkit("recover", str(path), cwd=tmp_path, env={"UPSTREAM_PASSWORD": None})
    assert result.exit_code == 2
    assert f"{path}:6:13" in result.stderr
    assert "variable 'upstream' takes its value from the environment variable UPSTREAM_PASSWORD" in (
        result.stderr
    )
    assert not (tmp_path / ".drkit" / "runs").exists()


def test_resume_uses_the_environment_recorded_when_the_run_started(
    write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    path = write_playbook(PLAYBOOK.replace("test -n", "test -f marker && test -n"))
    started = {"MLFLOW_TRACKING_URI": "http://first-shell:5000", "UPSTREAM_PASSWORD": SECRET}
    first = run_drkit("recover", str(path), cwd=tmp_path, env=started)
    assert first.exit_code == 1, first.stdout + first.stderr
    (run_dir,) = (tmp_path / ".drkit" / "runs").iterdir()
    (tmp_path / "marker").write_text("")
    # Another shell: MLflow elsewhere (or unset); the secret comes from the environment again.
    later = {"MLFLOW_TRACKING_URI": "http://other-shell:5000", "UPSTREAM_PASSWORD": SECRET}
    resumed = run_drkit("resume", run_dir.name, "--yes", cwd=tmp_path, env=later)
    assert resumed.exit_code == 0, resumed.stdout + resumed.stderr
    report = json.loads((run_dir / "report.json").read_text())
    (step,) = report["phases"][0]["steps"]
    assert "http://first-shell:5000" in json.dumps(step)
    assert "other-shell" not in json.dumps(report)
    assert SECRET not in (run_dir / "journal.jsonl").read_text()


@pytest.mark.parametrize("name", ["", "-recover", "-validate", "-failure-scenarios"])
def test_shipped_playbooks_take_mlflow_from_the_lab_environment(runtime: Runtime, name: str) -> None:
    """After `eval "$(drkit lab env)"`, no `--set mlflow_url` is needed; without it, the old default holds."""
    path = REPO_ROOT / "playbooks" / f"financial-mlops{name}.yaml"
    lab = dataclasses.replace(runtime, env={"MLFLOW_TRACKING_URI": "http://127.0.0.1:47113"})
    playbook = load(path, {}, lab)
    assert playbook.vars["mlflow_url"] == "http://127.0.0.1:47113"
    assert playbook.var_origins["mlflow_url"].describe() == "from $MLFLOW_TRACKING_URI"
    bodies = [str(item.body) for c in playbook.checklists.values() for item in c.items]
    bodies += [str(step.body) for phase in playbook.phases for step in phase.steps]
    assert any("http://127.0.0.1:47113" in body for body in bodies)
    assert not any("127.0.0.1:5000" in body for body in bodies)
    assert load(path, {}, dataclasses.replace(runtime, env={})).vars["mlflow_url"] == "http://127.0.0.1:5000"
