"""Retries as data: which failures are worth another attempt, how long to wait, and which writes may repeat.

A `RetryPolicy` says how often and how patiently; a `Safety` says what repeating one request could do.
`call_with_retry` applies both with tenacity, waits what the server asked for (`Retry-After` on 429/503),
reports every retry through a callback, and sleeps with the injected sleep (Runtime.sleep): tests never wait.

Which writes are repeated (the caller interprets the answers that a repeat can produce):
- READ (get, list, watch) and IDEMPOTENT (server-side apply, finalize with a full finalizer list, unguarded
  merge patch): every retryable failure is retried; doing it twice is the same as once.
- CREATE: retried; a 409 AlreadyExists on a *repeat* means our earlier attempt landed, so the client reads the
  object back and returns it. A generateName create carrying a per-call token label is CREATE too: a repeat
  first lists that label and returns what an earlier attempt created.
- DELETE: retried; a 404 on a repeat means our earlier attempt removed it, so the client reports success
  (with a resourceVersion precondition, a 409 on a repeat while the object is being deleted means the same).
- GUARDED (merge patch or replace carrying metadata.resourceVersion): retried; a 409 on a repeat is checked by
  the client against the current object (is our change already there?) before it is reported as a conflict.
- UNSAFE (JSON patch: "remove /metadata/finalizers/0" twice removes two finalizers; generateName creates
  without a token):
  only 429 and connections that never reached the server; those were certainly not processed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from drkit.kube.errors import ClusterUnreachable, KubeError
from drkit.retries import RetryListener, RetryNotice

T = TypeVar("T")


class Safety(StrEnum):
    READ = "read"
    IDEMPOTENT = "idempotent"
    CREATE = "create"
    DELETE = "delete"
    GUARDED = "guarded"
    UNSAFE = "unsafe"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # total attempts, the first one included
    base_delay: float = 0.2  # seconds before the first retry; doubles each time
    max_delay: float = 5.0  # cap of the exponential wait
    retry_on: frozenset[int] = field(default_factory=lambda: frozenset({429, 500, 502, 503, 504}))
    connection_errors: bool = True  # retry when there was no HTTP answer
    max_retry_after: float = 30.0  # never wait longer than this, whatever Retry-After says

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")

    def delay(self, attempt: int, error: BaseException | None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if isinstance(error, KubeError) and error.retry_after is not None and error.status in (429, 503):
            return min(error.retry_after, self.max_retry_after)
        return float(min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))

    def should_retry(self, error: BaseException, safety: Safety) -> bool:
        if isinstance(error, ClusterUnreachable):
            if not self.connection_errors:
                return False
            return safety is not Safety.UNSAFE or not error.sent
        if not isinstance(error, KubeError) or error.status not in self.retry_on:
            return False
        return safety is not Safety.UNSAFE or error.status == 429


NO_RETRY = RetryPolicy(attempts=1)


def retry_cause(error: KubeError) -> str:
    """The cause of a retry as counted in reports: the HTTP status, or why there was no answer."""
    if isinstance(error, ClusterUnreachable):
        return "no answer (connection dropped)" if error.sent else "no answer (could not connect)"
    reason = f" {error.reason}" if error.reason else ""
    return f"HTTP {error.status}{reason}"


def call_with_retry(
    fn: Callable[[int], T],
    *,
    policy: RetryPolicy,
    safety: Safety,
    operation: str,
    sleep: Callable[[float], None],
    on_retry: RetryListener | None = None,
) -> T:
    """Call `fn(attempt)` (attempt is 1-based) until it returns, retrying failures the policy allows.

    `fn` must raise drkit errors (translated already); the last error is raised as it is.
    """

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return policy.delay(state.attempt_number, error)

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if on_retry is not None and isinstance(error, KubeError):
            delay = state.next_action.sleep if state.next_action else 0.0
            notice = RetryNotice(
                operation, state.attempt_number, policy.attempts, delay, retry_cause(error), error
            )
            on_retry(notice)

    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait,
        retry=retry_if_exception(lambda e: policy.should_retry(e, safety)),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    attempts = 0

    def attempt() -> T:
        nonlocal attempts
        attempts += 1
        return fn(attempts)

    return retrying(attempt)
