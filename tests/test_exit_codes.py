"""Every exit code drkit promises, pinned through the real CLI boundary (drkit.errors.ExitCode)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from helpers import WritePlaybook, run_drkit, start_drkit

from drkit.cli import main
from drkit.engine.journal import read_journal
from drkit.errors import ExitCode
from drkit.steps.command import CommandStep

PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: codes}
rto: 1h
phases:
  - name: teardown
    drillOnly: true
    steps:
      - command: {run: "true"}
  - name: rebuild
    steps:
      - name: work
        command: {run: "${cmd}"}
vars: {cmd: "true"}
"""


def test_0_success(write_playbook: WritePlaybook, tmp_path: Path) -> None:
    write_playbook(PLAYBOOK)
    result = run_drkit("drill", "playbook.yaml", "--yes", cwd=tmp_path)
    assert result.exit_code == ExitCode.OK == 0, result.stderr
    assert "✔ rebuild/work" in result.stdout


def test_1_a_failing_command_step(write_playbook: WritePlaybook, tmp_path: Path) -> None:
    write_playbook(PLAYBOOK)
    result = run_drkit("drill", "playbook.yaml", "--yes", "--set", "cmd=exit 7", cwd=tmp_path)
    assert result.exit_code == ExitCode.DRILL_FAILED == 1
    assert "exited with 7" in result.stdout


def test_2_a_bad_playbook(write_playbook: WritePlaybook, tmp_path: Path) -> None:
    write_playbook(PLAYBOOK.replace("drillOnly: true", "drilOnly: true"))
    result = run_drkit("drill", "playbook.yaml", "--yes", cwd=tmp_path)
    assert result.exit_code == ExitCode.USAGE == 2
    assert "playbook.yaml:7:5" in result.stderr
    assert "drilOnly" in result.stderr
    assert not (tmp_path / ".drkit").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("drill",),  # missing argument
        ("drill", "playbook.yaml", "--bogus"),
        ("drill", "playbook.yaml", "--set", "novalue"),
        ("drill", "playbook.yaml", "--from-phase", "rebiuld"),
        ("resume", "20990101-000000-abcd"),
        ("nonsense",),
    ],
)
def test_2_bad_usage(write_playbook: WritePlaybook, tmp_path: Path, args: tuple[str, ...]) -> None:
    write_playbook(PLAYBOOK)
    result = run_drkit(*args, cwd=tmp_path)
    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert result.stderr.strip()


def test_3_drill_only_phase_without_yes_and_no_terminal(
    write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(PLAYBOOK)
    result = run_drkit("drill", "playbook.yaml", cwd=tmp_path)
    assert result.exit_code == ExitCode.REFUSED == 3
    assert "needs confirmation" in result.stderr
    assert "--yes" in result.stderr
    assert not (tmp_path / ".drkit").exists()


def test_4_over_rto(write_playbook: WritePlaybook, tmp_path: Path) -> None:
    write_playbook(PLAYBOOK.replace("rto: 1h", "rto: 200ms"))
    result = run_drkit("recover", "playbook.yaml", "--set", "cmd=sleep 0.5", "-o", "json", cwd=tmp_path)
    assert result.exit_code == ExitCode.OVER_RTO == 4
    assert result.json["outcome"] == "over-rto"


def test_70_internal_error_without_and_with_debug(
    write_playbook: WritePlaybook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: CommandStep, ctx: object) -> object:
        raise RuntimeError("a bug in a step")

    monkeypatch.setattr(CommandStep, "run", broken)
    write_playbook(PLAYBOOK)
    quiet = run_drkit("recover", "playbook.yaml", cwd=tmp_path)
    assert quiet.exit_code == ExitCode.INTERNAL == 70
    assert "internal error" in quiet.stderr
    assert "--debug" in quiet.stderr
    assert "Traceback" not in quiet.stderr
    loud = run_drkit("--debug", "recover", "playbook.yaml", cwd=tmp_path)
    assert loud.exit_code == 70
    assert "Traceback" in loud.stderr
    assert "a bug in a step" in loud.stderr


def test_130_sigint_during_a_step_then_resume(write_playbook: WritePlaybook, tmp_path: Path) -> None:
    write_playbook(PLAYBOOK)
    work = "cmd=if [ -f go-on ]; then echo done > done.txt; else sleep 30; fi"
    process = start_drkit("drill", "playbook.yaml", "--yes", "--set", work, cwd=tmp_path)
    journal = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait until the sleep step has started
        runs = list((tmp_path / ".drkit" / "runs").glob("*/journal.jsonl"))
        if runs and any(
            e.get("name") == "work" for e in read_journal(runs[0]) if e["event"] == "step-started"
        ):
            journal = runs[0]
            break
        time.sleep(0.05)
    assert journal is not None
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == ExitCode.INTERRUPTED == 130
    assert "drkit resume" in err
    assert f"drkit resume {journal.parent.name}" in err
    last = read_journal(journal)[-1]
    assert (last["event"], last["phase"], last["step"]) == ("interrupted", "rebuild", "work")
    report = json.loads((journal.parent / "report.json").read_text())
    assert report["outcome"] == "interrupted"
    assert report["message"] == "interrupted during step rebuild/work"
    assert report["phases"][1]["steps"][0]["message"] == "interrupted (Ctrl-C)"

    (tmp_path / "go-on").write_text("")
    resumed = start_drkit("resume", journal.parent.name, "--yes", "-o", "json", cwd=tmp_path)
    out, err = resumed.communicate(timeout=30)
    assert resumed.returncode == ExitCode.OK, err
    assert [s["label"] for p in json.loads(out)["phases"] for s in p["steps"]] == [
        "succeeded (previous attempt)",
        "succeeded",
    ]
    assert (tmp_path / "done.txt").read_text() == "done\n"


def test_main_exits_with_the_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main(["validate", "missing.yaml"])
    assert caught.value.code == 2
