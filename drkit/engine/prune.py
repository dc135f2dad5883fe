"""`drkit runs prune`: remove old runs from the history, never one that is running.

Which runs go: with `keep`, all but the N newest (by run id, which starts with the run's start time); with
`older_than`, those whose last recorded event (the journal's last line: a resumed run counts from its
resume) is older than that; with both, only runs that are beyond the newest N *and* older, so both bound
what is kept from below. A run whose lock is held by a live process is running (or being resumed) and is
skipped; a crashed run's stale lock does not protect it.

A run is removed under its own lock, so no `drkit resume` can start on it meanwhile: renamed out of the
history first (one atomic step; a resume arriving later finds no such run), then deleted. A prune killed
between the two leaves a hidden `.pruning-<run id>` directory, which the next prune deletes.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from drkit.engine.history import forget_runs
from drkit.engine.journal import read_journal
from drkit.engine.lock import RunLock, live_owner
from drkit.engine.runs import JOURNAL, LOCK, list_run_ids, runs_dir
from drkit.errors import UsageError

_PRUNING = ".pruning-"


@dataclass(frozen=True)
class PruneRequest:
    older_than: float | None = None  # seconds
    keep: int | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class PrunedRun:
    run_id: str
    playbook: str
    mode: str
    outcome: str  # the journal's run-finished outcome, or "incomplete"
    last_event_at: float  # seconds since the epoch


@dataclass(frozen=True)
class SkippedRun:
    run_id: str
    reason: str


@dataclass(frozen=True)
class PruneResult:
    state_dir: Path
    removed: tuple[PrunedRun, ...]  # with dry_run: what would be removed
    skipped: tuple[SkippedRun, ...]
    kept: int
    dry_run: bool


def prune_runs(request: PruneRequest, state_dir: Path, wall_clock: Callable[[], float]) -> PruneResult:
    if request.older_than is None and request.keep is None:
        raise UsageError(
            "say which runs to remove: --older-than DURATION, --keep N, or both",
            hint="e.g. `drkit runs prune --keep 20 --older-than 30d --dry-run`",
        )
    if request.keep is not None and request.keep < 0:
        raise UsageError(f"--keep {request.keep}: give a number of runs, 0 or more")
    if request.older_than is not None and request.older_than < 0:
        raise UsageError("--older-than must not be negative")
    base = runs_dir(state_dir)
    ids = list_run_ids(state_dir)  # newest first
    beyond = ids[request.keep :] if request.keep is not None else ids
    now = wall_clock()
    removed: list[PrunedRun] = []
    skipped: list[SkippedRun] = []
    for run_id in beyond:
        run = _describe(base / run_id, run_id)
        if request.older_than is not None and now - run.last_event_at <= request.older_than:
            continue
        reason = _remove(base / run_id, run_id, dry_run=request.dry_run)
        if reason is None:
            removed.append(run)
        else:
            skipped.append(SkippedRun(run_id, reason))
    if not request.dry_run:
        _finish_interrupted_prunes(base)
        forget_runs(state_dir, (run.run_id for run in removed))
    return PruneResult(
        state_dir=state_dir,
        removed=tuple(removed),
        skipped=tuple(skipped),
        kept=len(ids) - len(removed),
        dry_run=request.dry_run,
    )


def _describe(directory: Path, run_id: str) -> PrunedRun:
    events = read_journal(directory / JOURNAL) if (directory / JOURNAL).is_file() else []
    started = next((e for e in events if e.get("event") == "run-started"), {})
    finished = next((e for e in reversed(events) if e.get("event") == "run-finished"), None)
    times = [float(e["at"]) for e in events if isinstance(e.get("at"), int | float)]
    return PrunedRun(
        run_id=run_id,
        playbook=str(started.get("playbookName", "?")),
        mode=str(started.get("mode", "?")),
        outcome=str(finished.get("outcome", "?")) if finished else "incomplete",
        last_event_at=max(times) if times else _started_at(run_id),
    )


def _started_at(run_id: str) -> float:
    """The time in a run id (`20260101-120000-ab12`): when the run was created."""
    return datetime.strptime(run_id[:15], "%Y%m%d-%H%M%S").replace(tzinfo=UTC).timestamp()


def _remove(directory: Path, run_id: str, *, dry_run: bool) -> str | None:
    """Remove one run; the reason it was left when it was."""
    if dry_run:
        owner = live_owner(directory / LOCK)
        return None if owner is None else f"running (pid {owner})"
    lock = RunLock(directory / LOCK, run_id)
    try:
        lock.acquire()
    except UsageError:
        owner = live_owner(directory / LOCK)
        return f"running (pid {owner})" if owner is not None else "its lock could not be taken"
    doomed = directory.with_name(_PRUNING + run_id)
    try:
        directory.rename(doomed)
    except OSError as exc:
        lock.release()
        return f"could not be removed: {exc.strerror or exc}"
    shutil.rmtree(doomed, ignore_errors=True)
    return None


def _finish_interrupted_prunes(base: Path) -> None:
    if base.is_dir():
        for leftover in base.glob(_PRUNING + "*"):
            shutil.rmtree(leftover, ignore_errors=True)
