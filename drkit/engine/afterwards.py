"""What happens to a finished run besides its reports: each sink (the run history, metrics, a notification)
gets the final, masked report once report.json is written.

A sink never changes the run: its outcome and exit code are decided before any sink runs, and a sink that
fails (a full disk, an unreachable Pushgateway or webhook) is reported in one line, not raised. Sinks run in
order, each bounded by its own timeouts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Protocol

from drkit.context import Runtime
from drkit.engine.history import HistorySink
from drkit.engine.metrics_sink import MetricsSink
from drkit.engine.webhook_sink import WebhookSink
from drkit.report.model import RunReport


@dataclass(frozen=True)
class FinishedRun:
    """A run whose reports are written: what a sink records."""

    report: RunReport  # final and masked: what report.json holds
    directory: Path  # the run's directory (report.json, journal.jsonl, collected/)
    runtime: Runtime  # env (a sink's settings), clocks, the state directory
    # What a sink is doing while it takes time (a webhook retried): shown at once, so nobody stares at a
    # terminal that seems finished. The sink's own name is put in front by the caller.
    say: Callable[[str], None] = field(default=lambda _: None, compare=False)


class RunSink(Protocol):
    name: str  # what the user reads in front of the sink's line: "history", "metrics", "webhook"

    def record(self, run: FinishedRun) -> str | None:
        """Record the run; a line saying where (or None to say nothing). May raise: the caller reports it."""


def run_sinks(runtime: Runtime) -> Sequence[RunSink]:
    """The sinks every run goes to, in order; each decides from `runtime.env` whether it is configured."""
    del runtime  # each sink reads its settings from the finished run's runtime
    return (HistorySink(), MetricsSink(), WebhookSink())


def record_finished(run: FinishedRun, sinks: Sequence[RunSink]) -> list[str]:
    """Give the run to each sink; the lines to show the user, one per sink that said something or failed."""
    lines: list[str] = []
    for sink in sinks:
        try:
            line = sink.record(replace(run, say=partial(_prefixed, run.say, sink.name)))
        except Exception as exc:  # a sink must never cost the run its outcome
            first = (run.runtime.secrets.mask(str(exc)).splitlines() or [""])[0][:200]
            lines.append(f"{sink.name}: not recorded ({type(exc).__name__}: {first})")
            continue
        if line:
            lines.append(f"{sink.name}: {line}")
    return lines


def _prefixed(say: Callable[[str], None], name: str, text: str) -> None:
    say(f"{name}: {text}")
