"""The two wheels, built once per session from a copy of the checkout (a stale `build/` of the working tree
cannot leak into them)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO_ROOT

_NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", ".drkit", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
)


@pytest.fixture(scope="session")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """drkit's and the lab's wheel files, by distribution (`drkit`, `drkit_lab`)."""
    work = tmp_path_factory.mktemp("wheels")
    source = work / "src"
    shutil.copytree(REPO_ROOT, source, symlinks=True, ignore=_NOT_SOURCES)
    out = work / "dist"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), ".", "./lab"],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = {path.name.split("-")[0]: path for path in out.glob("*.whl")}
    assert sorted(found) == ["drkit", "drkit_lab"]
    return found
