"""The webhook sink: a Slack-compatible message (drkit.report.notification) when a run fails, or after every
run, posted to `DRKIT_WEBHOOK_URL`.

`DRKIT_WEBHOOK_ON` says when: `failure` (the default: any outcome but succeeded) or `always`. The URL is a
credential (whoever holds it can post to the channel), so the engine registers it as a secret with the rest
of the environment's (drkit.engine.redaction) and this sink names only its host.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from drkit.errors import UsageError
from drkit.http_client import post_webhook
from drkit.report.model import Outcome
from drkit.report.notification import webhook_message

if TYPE_CHECKING:  # afterwards imports the sinks
    from drkit.engine.afterwards import FinishedRun

WEBHOOK_URL_ENV = "DRKIT_WEBHOOK_URL"
WEBHOOK_ON_ENV = "DRKIT_WEBHOOK_ON"
SECRET_ENV_VARS = (WEBHOOK_URL_ENV,)

NotifyOn = Literal["failure", "always"]


def notify_on(env: Mapping[str, str]) -> NotifyOn:
    value = env.get(WEBHOOK_ON_ENV, "").strip().lower() or "failure"
    if value == "failure":
        return "failure"
    if value == "always":
        return "always"
    raise UsageError(f"{WEBHOOK_ON_ENV}={value!r} is not failure or always")


class WebhookSink:
    name = "webhook"

    def record(self, run: FinishedRun) -> str | None:
        url = run.runtime.env.get(WEBHOOK_URL_ENV, "").strip()
        if not url:
            return None
        if notify_on(run.runtime.env) == "failure" and run.report.outcome is Outcome.SUCCEEDED:
            return None
        # The engine registered it from the environment; again here for a runtime that did not.
        run.runtime.secrets.add(url)
        body = webhook_message(run.report, run.runtime.secrets.mask)
        runtime = run.runtime
        attempts = post_webhook(url, body, monotonic=runtime.monotonic, sleep=runtime.sleep, on_retry=run.say)
        host = urlsplit(url).hostname or "the webhook"
        tries = "" if attempts == 1 else f" after {attempts} attempts"
        return f"sent to {host}{tries}"
