"""Plain HTTP requests for health checks: the only code besides the MLflow adapter that imports `requests`.

Failures of the transport become `AdapterError`s with short messages; bodies are truncated and never logged
whole, because a health endpoint can echo tokens back.
"""

from drkit.http_client.client import HttpResponse, http_request

__all__ = ["HttpResponse", "http_request"]
