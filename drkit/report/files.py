"""The files a run leaves next to its journal: report.json (machines), report.md (people), junit.xml (CI).

All three are written from the same RunReport, each atomically (a reader, or a crash, never sees half a file),
so they always agree; the CLI writes extra copies where `--markdown` / `--junit` ask.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from drkit.report.json_report import dumps, write_atomically
from drkit.report.junit import render_junit
from drkit.report.markdown import render_markdown
from drkit.report.model import RunReport

REPORT_JSON = "report.json"
REPORT_MARKDOWN = "report.md"
REPORT_JUNIT = "junit.xml"

RENDERERS: dict[str, Callable[[RunReport], str]] = {
    REPORT_JSON: dumps,
    REPORT_MARKDOWN: render_markdown,
    REPORT_JUNIT: render_junit,
}


def write_run_reports(report: RunReport, directory: Path, *, finished: bool = True) -> tuple[Path, ...]:
    """report.md and junit.xml first, report.json last: its presence is what marks a run as finished, so a
    report of a run that did not finish (`finished=False`) leaves it out. Returns the files written."""
    names = (REPORT_MARKDOWN, REPORT_JUNIT, REPORT_JSON) if finished else (REPORT_MARKDOWN, REPORT_JUNIT)
    for name in names:
        write_atomically(directory / name, RENDERERS[name](report))
    return tuple(directory / name for name in names)
