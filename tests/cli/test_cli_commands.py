"""The commands as a user runs them: output shapes, JSON reports, the runs history, the lazy lab group."""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from helpers import REPO_ROOT, FakeClock, RunDrkit, WritePlaybook

from drkit import __version__, cli

PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: demo}
rto: 10m
phases:
  - name: teardown
    drillOnly: true
    budget: 1m
    steps:
      - name: wipe
        command: {run: "echo wiping", destructive: true}
  - name: rebuild
    steps:
      - name: build
        command: {run: "echo building"}
      - check: health
checklists:
  health:
    - name: always
      command: {run: "true"}
"""


def test_version(drkit: RunDrkit, tmp_path: Path) -> None:
    result = drkit("--version", cwd=tmp_path)
    assert result.exit_code == 0
    assert __version__ in result.stdout


def test_validate_counts_what_it_found(
    drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(PLAYBOOK)
    result = drkit("validate", "playbook.yaml", cwd=tmp_path)
    assert result.exit_code == 0
    assert result.stdout == "playbook.yaml is valid: 2 phases, 3 steps, 1 checklist\n"


def test_validate_counts_and_builds_the_finally_steps(
    drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    finally_steps = "finally:\n  - name: restore\n    command: {run: 'true'}\n"
    write_playbook(PLAYBOOK + finally_steps)
    result = drkit("validate", "playbook.yaml", cwd=tmp_path)
    assert result.stdout == "playbook.yaml is valid: 2 phases, 3 steps, 1 checklist, 1 finally step\n"

    # A body the loader accepts but the step kind cannot build is found in a finally step too.
    broken = "  - name: settle\n    command: {run: 'true', successPattern: '(unclosed'}\n"
    write_playbook(PLAYBOOK + "finally:\n" + broken)
    result = drkit("validate", "playbook.yaml", cwd=tmp_path)
    assert result.exit_code == 2
    assert "playbook.yaml:22:11" in result.stderr  # the finally step's name
    assert "`successPattern` is not a valid regular expression" in result.stderr


def test_validate_reports_positioned_problems(
    drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(PLAYBOOK.replace("budget: 1m", "budgt: 1m"))
    result = drkit("validate", "playbook.yaml", cwd=tmp_path)
    assert result.exit_code == 2
    assert "playbook.yaml:8:5" in result.stderr
    assert "budget" in result.stderr
    assert "^" in result.stderr


def test_validate_refuses_apply_prune_at_its_position_saying_what_to_do_instead(
    drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    prune = "      - name: build\n        apply: {kustomize: base, prune: true}\n"
    write_playbook(PLAYBOOK.replace('      - name: build\n        command: {run: "echo building"}\n', prune))
    result = drkit("validate", "playbook.yaml", cwd=tmp_path)
    assert result.exit_code == 2
    assert "playbook.yaml:15:34: error: unknown key 'prune'" in result.stderr
    assert "hint: apply does not prune: delete what is gone with a `delete` step" in result.stderr


def test_schema_is_json_with_every_step_kind(drkit: RunDrkit, tmp_path: Path) -> None:
    result = drkit("schema", cwd=tmp_path)
    assert result.exit_code == 0
    text = json.dumps(result.json)
    for kind in ("command", "http", "check"):
        assert f'"{kind}"' in text
    written = drkit("schema", "--file", "schema.json", cwd=tmp_path)
    assert written.exit_code == 0
    assert json.loads((tmp_path / "schema.json").read_text()) == result.json


def test_plan_shows_steps_and_records_nothing(
    drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(PLAYBOOK)
    result = drkit("plan", "playbook.yaml", cwd=tmp_path)
    assert result.exit_code == 0
    assert "wipe: would run `echo wiping`" in result.stdout
    assert "[destructive]" in result.stdout
    assert "`true` exits with 0" in result.stdout
    assert not (tmp_path / ".drkit").exists()
    recover = drkit("plan", "playbook.yaml", "--recover", "-o", "json", cwd=tmp_path)
    steps = recover.json["phases"][0]["steps"]
    assert steps[0]["status"] == "skipped"


def test_drill_plain_output_and_summary(
    drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(PLAYBOOK)
    result = drkit("drill", "playbook.yaml", "--yes", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("  ✔ teardown/wipe  ") for line in lines)
    assert any(line.startswith("  ✔ rebuild/check-2  ") for line in lines)
    assert any(line.split()[:1] == ["teardown"] and line.split()[-1] == "succeeded" for line in lines)
    assert "drill succeeded" in result.stdout
    assert "RTO of 10m00s" in result.stdout
    assert "always  passed after" in result.stdout


def test_json_output_is_only_the_report(
    drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(PLAYBOOK)
    result = drkit("drill", "playbook.yaml", "--yes", "-o", "json", cwd=tmp_path)
    assert result.exit_code == 0
    report = result.json
    assert report["schemaVersion"] == 2
    assert report["outcome"] == "succeeded"
    check_step = report["phases"][1]["steps"][1]
    assert check_step["checklistItems"][0]["name"] == "always"
    assert "teardown/wipe" in result.stderr  # progress went to stderr
    saved = tmp_path / ".drkit" / "runs" / report["runId"] / "report.json"
    assert json.loads(saved.read_text()) == report


def test_check_command_runs_checklists(
    drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(PLAYBOOK)
    result = drkit("check", "playbook.yaml", "--checklist", "health", "-o", "json", cwd=tmp_path)
    assert result.exit_code == 0
    assert [s["name"] for s in result.json["phases"][0]["steps"]] == ["health"]
    unknown = drkit("check", "playbook.yaml", "--checklist", "helth", cwd=tmp_path)
    assert unknown.exit_code == 2
    assert "'health'" in unknown.stderr


def test_runs_list_and_show(drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path) -> None:
    write_playbook(PLAYBOOK)
    assert "no runs recorded yet" in drkit("runs", "list", cwd=tmp_path).stdout
    failed = drkit("recover", "playbook.yaml", "--set", "x=1", cwd=tmp_path)
    assert failed.exit_code == 2  # x is not a declared variable
    run_id = drkit("recover", "playbook.yaml", "-o", "json", cwd=tmp_path).json["runId"]
    listing = drkit("runs", "list", cwd=tmp_path)
    assert run_id in listing.stdout
    assert "recover" in listing.stdout
    assert "succeeded" in listing.stdout
    shown = drkit("runs", "show", run_id, "-o", "json", cwd=tmp_path)
    assert shown.exit_code == 0
    assert shown.json["runId"] == run_id
    assert "recover succeeded" in drkit("runs", "show", run_id, cwd=tmp_path).stdout


def test_runs_list_json(
    drkit: RunDrkit, clock: FakeClock, write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(PLAYBOOK)
    env = {"DRKIT_HOME": str(tmp_path / "home")}
    empty = drkit("runs", "list", "-o", "json", cwd=tmp_path, env=env)
    assert (empty.exit_code, empty.json) == (0, {"runs": []})
    first = drkit("recover", "playbook.yaml", "-o", "json", cwd=tmp_path, env=env).json
    clock.advance(0.4)  # later, within the same second
    second = drkit("check", "playbook.yaml", "-o", "json", cwd=tmp_path, env=env).json
    assert first["runId"][:15] == second["runId"][:15]
    listing = drkit("runs", "list", "-o", "json", cwd=tmp_path, env=env)
    assert listing.exit_code == 0, listing.stderr
    runs = listing.json["runs"]
    # Newest first, the later run first even when both started in the same second.
    assert [r["runId"] for r in runs] == [second["runId"], first["runId"]]
    by_id = {r["runId"]: r for r in runs}
    assert [(by_id[r["runId"]]["mode"], by_id[r["runId"]]["outcome"]) for r in (first, second)] == [
        ("recover", "succeeded"),
        ("check", "succeeded"),
    ]
    assert {r["playbook"] for r in runs} == {"demo"}
    assert by_id[first["runId"]]["startedAt"] == first["startedAt"]
    assert by_id[first["runId"]]["duration"] == first["elapsed"] == first["totalDuration"]  # one attempt
    limited = drkit("runs", "list", "--limit", "1", "--output", "json", cwd=tmp_path, env=env)
    assert [r["runId"] for r in limited.json["runs"]] == [runs[0]["runId"]]


def test_top_level_help_shows_every_summary_whole(drkit: RunDrkit, tmp_path: Path) -> None:
    result = drkit("--help", cwd=tmp_path, env={"COLUMNS": "80"})
    assert result.exit_code == 0
    commands = " ".join(result.stdout.split("Commands:", 1)[1].split())
    for whole in (
        "check Run the checklists of PLAYBOOK (all, or the ones named) against the platform; no steps run.",
        "resume Continue RUN_ID from the first step that did not finish; steps that succeeded are not run "
        "again.",
        "recover Recover with PLAYBOOK: every phase except drill-only (teardown) ones.",
        "validate Check PLAYBOOK: syntax, fields, variables and every step's settings.",
    ):
        assert whole in commands
    assert max(len(line) for line in result.stdout.splitlines()) <= 80  # wrapped, not cut


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (
            ("plan", "playbook.yaml", "--from-phase", "rebiuld"),
            "did you mean 'rebuild'? (phases: teardown, rebuild)",
        ),
        (
            ("drill", "playbook.yaml", "--only-phase", "teardwn"),
            "did you mean 'teardown'? (phases: teardown, rebuild)",
        ),
        (("plan", "playbook.yaml", "--only-phase", "deploy"), "phases: teardown, rebuild"),
        (("check", "playbook.yaml", "--checklist", "helth"), "did you mean 'health'? (checklists: health)"),
        (("dril", "playbook.yaml"), "Did you mean 'drill'?"),  # click's own, for commands
    ],
)
def test_an_unknown_name_gets_a_suggestion(
    drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path, args: tuple[str, ...], hint: str
) -> None:
    write_playbook(PLAYBOOK)
    result = drkit(*args, cwd=tmp_path)
    assert result.exit_code == 2
    assert hint in result.stderr


def test_a_mistyped_run_id_gets_a_suggestion(
    drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(PLAYBOOK)
    env = {"DRKIT_HOME": str(tmp_path / "home")}
    run_id = drkit("recover", "playbook.yaml", "-o", "json", cwd=tmp_path, env=env).json["runId"]
    typo = run_id[:-1] + ("0" if run_id[-1] != "0" else "1")
    for args in (("resume", typo), ("runs", "show", typo), ("runs", "show", run_id[:-1])):
        result = drkit(*args, cwd=tmp_path, env=env)
        assert result.exit_code == 2
        assert f"hint: did you mean '{run_id}'?" in result.stderr, args
    far = drkit("resume", "20990101-000000-abcd", cwd=tmp_path, env=env)
    assert far.exit_code == 2
    assert f"hint: latest runs: {run_id}" in far.stderr  # nothing near: the latest ids instead


def test_drkit_home_moves_the_state_dir(
    drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(PLAYBOOK)
    home = tmp_path / "home"
    result = drkit("recover", "playbook.yaml", "-o", "json", cwd=tmp_path, env={"DRKIT_HOME": str(home)})
    assert (home / "runs" / result.json["runId"] / "journal.jsonl").is_file()


def test_lab_group_explains_a_missing_extra(
    drkit: RunDrkit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "command_entry_points", dict)  # drkit-lab not installed: no entry point
    result = drkit("lab", "up", "--platform", "financial-mlops", cwd=tmp_path)
    assert result.exit_code == 2
    assert "`drkit lab` is not available: it is not installed" in result.stderr
    assert "pip install 'drkit[lab]'" in result.stderr
    assert "lab" in drkit("--help", cwd=tmp_path).stdout  # still listed, so users can find it


def test_lab_group_that_cannot_be_imported_is_explained(
    drkit: RunDrkit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = EntryPoint(name="lab", value="drkit_no_such_module.cli:lab", group=cli.COMMANDS_ENTRY_POINTS)
    monkeypatch.setattr(cli, "command_entry_points", lambda: {"lab": broken})
    result = drkit("lab", "status", cwd=tmp_path)
    assert result.exit_code == 2
    assert "`drkit lab` is not available: No module named 'drkit_no_such_module'" in result.stderr
    assert "pip install 'drkit[lab]'" in result.stderr


def test_lab_group_is_the_lab_distributions_entry_point(drkit: RunDrkit, tmp_path: Path) -> None:
    registered = cli.command_entry_points()["lab"]
    assert registered.value == "drkit_lab.cli:lab"
    result = drkit("lab", "--help", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "The local lab" in result.stdout


def test_example_playbook_validates(drkit: RunDrkit) -> None:
    result = drkit("validate", "playbooks/example-local.yaml", cwd=REPO_ROOT)
    assert result.exit_code == 0, result.stderr
