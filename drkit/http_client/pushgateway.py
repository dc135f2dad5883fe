"""Pushing a run's metrics to a Prometheus Pushgateway, with prometheus_client's own client (urllib).

Failures become drkit errors naming the gateway's host only: the URL may carry credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, push_to_gateway

from drkit.errors import AdapterError, UnreachableError


def push_metrics(
    url: str, job: str, grouping_key: Mapping[str, str], registry: CollectorRegistry, *, timeout: float
) -> str:
    """Replace the group `job`/`grouping_key` on the gateway with `registry`'s metrics; the gateway's host."""
    host = urlsplit(url).hostname or url
    try:
        push_to_gateway(url, job=job, registry=registry, grouping_key=dict(grouping_key), timeout=timeout)
    except HTTPError as exc:
        raise AdapterError(f"Pushgateway {host} answered HTTP {exc.code}") from exc
    except OSError as exc:  # URLError (refused, DNS) and socket timeouts alike
        reason = exc.reason if isinstance(exc, URLError) else exc
        raise UnreachableError(f"Pushgateway {host}: no answer ({type(reason).__name__})") from exc
    return host
