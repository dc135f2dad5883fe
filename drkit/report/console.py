"""What a person sees: a live view on a terminal, plain lines elsewhere (CI logs), and the final summary.

Console objects are always made from the streams the CLI hands in (never a module-global Console), so tests
see exactly what a user would, and `-o json` can send progress to stderr while stdout carries only the report.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from drkit.playbook.durations import format_duration
from drkit.report.collected import collected_lines
from drkit.report.highlights import (
    checklist_name,
    headline,
    item_status,
    message_parts,
    step_highlights,
)
from drkit.report.model import Outcome, PhaseReport, RunReport, RunSummary, StepReport, StepState
from drkit.report.results import Highlight
from drkit.report.times import across_attempts, attempts_text, measured_text
from drkit.report.waiting import Heartbeat, WaitingLines

MAX_PROGRESS_LINES = 8  # lines of a step's progress shown below its summary line
WAITING_LINE_CHARS = 300  # a waiting line is cut here: a log line, not a report

SYMBOLS = {
    StepState.SUCCEEDED: ("✔", "green"),
    StepState.FAILED: ("✘", "red"),
    StepState.SKIPPED: ("↷", "dim"),
    StepState.NOT_RUN: ("·", "dim"),
    StepState.PENDING: ("○", "dim"),
    StepState.PLANNED: ("•", "cyan"),
}
OUTCOME_STYLE = {
    Outcome.SUCCEEDED: "bold green",
    Outcome.FAILED: "bold red",
    Outcome.OVER_RTO: "bold yellow",
    Outcome.REFUSED: "bold yellow",
    Outcome.INTERRUPTED: "bold yellow",
    Outcome.PLANNED: "bold cyan",
    Outcome.RUNNING: "bold",
}


def make_console(stream: TextIO, *, terminal: bool) -> Console:
    """A console on `stream`; off a terminal: no colour codes, no wrapping of long lines."""
    if terminal:
        return Console(file=stream, force_terminal=True)
    return Console(file=stream, force_terminal=False, no_color=True, width=200, soft_wrap=True)


def _symbol(step: StepReport) -> Text:
    if step.tolerated:
        return Text("!", style="yellow")
    symbol, style = SYMBOLS[step.status]
    return Text(symbol, style=style)


def _step_line(step: StepReport, *, with_message: bool = True) -> Text:
    """One finished step: symbol, path, duration; the message of a failed or skipped step unless the summary
    that follows shows it (then a failure says only that it failed, so its message is printed once)."""
    line = Text("  ")
    line.append_text(_symbol(step))
    line.append(f" {step.path}")
    if step.status in (StepState.SUCCEEDED, StepState.FAILED):
        line.append(f"  {format_duration(step.duration)}", style="dim")
    if step.retries:
        line.append(f"  {step.retries_text}", style="yellow")
    if step.previous_attempt:
        line.append("  (previous attempt)", style="dim")
    elif step.status is StepState.FAILED or step.tolerated:
        style = "red" if not step.tolerated else "yellow"
        if not with_message:
            line.append(f"  {step.label}, see below", style=style)
            return line
        line.append(f"  {step.message}", style=style)
        if step.hint:
            line.append(f"\n      hint: {step.hint}", style="cyan")
    elif step.status in (StepState.SKIPPED, StepState.NOT_RUN) and step.message:
        line.append(f"  {step.message}", style="dim")
    return line


class PlainListener:
    """One line per finished step, for logs where a live view would be noise; given the clock, also what a
    long step is waiting for, at growing intervals (drkit.report.waiting)."""

    def __init__(
        self,
        console: Console,
        *,
        summary: Callable[[RunReport], None] | None = None,
        failures_in_summary: bool = False,
        monotonic: Callable[[], float] | None = None,
        heartbeat_seconds: float | None = None,  # None: no thread; `tick()` is called by the caller (tests)
    ) -> None:
        self.console = console
        self._summary = summary
        self._failures_in_summary = failures_in_summary
        self._waiting = WaitingLines(monotonic) if monotonic is not None else None
        self._heartbeat_seconds = heartbeat_seconds
        self._heartbeat: Heartbeat | None = None
        self._lock = threading.Lock()  # progress comes from watch threads and the heartbeat too
        self._running = ""

    def plan_ready(self, plan: RunReport) -> None:
        render_plan(self.console, plan)

    def run_started(self, overview: RunReport) -> None:
        what = f"{overview.mode} {overview.playbook_name}"
        self.console.print(Text(f"{what}  run {overview.run_id}", style="bold"))

    def phase_started(self, phase: str) -> None:
        self.console.print(Text(f"▶ {phase}", style="bold"))

    def step_started(self, step: StepReport) -> None:
        if self._waiting is None:
            return
        with self._lock:
            self._waiting.start()
            self._running = step.path
        if self._heartbeat_seconds is not None:
            self._heartbeat = Heartbeat(self.tick, self._heartbeat_seconds)

    def step_progress(self, text: str) -> None:
        if self._waiting is None:
            return
        with self._lock:
            self._waiting.update(text)
        self.tick()

    def tick(self) -> None:
        """Print the running step's latest progress if a waiting line is due."""
        if self._waiting is None:
            return
        with self._lock:
            due = self._waiting.due()
            if due is not None:
                elapsed, text = due
                first, *rest = text.splitlines() or [""]
                line = f"  … {self._running} waiting {format_duration(elapsed)}: {first}"
                self.console.print(Text(line[:WAITING_LINE_CHARS], style="dim"))
                for more in rest[:MAX_PROGRESS_LINES]:
                    self.console.print(Text(f"      {more}"[:WAITING_LINE_CHARS], style="dim"))

    def _stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None

    def step_finished(self, step: StepReport) -> None:
        self._stop_heartbeat()
        with self._lock:
            if self._waiting is not None:
                self._waiting.start()  # nothing is running: no waiting line until the next step starts
                self._waiting.update("")
            self.console.print(_step_line(step, with_message=not self._failures_in_summary))

    def phase_finished(self, phase: PhaseReport) -> None:
        if phase.over_budget and phase.budget is not None:
            self.console.print(
                Text(
                    f"  ⚠ phase {phase.name} took {format_duration(phase.duration)}, "
                    f"over its budget of {format_duration(phase.budget)}",
                    style="yellow",
                )
            )

    def run_finished(self, report: RunReport) -> None:
        self._stop_heartbeat()  # an interrupted step never finished
        if self._summary is not None:
            self._summary(report)

    def recorded(self, lines: Sequence[str]) -> None:
        print_recorded(self.console, lines)


class LiveListener:
    """A live view on a terminal: phases and steps, a spinner on the running step, elapsed time against
    budgets."""

    def __init__(
        self,
        console: Console,
        monotonic: Callable[[], float],
        *,
        summary: Callable[[RunReport], None] | None = None,
    ) -> None:
        self.console = console
        self._monotonic = monotonic
        self._summary = summary
        self._report: RunReport | None = None
        self._steps: dict[tuple[str, int], StepReport] = {}
        self._running: tuple[str, int] | None = None
        self._running_since = 0.0
        self._phase_since: dict[str, float] = {}
        self._progress = ""
        self._live: Live | None = None
        self._spinner = Spinner("dots")

    def plan_ready(self, plan: RunReport) -> None:
        render_plan(self.console, plan)

    def run_started(self, overview: RunReport) -> None:
        self._report = overview
        self._steps = {(s.phase, s.index): s for s in overview.every_step}
        self._live = Live(_Renderable(self), console=self.console, refresh_per_second=8, transient=False)
        self._live.start()

    def phase_started(self, phase: str) -> None:
        self._phase_since[phase] = self._monotonic()

    def step_started(self, step: StepReport) -> None:
        self._running = (step.phase, step.index)
        self._running_since = self._monotonic()
        self._progress = ""

    def step_progress(self, text: str) -> None:
        self._progress = text

    def step_finished(self, step: StepReport) -> None:
        self._steps[(step.phase, step.index)] = step
        self._running = None
        self._progress = ""

    def phase_finished(self, phase: PhaseReport) -> None:
        for step in phase.steps:
            self._steps[(step.phase, step.index)] = step
        self._phase_since.pop(phase.name, None)

    def run_finished(self, report: RunReport) -> None:
        self._report = report
        self._steps = {(s.phase, s.index): s for s in report.every_step}
        self._running = None
        if self._live is not None:
            self._live.stop()
            self._live = None
        if self._summary is not None:
            self._summary(report)

    def recorded(self, lines: Sequence[str]) -> None:
        print_recorded(self.console, lines)

    def render(self) -> RenderableType:
        report = self._report
        if report is None:
            return Text("")
        now = self._monotonic()
        table = Table.grid(padding=(0, 1))
        table.add_column(width=2)
        table.add_column()
        table.add_column(justify="right")
        for phase in _live_phases(report):
            since = self._phase_since.get(phase.name)
            done = sum(self._steps[(phase.name, s.index)].duration for s in phase.steps)
            elapsed = done + (
                now - self._running_since if self._running and self._running[0] == phase.name else 0
            )
            budget = f" / {format_duration(phase.budget)}" if phase.budget else ""
            timing = f"{format_duration(elapsed)}{budget}" if since is not None or done else ""
            over = phase.budget is not None and elapsed > phase.budget
            table.add_row("", Text(phase.name, style="bold"), Text(timing, style="yellow" if over else "dim"))
            for step in phase.steps:
                current = self._steps[(phase.name, step.index)]
                if self._running == (phase.name, step.index):
                    table.add_row(
                        self._spinner,
                        Text(f"  {current.name}"),
                        Text(format_duration(now - self._running_since)),
                    )
                    # What the step waits for: a summary line, then one per awaited object or item.
                    for line in self._progress.splitlines()[: MAX_PROGRESS_LINES + 1]:
                        table.add_row("", Text(f"    {line[:150]}", style="dim"), "")
                else:
                    right = (
                        format_duration(current.duration)
                        if current.status in (StepState.SUCCEEDED, StepState.FAILED)
                        else ""
                    )
                    table.add_row(_symbol(current), Text(f"  {current.name}"), Text(right, style="dim"))
        header = Text(f"{report.mode} {report.playbook_name}  run {report.run_id}", style="bold")
        return Group(header, table)


def _live_phases(report: RunReport) -> tuple[PhaseReport, ...]:
    """The phases, then the `finally:` steps shown as one more (they may run for a while after Ctrl-C)."""
    if not report.finally_steps:
        return report.phases
    return (*report.phases, PhaseReport(report.finally_steps[0].phase, report.finally_steps))


class _Renderable:
    """Lets Live re-render the current state on every refresh (so the spinner and elapsed times move)."""

    def __init__(self, owner: LiveListener) -> None:
        self.owner = owner

    def __rich__(self) -> RenderableType:
        return self.owner.render()


def render_summary(console: Console, report: RunReport) -> None:
    """The end of a run as on-call people read it, top to bottom: phases against their budgets; what the
    steps did that matters (finalizers removed, slowest objects, workflows, checklists); each failed step
    once, with its message and items; the outcome against the RTO and what to do next.

    On a terminal long lines wrap under their indentation; off a terminal every line stays whole, so logs
    can be grepped."""
    console.print()
    console.print(_phase_table(report))
    if report.finally_steps:
        console.print(Text("finally (run whatever happened, not part of the RTO):", style="bold"))
        for step in report.finally_steps:
            console.print(_step_line(step, with_message=step.status is not StepState.FAILED))
    failed = [s for s in report.every_step if s.status is StepState.FAILED]
    done = [s for s in report.steps if s.status is StepState.SUCCEEDED and not s.previous_attempt]
    if any(s.checklist_items or step_highlights(s) for s in done):
        console.print()
    for step in done:
        _render_step_block(console, step)
    for step in failed:
        _render_failure(console, step)
    console.print()
    console.print(outcome_line(report))


def _phase_table(report: RunReport) -> Table:
    table = Table(title=None, show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("phase")
    table.add_column("duration", justify="right")
    table.add_column("budget", justify="right")
    table.add_column("status")
    for phase in report.phases:
        budget = format_duration(phase.budget) if phase.budget is not None else "-"
        status = str(phase.status) + ("  (over budget)" if phase.over_budget else "")
        style = "yellow" if phase.over_budget else ("red" if phase.status is StepState.FAILED else None)
        table.add_row(phase.name, format_duration(phase.duration), budget, Text(status, style=style or ""))
    return table


def _render_step_block(console: Console, step: StepReport) -> None:
    """A succeeded step's highlights and checklist, under a heading; nothing for steps with neither."""
    highlights = step_highlights(step)
    if step.checklist_items:
        heading = f"checklist {checklist_name(step)} ({step.path}):"
        console.print(Text(heading, style="bold"))
        _render_items(console, step, indent=2)
    elif highlights:
        console.print(Text(f"{step.path}:", style="bold"))
    _render_highlights(console, highlights, indent=2)


def _render_failure(console: Console, step: StepReport) -> None:
    style = "yellow" if step.tolerated else "red"
    title = Text()
    title.append_text(_symbol(step))
    title.append(f" {step.path} {step.label}", style=f"bold {style}")
    attempts = f", {step.attempts} attempts" if step.attempts > 1 else ""
    title.append(f" after {format_duration(step.duration)}{attempts}", style="dim")
    console.print()
    console.print(title)
    if step.checklist_items:
        _print_wrapped(console, headline(step), indent=4, style=style)
        _render_items(console, step, indent=2)
    else:
        for part in message_parts(step.message):
            _print_wrapped(console, part, indent=4, style=style)
    _render_highlights(console, step_highlights(step), indent=2)
    if step.hint:
        _print_wrapped(console, f"hint: {step.hint}", indent=2, style="cyan")
    for line in collected_lines(step.collected) if step.collected is not None else []:
        _print_wrapped(console, line, indent=2, style="dim")


def _render_items(console: Console, step: StepReport, *, indent: int) -> None:
    for item in step.checklist_items:
        symbol = Text("✔ " if item.passed else "✘ ", style="green" if item.passed else "red")
        if item.passed:
            line = Text(" " * indent).append_text(symbol).append(f"{item.name}  {item_status(item)}")
            console.print(line)
            continue
        parts = message_parts(item.message) or [""]
        first = Text(" " * indent).append_text(symbol).append(f"{item.name}  failing: {parts[0]}")
        _print_text(console, first, hanging=indent + 4)
        for part in parts[1:]:
            _print_wrapped(console, part, indent=indent + 4)


def _render_highlights(console: Console, highlights: Sequence[Highlight], *, indent: int) -> None:
    pad = " " * indent
    for highlight in highlights:
        style = "yellow" if highlight.warning else ""
        if len(highlight.lines) == 1:
            _print_text(
                console, Text(f"{pad}{highlight.title}: {highlight.lines[0]}", style=style), indent + 2
            )
            continue
        console.print(Text(f"{pad}{highlight.title}:", style=style))
        for line in highlight.lines:
            _print_wrapped(console, line, indent=indent + 2, style=style)


def _print_wrapped(console: Console, text: str, *, indent: int, style: str = "") -> None:
    _print_text(console, Text(" " * indent + text, style=style), indent)


def _print_text(console: Console, text: Text, hanging: int) -> None:
    """On a terminal, wrap long lines under the indentation; elsewhere print the line whole."""
    if not console.is_terminal:
        console.print(text)
        return
    lines = text.wrap(console, max(20, console.width - hanging))
    for number, line in enumerate(lines):
        console.print(line if number == 0 else Text(" " * hanging).append_text(line))


def outcome_line(report: RunReport) -> Text:
    """The outcome against the RTO, then what to do next; a failed step's message is in its block above."""
    # A run of one attempt reads as before; a resumed one labels the wall clock and adds its attempts.
    measured = measured_text(report) if across_attempts(report) else format_duration(report.rto_measured)
    rto = f" against an RTO of {format_duration(report.rto)}" if report.rto is not None else ""
    text = f"{report.mode} {report.outcome}: {measured}{rto}"
    if across_attempts(report):
        text += f"\n  {attempts_text(report)}"
    failed = [s.path for s in report.every_step if s.fails_the_run]
    if report.outcome is Outcome.FAILED and failed:
        text += f"\n  failed at {', '.join(failed)} (see above)"
    elif report.message:
        text += f"\n  {report.message}"
    not_run = [s.path for s in report.steps if s.status is StepState.NOT_RUN]
    if not_run:
        text += f"\n  not run: {', '.join(not_run)}"
    if report.run_id and report.outcome is Outcome.FAILED and report.mode.tears_down_or_rebuilds:
        text += f"\n  after fixing it: drkit resume {report.run_id}"
    if report.run_id:
        text += f"\n  run {report.run_id}"
    return Text(text, style=OUTCOME_STYLE.get(report.outcome, "bold"))


def render_plan(console: Console, report: RunReport) -> None:
    console.print(Text(f"plan of {report.playbook_name} (nothing is run)", style="bold"))
    if report.variables:
        console.print(Text("variables:", style="bold"))
        for variable in report.variables:
            console.print(Text(f"  {variable.shown()}", style="dim"))
    for phase in report.phases:
        budget = f" (budget {format_duration(phase.budget)})" if phase.budget else ""
        drill_only = " [drill-only]" if phase.drill_only else ""
        console.print(Text(f"▶ {phase.name}{budget}{drill_only}", style="bold"))
        _render_planned_steps(console, phase.steps)
    if report.finally_steps:
        console.print(Text("▶ finally (runs whatever happens)", style="bold"))
        _render_planned_steps(console, report.finally_steps)


def _render_planned_steps(console: Console, steps: Sequence[StepReport]) -> None:
    for step in steps:
        line = Text("  ")
        line.append_text(_symbol(step))
        line.append(f" {step.name}: {step.message}")
        if step.destructive:
            line.append("  [destructive]", style="bold red")
        console.print(line)
        actions = step.details.get("actions") if step.status is StepState.PLANNED else None
        for action in actions if isinstance(actions, list) else []:
            console.print(Text(f"      - {action}", style="dim"))


def render_runs(console: Console, runs: Sequence[RunSummary]) -> None:
    """`drkit runs list`: newest first."""
    if not runs:
        console.print("no runs recorded yet")
        return
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in ("run", "playbook", "mode", "outcome", "duration"):
        table.add_column(column)
    for run in runs:
        duration = "-" if run.duration is None else format_duration(run.duration)
        style = OUTCOME_STYLE.get(Outcome(run.outcome), "") if run.outcome in set(Outcome) else "yellow"
        table.add_row(
            escape(run.run_id), escape(run.playbook), run.mode, Text(run.outcome, style=style), duration
        )
    console.print(table)


def print_recorded(console: Console, lines: Sequence[str]) -> None:
    """The lines of drkit.engine.afterwards, after the summary: where the run was recorded, or why not."""
    for line in lines:
        console.print(Text(f"  {line}", style="dim"))
