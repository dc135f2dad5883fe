"""Closest-name suggestions, so a typo in a playbook comes back with "did you mean ...?", not a shrug."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

_LONGEST_NAME = 200


def closest(name: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The candidate most like `name`, or None when nothing is close enough to be a plausible typo.

    Case is ignored while comparing (`continueonerror` still finds `continueOnError`), but the candidate is
    returned as spelled. Names that all look alike (run ids share their date) want a higher `cutoff`.
    """
    if len(name) > _LONGEST_NAME:  # no name is this long: nothing to suggest (and difflib is quadratic)
        return None
    by_folded: dict[str, str] = {}
    for candidate in candidates:
        by_folded.setdefault(candidate.lower(), candidate)
    matches = difflib.get_close_matches(name.lower(), list(by_folded), n=1, cutoff=cutoff)
    return by_folded[matches[0]] if matches else None


def did_you_mean(name: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """A ready-made hint ("did you mean 'budget'?"), or None when no candidate is close."""
    match = closest(name, candidates, cutoff=cutoff)
    return f"did you mean '{match}'?" if match is not None else None
