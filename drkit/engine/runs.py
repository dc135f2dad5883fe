"""Where runs live on disk: `<state dir>/runs/<run id>/{journal.jsonl, report.json, lock}`."""

from __future__ import annotations

import re
import secrets
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
    """Run ids, newest first."""
    base = runs_dir(state_dir)
    if not base.is_dir():
        return []
    return sorted((p.name for p in base.iterdir() if RUN_ID.match(p.name) and p.is_dir()), reverse=True)


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
