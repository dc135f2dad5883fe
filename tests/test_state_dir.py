"""Run history lives in one directory per user, whatever the working directory, and the lab's default
directory below it: `$DRKIT_HOME`, else `$XDG_STATE_HOME/drkit`, else `$HOME/.local/state/drkit`."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from helpers import run_drkit

from drkit.context import Runtime
from drkit.errors import ExitCode, UsageError
from drkit_lab.errors import LabUsageError
from drkit_lab.state import default_dir

PLAYBOOK = """\
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: history}
phases:
  - name: rebuild
    steps:
      - command: {run: "true"}
"""


def _runtime(env: dict[str, str], cwd: Path) -> Runtime:
    return Runtime(stdout=io.StringIO(), stderr=io.StringIO(), stdin=io.StringIO(), env=env, cwd=cwd)


ENVIRONMENTS = [
    pytest.param(
        {"DRKIT_HOME": "/srv/drkit", "XDG_STATE_HOME": "/x", "HOME": "/h"}, "/srv/drkit", id="drkit-home"
    ),
    pytest.param({"XDG_STATE_HOME": "/x/state", "HOME": "/h"}, "/x/state/drkit", id="xdg-state-home"),
    pytest.param({"HOME": "/home/oncall"}, "/home/oncall/.local/state/drkit", id="home"),
    # The XDG spec: a relative XDG_STATE_HOME is invalid and ignored.
    pytest.param(
        {"XDG_STATE_HOME": "state", "HOME": "/h"}, "/h/.local/state/drkit", id="relative-xdg-ignored"
    ),
    pytest.param(
        {"DRKIT_HOME": "", "XDG_STATE_HOME": "", "HOME": "/h"}, "/h/.local/state/drkit", id="empty-unset"
    ),
]


@pytest.mark.parametrize(("env", "expected"), ENVIRONMENTS)
def test_the_state_dir_follows_drkit_home_then_xdg_then_home(
    env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    assert _runtime(env, tmp_path).state_dir == Path(expected)


@pytest.mark.parametrize(("env", "expected"), ENVIRONMENTS)
def test_the_labs_default_directory_is_lab_in_the_same_state_dir(
    env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    """The lab may not import drkit's rule, so it has its own copy: the two must agree."""
    assert default_dir(env) == _runtime(env, tmp_path).state_dir / "lab"


def test_a_relative_drkit_home_is_taken_from_the_working_directory(tmp_path: Path) -> None:
    assert _runtime({"DRKIT_HOME": "history", "HOME": "/h"}, tmp_path).state_dir == tmp_path / "history"


def test_without_home_the_state_dir_is_a_usage_error_that_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="HOME is not set") as caught:
        _ = _runtime({"PATH": "/usr/bin"}, tmp_path).state_dir
    assert caught.value.exit_code is ExitCode.USAGE
    assert caught.value.hint is not None
    assert "DRKIT_HOME" in caught.value.hint
    with pytest.raises(LabUsageError, match="HOME is not set"):
        default_dir({"PATH": "/usr/bin"})


def test_runs_list_shows_the_same_history_from_any_directory(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first, second = tmp_path / "repo-a", tmp_path / "elsewhere" / "b"
    for directory in (home, first, second):
        directory.mkdir(parents=True)
    (first / "playbook.yaml").write_text(PLAYBOOK, encoding="utf-8")
    env: dict[str, str | None] = {"DRKIT_HOME": None, "XDG_STATE_HOME": None, "HOME": str(home)}
    ran = run_drkit("recover", "playbook.yaml", "-o", "json", cwd=first, env=env)
    assert ran.exit_code == 0, ran.stderr
    run_id = ran.json["runId"]
    assert (home / ".local" / "state" / "drkit" / "runs" / run_id / "journal.jsonl").is_file()
    assert not (first / ".drkit").exists()
    listings = [run_drkit("runs", "list", cwd=where, env=env) for where in (first, second)]
    for listing in listings:
        assert listing.exit_code == 0, listing.stderr
        assert run_id in listing.stdout
    assert listings[0].stdout == listings[1].stdout
    shown = run_drkit("runs", "show", run_id, "-o", "json", cwd=second, env=env)
    assert shown.exit_code == 0, shown.stderr
    assert shown.json["runId"] == run_id
