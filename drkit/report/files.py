"""The files a run leaves next to its journal: report.json (machines), report.md (people), report.html (one
self-contained page, with a timeline and the time-to-recovery chart), junit.xml (CI).

All are written from the same RunReport, each atomically (a reader, or a crash, never sees half a file), so
they always agree; the CLI writes extra copies where `--markdown` / `--junit` ask.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from drkit.report.history import HistoryEntry
from drkit.report.html import render_html
from drkit.report.json_report import dumps, write_atomically
from drkit.report.junit import render_junit
from drkit.report.markdown import render_markdown
from drkit.report.model import RunReport

REPORT_JSON = "report.json"
REPORT_MARKDOWN = "report.md"
REPORT_JUNIT = "junit.xml"
REPORT_HTML = "report.html"

RENDERERS: dict[str, Callable[[RunReport], str]] = {
    REPORT_JSON: dumps,
    REPORT_MARKDOWN: render_markdown,
    REPORT_JUNIT: render_junit,
}


def write_run_reports(
    report: RunReport,
    directory: Path,
    *,
    finished: bool = True,
    earlier: Sequence[HistoryEntry] = (),
) -> tuple[Path, ...]:
    """report.md, report.html and junit.xml first, report.json last: its presence is what marks a run as
    finished, so a report of a run that did not finish (`finished=False`) leaves it out. `earlier` are the
    history's runs of the playbook for report.html's chart. Returns the files written."""
    renderers: dict[str, Callable[[RunReport], str]] = {
        **RENDERERS,
        REPORT_HTML: partial(render_html, earlier=earlier),
    }
    names = (REPORT_MARKDOWN, REPORT_HTML, REPORT_JUNIT) + ((REPORT_JSON,) if finished else ())
    for name in names:
        write_atomically(directory / name, renderers[name](report))
    return tuple(directory / name for name in names)
