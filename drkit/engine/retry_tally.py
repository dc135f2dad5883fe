"""Retried requests, counted per step with their causes, and shown once per burst.

Every adapter reports each retry before it waits (`drkit.retries.RetryNotice`). Steps run one at a time, so
the run keeps one tally: whatever is retried belongs to the step now running, including the requests its
worker threads make. A burst (the retries of one request) is announced when it opens, with its cause, so the
live view and the journal say why a step is slow without a line for every attempt.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from drkit.report.model import RetryCount
from drkit.retries import RetryNotice


class RetryTally:
    def __init__(self, announce: Callable[[RetryNotice], None]) -> None:
        self._announce = announce
        self._lock = threading.Lock()
        self._causes: Counter[str] = Counter()

    def __call__(self, notice: RetryNotice) -> None:
        with self._lock:
            self._causes[notice.cause] += 1
        if notice.attempt == 1:
            self._announce(notice)

    def take(self) -> tuple[RetryCount, ...]:
        """The retries counted since the last take, most frequent cause first; the count starts again."""
        with self._lock:
            counted = self._causes.most_common()
            self._causes = Counter()
        return tuple(RetryCount(cause, count) for cause, count in counted)


def burst_line(notice: RetryNotice) -> str:
    """What is repeated and why, in the adapter's own words, which name the server and what went wrong
    (`MLflow GET http://mlflow:5000/...: cannot connect (connection refused)`)."""
    return (
        f"retrying: {notice.error.message} "
        f"(attempt {notice.attempt + 1} of {notice.attempts} in {notice.delay:.1f}s)"
    )
