"""Every malformed playbook is reported at the exact line and column, with what is wrong and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from playbook_kinds import CHECK_KINDS

from drkit.errors import ExitCode, PlaybookError
from drkit.playbook.fields import Field, KindSchema, Obj, Str
from drkit.playbook.loader import load_playbook_text
from drkit.playbook.problems import Problem

HEAD = """\
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: drill}
"""
# Lines 4-7: one phase with one step.
ONE_PHASE = """\
phases:
  - name: one
    steps:
      - command: {run: "true"}
"""
CHECKLISTS = """\
checklists:
  health:
    - name: up
      http: {url: "http://localhost/"}
"""


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    line: int
    column: int
    fragment: str
    hint: str | None = None


CASES = [
    Case(
        "syntax",
        HEAD + "phases:\n  - name: a: b\n",
        5,
        12,
        "YAML syntax error: mapping values",
        "quote a value",
    ),
    Case(
        "duplicate-key",
        HEAD + "kind: Playbook\n" + ONE_PHASE,
        4,
        1,
        "duplicate key 'kind' in the playbook (first at line 2)",
    ),
    Case(
        "tab", HEAD + "phases:\n\t- name: one\n", 5, 1, "tab character in indentation", "indent with spaces"
    ),
    Case("empty-file", "", 1, 1, "the playbook is empty", "apiVersion: drkit.io/v1"),
    Case("only-comments", "# nothing here\n\n", 1, 1, "the playbook is empty"),
    Case("top-level-list", "- apiVersion: drkit.io/v1\n", 1, 1, "the playbook must be a mapping, got a list"),
    Case(
        "two-documents",
        HEAD + ONE_PHASE + "---\nkind: Playbook\n",
        8,
        1,
        "but found another document",
        "one YAML document",
    ),
    Case(
        "wrong-api-version",
        HEAD.replace("drkit.io/v1", "drkit.io/v2") + ONE_PHASE,
        1,
        13,
        "unsupported apiVersion 'drkit.io/v2'",
        "use 'apiVersion: drkit.io/v1'",
    ),
    Case(
        "missing-api-version",
        HEAD.replace("apiVersion: drkit.io/v1\n", "") + ONE_PHASE,
        1,
        1,
        "missing required key 'apiVersion' in the playbook",
        "drkit.io/v1",
    ),
    Case(
        "wrong-kind",
        HEAD.replace("kind: Playbook", "kind: Playbok") + ONE_PHASE,
        2,
        7,
        "kind must be 'Playbook', got 'Playbok'",
    ),
    Case(
        "unknown-top-key",
        HEAD + ONE_PHASE.replace("phases:", "phase:"),
        4,
        1,
        "unknown key 'phase' in the playbook",
        "did you mean 'phases'?",
    ),
    Case(
        "missing-metadata-name",
        HEAD.replace("{name: drill}", "{description: x}") + ONE_PHASE,
        3,
        11,
        "missing required key 'name' in 'metadata'",
    ),
    Case(
        "bad-metadata-name",
        HEAD.replace("name: drill", "name: Drill_1") + ONE_PHASE,
        3,
        18,
        "'Drill_1' is not valid for 'name' in 'metadata'",
    ),
    Case(
        "metadata-null",
        HEAD.replace(" {name: drill}", "") + ONE_PHASE,
        3,
        1,
        "'metadata' must be a mapping, got nothing (null)",
    ),
    Case(
        "unknown-phase-key",
        HEAD + ONE_PHASE.replace("    steps:", "    budgt: 5m\n    steps:"),
        6,
        5,
        "unknown key 'budgt' in phase 'one'",
        "did you mean 'budget'?",
    ),
    Case(
        "unknown-common-key",
        HEAD + ONE_PHASE + "        continueOnErorr: true\n",
        8,
        9,
        "unknown key 'continueOnErorr' in step 'command-1' in phase 'one'",
        "did you mean 'continueOnError'?",
    ),
    Case(
        "unknown-step-kind",
        HEAD + ONE_PHASE.replace("- command:", "- comand:"),
        7,
        9,
        "unknown key 'comand' in step 1 of phase 'one'",
        "did you mean 'command'?",
    ),
    Case(
        "step-without-kind",
        HEAD + ONE_PHASE.replace('- command: {run: "true"}', "- name: lonely\n        timeout: 5m"),
        7,
        9,
        "step 'lonely' in phase 'one' has no step kind",
        "add exactly one of: apply, check, command, http",
    ),
    Case(
        "step-with-two-kinds",
        HEAD + ONE_PHASE + '        http: {url: "http://x/"}\n',
        8,
        9,
        "has two kinds, 'command' and 'http'",
        "split it in two",
    ),
    Case(
        "missing-body-key",
        HEAD + ONE_PHASE.replace('{run: "true"}', "{env: {A: b}}"),
        7,
        18,
        "missing required key 'run' in 'command' in step 'command-1'",
        "The command line",
    ),
    Case(
        "wrong-type",
        HEAD + ONE_PHASE + "        retries: [1, 2]\n",
        8,
        18,
        "'retries' in step 'command-1' in phase 'one' must be an integer or a mapping, got a list",
    ),
    Case(
        "enum",
        HEAD + ONE_PHASE.replace('command: {run: "true"}', 'http: {url: "http://x/", method: PUT}'),
        7,
        42,
        "'PUT' is not allowed for 'method'",
        "use one of: GET, POST, HEAD",
    ),
    Case(
        "bad-duration",
        HEAD + ONE_PHASE + "        timeout: 5 minutes\n",
        8,
        18,
        "invalid duration '5 minutes'",
        "use a number with a unit: 90s, 5m, 1h30m",
    ),
    Case(
        "negative-duration",
        HEAD + ONE_PHASE.replace("    steps:", "    budget: -5m\n    steps:"),
        6,
        13,
        "'budget' in phase 'one' must be greater than 0, got -5m00s",
    ),
    Case("zero-timeout", HEAD + ONE_PHASE + "        timeout: 0s\n", 8, 18, "must be greater than 0"),
    Case(
        "int-below-minimum",
        HEAD + ONE_PHASE.replace('{run: "true"}', '{run: "true", expectExit: -1}'),
        7,
        44,
        "'expectExit' in 'command' in step 'command-1' in phase 'one' must be at least 0, got -1",
    ),
    Case(
        "bool-wrong",
        HEAD + ONE_PHASE.replace("    steps:", "    drillOnly: yes\n    steps:"),
        6,
        16,
        "'drillOnly' in phase 'one' must be true or false, got a string ('yes')",
    ),
    Case(
        "exactly-one-of-both",
        HEAD + ONE_PHASE.replace('command: {run: "true"}', "apply: {kustomize: a, files: [b]}"),
        7,
        31,
        "'files' cannot be combined with 'kustomize'",
        "keep only one of 'kustomize', 'files'",
    ),
    Case(
        "exactly-one-of-neither",
        HEAD + ONE_PHASE.replace('command: {run: "true"}', "apply: {wait: true}"),
        7,
        16,
        "needs one of: kustomize, files",
    ),
    Case(
        "duplicate-phase",
        HEAD + ONE_PHASE + ONE_PHASE[len("phases:\n") :],
        8,
        11,
        "duplicate phase name 'one' (first at line 5)",
    ),
    Case(
        "duplicate-step",
        HEAD + ONE_PHASE + "      - name: command-1\n        command: {run: b}\n",
        8,
        15,
        "duplicate step name 'command-1' in phase 'one' (first at line 7)",
    ),
    Case("empty-phases", HEAD + "phases: []\n", 4, 9, "'phases' is empty", "add at least one phase"),
    Case(
        "phase-without-steps",
        HEAD + "phases:\n  - name: one\n    steps: []\n",
        6,
        12,
        "phase 'one' has no steps",
    ),
    Case(
        "phase-missing-name",
        HEAD + ONE_PHASE.replace("  - name: one\n    steps:", "  - steps:"),
        5,
        5,
        "missing required key 'name' in phase 1",
    ),
    Case(
        "bad-phase-name",
        HEAD + ONE_PHASE.replace("name: one", "name: One Two"),
        5,
        11,
        "'One Two' is not valid for the name of phase 1",
    ),
    Case("phases-not-list", HEAD + "phases: {one: 1}\n", 4, 9, "'phases' must be a list of phases"),
    Case(
        "missing-checklist",
        HEAD + ONE_PHASE.replace('command: {run: "true"}', "check: helth") + CHECKLISTS,
        7,
        16,
        "step 'check-1' checks checklist 'helth', which is not defined",
        "did you mean 'health'?",
    ),
    Case(
        "missing-checklist-mapping",
        HEAD
        + ONE_PHASE.replace('command: {run: "true"}', "check: {checklist: nope, timeout: 1m}")
        + CHECKLISTS,
        7,
        28,
        "checks checklist 'nope', which is not defined",
        "define it under 'checklists:' (health exist)",
    ),
    Case(
        "item-without-kind",
        HEAD + ONE_PHASE + CHECKLISTS.replace("      http:", "      timeout:"),
        11,
        7,
        "unknown key 'timeout' in item 'up' in checklist 'health'",
    ),
    Case(
        "duplicate-item",
        HEAD + ONE_PHASE + CHECKLISTS + '    - name: up\n      command: {run: "true"}\n',
        12,
        13,
        "duplicate item name 'up' in checklist 'health' (first at line 10)",
    ),
    Case(
        "checklist-items-missing",
        HEAD + ONE_PHASE + "checklists:\n  health: {timeout: 5m}\n",
        9,
        11,
        "missing required key 'items' in checklist 'health'",
    ),
    Case(
        "empty-checklist",
        HEAD + ONE_PHASE + "checklists:\n  health: []\n",
        9,
        11,
        "checklist 'health' has no items",
    ),
    Case(
        "undefined-variable",
        HEAD + "vars: {name: x}\n" + ONE_PHASE.replace('"true"', '"echo ${nmae}"'),
        8,
        30,
        "undefined variable 'nmae'",
        "did you mean 'name'?",
    ),
    Case(
        "undefined-variable-no-vars",
        HEAD + ONE_PHASE.replace('"true"', '"a $${b} ${c}"'),
        7,
        33,
        "undefined variable 'c'",
        "declare it under 'vars:'",
    ),
    Case(
        "unterminated-variable",
        HEAD + "vars: {name: x}\n" + ONE_PHASE.replace('"true"', '"echo ${name"'),
        8,
        30,
        "unterminated variable reference '${name'",
        "close it with '}'",
    ),
    Case(
        "invalid-variable-name",
        HEAD + "vars: {name: x}\n" + ONE_PHASE.replace('"true"', '"echo ${1x}"'),
        8,
        30,
        "invalid variable reference '${1x}'",
    ),
    Case(
        "variable-not-int",
        HEAD + "vars: {n: many}\n" + ONE_PHASE + "        retries: ${n}\n",
        9,
        18,
        "'retries' in step 'command-1' in phase 'one' must be an integer, got 'many' (from ${n})",
    ),
    Case(
        "variable-int-conversion",
        HEAD + "vars: {n: many}\n" + ONE_PHASE.replace('{run: "true"}', '{run: "true", expectExit: "${n}"}'),
        8,
        44,
        "must be an integer, got 'many' (from ${n})",
    ),
    Case(
        "vars-mapping-value",
        HEAD + "vars:\n  a: {b: c}\n" + ONE_PHASE,
        5,
        6,
        "variable 'a' must be a string, number or boolean, got a mapping",
    ),
    Case(
        "vars-null-value",
        HEAD + "vars:\n  a:\n" + ONE_PHASE,
        5,
        3,
        "variable 'a' has no value",
        "--set a=...",
    ),
    Case(
        "bad-target",
        HEAD + "target: {contexts: lab}\n" + ONE_PHASE,
        4,
        20,
        "'contexts' in 'target' must be a list, got a string ('lab')",
    ),
    Case(
        "protected-namespace-name",
        HEAD + "target: {protectedNamespaces: [ML_flow]}\n" + ONE_PHASE,
        4,
        32,
        "'ML_flow' is not valid for item 1 of 'protectedNamespaces'",
    ),
    Case("bad-rto", HEAD + "rto: soon\n" + ONE_PHASE, 4, 6, "invalid duration 'soon' for 'rto'"),
    Case(
        "unsupported-tag",
        HEAD + ONE_PHASE.replace('"true"', "!shell true"),
        7,
        24,
        "unsupported YAML tag '!shell'",
    ),
    # Lines 8-: the top-level `finally:` steps, validated as a phase's steps are.
    Case(
        "finally-not-a-list",
        HEAD + ONE_PHASE + "finally: {command: {run: x}}\n",
        8,
        10,
        "'finally' must be a list of steps",
    ),
    Case("finally-empty", HEAD + ONE_PHASE + "finally: []\n", 8, 10, "'finally' has no steps", "'finally:'"),
    Case(
        "finally-unknown-kind",
        HEAD + ONE_PHASE + "finally:\n  - name: notify\n    comand: {run: x}\n",
        10,
        5,
        "unknown key 'comand' in step 'notify' in 'finally'",
        "did you mean 'command'?",
    ),
    Case(
        "finally-bad-timeout",
        HEAD + ONE_PHASE + "finally:\n  - command: {run: x}\n    timeout: soon\n",
        10,
        14,
        "invalid duration 'soon' for 'timeout' in step 'command-1' in 'finally'",
    ),
    Case(
        "finally-duplicate-step",
        HEAD + ONE_PHASE + "finally:\n  - {name: a, command: {run: x}}\n  - {name: a, command: {run: y}}\n",
        10,
        12,
        "duplicate step name 'a' in 'finally' (first at line 9)",
    ),
    Case(
        "collect-two-kinds",
        HEAD + ONE_PHASE + "collect:\n  - {events: {namespace: a}, logs: {namespace: a, selector: x=y}}\n",
        9,
        30,
        "'logs' cannot be combined with 'events' in item 1 of 'collect'",
    ),
    Case(
        "collect-logs-without-selector",
        HEAD + ONE_PHASE + "collect:\n  - logs: {namespace: ml}\n",
        9,
        11,
        "missing required key 'selector'",
    ),
    Case(
        "step-collect-bad-tail",
        HEAD
        + ONE_PHASE.replace(
            '{run: "true"}',
            '{run: "true"}\n        collect: [{logs: {namespace: a, selector: b=c, tail: 0}}]',
        ),
        8,
        62,
        "'tail' in 'logs' in item 1 of 'collect' in step 'command-1' in phase 'one' must be at least 1",
    ),
    Case(
        "phase-named-finally",
        HEAD + ONE_PHASE.replace("name: one", "name: finally"),
        5,
        11,
        "phase name 'finally' is reserved for the top-level 'finally:' steps",
    ),
]


def problems_of(load, text: str) -> tuple[Problem, ...]:  # type: ignore[no-untyped-def]
    with pytest.raises(PlaybookError) as caught:
        load(text)
    assert caught.value.exit_code == ExitCode.USAGE
    return caught.value.problems  # type: ignore[return-value]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_problem_is_reported_at_its_position(load, case: Case) -> None:  # type: ignore[no-untyped-def]
    problems = problems_of(load, case.text)
    matching = [p for p in problems if case.fragment in p.message]
    assert matching, (
        f"no problem mentions {case.fragment!r}: {[str(p.position) + ' ' + p.message for p in problems]}"
    )
    problem = matching[0]
    assert (problem.position.line, problem.position.column) == (case.line, case.column), problem
    assert problem.position.file == "pb.yaml"
    if case.hint is not None:
        assert problem.hint is not None
        assert case.hint in problem.hint
    if 1 <= case.line <= len(case.text.splitlines()):
        assert problem.line_text == case.text.splitlines()[case.line - 1]


def test_at_least_thirty_distinct_malformed_playbooks() -> None:
    assert len({c.text for c in CASES}) >= 30


def test_every_problem_is_collected_and_sorted(load) -> None:  # type: ignore[no-untyped-def]
    text = (
        HEAD
        + "rto: 5 minutes\n"  # line 4
        + "phases:\n"
        + "  - name: one\n"
        + "    budgt: 5m\n"  # line 7
        + "    steps:\n"
        + "      - comand: {run: x}\n"  # line 9
        + "      - check: nope\n"  # line 10
        + "  - name: one\n"  # line 11
        + "    steps: [{command: {run: y}}]\n"
    )
    problems = problems_of(load, text)
    lines = [p.position.line for p in problems]
    assert lines == sorted(lines)
    assert {4, 7, 9, 10, 11} <= set(lines)


def test_check_reference_resolves_to_existing_checklist(load) -> None:  # type: ignore[no-untyped-def]
    playbook = load(HEAD + ONE_PHASE.replace('command: {run: "true"}', "check: health") + CHECKLISTS)
    assert playbook.phases[0].steps[0].body == "health"
    assert playbook.checklists["health"].items[0].name == "up"


def test_the_schema_not_the_kind_key_says_which_values_name_a_checklist() -> None:
    """Any kind whose body marks a string as naming a checklist gets it checked; `check` is not special."""
    kinds = {
        "smoke": KindSchema(
            kind="smoke",
            description="Run a checklist under another name.",
            body=Obj({"suite": Field(Str(names_checklist=True), required=True)}),
        ),
        "check": KindSchema(kind="check", description="A free-form string here.", body=Str()),
    }
    text = HEAD + "phases:\n  - name: one\n    steps:\n      - smoke: {suite: nope}\n      - check: nope\n"
    with pytest.raises(PlaybookError) as caught:
        load_playbook_text(text, filename="pb.yaml", step_kinds=kinds, check_kinds=CHECK_KINDS)
    assert [(p.position.line, p.position.column, p.message) for p in caught.value.problems] == [
        (7, 24, "step 'smoke-1' checks checklist 'nope', which is not defined")
    ]
