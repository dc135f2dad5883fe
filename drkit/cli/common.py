"""What every command shares: the Runtime from the click context, option parsing, consoles and exit codes."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import click

from drkit.context import Runtime, real_runtime
from drkit.engine import RunListener
from drkit.errors import ExitCode, Terminated
from drkit.report.console import LiveListener, PlainListener, make_console, render_summary
from drkit.report.json_report import dumps, write_atomically
from drkit.report.junit import render_junit
from drkit.report.markdown import render_markdown
from drkit.report.model import Outcome, RunReport
from drkit.report.waiting import HEARTBEAT_SECONDS

Output = Literal["text", "json"]

OUTCOME_EXIT = {
    Outcome.SUCCEEDED: ExitCode.OK,
    Outcome.PLANNED: ExitCode.OK,
    Outcome.FAILED: ExitCode.DRILL_FAILED,
    Outcome.RUNNING: ExitCode.DRILL_FAILED,
    Outcome.OVER_RTO: ExitCode.OVER_RTO,
    Outcome.REFUSED: ExitCode.REFUSED,
    Outcome.INTERRUPTED: ExitCode.INTERRUPTED,
}


def runtime_of(ctx: click.Context) -> Runtime:
    runtime = ctx.find_object(Runtime)
    if runtime is None:  # invoked without drkit.cli.run (a bare CliRunner): build the real one
        runtime = real_runtime()
        ctx.obj = runtime
    return runtime


def parse_overrides(values: tuple[str, ...]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{value!r} is not NAME=VALUE", param_hint="'--set'")
        overrides[name.strip()] = text
    return overrides


set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a playbook variable (repeatable).",
)


def cluster_options(command: Callable[..., object]) -> Callable[..., object]:
    """--kubeconfig and --context: which cluster a run acts on (checked against target.contexts)."""
    command = click.option(
        "--context",
        metavar="NAME",
        help="kubeconfig context to act on (default: the current context).",
    )(command)
    return click.option(
        "--kubeconfig",
        metavar="PATH",
        help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster).",
    )(command)


@dataclass
class StdoutJson:
    """What one invocation promised on stdout. Mutable on purpose: `-o json` sets `requested` while click
    parses, writing the JSON document sets `written`, and the boundary (drkit.cli.run) answers an error
    with a JSON error object when JSON was requested and none was written (a run that failed before its
    first step)."""

    requested: bool = False
    written: bool = False


# Set by drkit.cli.run for the length of one invocation; None when a command runs without it (bare CliRunner).
STDOUT_JSON: ContextVar[StdoutJson | None] = ContextVar("drkit_stdout_json", default=None)


def remember_output(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Callback of every -o/--output option: tell the boundary whether stdout is to be JSON."""
    channel = STDOUT_JSON.get()
    if channel is not None and value == "json":
        channel.requested = True
    return value


def write_json(runtime: Runtime, text: str) -> None:
    """Write the command's JSON document to stdout (and note it, so no error object follows it)."""
    runtime.stdout.write(text)
    channel = STDOUT_JSON.get()
    if channel is not None:
        channel.written = True


def format_option(help_text: str) -> Callable[[Callable[..., object]], Callable[..., object]]:
    """-o/--output, the one output convention: a format (text or json), never a file."""
    return click.option(
        "-o",
        "--output",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        callback=remember_output,
        help=help_text,
    )


output_option = format_option(
    "json: only JSON on stdout (progress on stderr; an error as a JSON error object)."
)


def report_copy_options(command: Callable[..., object]) -> Callable[..., object]:
    """--junit and --markdown: copies of the run's junit.xml / report.md where CI collects artifacts."""
    command = click.option(
        "--markdown",
        "markdown_path",
        type=click.Path(path_type=Path, dir_okay=False),
        metavar="PATH",
        help="Also write the Markdown report (report.md of the run) to PATH.",
    )(command)
    return click.option(
        "--junit",
        "junit_path",
        type=click.Path(path_type=Path, dir_okay=False),
        metavar="PATH",
        help="Also write the JUnit XML report (junit.xml of the run) to PATH, for CI.",
    )(command)


def write_report_copies(
    report: RunReport, runtime: Runtime, *, junit: Path | None, markdown: Path | None
) -> None:
    """The --junit and --markdown copies; relative paths are taken from the runtime's working directory."""
    if junit is not None:
        write_atomically(runtime.cwd / junit, render_junit(report))
    if markdown is not None:
        write_atomically(runtime.cwd / markdown, render_markdown(report))


yes_option = click.option(
    "--yes", "-y", "assume_yes", is_flag=True, help="Do not ask before destructive work."
)


def listener_for(runtime: Runtime, output: Output) -> RunListener:
    """Live view on a terminal, plain lines otherwise; with -o json progress goes to stderr, the report to
    stdout."""
    # Off a terminal, a long wait prints what it waits for at growing intervals (drkit.report.waiting).
    clock, beat = runtime.monotonic, HEARTBEAT_SECONDS
    if output == "json":
        progress = make_console(runtime.stderr, terminal=False)

        def print_json(report: RunReport) -> None:
            write_json(runtime, dumps(report))

        return PlainListener(progress, summary=print_json, monotonic=clock, heartbeat_seconds=beat)
    console = make_console(runtime.stdout, terminal=runtime.interactive)

    def summary(report: RunReport) -> None:
        render_summary(console, report)

    if runtime.interactive:
        return LiveListener(console, runtime.monotonic, summary=summary)
    return PlainListener(
        console, summary=summary, failures_in_summary=True, monotonic=clock, heartbeat_seconds=beat
    )


def confirm_for(runtime: Runtime) -> Callable[[str], bool] | None:
    """Ask on a terminal; with no terminal there is nobody to ask (the engine then refuses)."""
    if not runtime.interactive:
        return None
    return lambda question: click.confirm(question, default=False, err=True)


def exit_code_of(report: RunReport) -> int:
    """The exit code of a report's outcome; a run interrupted by SIGTERM is 143, as the run itself exited."""
    last = report.attempts[-1] if report.attempts else None
    if report.outcome is Outcome.INTERRUPTED and last is not None and last.signal == Terminated.signal_name:
        return int(ExitCode.TERMINATED)
    return int(OUTCOME_EXIT[report.outcome])
