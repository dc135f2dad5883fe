"""The lab's own error root: none of its errors is drkit's, and the `drkit lab` group reports them itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import run_drkit

from drkit.errors import DrkitError
from drkit_lab.apiserver.errors import ApiError
from drkit_lab.errors import EXIT_FAILED, EXIT_USAGE, LabError, LabUsageError
from drkit_lab.mlflow_server import MlflowNotInstalled, MlflowStartFailed
from drkit_lab.sealing import SealingError


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (LabError("x"), EXIT_FAILED),
        (LabUsageError("x"), EXIT_USAGE),
        (MlflowNotInstalled("x"), EXIT_USAGE),
        (MlflowStartFailed("x"), EXIT_FAILED),
        (SealingError("x"), EXIT_FAILED),
        (ApiError(404, "NotFound", "x"), EXIT_FAILED),
    ],
)
def test_every_lab_error_derives_from_the_lab_root_not_from_drkits(error: LabError, code: int) -> None:
    assert isinstance(error, LabError)
    assert not isinstance(error, DrkitError)
    assert error.exit_code == code
    assert (EXIT_FAILED, EXIT_USAGE) == (1, 2)  # the codes drkit gives the same situations


def test_the_hint_follows_the_message() -> None:
    assert str(LabError("it broke", hint="do this")) == "it broke\n  hint: do this"
    assert str(LabUsageError("wrong")) == "wrong"


def test_the_lab_group_reports_its_errors_before_drkits_boundary(tmp_path: Path) -> None:
    """In-process through drkit's CLI: drkit's boundary would call a non-drkit error internal (exit 70)."""
    result = run_drkit("lab", "env", "--dir", str(tmp_path / "none"), cwd=tmp_path)
    assert result.exit_code == EXIT_USAGE, result.stderr
    assert f"error: no lab is running from {(tmp_path / 'none').resolve()}" in result.stderr
    assert "  hint: start one with `drkit lab up`" in result.stderr
    assert "internal error" not in result.stderr
