"""Keeping secret values out of journals and reports.

Two layers: overrides whose names look secret are replaced by a marker before they are journaled, and the
values of the playbook's secret variables are masked in every message and detail a step reports, whichever
step kind let them slip through (a command line with a password in it, an error echoing a header).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from drkit.playbook.problems import is_secret_name, mask_values

REDACTED = "<redacted>"


def redact_overrides(overrides: Mapping[str, str], secret_names: Iterable[str] = ()) -> dict[str, str]:
    secret = set(secret_names)
    return {k: (REDACTED if k in secret or is_secret_name(k) else v) for k, v in overrides.items()}


class Masker:
    """Replaces every occurrence of known secret values in strings nested in JSON-like data."""

    def __init__(self, values: Iterable[str]) -> None:
        self._values = tuple(values)

    def text(self, value: str) -> str:
        return mask_values(value, self._values) if self._values else value

    def data(self, value: object) -> object:
        if not self._values:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {str(k): self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value
