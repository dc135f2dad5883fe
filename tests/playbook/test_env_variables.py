"""`${env:NAME}` and `${env:NAME:-default}` in variable values: taken from the environment the loader is
given, located errors naming the variable and the environment variable, secrets kept secret, and the origin
of each value recorded for `drkit plan` and the report."""

from __future__ import annotations

import pytest

from drkit.errors import PlaybookError
from drkit.playbook.model import VarOrigin, VarSource
from drkit.playbook.problems import render_problems

PLAYBOOK = """\
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: env-drill}
vars:
  mlflow_url: "${env:MLFLOW_TRACKING_URI:-http://localhost:5000}"
  workdir: ${env:WORK_ROOT}/drills
  written: plain
phases:
  - name: p
    steps:
      - command: {run: "train --mlflow ${mlflow_url} --in ${workdir} --as ${written}"}
"""


def _run_text(playbook) -> str:  # type: ignore[no-untyped-def]
    return str(playbook.phases[0].steps[0].body["run"])


def test_values_come_from_the_environment_and_say_so(load) -> None:  # type: ignore[no-untyped-def]
    env = {"MLFLOW_TRACKING_URI": "http://mlflow.lab:5000", "WORK_ROOT": "/srv"}
    playbook = load(PLAYBOOK, env=env)
    assert _run_text(playbook) == "train --mlflow http://mlflow.lab:5000 --in /srv/drills --as plain"
    assert playbook.var_origins["mlflow_url"] == VarOrigin(VarSource.ENVIRONMENT, ("MLFLOW_TRACKING_URI",))
    assert playbook.var_origins["mlflow_url"].describe() == "from $MLFLOW_TRACKING_URI"
    assert playbook.var_origins.get("written", VarOrigin()).describe() == "playbook"


@pytest.mark.parametrize("uri", [None, ""])
def test_an_unset_or_empty_variable_takes_the_default(load, uri: str | None) -> None:  # type: ignore[no-untyped-def]
    env = {"WORK_ROOT": "/srv"} | ({} if uri is None else {"MLFLOW_TRACKING_URI": uri})
    playbook = load(PLAYBOOK, env=env)
    assert playbook.vars["mlflow_url"] == "http://localhost:5000"
    assert playbook.var_origins["mlflow_url"].describe() == "default ($MLFLOW_TRACKING_URI not set)"


def test_a_required_one_unset_is_located_and_says_how_to_fix(load) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PlaybookError) as caught:
        load(PLAYBOOK, env={"WORK_ROOT": ""})
    (problem,) = caught.value.problems
    assert (problem.position.line, problem.position.column) == (6, 12)  # type: ignore[attr-defined]
    assert problem.message == (  # type: ignore[attr-defined]
        "variable 'workdir' takes its value from the environment variable WORK_ROOT, which is not set"
    )
    assert "export WORK_ROOT=" in problem.hint  # type: ignore[attr-defined]
    assert "--set workdir=" in problem.hint  # type: ignore[attr-defined]
    assert "${env:WORK_ROOT:-value}" in problem.hint  # type: ignore[attr-defined]


def test_set_wins_over_the_environment_and_needs_none(load) -> None:  # type: ignore[no-untyped-def]
    playbook = load(PLAYBOOK, env={"MLFLOW_TRACKING_URI": "http://env:5000"}, overrides={"workdir": "/x"})
    assert playbook.vars["workdir"] == "/x"
    assert playbook.var_origins["workdir"].describe() == "--set"
    assert playbook.vars["mlflow_url"] == "http://env:5000"


def test_a_value_from_a_secret_environment_variable_is_secret(load) -> None:  # type: ignore[no-untyped-def]
    text = PLAYBOOK.replace("written: plain", "upstream: ${env:UPSTREAM_PASSWORD}").replace(
        "--as ${written}", "--as ${upstream}"
    )
    env = {"WORK_ROOT": "/srv", "UPSTREAM_PASSWORD": "pw-from-env-123"}
    playbook = load(text, env=env)
    assert "upstream" in playbook.secret_vars
    broken = text.replace("    steps:", "    budgt: 1m\n    steps:")
    with pytest.raises(PlaybookError) as caught:
        load(broken, env=env)
    shown = render_problems(caught.value.problems) + str(caught.value)  # type: ignore[arg-type]
    assert "budgt" in shown
    assert "pw-from-env-123" not in shown


def test_escapes_and_other_references_stay_literal_in_vars(load) -> None:  # type: ignore[no-untyped-def]
    text = PLAYBOOK.replace("written: plain", 'written: "$${env:HOME} ${mlflow_url}"')
    playbook = load(text, env={"WORK_ROOT": "/srv", "HOME": "/root"})
    assert playbook.vars["written"] == "${env:HOME} ${mlflow_url}"
    assert "written" not in playbook.var_origins


def test_env_outside_vars_is_refused_with_the_way_to_write_it(load) -> None:  # type: ignore[no-untyped-def]
    text = PLAYBOOK.replace("--as ${written}", "--as ${env:HOME}")
    with pytest.raises(PlaybookError) as caught:
        load(text, env={"WORK_ROOT": "/srv", "HOME": "/root"})
    (problem,) = caught.value.problems
    assert problem.position.line == 11  # type: ignore[attr-defined]
    assert "reads the environment outside 'vars'" in problem.message  # type: ignore[attr-defined]
    assert '"${env:HOME}"' in problem.hint  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("${env:1BAD}", "invalid environment variable name '1BAD' in variable 'workdir'"),
        ("${env:OPEN", "unterminated environment reference '${env:OPEN' in variable 'workdir'"),
    ],
)
def test_malformed_environment_references_are_located(load, value: str, message: str) -> None:  # type: ignore[no-untyped-def]
    text = PLAYBOOK.replace("${env:WORK_ROOT}/drills", f'"{value}"')
    with pytest.raises(PlaybookError) as caught:
        load(text, env={})
    (problem,) = caught.value.problems
    assert problem.message == message  # type: ignore[attr-defined]
    assert (problem.position.line, problem.position.column) == (6, 13)  # type: ignore[attr-defined]
