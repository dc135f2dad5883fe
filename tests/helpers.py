"""Running drkit from tests, through the real CLI boundary.

`run_drkit` runs in-process on a Runtime built for the test (its cwd and env, maybe the fake clock; click's
stream isolation catches what writes to the process streams) and returns the exit code the boundary computed;
`run_drkit_on` runs in-process on a test's `Runtime` (its fake clock, its StringIO consoles); `start_drkit`
starts a real `python -m drkit` process for signals and crashes.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from click.testing import CliRunner

from drkit.cli import run
from drkit.context import Runtime

REPO_ROOT = Path(__file__).resolve().parents[1]
# A child process imports drkit and the lab (its own distribution under lab/) from this checkout.
SOURCE_ROOTS = (str(REPO_ROOT), str(REPO_ROOT / "lab"))

WritePlaybook = Callable[..., Path]


class FakeClock:
    """Monotonic and wall clocks that only move when something sleeps (or a test advances them)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_767_225_600.0 + self.now  # 2026-01-01T00:00:00Z + now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class DrkitResult:
    stdout: str
    stderr: str
    exit_code: int

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


class RunDrkit(Protocol):
    """`run_drkit` with the test's clock bound (the `drkit` fixture of tests/cli)."""

    def __call__(
        self, *args: str, cwd: Path, env: Mapping[str, str | None] | None = None, input: str | None = None
    ) -> DrkitResult: ...


def run_drkit(
    *args: str,
    cwd: Path,
    env: Mapping[str, str | None] | None = None,
    input: str | None = None,
    clock: FakeClock | None = None,
) -> DrkitResult:
    """Run `drkit ARGS` in-process on a Runtime whose working directory is `cwd` (the process's is left
    alone) and whose clocks are `clock` (None: the real ones, for a live cluster's time); runs are recorded
    in `cwd/.drkit` unless env sets DRKIT_HOME (None: unset, for the per-user default)."""
    environment: dict[str, str | None] = {"DRKIT_HOME": str(cwd / ".drkit"), **(env or {})}
    clocks = (
        {}
        if clock is None
        else {"wall_clock": clock.wall, "monotonic": clock.monotonic, "sleep": clock.sleep}
    )
    # The process streams and environment are swapped too: the lab's commands and click's prompts use them.
    with CliRunner().isolation(input=input, env=environment) as (out, err, _):
        runtime = Runtime(
            stdout=sys.stdout,
            stderr=sys.stderr,
            stdin=sys.stdin,
            env={k: v for k, v in {**os.environ, **environment}.items() if v is not None},
            cwd=cwd,
            **clocks,
        )
        code = run(list(args), runtime)
    return DrkitResult(out.getvalue().decode(), err.getvalue().decode(), int(code))


def run_drkit_on(runtime: Runtime, *args: str) -> tuple[int, str]:
    """Run `drkit ARGS` in-process on `runtime`; the exit code and what this call printed to its stdout
    (a StringIO, emptied first, so each call of a test reads only its own output)."""
    out = runtime.stdout
    assert isinstance(out, io.StringIO)
    out.seek(0)
    out.truncate()
    code = run(list(args), runtime)
    return code, out.getvalue()


def subprocess_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DRKIT_HOME"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [*SOURCE_ROOTS, env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def as_in_a_terminal() -> None:
    """A child's `preexec_fn`: Ctrl-C's SIGINT at its default disposition, as for a terminal's foreground job.
    A suite started in the background of a non-interactive shell (`make test &`, `nohup ... &`) passes SIGINT
    on ignored, and Python then keeps it ignored: a test's Ctrl-C would never reach drkit, which is right
    for a background job and not what these tests are about."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_drkit(*args: str, cwd: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """A real `python -m drkit ARGS` process (for SIGINT and crash tests), Ctrl-C reaching it as in a
    terminal; runs are recorded in `cwd/.drkit` unless env sets DRKIT_HOME."""
    return subprocess.Popen(
        [sys.executable, "-m", "drkit", *args],
        cwd=cwd,
        env=subprocess_env({"DRKIT_HOME": str(cwd / ".drkit"), **(env or {})}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_in_a_terminal,  # noqa: PLW1509 (sets one signal disposition; no locks taken)
    )


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header (its signature, then the IHDR chunk); fails on anything else."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    assert data[12:16] == b"IHDR", data[12:16]
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
