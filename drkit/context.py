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
    state_dir_name: str = field(default=".drkit")
    # Every value known to be secret, filled as the run learns them (drkit.secret_registry); all output is
    # masked with it. One per Runtime, so one per CLI invocation: the engine, adapters and boundary share it.
    secrets: SecretRegistry = field(default_factory=SecretRegistry, compare=False, repr=False)

    @property
    def state_dir(self) -> Path:
        """Where runs, journals and reports live (`.drkit/` under the working directory unless DRKIT_HOME)."""
        home = self.env.get("DRKIT_HOME")
        return Path(home) if home else self.cwd / self.state_dir_name


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
