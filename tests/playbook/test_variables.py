"""Variables: substitution, the `$${` escape, typed conversion, overrides, and their errors."""

from __future__ import annotations

import pytest

from drkit.errors import PlaybookError
from drkit.playbook.loader import SET_POSITION_FILE
from drkit.playbook.variables import reference_offsets, substitute

PLAYBOOK = """\
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: vars-drill}
vars:
  variant: baseline
  wait: 90s
  attempts: 3
  flag: true
  ratio: 1.50
target:
  contexts: ["${variant}-ctx"]
rto: ${wait}
phases:
  - name: deploy
    drillOnly: ${flag}
    steps:
      - command:
          run: "train --variant ${variant} --literal $${variant} --ratio ${ratio}"
          expectExit: ${attempts}
          shell: ${flag}
        timeout: ${wait}
        retries: {count: "${attempts}", delay: "${wait}"}
      - http: {url: "http://localhost/${variant}", interval: "${wait}"}
"""


def test_substitution_escape_and_conversion(load) -> None:  # type: ignore[no-untyped-def]
    playbook = load(PLAYBOOK)
    assert playbook.vars == {
        "variant": "baseline",
        "wait": "90s",
        "attempts": "3",
        "flag": "true",
        "ratio": "1.50",
    }
    assert playbook.target.contexts == ("baseline-ctx",)
    assert playbook.rto == 90.0
    phase = playbook.phases[0]
    assert phase.drill_only is True
    command, http = phase.steps
    assert command.body == {
        "run": "train --variant baseline --literal ${variant} --ratio 1.50",
        "expectExit": 3,
        "shell": True,
    }
    assert command.timeout == 90.0
    assert (command.retries.count, command.retries.delay) == (3, 90.0)
    assert http.body == {"url": "http://localhost/baseline", "interval": 90.0, "method": "GET"}


def test_override_replaces_declared_value_before_substitution(load) -> None:  # type: ignore[no-untyped-def]
    playbook = load(PLAYBOOK, overrides={"variant": "enhanced", "wait": "2m"})
    assert playbook.vars["variant"] == "enhanced"
    assert playbook.phases[0].steps[0].timeout == 120.0
    assert playbook.phases[0].steps[1].body["url"] == "http://localhost/enhanced"  # type: ignore[index]


def test_override_of_undeclared_variable_points_at_vars(load) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PlaybookError) as caught:
        load(PLAYBOOK, overrides={"variamt": "x"})
    (problem,) = caught.value.problems
    assert (problem.position.line, problem.position.column) == (5, 3)  # type: ignore[attr-defined]
    assert "--set variamt" in problem.message  # type: ignore[attr-defined]
    assert problem.hint == "did you mean 'variant'?"  # type: ignore[attr-defined]


def test_override_without_vars_uses_pseudo_position(load) -> None:  # type: ignore[no-untyped-def]
    text = PLAYBOOK.split("vars:", maxsplit=1)[0] + "phases:\n  - name: p\n    steps: [{command: {run: x}}]\n"
    with pytest.raises(PlaybookError) as caught:
        load(text, overrides={"anything": "1"})
    (problem,) = caught.value.problems
    assert problem.position.file == SET_POSITION_FILE  # type: ignore[attr-defined]
    assert problem.hint == "this playbook declares no variables"  # type: ignore[attr-defined]


def test_null_variable_must_be_overridden(load) -> None:  # type: ignore[no-untyped-def]
    text = PLAYBOOK.replace("variant: baseline", "variant:")
    with pytest.raises(PlaybookError, match="1 problem"):
        load(text)
    assert load(text, overrides={"variant": "given"}).target.contexts == ("given-ctx",)


def test_variables_are_not_substituted_inside_vars_or_metadata(load) -> None:  # type: ignore[no-untyped-def]
    text = PLAYBOOK.replace("flag: true", "flag: true\n  self: ${variant}")
    assert load(text).vars["self"] == "${variant}"


def test_converted_value_is_checked_against_the_field(load) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PlaybookError) as caught:
        load(PLAYBOOK, overrides={"wait": "0s"})
    messages = [p.message for p in caught.value.problems]  # type: ignore[attr-defined]
    assert any("'rto' must be greater than 0" in m for m in messages), messages
    assert any("'timeout' in step 'command-1'" in m for m in messages), messages


def test_substitute_reports_each_problem_with_its_ordinal() -> None:
    result = substitute("${a} $${b} ${c} ${1x} ${d", {"a": "A"})
    assert result.text == "A ${b} ${c} ${1x} ${d"
    assert [(p.ordinal, p.kind, p.name) for p in result.problems] == [
        (1, "undefined", "c"),
        (2, "invalid-name", "1x"),
        (3, "unterminated", "d"),
    ]
    assert result.names == frozenset({"a"})
    assert reference_offsets("${a} $${b} ${c}") == [0, 11]


def test_folded_and_literal_blocks_load_as_yaml_defines_them(load) -> None:  # type: ignore[no-untyped-def]
    text = PLAYBOOK.split("phases:", maxsplit=1)[0] + (
        "phases:\n"
        "  - name: deploy\n"
        "    steps:\n"
        "      - command:\n"
        "          run: >-\n"
        "            echo ${variant} &&\n"
        "            echo done\n"
        "      - command:\n"
        "          run: |\n"
        "            echo one\n"
        "            echo two\n"
    )
    folded, literal = load(text).phases[0].steps
    assert folded.body["run"] == "echo baseline && echo done"
    assert literal.body["run"] == "echo one\necho two\n"
