"""Retry policy: what is retried, how long it waits (Retry-After first), and that it never really sleeps."""

from __future__ import annotations

import pytest

from drkit.kube.errors import ClusterUnreachable, Conflict, KubeError, NotFound, ServerError
from drkit.kube.retry import RetryNotice, RetryPolicy, Safety, call_with_retry


class Script:
    """Raises the scripted errors in order, then returns 'ok'; records the attempt numbers it was given."""

    def __init__(self, *errors: KubeError) -> None:
        self.errors = list(errors)
        self.attempts: list[int] = []

    def __call__(self, attempt: int) -> str:
        self.attempts.append(attempt)
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def server_error(status: int, retry_after: float | None = None) -> ServerError:
    return ServerError(f"HTTP {status}", status=status, retry_after=retry_after)


def run(
    fn: Script, safety: Safety = Safety.READ, policy: RetryPolicy | None = None
) -> tuple[str, list[float], list[RetryNotice]]:
    slept: list[float] = []
    notices: list[RetryNotice] = []
    result = call_with_retry(
        fn,
        policy=policy or RetryPolicy(attempts=5, base_delay=0.5, max_delay=4.0),
        safety=safety,
        operation="get Model a/b",
        sleep=slept.append,
        on_retry=notices.append,
    )
    return result, slept, notices


def test_retry_after_is_honoured_and_backoff_doubles_otherwise() -> None:
    fn = Script(
        server_error(429, retry_after=3),
        server_error(500),
        server_error(503, retry_after=1),
        server_error(502),
    )
    result, slept, notices = run(fn)
    assert result == "ok"
    assert fn.attempts == [1, 2, 3, 4, 5]
    assert slept == [3.0, 1.0, 1.0, 4.0]  # Retry-After 3; 0.5*2; Retry-After 1; 0.5*8 capped at 4
    assert [n.attempt for n in notices] == [1, 2, 3, 4]
    assert notices[0].delay == 3.0
    assert notices[0].error.status == 429
    assert notices[0].operation == "get Model a/b"


def test_retry_after_is_capped() -> None:
    fn = Script(server_error(429, retry_after=3600))
    _, slept, _ = run(fn, policy=RetryPolicy(max_retry_after=10))
    assert slept == [10]


def test_gives_up_after_the_attempts_with_the_last_error() -> None:
    fn = Script(*(server_error(503) for _ in range(3)))
    with pytest.raises(ServerError) as caught:
        run(fn, policy=RetryPolicy(attempts=3, base_delay=0.1))
    assert fn.attempts == [1, 2, 3]
    assert caught.value.status == 503


@pytest.mark.parametrize(
    "error", [NotFound("x", status=404), Conflict("x", status=409), KubeError("x", status=400)]
)
def test_client_errors_are_not_retried(error: KubeError) -> None:
    fn = Script(error)
    with pytest.raises(type(error)):
        run(fn)
    assert fn.attempts == [1]


def test_unsafe_writes_retry_only_what_was_certainly_not_processed() -> None:
    with pytest.raises(ServerError):
        run(Script(server_error(500)), Safety.UNSAFE)
    with pytest.raises(ClusterUnreachable):
        run(Script(ClusterUnreachable("reset", sent=True)), Safety.UNSAFE)
    result, slept, _ = run(
        Script(server_error(429), ClusterUnreachable("refused", sent=False)), Safety.UNSAFE
    )
    assert result == "ok"
    assert len(slept) == 2


@pytest.mark.parametrize(
    "safety", [Safety.READ, Safety.IDEMPOTENT, Safety.CREATE, Safety.DELETE, Safety.GUARDED]
)
def test_safe_operations_retry_server_and_connection_errors(safety: Safety) -> None:
    fn = Script(server_error(500), ClusterUnreachable("reset", sent=True))
    assert run(fn, safety)[0] == "ok"
    assert fn.attempts == [1, 2, 3]


def test_connection_errors_can_be_excluded() -> None:
    with pytest.raises(ClusterUnreachable):
        run(Script(ClusterUnreachable("x")), policy=RetryPolicy(connection_errors=False))


def test_policy_validates_attempts() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
