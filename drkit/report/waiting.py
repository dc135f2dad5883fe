"""Waiting lines for plain output: what a long step is waiting for, printed at growing intervals.

A terminal shows the running step's progress live. A log (CI, cron, `-o json` on stderr) would show nothing
between a step's start and its end, which for a wait on a Server whose controller is down is its whole
timeout. So plain output prints the step's latest progress text 5 s, 10 s, 20 s and 40 s into the step, then
every minute: often enough at first to show that something is wrong, rarely enough not to flood a long log.

When a line is due is decided on the Runtime's monotonic clock, so tests drive it with a fake clock. Steps
report progress only when something changes, so a `Heartbeat` thread asks again every second (real time,
which decides only how soon a due line is noticed, never whether it is due).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

FIRST_LINES_AT = (5.0, 10.0, 20.0, 40.0)  # seconds into the step
THEN_EVERY = 60.0
HEARTBEAT_SECONDS = 1.0


def line_due_at(shown: int) -> float:
    """Seconds into the step at which waiting line number `shown` (0-based) is due."""
    if shown < len(FIRST_LINES_AT):
        return FIRST_LINES_AT[shown]
    return FIRST_LINES_AT[-1] + THEN_EVERY * (shown - len(FIRST_LINES_AT) + 1)


class WaitingLines:
    """The schedule of one step at a time: `start` at the step's start, `update` with each progress text,
    `due` returns (seconds into the step, text) when a line should be printed now. Not thread-safe: the
    listener holds its lock around it."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._since = monotonic()
        self._shown = 0
        self._text = ""

    def start(self) -> None:
        self._since = self._monotonic()
        self._shown = 0
        self._text = ""

    def update(self, text: str) -> None:
        self._text = text

    def due(self) -> tuple[float, str] | None:
        elapsed = self._monotonic() - self._since
        if not self._text or elapsed < line_due_at(self._shown):
            return None
        while line_due_at(self._shown) <= elapsed:  # a long silence is one line, not one per missed slot
            self._shown += 1
        return elapsed, self._text


class Heartbeat:
    """Calls `beat` every `period` seconds from a daemon thread until `stop`."""

    def __init__(self, beat: Callable[[], None], period: float = HEARTBEAT_SECONDS) -> None:
        self._beat = beat
        self._period = period
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="drkit-waiting-lines", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self._period):
            try:
                self._beat()
            except Exception:  # a console that broke: the main thread reports it when it prints next
                return

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
