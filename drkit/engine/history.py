"""The run history: an SQLite index (`<state dir>/history.sqlite3`) of finished runs, for `drkit history`.

The run directories stay the truth. The database only indexes their report.json files: `drkit history` adds
the reports it does not hold yet (runs from before it existed, or whose sink failed), so deleting the file
loses nothing. One row per run (a resumed run replaces its row) and one per phase and step.

Two runs may finish at once: WAL lets readers and a writer proceed together, and the busy timeout makes a
second writer wait for the first instead of failing.
"""

from __future__ import annotations

import sqlite3
import statistics
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from drkit.engine.runs import RunPaths, recorded_run_ids, run_dir
from drkit.errors import UsageError
from drkit.playbook.suggest import did_you_mean
from drkit.report.history import History, HistoryEntry, Trend
from drkit.report.json_report import read_report
from drkit.report.model import Outcome, RunReport
from drkit.report.ttr_chart import RECOVERED_OUTCOMES, RECOVERY_MODES
from drkit.steps.registry import STEP_RESULTS

if TYPE_CHECKING:
    from drkit.engine.afterwards import FinishedRun

DATABASE = "history.sqlite3"
BUSY_TIMEOUT = 10.0  # seconds a writer waits for another to commit
TREND_LENGTH = 10  # time-to-recovery figures a trend line shows
CHART_LENGTH = 30  # earlier runs report.html's time-to-recovery chart shows

# Each entry moves the schema one version forward (PRAGMA user_version is the count applied).
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        playbook TEXT NOT NULL,
        context TEXT NOT NULL,
        server TEXT NOT NULL,
        mode TEXT NOT NULL,
        outcome TEXT NOT NULL,
        started_at REAL,
        time_to_recovery REAL NOT NULL,  -- what the RTO judged (RunReport.time_to_recovery)
        rto REAL,
        report_mtime_ns INTEGER NOT NULL  -- of the report.json indexed: a newer one is read again
    );
    CREATE INDEX runs_by_playbook ON runs (playbook, started_at);
    CREATE TABLE steps (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        phase TEXT NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        duration REAL NOT NULL,
        PRIMARY KEY (run_id, position)
    );
    """,
)
_RECOVERIES = tuple(str(mode) for mode in RECOVERY_MODES)
# Runs still going (or rebuilt from a crashed run's journal) are not history yet.
_UNFINISHED = {Outcome.RUNNING, Outcome.PLANNED}


def database_path(state_dir: Path) -> Path:
    return state_dir / DATABASE


@contextmanager
def _connect(state_dir: Path) -> Iterator[sqlite3.Connection]:
    state_dir.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(database_path(state_dir), timeout=BUSY_TIMEOUT)) as db:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA foreign_keys = ON")
        _migrate(db)
        with db:  # one transaction: commit, or roll back on an error
            yield db


def _migrate(db: sqlite3.Connection) -> None:
    if int(db.execute("PRAGMA user_version").fetchone()[0]) == len(_MIGRATIONS):
        return  # the usual case: no write lock taken just to read
    with db:
        db.execute("BEGIN IMMEDIATE")  # two first runs must not both create the tables
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        for number, script in enumerate(_MIGRATIONS[version:], start=version + 1):
            for statement in filter(str.strip, script.split(";")):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")


def _store(db: sqlite3.Connection, report: RunReport, report_mtime_ns: int) -> None:
    run_id = str(report.run_id)
    db.execute("DELETE FROM steps WHERE run_id = ?", (run_id,))
    db.execute(
        "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            run_id,
            report.playbook_name,
            report.cluster.context if report.cluster else "",
            report.cluster.server if report.cluster else "",
            report.mode,
            str(report.outcome),
            report.first_started_at,
            report.time_to_recovery,
            report.rto,
            report_mtime_ns,
        ),
    )
    db.executemany(
        "INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?)",
        [(run_id, i, s.phase, s.name, s.label, s.duration) for i, s in enumerate(report.steps)],
    )


def record_run(state_dir: Path, report: RunReport) -> bool:
    """Index one finished run (replacing its row when a resume finished it again); False when unfinished."""
    if report.run_id is None or report.outcome in _UNFINISHED:
        return False
    with _connect(state_dir) as db:
        _store(db, report, _mtime_ns(RunPaths(run_dir(state_dir, report.run_id)).report))
    return True


def _mtime_ns(path: Path) -> int:
    """When the file last changed; 0 when it is missing."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def forget_runs(state_dir: Path, run_ids: Iterable[str]) -> None:
    """Drop pruned runs' rows (and their steps); nothing to do without a database."""
    ids = [(run_id,) for run_id in run_ids]
    if ids and database_path(state_dir).is_file():
        with _connect(state_dir) as db:
            db.executemany("DELETE FROM runs WHERE run_id = ?", ids)


def catch_up(state_dir: Path) -> int:
    """Index the finished runs whose report.json the database does not hold yet, or holds an older one of (a
    resume whose recording failed), and forget those whose directory is gone; how many were read."""
    added = 0
    with _connect(state_dir) as db:
        held = dict(db.execute("SELECT run_id, report_mtime_ns FROM runs").fetchall())
        recorded = recorded_run_ids(state_dir)
        # A run directory removed by hand takes its row with it: the directories are the truth.
        gone = [(run_id,) for run_id in held.keys() - set(recorded)]
        db.executemany("DELETE FROM runs WHERE run_id = ?", gone)
        for run_id in recorded:
            report_path = RunPaths(run_dir(state_dir, run_id)).report
            mtime_ns = _mtime_ns(report_path)
            if not mtime_ns or held.get(run_id) == mtime_ns:
                continue
            try:
                report = read_report(report_path, STEP_RESULTS)
            except (OSError, ValueError, KeyError):
                continue  # an unreadable report is `drkit runs show`'s to explain
            if report.run_id == run_id and report.outcome not in _UNFINISHED:
                _store(db, report, mtime_ns)
                added += 1
    return added


def read_history(state_dir: Path, *, playbook: str | None = None, limit: int = 20) -> History:
    """The newest `limit` runs (of one playbook, or all) and a trend per playbook among them."""
    catch_up(state_dir)
    with _connect(state_dir) as db:
        rows = db.execute(
            "SELECT run_id, playbook, context, mode, outcome, started_at, time_to_recovery, rto FROM runs "
            "WHERE ?1 IS NULL OR playbook = ?1 ORDER BY started_at DESC, run_id DESC LIMIT ?2",
            (playbook or None, limit),
        ).fetchall()
        if playbook and not rows:
            _refuse_unknown_playbook(db, playbook)
        entries = tuple(HistoryEntry(*row) for row in rows)
        kinds = sorted({(e.playbook, e.mode) for e in entries if e.mode in _RECOVERIES})
        trends = tuple(_trend(name, mode, _recent_recoveries(db, name, mode)) for name, mode in kinds)
    return History(entries, trends)


def earlier_runs(state_dir: Path, report: RunReport) -> tuple[HistoryEntry, ...]:
    """The report's playbook's last runs on the same cluster in the same mode (newest first, this run left
    out), for report.html's chart; () when there is no history database (a run without the history sink makes
    none) or it cannot be read: a chart is not worth failing a report.
    """
    if report.mode not in RECOVERY_MODES or not database_path(state_dir).is_file():
        return ()
    context = report.cluster.context if report.cluster else ""
    try:
        catch_up(state_dir)
        with _connect(state_dir) as db:
            rows = db.execute(
                "SELECT run_id, playbook, context, mode, outcome, started_at, time_to_recovery, rto "
                "FROM runs WHERE playbook = ? AND context = ? AND mode = ? AND run_id != ? "
                "ORDER BY started_at DESC, run_id DESC LIMIT ?",
                (report.playbook_name, context, str(report.mode), str(report.run_id), CHART_LENGTH),
            ).fetchall()
    except (sqlite3.Error, OSError):
        return ()
    return tuple(HistoryEntry(*row) for row in rows)


def _refuse_unknown_playbook(db: sqlite3.Connection, playbook: str) -> None:
    """--playbook names none of the recorded playbooks: a usage error with the nearest one, not silence."""
    known = [str(name) for (name,) in db.execute("SELECT DISTINCT playbook FROM runs ORDER BY playbook")]
    if not known:
        return  # nothing recorded at all: the empty history says so
    near = did_you_mean(playbook, known)
    raise UsageError(
        f"no runs of playbook {playbook!r} in the history",
        hint=near or f"recorded playbooks: {', '.join(known[:10])}",
    )


def _recent_recoveries(db: sqlite3.Connection, playbook: str, mode: str) -> list[float]:
    """Times to recovery of the playbook's last runs in this mode that got through (succeeded or over the
    RTO), oldest first: a failed or refused run says nothing about how long recovery takes."""
    rows = db.execute(
        "SELECT time_to_recovery FROM runs WHERE playbook = ? AND mode = ? AND outcome IN (?, ?) "
        "ORDER BY started_at DESC, run_id DESC LIMIT ?",
        (playbook, mode, *map(str, RECOVERED_OUTCOMES), TREND_LENGTH),
    ).fetchall()
    return [float(row[0]) for row in reversed(rows)]


def _trend(playbook: str, mode: str, figures: Sequence[float]) -> Trend:
    median = statistics.median(figures) if figures else 0.0
    before = statistics.median(figures[:-1]) if len(figures) > 1 else None
    return Trend(playbook, mode, tuple(figures), median, before)


class HistorySink:
    """Indexes every finished run as soon as its report.json is written."""

    name = "history"

    def record(self, run: FinishedRun) -> str | None:
        record_run(run.runtime.state_dir, run.report)
        return None  # the history is not news: say something only when it fails
