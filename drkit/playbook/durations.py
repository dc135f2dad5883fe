"""Durations as people write them in playbooks (`90s`, `5m`, `1h30m`, `250ms`) and as reports print them.

Go-style unit strings are what Kubernetes and Argo users already type; a bare number means seconds so that
editors, JSON and `--set` values work without units.
"""

from __future__ import annotations

import math
import re

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_BARE = re.compile(rf"[+-]?{_NUMBER}")
# `ms` must be tried before `m`, hence the explicit alternation order.
_PART = re.compile(rf"({_NUMBER})(ms|s|m|h|d)")
_WITH_UNITS = re.compile(rf"([+-]?)((?:{_NUMBER}(?:ms|s|m|h|d))+)")

# The longest duration a playbook may give (30 days). A recovery measured against a budget or RTO of weeks
# is a mistake (`5000h` for `50m`), and a longer timeout overflows what a thread can wait for.
MAX_SECONDS = 30 * 86400.0

DURATION_HINT = "use a number with a unit: 90s, 5m, 1h30m (or a bare number of seconds)"


def parse_duration(text: str | int | float) -> float:
    """Seconds in `text`: "90s", "5m", "1h30m", "250ms", "2h", "1.5m", "1d", or a bare number of seconds.

    Raises ValueError for anything else (including booleans, NaN and infinities).
    """
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, int | float):
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"not a finite duration: {text!r}")
        return value
    stripped = text.strip()
    if _BARE.fullmatch(stripped):
        return float(stripped)
    match = _WITH_UNITS.fullmatch(stripped)
    if match is None:
        raise ValueError(f"not a duration: {text!r}")
    sign, body = match.groups()
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _PART.findall(body))
    return -seconds if sign == "-" else seconds


def format_duration(seconds: float) -> str:
    """A short human form: "250ms", "1.2s", "45s", "4m05s", "1h02m03s"; parse_duration reads it back."""
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if seconds == 0:
        return "0s"
    if seconds < 1:
        millis = round(seconds * 1000)
        return f"{millis}ms" if millis < 1000 else "1s"
    if seconds < 10:
        text = f"{seconds:.1f}"
        return (text[:-2] if text.endswith(".0") else text) + "s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
