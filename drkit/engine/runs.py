"""Where runs live on disk: `<state dir>/runs/<run id>/{journal.jsonl, report.json, lock}`."""

from __future__ import annotations

import json
import re
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from drkit.errors import UsageError
from drkit.playbook.suggest import did_you_mean

RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{4}$")
JOURNAL = "journal.jsonl"
REPORT = "report.json"
LOCK = "lock"
# Run ids of one day share most of their characters: only an id one or two keystrokes off is suggested.
_RUN_ID_CUTOFF = 0.85
_SECOND = len("20260101-120000")  # the part of a run id that is its start time


def new_run_id(wall_clock: Callable[[], float]) -> str:
    stamp = datetime.fromtimestamp(wall_clock(), tz=UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(2)}"


def runs_dir(state_dir: Path) -> Path:
    return state_dir / "runs"


def run_dir(state_dir: Path, run_id: str) -> Path:
    return runs_dir(state_dir) / run_id


def existing_run_dir(state_dir: Path, run_id: str) -> Path:
    """The directory of a recorded run; UsageError (with the latest ids) when there is none."""
    if not RUN_ID.match(run_id):
        near = did_you_mean(run_id, recorded_run_ids(state_dir), cutoff=_RUN_ID_CUTOFF)
        shape = "run ids look like 20260101-120000-ab12; see `drkit runs list`"
        raise UsageError(f"{run_id!r} is not a run id", hint=f"{near} ({shape})" if near else shape)
    path = run_dir(state_dir, run_id)
    if not (path / JOURNAL).is_file():
        recorded = recorded_run_ids(state_dir)
        near = did_you_mean(run_id, recorded, cutoff=_RUN_ID_CUTOFF)
        recent = f"latest runs: {', '.join(recorded[:3]) or 'none'}"
        raise UsageError(
            f"no run {run_id} under {runs_dir(state_dir)}", hint=f"{near} ({recent})" if near else recent
        )
    return path


def list_run_ids(state_dir: Path) -> list[str]:
    """Run ids, newest first. An id names its start to the second; runs that started in the same second
    are ordered by the first event of their journals (the random part of the id says nothing)."""
    base = runs_dir(state_dir)
    if not base.is_dir():
        return []
    names = [p.name for p in base.iterdir() if RUN_ID.match(p.name) and p.is_dir()]
    seconds = Counter(name[:_SECOND] for name in names)

    def newest_first(name: str) -> tuple[str, float, str]:
        tied = seconds[name[:_SECOND]] > 1
        return name[:_SECOND], _first_event_at(base / name / JOURNAL) if tied else 0.0, name

    return sorted(names, key=newest_first, reverse=True)


def _first_event_at(journal: Path) -> float:
    """When the journal's first event happened; 0.0 when it cannot be read."""
    try:
        with journal.open(encoding="utf-8") as handle:
            at = json.loads(handle.readline()).get("at")
    except (OSError, ValueError, AttributeError):
        return 0.0
    return float(at) if isinstance(at, int | float) else 0.0


def recorded_run_ids(state_dir: Path) -> list[str]:
    """Ids of the runs that really started (they have a journal), newest first: a directory left without one
    (an older drkit made them for plans and refused runs) holds nothing to show or resume."""
    return [run_id for run_id in list_run_ids(state_dir) if (run_dir(state_dir, run_id) / JOURNAL).is_file()]


@dataclass(frozen=True)
class RunPaths:
    directory: Path

    @property
    def journal(self) -> Path:
        return self.directory / JOURNAL

    @property
    def report(self) -> Path:
        return self.directory / REPORT

    @property
    def lock(self) -> Path:
        return self.directory / LOCK
