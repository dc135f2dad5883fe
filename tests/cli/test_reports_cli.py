"""Every run leaves report.md, report.html and junit.xml next to report.json; --junit/--markdown copy them
for CI; `drkit runs show --format` prints json, markdown or text; a secret variable's value is in none."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from helpers import RunDrkit, WritePlaybook

SECRET = "hunter2-very-secret"

FAILING = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: reports}
vars: {api_token: placeholder}
rto: 10m
phases:
  - name: rebuild
    steps:
      - name: login
        command: {run: "echo logged in with ${api_token}"}
  - name: validate
    steps:
      - name: health
        check: platform-health
      - name: notify
        command: {run: "true"}
checklists:
  platform-health:
    timeout: 1s
    items:
      - name: token-file
        command: {run: "echo token ${api_token} rejected; exit 3"}
      - name: fine
        command: {run: "true"}
"""


def drill(drkit: RunDrkit, tmp_path: Path, *extra: str) -> tuple[int, Path]:
    result = drkit("drill", "playbook.yaml", "--yes", "--set", f"api_token={SECRET}", *extra, cwd=tmp_path)
    (run_dir,) = (tmp_path / ".drkit" / "runs").iterdir()
    assert SECRET not in result.stdout + result.stderr
    return result.exit_code, run_dir


def test_failed_drill_writes_four_reports_without_the_secret(
    drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(FAILING)
    code, run_dir = drill(drkit, tmp_path, "--junit", "ci/junit.xml", "--markdown", "ci/report.md")
    assert code == 1
    for name in ("report.json", "report.md", "report.html", "junit.xml"):
        path = run_dir / name
        text = path.read_text(encoding="utf-8")
        assert SECRET not in text, path.name
        assert "token **** rejected" in text, path.name  # the item's message, masked
    assert (tmp_path / "ci" / "junit.xml").read_bytes() == (run_dir / "junit.xml").read_bytes()
    assert (tmp_path / "ci" / "report.md").read_bytes() == (run_dir / "report.md").read_bytes()

    root = ET.parse(tmp_path / "ci" / "junit.xml").getroot()
    failed = sorted(c.get("name") or "" for c in root.iter("testcase") if c.find("failure") is not None)
    assert failed == ["health", "token-file"]
    assert root.find(".//testcase[@name='notify']/skipped") is not None
    markdown = (run_dir / "report.md").read_text(encoding="utf-8")
    assert markdown.count("token-file") == 1  # the failing item, listed once


def test_runs_show_prints_each_format(drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path) -> None:
    write_playbook(FAILING)
    _, run_dir = drill(drkit, tmp_path)
    markdown = drkit("runs", "show", run_dir.name, "--format", "markdown", cwd=tmp_path)
    assert markdown.exit_code == 1  # the run's own exit code
    assert markdown.stdout == (run_dir / "report.md").read_text(encoding="utf-8")
    as_json = drkit("runs", "show", run_dir.name, "--format", "json", cwd=tmp_path)
    assert as_json.json["outcome"] == "failed"
    text = drkit("runs", "show", run_dir.name, cwd=tmp_path).stdout
    assert "checklist platform-health" in text
    assert text.count("token-file") == 1
    assert SECRET not in markdown.stdout + as_json.stdout + text


def test_check_command_copies_reports(drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path) -> None:
    write_playbook(FAILING)
    result = drkit(
        "check",
        "playbook.yaml",
        "--set",
        f"api_token={SECRET}",
        "--junit",
        "out/junit.xml",
        cwd=tmp_path,
    )
    assert result.exit_code == 1
    suite = ET.parse(tmp_path / "out" / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("3", "2")  # the check step and its two items


def test_report_writes_a_runs_files_again_from_its_record(
    drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(FAILING)
    _, run_dir = drill(drkit, tmp_path)
    names = ("report.md", "report.html", "junit.xml")
    before = {name: (run_dir / name).read_text(encoding="utf-8") for name in names}
    (run_dir / "report.md").unlink()
    (run_dir / "report.html").unlink()
    (run_dir / "junit.xml").write_text("<lost/>", encoding="utf-8")

    result = drkit("report", run_dir.name, cwd=tmp_path)

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"wrote {run_dir / 'report.md'}",
        f"wrote {run_dir / 'report.html'}",
        f"wrote {run_dir / 'junit.xml'}",
        f"wrote {run_dir / 'report.json'}",
    ]
    for name, text in before.items():
        assert (run_dir / name).read_text(encoding="utf-8") == text, name
    assert SECRET not in (run_dir / "report.md").read_text(encoding="utf-8")


def test_report_of_a_run_that_never_finished_leaves_it_unfinished(
    drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(FAILING)
    _, run_dir = drill(drkit, tmp_path)
    (run_dir / "report.json").unlink()  # as if drkit was killed: only the journal is left
    (run_dir / "report.md").unlink()

    result = drkit("report", run_dir.name, "-o", "json", cwd=tmp_path)

    assert result.exit_code == 0, result.stderr
    assert result.json["outcome"] == "running"
    assert result.json["files"] == [str(run_dir / name) for name in ("report.md", "report.html", "junit.xml")]
    assert not (run_dir / "report.json").exists()  # its presence would mark the run finished
    assert "| Outcome | **running** |" in (run_dir / "report.md").read_text(encoding="utf-8")
    listed = drkit("runs", "list", cwd=tmp_path)
    assert "incomplete" in listed.stdout


def test_report_of_an_unknown_run_is_a_usage_error(drkit: RunDrkit, tmp_path: Path) -> None:
    result = drkit("report", "20260101-120000-ab12", cwd=tmp_path)
    assert result.exit_code == 2
    assert "no run 20260101-120000-ab12" in result.stderr


WORKFLOW = {"workflow": "train-x1", "namespace": "argo", "phase": "Succeeded", "duration": 75.0}
WORKFLOW_LINE = "- `rebuild/login` workflow: argo/train-x1: Succeeded in 1m15s"  # as report.md lists it


def _as_pipeline(step: dict[str, object]) -> None:
    """Make the recorded `login` step a finished pipeline step, as if the drill had run one there."""
    step.update(kind="pipeline", details=WORKFLOW)


def test_report_renders_a_recorded_steps_typed_result_through_its_kind(
    drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(FAILING)
    _, run_dir = drill(drkit, tmp_path)
    recorded = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    _as_pipeline(recorded["phases"][0]["steps"][0])
    (run_dir / "report.json").write_text(json.dumps(recorded), encoding="utf-8")

    result = drkit("report", run_dir.name, cwd=tmp_path)

    assert result.exit_code == 0, result.stderr
    assert WORKFLOW_LINE in (run_dir / "report.md").read_text(encoding="utf-8").splitlines()
    rewritten = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    assert rewritten["phases"][0]["steps"][0]["details"] == WORKFLOW


def test_report_of_an_unfinished_run_renders_typed_results_from_its_journal(
    drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(FAILING)
    _, run_dir = drill(drkit, tmp_path)
    (run_dir / "report.json").unlink()  # as if drkit was killed: only the journal is left
    journal = run_dir / "journal.jsonl"
    events = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    for event in events:
        if event["event"] == "step-finished" and event["step"]["name"] == "login":
            _as_pipeline(event["step"])
    journal.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")

    result = drkit("report", run_dir.name, cwd=tmp_path)

    assert result.exit_code == 0, result.stderr
    assert WORKFLOW_LINE in (run_dir / "report.md").read_text(encoding="utf-8").splitlines()
