"""A playbook that names a protected namespace outright is refused as soon as it is loaded: by `drkit
validate`, and by a drill before any kubeconfig is read or any step runs (exit 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import RunDrkit, WritePlaybook

from drkit.errors import ExitCode

PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {{name: careless}}
target: {{contexts: [drkit-lab], protectedNamespaces: [mlflow]}}
phases:
  - name: teardown
    steps:
      - command: {{run: "touch ran.txt"}}
      - {step}
"""


@pytest.mark.parametrize(
    ("step", "named"),
    [
        ("delete: {namespaces: [financial-inference, kube-system]}", "Namespace kube-system is protected"),
        ("clearFinalizers: {namespaces: [mlflow]}", "Namespace mlflow is protected"),
        (
            "delete: {objects: [{apiVersion: v1, kind: ConfigMap, namespace: default, name: x}]}",
            "is in protected namespace default",
        ),
    ],
)
def test_protected_namespaces_written_in_the_playbook_are_refused_on_load(
    drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path, step: str, named: str
) -> None:
    path = write_playbook(PLAYBOOK.format(step=step))
    env = {"KUBECONFIG": str(tmp_path / "no-such-kubeconfig")}
    validated = drkit("validate", str(path), cwd=tmp_path, env=env)
    assert validated.exit_code == ExitCode.REFUSED
    assert named in validated.stderr
    drilled = drkit("drill", str(path), "--yes", cwd=tmp_path, env=env)
    assert drilled.exit_code == ExitCode.REFUSED
    assert named in drilled.stderr
    assert not (tmp_path / "ran.txt").exists()  # refused before the first step


def test_a_step_that_names_no_protected_namespace_still_validates(
    drkit: RunDrkit, write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    path = write_playbook(PLAYBOOK.format(step="delete: {namespaces: [financial-inference]}"))
    assert drkit("validate", str(path), cwd=tmp_path).exit_code == ExitCode.OK
