"""Helpers shared by the lab tests: the handle the lab fixtures yield; running `drkit lab ...` for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drkit_lab.runner import Lab

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCE_ROOTS = (str(REPO_ROOT), str(REPO_ROOT / "lab"))  # drkit and the lab of this checkout


@dataclass(frozen=True)
class LabHandle:
    """What a test needs to reach a lab: as a client (kubeconfig, URLs, CA, token) and from inside (`lab`)."""

    lab: Lab
    kubeconfig: Path
    api_url: str
    mlflow_uri: str | None
    ca_file: Path | None
    token: str

    def restore(self) -> None:
        """Clear every fault and bring every controller back up."""
        self.lab.update_faults({"clear": True})


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_lab_cli(*args: str, cwd: Path | None = None, timeout: float = 240) -> CliResult:
    """Run `drkit lab ARGS` as a real subprocess (the main CLI when it is wired, else the lab group alone)."""
    entry = ["-m", "drkit", "lab"] if _main_cli_wired() else ["-m", "drkit_lab.cli"]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (*SOURCE_ROOTS, env.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [sys.executable, *entry, *args],
        cwd=cwd or REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


def _main_cli_wired() -> bool:
    try:
        import drkit.cli  # noqa: PLC0415 (written by another part of the project; may not exist yet)
    except ImportError:
        return False
    return hasattr(drkit.cli, "main")
