"""Plain HTTP for health checks and for where finished runs go: the only code besides the MLflow adapter that
imports `requests` (and, for the webhook's backoff, `tenacity`).

Failures of the transport become `AdapterError`s with short messages; bodies are truncated and never logged
whole, because a health endpoint can echo tokens back. The Pushgateway and webhook clients name only the
host: their URLs are credentials.
"""

from drkit.http_client.client import HttpResponse, http_request
from drkit.http_client.pushgateway import push_metrics
from drkit.http_client.webhook import WebhookPolicy, post_webhook

__all__ = ["HttpResponse", "WebhookPolicy", "http_request", "post_webhook", "push_metrics"]
