"""The effects drkit uses, gathered in one object so tests can swap them.

Nothing in drkit reads `os.environ`, the wall clock, or sleeps directly: it asks the `Runtime` it was
given. The CLI builds the real one; tests build one with a fake clock, a sleep that does not sleep, and
string streams. It also carries the run's secret registry: the one piece of state every layer adds to (the
engine, the adapters that read credentials and Secrets) and every output masks with.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from drkit.errors import UsageError
from drkit.secret_registry import SecretRegistry


@dataclass(frozen=True)
class Runtime:
    stdout: TextIO
    stderr: TextIO
    stdin: TextIO
    env: Mapping[str, str]
    cwd: Path
    wall_clock: Callable[[], float] = time.time  # seconds since the epoch, for timestamps in reports
    monotonic: Callable[[], float] = time.monotonic  # for durations and deadlines
    sleep: Callable[[float], None] = time.sleep
    interactive: bool = False  # stdin and stdout are a terminal: prompts and live progress are allowed
    # Every value known to be secret, filled as the run learns them (drkit.secret_registry); all output is
    # masked with it. One per Runtime, so one per CLI invocation: the engine, adapters and boundary share it.
    secrets: SecretRegistry = field(default_factory=SecretRegistry, compare=False, repr=False)

    @property
    def state_dir(self) -> Path:
        """Where runs, journals and reports live: one directory per user, whatever the working directory,
        so `drkit runs list` shows the same history everywhere (see `user_state_dir`)."""
        return user_state_dir(self.env, self.cwd)


def user_state_dir(env: Mapping[str, str], cwd: Path) -> Path:
    """`$DRKIT_HOME`, else `$XDG_STATE_HOME/drkit`, else `$HOME/.local/state/drkit` (the XDG default).

    Relative values are ignored, as the XDG spec says, except DRKIT_HOME, which is drkit's own setting (and
    then relative to the working directory, as any path the user gives). The lab keeps its default directory
    below this one (drkit_lab.state.default_dir follows the same rule).
    """
    if env.get("DRKIT_HOME"):
        return cwd / env["DRKIT_HOME"]
    xdg = env.get("XDG_STATE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "drkit"
    home = env.get("HOME", "")
    if home and Path(home).is_absolute():
        return Path(home) / ".local" / "state" / "drkit"
    raise UsageError(
        "no directory for drkit's run history: HOME is not set (or not an absolute path)",
        hint="set DRKIT_HOME (or XDG_STATE_HOME) to the directory drkit should keep its runs in",
    )


def real_runtime() -> Runtime:
    """The runtime of a real process: its streams, environment and clocks."""
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    return Runtime(
        stdout=sys.stdout,
        stderr=sys.stderr,
        stdin=sys.stdin,
        env=dict(os.environ),
        cwd=Path.cwd(),
        interactive=interactive,
    )
