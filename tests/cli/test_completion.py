"""Shell completion through click's protocol, in a real `python -m drkit` process as the shell runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import FakeClock, RunDrkit, WritePlaybook, subprocess_env

PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: completion}
vars: {greeting: hello}
phases:
  - name: teardown
    drillOnly: true
    steps:
      - command: {run: "true"}
  - name: rebuild
    steps:
      - command: {run: "echo ${greeting}"}
  - name: restore-data
    steps:
      - command: {run: "true"}
checklists:
  health:
    - command: {run: "true"}
  health-deep:
    - command: {run: "true"}
  serving:
    - command: {run: "true"}
"""


def complete(line: str, cwd: Path, home: Path, shell: str = "bash") -> list[str]:
    """What drkit offers for the last word of `line` (a trailing space: a new, empty word)."""
    words = line.split(" ")
    done = subprocess.run(
        [sys.executable, "-m", "drkit"],
        cwd=cwd,
        env=subprocess_env(
            {
                "_DRKIT_COMPLETE": f"{shell}_complete",
                "COMP_WORDS": line,
                "COMP_CWORD": str(len(words) - 1),
                "DRKIT_HOME": str(home),
            }
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    if shell == "bash":  # one `type,value` line per item
        return [item.split(",", 1)[1] for item in done.stdout.splitlines() if item.startswith("plain,")]
    lines = done.stdout.splitlines()  # zsh: type, value, help, one line each
    return [lines[i + 1] for i in range(0, len(lines), 3) if lines[i] == "plain"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_run_ids_for_resume_and_runs_show(
    drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path, home: Path, clock: FakeClock
) -> None:
    write_playbook(PLAYBOOK)
    assert complete("drkit resume ", tmp_path, home) == []  # no runs yet: nothing, and no error
    env = {"DRKIT_HOME": str(home)}
    ids = []
    for _ in "ab":
        ids.append(drkit("recover", "playbook.yaml", "-o", "json", cwd=tmp_path, env=env).json["runId"])
        clock.advance(0.1)  # the next run starts later, within the same second
    newest_first = ids[::-1]  # the later run first, even within one second
    assert complete("drkit resume ", tmp_path, home) == newest_first
    assert complete("drkit runs show ", tmp_path, home) == newest_first
    assert complete(f"drkit runs show {ids[0][:-1]}", tmp_path, home) == [
        i for i in newest_first if i.startswith(ids[0][:-1])
    ]
    assert complete("drkit resume 1999", tmp_path, home) == []
    assert complete("drkit runs show ", tmp_path, home, shell="zsh") == newest_first


def test_phase_names_come_from_the_playbook_on_the_line(
    write_playbook: WritePlaybook, tmp_path: Path, home: Path
) -> None:
    write_playbook(PLAYBOOK)
    assert complete("drkit drill playbook.yaml --from-phase ", tmp_path, home) == [
        "teardown",
        "rebuild",
        "restore-data",
    ]
    assert complete("drkit recover playbook.yaml --only-phase re", tmp_path, home) == [
        "rebuild",
        "restore-data",
    ]
    assert complete("drkit plan --set greeting=hi playbook.yaml --from-phase t", tmp_path, home) == [
        "teardown"
    ]
    assert complete("drkit drill --from-phase ", tmp_path, home) == []  # no playbook yet
    assert complete("drkit drill missing.yaml --from-phase ", tmp_path, home) == []
    (tmp_path / "broken.yaml").write_text("phases: [", encoding="utf-8")
    assert complete("drkit drill broken.yaml --from-phase ", tmp_path, home) == []


def test_checklist_names_for_check(write_playbook: WritePlaybook, tmp_path: Path, home: Path) -> None:
    write_playbook(PLAYBOOK)
    assert complete("drkit check playbook.yaml --checklist ", tmp_path, home) == [
        "health",
        "health-deep",
        "serving",
    ]
    assert complete("drkit check playbook.yaml --checklist health --checklist he", tmp_path, home) == [
        "health",
        "health-deep",
    ]


def test_commands_and_options_still_complete(tmp_path: Path, home: Path) -> None:
    assert complete("drkit re", tmp_path, home) == ["recover", "report", "resume"]
    assert "--from-phase" in complete("drkit drill --fr", tmp_path, home)
