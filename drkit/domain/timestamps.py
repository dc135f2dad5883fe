"""Kubernetes timestamps (RFC 3339, `2026-01-01T00:00:00Z`) to and from seconds since the epoch."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_time(text: object) -> float | None:
    """Seconds since the epoch of an RFC 3339 timestamp, None when absent or unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def format_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
