"""Posting a JSON notification to a webhook (Slack-compatible or any receiver), retried with backoff.

The retry policy is data, as for the other adapters (drkit.mlflow.client, drkit.kube.retry): connection
failures, 5xx and 429 are retried (waiting what Retry-After asks, within bounds), everything else is final.
The whole exchange is bounded by `total`, measured on the injected clock, so a dead receiver costs a run at
most that long. Messages name the host only: a webhook URL is a credential (whoever has it can post).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tenacity import RetryCallState, Retrying, retry_if_exception

from drkit.errors import AdapterError, UnreachableError
from drkit.http_client.client import HttpResponse, http_request


@dataclass(frozen=True)
class WebhookPolicy:
    attempt_timeout: float = 5.0  # seconds per request
    total: float = 15.0  # seconds for all attempts and waits together
    base_delay: float = 0.5  # before the first retry; doubles each time
    max_delay: float = 4.0
    max_retry_after: float = 10.0
    retry_on: frozenset[int] = field(default_factory=lambda: frozenset({429, 500, 502, 503, 504}))


class WebhookRefused(AdapterError):
    """The receiver answered, but not with a 2xx."""

    def __init__(self, host: str, response: HttpResponse) -> None:
        super().__init__(f"webhook {host} answered HTTP {response.status}")
        self.status = response.status
        self.retry_after = _seconds(response.headers.get("Retry-After"))


def post_webhook(
    url: str,
    body: object,
    *,
    monotonic: Callable[[], float],
    sleep: Callable[[float], None],
    policy: WebhookPolicy | None = None,
    on_retry: Callable[[str], None] = lambda _: None,
) -> int:
    """POST `body` as JSON until the receiver takes it; how many attempts that took. Raises after the last.
    `on_retry` hears each failed attempt and the wait before the next, in words that name the host only."""
    policy = policy or WebhookPolicy()
    host = urlsplit(url).hostname or "the webhook"
    deadline = monotonic() + policy.total
    attempts = 0

    def attempt() -> None:
        nonlocal attempts
        attempts += 1
        timeout = max(0.1, min(policy.attempt_timeout, deadline - monotonic()))
        try:
            response = http_request("POST", url, json_body=body, timeout=timeout)
        except UnreachableError as exc:
            raise UnreachableError(f"webhook {host}: no answer") from exc
        except AdapterError as exc:
            raise AdapterError(f"webhook {host}: request failed") from exc
        if not 200 <= response.status < 300:
            raise WebhookRefused(host, response)

    def retryable(error: BaseException) -> bool:
        if isinstance(error, WebhookRefused):
            return error.status in policy.retry_on
        return isinstance(error, UnreachableError)

    def delay(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, WebhookRefused) and error.retry_after is not None and error.status in (429, 503):
            return min(error.retry_after, policy.max_retry_after)
        return float(min(policy.max_delay, policy.base_delay * 2 ** (state.attempt_number - 1)))

    def out_of_time(state: RetryCallState) -> bool:
        # Stop when the next wait would leave no time for the attempt after it.
        return monotonic() + delay(state) >= deadline

    def retrying_soon(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        said = error.message if isinstance(error, AdapterError) else f"webhook {host}: {error}"
        on_retry(f"retrying: {said} (attempt {state.attempt_number + 1} in {wait:.1f}s)")

    retrying = Retrying(
        retry=retry_if_exception(retryable),
        stop=out_of_time,
        wait=delay,
        sleep=sleep,
        before_sleep=retrying_soon,
        reraise=True,
    )
    retrying(attempt)
    return attempts


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: back off as usual instead
