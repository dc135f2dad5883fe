"""Closest-name suggestions for the lab's own names (controllers): a typo gets "did you mean ...?".

The lab may not use drkit's internals (an import-linter contract), so this is its own three lines on difflib,
with the cutoff drkit's playbook suggestions use.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """ "did you mean 'seldon-scheduler'?", or None when no candidate is a plausible typo of `name`."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean {matches[0]!r}?" if matches else None
