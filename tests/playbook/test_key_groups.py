"""Key groups of the schema language (at most one, at least one) and keys not offered: positioned problems
from the loader, and the same rules in the exported JSON Schema."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playbook_kinds import CHECK_KINDS, STEP_KINDS
from test_json_schema import as_json, is_valid

from drkit.errors import PlaybookError
from drkit.playbook.fields import Field, KindSchema, ListOf, Obj, Str
from drkit.playbook.json_schema import playbook_json_schema
from drkit.playbook.loader import load_playbook_text
from drkit.playbook.problems import Problem

SNAPSHOT = KindSchema(
    kind="snapshot",
    description="Record namespaces, listed or named by manifests.",
    body=Obj(
        {
            "namespaces": Field(ListOf(Str(), min_items=1)),
            "kustomize": Field(Str()),
            "files": Field(ListOf(Str(), min_items=1)),
        },
        at_most_one_of=(("kustomize", "files"),),
        at_least_one_of=(("namespaces", "kustomize", "files"),),
        not_offered={"prune": "a snapshot changes nothing: prune with a `delete` step"},
    ),
)
KINDS = {**STEP_KINDS, "snapshot": SNAPSHOT}
PLAYBOOK = "apiVersion: drkit.io/v1\nkind: Playbook\nmetadata: {name: t}\nphases:\n  - name: p\n    steps:\n"


def _text(body: str) -> str:
    return f"{PLAYBOOK}      - snapshot: {body}\n"  # the body is on line 7


def _problems(body: str) -> tuple[Problem, ...]:
    with pytest.raises(PlaybookError) as caught:
        load_playbook_text(_text(body), filename="t.yaml", step_kinds=KINDS, check_kinds=CHECK_KINDS)
    problems = caught.value.problems
    assert all(isinstance(p, Problem) for p in problems)
    return problems  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("body", "at", "message", "hint"),
    [
        (
            "{kustomize: a, files: [b]}",
            "files:",
            "'files' cannot be combined with 'kustomize' in 'snapshot' in step 'snapshot-1' in phase 'p'",
            "keep only one of 'kustomize', 'files'",
        ),
        (
            "{}",
            "{}",
            "'snapshot' in step 'snapshot-1' in phase 'p' needs at least one of: "
            "namespaces, kustomize, files",
            "add one or more of 'namespaces', 'kustomize', 'files'",
        ),
        (
            "{namespaces: [a], prune: true}",
            "prune:",
            "unknown key 'prune' in 'snapshot' in step 'snapshot-1' in phase 'p'",
            "a snapshot changes nothing: prune with a `delete` step",
        ),
    ],
)
def test_a_broken_group_is_one_problem_at_its_position(body: str, at: str, message: str, hint: str) -> None:
    (problem,) = _problems(body)
    assert problem.position.line == 7
    assert problem.line_text[problem.position.column - 1 :].startswith(at)
    assert (problem.message, problem.hint) == (message, hint)


def test_an_unknown_key_not_in_not_offered_still_gets_the_closest_key() -> None:
    (problem,) = _problems("{namespaces: [a], kustomiz: a}")
    assert problem.message.startswith("unknown key 'kustomiz'")
    assert problem.hint is not None
    assert "kustomize" in problem.hint


@pytest.mark.parametrize("body", ["{namespaces: [a]}", "{kustomize: a}", "{namespaces: [a], files: [b]}"])
def test_what_the_groups_allow_loads(body: str) -> None:
    load_playbook_text(_text(body), filename="t.yaml", step_kinds=KINDS, check_kinds=CHECK_KINDS)


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ("{namespaces: [a]}", True),
        ("{namespaces: [a], files: [b]}", True),
        ("{kustomize: a, files: [b]}", False),
        ("{}", False),
        ("{namespaces: [a], prune: true}", False),
    ],
)
def test_the_json_schema_holds_the_same_groups(body: str, valid: bool) -> None:
    schema: dict[str, Any] = json.loads(json.dumps(playbook_json_schema(KINDS, CHECK_KINDS)))
    assert is_valid(schema, as_json(_text(body)), schema) is valid
