"""Run ids and the order `drkit runs list`, completion and did-you-mean see them in."""

from __future__ import annotations

import json
from pathlib import Path

from drkit.engine.runs import JOURNAL, list_run_ids, recorded_run_ids, runs_dir


def _run(state_dir: Path, run_id: str, started_at: float | None) -> None:
    directory = runs_dir(state_dir) / run_id
    directory.mkdir(parents=True)
    if started_at is not None:
        event = {"event": "run-started", "at": started_at, "runId": run_id}
        (directory / JOURNAL).write_text(json.dumps(event) + "\n", encoding="utf-8")


def test_runs_of_the_same_second_are_ordered_by_when_they_started_not_by_the_random_part(
    tmp_path: Path,
) -> None:
    _run(tmp_path, "20261202-101500-ffff", 1_796_206_500.1)  # started first, sorts last by its id
    _run(tmp_path, "20261202-101500-0000", 1_796_206_500.9)
    _run(tmp_path, "20261202-101459-aaaa", 1_796_206_499.5)
    _run(tmp_path, "20261202-101501-1234", 1_796_206_501.0)

    assert list_run_ids(tmp_path) == [
        "20261202-101501-1234",
        "20261202-101500-0000",
        "20261202-101500-ffff",
        "20261202-101459-aaaa",
    ]


def test_a_directory_without_a_journal_is_not_a_recorded_run(tmp_path: Path) -> None:
    _run(tmp_path, "20261202-101500-ffff", 1_796_206_500.1)
    _run(tmp_path, "20261202-101500-0000", None)  # what an older drkit left for a plan
    (runs_dir(tmp_path) / "not-a-run").mkdir()

    assert list_run_ids(tmp_path) == ["20261202-101500-ffff", "20261202-101500-0000"]
    assert recorded_run_ids(tmp_path) == ["20261202-101500-ffff"]
