"""SIGTERM handled as Ctrl-C is: a CI cancel, `timeout` or an eviction must leave reports and a resumable run.

Python's default for SIGTERM is to die on the spot, with no `finally`, no journal event and no report. While a
command runs, the first SIGTERM raises `drkit.errors.Terminated` (a KeyboardInterrupt) in the main thread, so
every cleanup written for Ctrl-C runs: the runner journals the interruption and writes the reports, a command
step's process group is stopped, the drill lease is released. A second SIGTERM, while that cleanup runs, is
taken as "stop now" and ends the process at once.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from drkit.errors import Terminated


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated (only the main thread may install signal handlers: in any
    other thread, such as a test calling drkit.cli.run from a worker, the block changes nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = False

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        nonlocal received
        if received:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        received = True
        raise Terminated(Terminated.signal_name)

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
