"""A step's typed result as the report renders it: what a kind's details mean, read back from them.

report.json keeps each step's details whole, as the step wrote them (and as the engine masked them). A kind
that has something to say in the human-readable reports registers a reader on its `StepKind`
(`drkit.steps.base.StepKind.result`) that turns those details into a `StepSummary`; the engine attaches it
to the step's report, and reads it again the same way when a report is rebuilt from report.json or the
journal. The renderers ask the summary, never the details, so a new kind needs no entry in this layer, and
a live report and a regenerated one render the same lines from the same (masked) data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

LIST_LIMIT = 10  # longer lists (objects left, notes) are cut with "and N more"


@dataclass(frozen=True)
class Highlight:
    """A titled group of lines under a step, e.g. "finalizers removed" and one line per audit record."""

    title: str
    lines: tuple[str, ...]
    warning: bool = False  # something a person should follow up (orphaned state, objects left behind)


@dataclass(frozen=True)
class AuditRow:
    """One object whose finalizers a step removed (or, in a dry run, would have removed)."""

    step: str  # phase/step
    object: str
    removed: tuple[str, ...]
    kept: tuple[str, ...]
    age: float | None  # seconds between the deletion request and the removal
    owner: str
    at: str  # when drkit removed them (RFC 3339), "" in a dry run
    dry_run: bool


@dataclass(frozen=True)
class ModelUriRow:
    """One Seldon Model a step pointed at the model MLflow holds (or left, or failed to)."""

    step: str  # phase/step
    model: str  # namespace/name
    old: str
    new: str
    changed: bool
    error: str  # "" unless the model could not be resolved or patched


class StepSummary:
    """What a kind's typed result offers the report. A kind's result (a frozen dataclass) overrides what
    it has; the defaults say "nothing", so the report asks every step the same questions."""

    def highlights(self) -> tuple[Highlight, ...]:
        """The few lines of the result a person should read, grouped under titles."""
        return ()

    def audit_rows(self, step: str) -> tuple[AuditRow, ...]:
        """The finalizers this result removed, for the run's audit table; `step` is its phase/step."""
        return ()

    def uri_rewrites(self, step: str) -> tuple[ModelUriRow, ...]:
        """The model storage URIs this result rewrote (or left, or could not resolve); `step` is its path."""
        return ()

    def orphan_notes(self) -> tuple[str, ...]:
        """What removed finalizers were guarding, so a person can check it by hand."""
        return ()

    def audits_finalizers(self) -> bool:
        """Whether the step belongs in the run's finalizer audit, even when it removed none (the audit then
        says so), rather than among the other steps' details."""
        return False


# Reads a kind's typed result from the details its step wrote (lenient: details written by an older drkit,
# or cut short by a crash, still read, with what is missing left empty).
ResultReader = Callable[[Mapping[str, object]], StepSummary]
ResultReaders = Mapping[str, ResultReader]  # by step kind


def read_summary(kind: str, details: Mapping[str, object], readers: ResultReaders) -> StepSummary | None:
    """The typed result of a step of `kind`; None for a kind that registered no reader."""
    reader = readers.get(kind)
    return None if reader is None else reader(details)


def limited(lines: Sequence[str]) -> tuple[str, ...]:
    """At most LIST_LIMIT lines; the rest is counted, and report.json has it whole."""
    if len(lines) <= LIST_LIMIT:
        return tuple(lines)
    return (*lines[:LIST_LIMIT], f"and {len(lines) - LIST_LIMIT} more (see report.json)")
