"""What a retried request tells whoever counts retries: one notice from every adapter (Kubernetes, MLflow),
so a run counts retries per step, with their causes, and shows each burst once in the live view."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from drkit.errors import DrkitError


@dataclass(frozen=True)
class RetryNotice:
    """Told to the retry listener before each wait."""

    operation: str  # what was being done: "create Workflow ns/train-*", "MLflow GET /ajax-api/..."
    attempt: int  # the attempt that just failed (1-based): 1 opens a burst
    attempts: int  # how many the policy allows in all
    delay: float  # seconds until the next attempt
    cause: str  # short and stable, counted as is: "HTTP 503", "no answer (connection dropped)"
    error: DrkitError


RetryListener = Callable[[RetryNotice], None]
