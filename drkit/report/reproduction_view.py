"""`drkit diff` as people read it: the counts, then each differing object with its changed paths."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from drkit.report.reproduction import Change, DiffReport

_STYLE = {Change.MISSING: "red", Change.EXTRA: "yellow", Change.CHANGED: "cyan"}
_MARK = {Change.MISSING: "-", Change.EXTRA: "+", Change.CHANGED: "~"}


def render_diff(console: Console, report: DiffReport) -> None:
    console.print(Text(f"{report.before} → {report.after}: {report.summary()}", style="bold"))
    for obj in report.objects:
        style = "dim" if obj.accepted else _STYLE[obj.change]
        expected = " (expected)" if obj.accepted else ""
        console.print(Text(f"{_MARK[obj.change]} {obj.change} {obj.target}{expected}", style=style))
        for change in obj.fields:
            console.print(Text(f"    {change.describe()}"), soft_wrap=True)
    for problem in report.unreadable:
        console.print(Text(f"not compared: {problem}", style="yellow"))
    verdict = (
        "the clusters match"
        if not report.objects
        else (
            "no difference fails (--fail-on)"
            if report.passed
            else f"{len(report.failing)} difference(s) fail"
        )
    )
    console.print(Text(verdict, style="green" if report.passed else "bold red"))
