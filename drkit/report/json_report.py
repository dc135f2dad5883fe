"""The machine-readable report: `report.json` in the run directory and `-o json` on stdout."""

from __future__ import annotations

import json
import os
from pathlib import Path

from drkit.report.model import RunReport
from drkit.report.results import ResultReaders


def dumps(report: RunReport) -> str:
    return json.dumps(report.to_json(), indent=2, sort_keys=False, default=str) + "\n"


def write_atomically(path: Path, content: str | bytes) -> None:
    """Write to a temporary sibling, flush it to disk, then rename it over `path`: a reader (or a crash) never
    sees half a report (text is written as UTF-8)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        handle.write(content.encode("utf-8") if isinstance(content, str) else content)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def read_report(path: Path, results: ResultReaders) -> RunReport:
    return RunReport.from_json(json.loads(path.read_text(encoding="utf-8")), results)
