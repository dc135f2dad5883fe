"""A comparing step that names a snapshot step which does not exist, is of another kind, or runs later
fails at load (`drkit validate`, exit 2) at the comparing step's line, before anything touches a cluster."""

from __future__ import annotations

import io
from pathlib import Path

from drkit.cli import run
from drkit.context import Runtime
from drkit.errors import ExitCode

GOLDEN = """\
      - name: golden
        goldenPredictions:
          models:
            - url: http://127.0.0.1:9
              model: baseline-predictor
              request: {inputs: [{name: input-0, shape: [1, 2], datatype: FP64, data: [1.5, 2.5]}]}
"""
INVENTORY = """\
      - name: inventory-before
        inventory: {namespaces: [financial-inference]}
"""


def _validate(runtime: Runtime, tmp_path: Path, before: str, after: str) -> tuple[int, str, str]:
    text = (
        "apiVersion: drkit.io/v1\nkind: Playbook\nmetadata: {name: refs}\ntarget: {contexts: [lab]}\n"
        "phases:\n  - name: before\n    steps:\n" + before + "  - name: after\n    steps:\n" + after
    )
    (tmp_path / "playbook.yaml").write_text(text)
    code = run(["validate", "playbook.yaml"], runtime)
    assert isinstance(runtime.stderr, io.StringIO)
    return code, runtime.stderr.getvalue(), text


def _line_of(text: str, token: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if token in line)


def test_parity_after_its_golden_step_validates(runtime: Runtime, tmp_path: Path) -> None:
    code, err, _ = _validate(runtime, tmp_path, GOLDEN, "      - predictionParity: {snapshot: golden}\n")
    assert code == ExitCode.OK, err


def test_a_snapshot_step_that_does_not_exist_is_named_with_the_closest(
    runtime: Runtime, tmp_path: Path
) -> None:
    code, err, text = _validate(runtime, tmp_path, GOLDEN, "      - predictionParity: {snapshot: goldn}\n")
    assert code == ExitCode.USAGE
    assert f"playbook.yaml:{_line_of(text, 'predictionParity')}:" in err
    assert "`snapshot: goldn` names no step" in err
    assert "did you mean 'golden'" in err


def test_a_snapshot_step_that_runs_later_is_refused(runtime: Runtime, tmp_path: Path) -> None:
    parity = "      - name: parity\n        predictionParity: {snapshot: golden}\n"
    code, err, text = _validate(runtime, tmp_path, parity, GOLDEN)
    assert code == ExitCode.USAGE
    assert f"playbook.yaml:{_line_of(text, 'name: parity')}:" in err
    assert "runs after this step (after/golden)" in err


def test_a_snapshot_of_another_kind_is_refused(runtime: Runtime, tmp_path: Path) -> None:
    code, err, _ = _validate(
        runtime, tmp_path, INVENTORY, "      - predictionParity: {snapshot: inventory-before}\n"
    )
    assert code == ExitCode.USAGE
    assert "names a `inventory` step, not a `goldenPredictions` step" in err
