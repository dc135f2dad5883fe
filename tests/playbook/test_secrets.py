"""Secret values never reach a rendered problem: not in the line shown, the message or the hint."""

from __future__ import annotations

import pytest

from drkit.errors import PlaybookError
from drkit.playbook.problems import mask_secret_assignments, render_problems

SECRET = "hunter2-very-secret"

PLAYBOOK = f"""\
apiVersion: drkit.io/v1
kind: Playbook
metadata: {{name: secret-drill}}
vars:
  db_password: {SECRET}
  api_key: "{SECRET}-2"
  plain: visible
phases:
  - name: one
    budgt: 5m
    steps:
      - command: {{run: x, password: {SECRET}-3, expectExit: "${{db_password}}"}}
        timeout: ${{api_key}}
      - command: {{run: y, password: {SECRET}-4, method: 3}}
      - http: {{url: "http://db_password:{SECRET}@x/", method: {SECRET}}}
"""


def rendered(load, **kwargs: object) -> tuple[str, tuple[object, ...]]:  # type: ignore[no-untyped-def]
    with pytest.raises(PlaybookError) as caught:
        load(PLAYBOOK, **kwargs)
    problems = caught.value.problems
    return render_problems(problems) + "\n" + str(caught.value), problems  # type: ignore[arg-type]


def test_secret_values_are_masked_everywhere(load) -> None:  # type: ignore[no-untyped-def]
    output, problems = rendered(load)
    assert len(problems) >= 4
    assert "hunter2" not in output
    assert "****" in output
    assert "budgt" in output  # the non-secret problem is still shown in full


def test_secret_override_values_are_masked(load) -> None:  # type: ignore[no-untyped-def]
    output, _ = rendered(load, overrides={"db_password": "override-secret-value", "api_keys": "other-secret"})
    assert "override-secret-value" not in output
    assert "other-secret" not in output
    assert "--set api_keys" in output


def test_secret_vars_are_listed(load) -> None:  # type: ignore[no-untyped-def]
    text = (
        PLAYBOOK.split("phases:", maxsplit=1)[0] + "phases:\n  - name: p\n    steps: [{command: {run: x}}]\n"
    )
    playbook = load(text)
    assert playbook.secret_vars == frozenset({"db_password", "api_key"})


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("  password: abc", "  password: ****"),
        ('  token: "abc def"', "  token: ****"),
        ("{run: x, apiKey: abc, other: 1}", "{run: x, apiKey: ****, other: 1}"),
        ("  PRIVATE_KEY: abc # note", "  PRIVATE_KEY: **** # note"),
        ("  name: abc", "  name: abc"),
    ],
)
def test_mask_secret_assignments(line: str, masked: str) -> None:
    assert mask_secret_assignments(line) == masked
