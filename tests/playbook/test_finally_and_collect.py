"""The top-level `finally:` steps and the `collect:` lists load into the typed model."""

from __future__ import annotations

from collections.abc import Callable

from drkit.playbook.model import CollectSpec, Playbook

LoadText = Callable[..., Playbook]  # the `load` fixture of conftest.py

TEXT = """\
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: drill}
vars: {ns: ml}
collect:
  - events: {namespace: "${ns}"}
phases:
  - name: one
    steps:
      - name: wait
        command: {run: "true"}
        collect:
          - logs: {namespace: seldon, selector: app=controller, container: manager, tail: 20}
          - logs: {namespace: seldon, selector: app=agent}
finally:
  - name: scale-up
    command: {run: "true"}
    timeout: 1m
  - command: {run: "true"}
"""


def test_finally_steps_load_as_steps_named_like_a_phase_s(load: LoadText) -> None:
    playbook = load(TEXT)

    assert [s.name for s in playbook.finally_steps] == ["scale-up", "command-2"]
    assert playbook.finally_steps[0].timeout == 60.0
    assert playbook.finally_steps[0].position.line == 16
    assert [p.name for p in playbook.phases] == ["one"]


def test_collect_lists_load_typed_with_variables_substituted(load: LoadText) -> None:
    playbook = load(TEXT)

    assert playbook.collect == (CollectSpec("events", "ml"),)
    assert playbook.phases[0].steps[0].collect == (
        CollectSpec("logs", "seldon", selector="app=controller", container="manager", tail=20),
        CollectSpec("logs", "seldon", selector="app=agent", tail=100),
    )
