"""The `drkit` command line, and the one boundary where errors become exit codes.

Commands are wiring: parse options, build a frozen request, call one engine use case, let the report layer
render the result, return an exit code. `main` is the only place that catches exceptions (see ExitCode for the
codes).
"""

from __future__ import annotations

import io
import json
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import NoReturn

import click

import drkit
from drkit.cli.common import STDOUT_JSON, StdoutJson
from drkit.cli.diff_commands import diff
from drkit.cli.finalizers_commands import finalizers
from drkit.cli.history_commands import history
from drkit.cli.init_commands import examples, init
from drkit.cli.models_commands import models
from drkit.cli.playbook_commands import schema, validate
from drkit.cli.rbac_commands import rbac
from drkit.cli.run_commands import check, drill, plan, recover, resume
from drkit.cli.runs_commands import report_command, runs
from drkit.cli.signals import sigterm_interrupts
from drkit.context import Runtime, real_runtime
from drkit.engine.redaction import register_environment_secrets
from drkit.errors import DrkitError, ExitCode, PlaybookError, Terminated, UsageError
from drkit.playbook.problems import Problem, render_problems

# Command groups other distributions register, imported only when used: the lab (drkit-lab) pulls in MLflow
# and cryptography, and drkit never imports it.
COMMANDS_ENTRY_POINTS = "drkit.commands"
# The optional groups drkit documents, listed and explained even while their distribution is not installed.
OPTIONAL_GROUPS = {"lab": "the local lab is an extra: pip install 'drkit[lab]'"}
# A summary limit no first sentence reaches: `--help` shows summaries whole, and write_dl wraps them.
WHOLE = 10_000


def command_entry_points() -> dict[str, EntryPoint]:
    """The installed `drkit.commands` entry points by command name (reads metadata; imports nothing)."""
    return {ep.name: ep for ep in entry_points(group=COMMANDS_ENTRY_POINTS)}


class DrkitGroup(click.Group):
    """The top-level group: drkit's own commands plus the groups other distributions register."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *OPTIONAL_GROUPS, *command_entry_points()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        registered = command_entry_points().get(cmd_name)
        if registered is not None:
            return _load_group(cmd_name, registered)
        if cmd_name in OPTIONAL_GROUPS:
            return _unavailable(cmd_name, "it is not installed")
        return None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's, but each summary whole (its first sentence, wrapped rather than cut at the terminal's
        width), and a registered group's line is its distribution's summary: `drkit --help` must not import
        the group (the lab pulls in MLflow)."""
        registered = command_entry_points()
        names = [n for n in self.list_commands(ctx) if not (n in self.commands and self.commands[n].hidden)]
        rows = []
        for name in names:
            if name in self.commands:
                text = self.commands[name].get_short_help_str(WHOLE)
            else:  # the first sentence, as click takes it from a command's help
                installed = name in registered
                line = _summary(registered[name]) if installed else f"(not installed) {OPTIONAL_GROUPS[name]}"
                text = click.Command(name, help=line).get_short_help_str(WHOLE)
            rows.append((name, text))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _summary(entry_point: EntryPoint) -> str:
    """The one-line description of the distribution that registered `entry_point` (metadata, no import)."""
    metadata = entry_point.dist.metadata if entry_point.dist is not None else None
    return str(metadata["Summary"]) if metadata is not None and "Summary" in metadata else ""


def _load_group(name: str, entry_point: EntryPoint) -> click.Command:
    try:
        command = entry_point.load()
    except ImportError as exc:
        return _unavailable(name, str(exc))
    if not isinstance(command, click.Command):
        raise TypeError(f"entry point {name} = {entry_point.value} is not a click command")
    return command


def _unavailable(name: str, reason: str) -> click.Command:
    """A stand-in that accepts any arguments and says why `drkit NAME` cannot run (a usage error)."""

    @click.command(name=name, context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    def unavailable() -> None:
        raise UsageError(f"`drkit {name}` is not available: {reason}", hint=OPTIONAL_GROUPS.get(name))

    return unavailable


@click.group(cls=DrkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(drkit.__version__, prog_name="drkit")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def cli(debug: bool) -> None:
    """drkit: disaster-recovery drills and recovery runbooks for ML platforms on Kubernetes."""


COMMANDS = (
    validate,
    schema,
    plan,
    drill,
    recover,
    check,
    resume,
    runs,
    report_command,
    history,
    finalizers,
    models,
    diff,
    rbac,
)
for command in COMMANDS:
    cli.add_command(command)
# Getting started: a starter playbook of one's own, and the shipped examples.
cli.add_command(init)
cli.add_command(examples)


def run(argv: Sequence[str] | None = None, runtime: Runtime | None = None) -> int:
    """Run the CLI and return its exit code: the only place that catches exceptions. SIGTERM is turned into
    an interruption for as long as the command runs (drkit.cli.signals)."""
    args = list(sys.argv[1:] if argv is None else argv)
    runtime = runtime or real_runtime()
    register_environment_secrets(runtime.secrets, runtime.env)
    channel = StdoutJson()
    token = STDOUT_JSON.set(channel)
    try:
        with sigterm_interrupts():
            return _run(args, runtime, channel)
    finally:
        STDOUT_JSON.reset(token)
        for stream in (runtime.stdout, runtime.stderr):
            stream.flush()


@dataclass(frozen=True)
class Failure:
    """Why a command failed, as the boundary reports it: text on stderr, and with -o json an error object."""

    exit_code: ExitCode
    message: str
    hint: str | None = None
    problems: tuple[Problem, ...] = ()

    def to_json(self) -> dict[str, object]:
        error: dict[str, object] = {
            "exitCode": int(self.exit_code),
            "kind": self.exit_code.name.lower().replace("_", "-"),
            "message": self.message,
            "hint": self.hint,
        }
        if self.problems:
            error["problems"] = [
                {"file": p.position.file, "line": p.position.line, "column": p.position.column}
                | {"message": p.message, "hint": p.hint}
                for p in self.problems
            ]
        return {"error": error}


def _run(args: list[str], runtime: Runtime, channel: StdoutJson) -> int:
    """Run the command; what the boundary itself prints about an error is masked with the run's secrets
    (an error raised outside a run, or one that quotes a value drkit learnt was secret)."""
    errors = io.StringIO()
    failure: Failure | None = None
    try:
        result = cli.main(args=args, prog_name="drkit", standalone_mode=False, obj=runtime)
    except (Exception, KeyboardInterrupt) as exc:
        failure = _report(exc, runtime, errors, debug="--debug" in args)
    finally:
        if errors.getvalue():
            runtime.stderr.write(runtime.secrets.mask(errors.getvalue()))
    if failure is None:
        return int(result) if isinstance(result, int) else ExitCode.OK
    # -o json promised JSON on stdout: not an empty stdout. Click stops at a bad option or argument before
    # any option's callback ran, so then the words on the line say whether JSON was asked for.
    asked = channel.requested or (failure.exit_code is ExitCode.USAGE and _asks_for_json(args))
    if asked and not channel.written:
        runtime.stdout.write(runtime.secrets.mask(json.dumps(failure.to_json(), indent=2)) + "\n")
    return failure.exit_code


def _asks_for_json(args: list[str]) -> bool:
    """Whether the command line holds `-o json` in any of the spellings click accepts."""
    for i, arg in enumerate(args):
        if arg == "--":
            return False
        if arg in ("-o", "--output", "--format") and args[i + 1 : i + 2] == ["json"]:
            return True
        if arg in ("-ojson", "--output=json", "--format=json"):
            return True
    return False


def _report(exc: BaseException, runtime: Runtime, stderr: io.StringIO, *, debug: bool) -> Failure:
    """Write what went wrong to `stderr` and say which exit code it is."""
    if isinstance(exc, KeyboardInterrupt | click.exceptions.Abort):  # Abort: click's form of the former
        if _terminated(exc):
            stderr.write("terminated (SIGTERM)\n")
            return Failure(ExitCode.TERMINATED, "terminated (SIGTERM)")
        stderr.write("aborted\n")
        return Failure(ExitCode.INTERRUPTED, "aborted")
    if isinstance(exc, click.ClickException):
        exc.show(file=stderr)
        return Failure(ExitCode.USAGE, exc.format_message())
    if isinstance(exc, PlaybookError):
        problems = tuple(p for p in exc.problems if isinstance(p, Problem))
        text = render_problems(problems) if problems else f"error: {exc.message}"
        stderr.write(text.rstrip("\n") + "\n")
        if exc.hint and not problems:
            stderr.write(f"hint: {exc.hint}\n")
        return Failure(exc.exit_code, exc.message, exc.hint, problems)
    if isinstance(exc, DrkitError) and exc.exit_code is not ExitCode.INTERNAL:
        stderr.write(f"error: {exc.message}\n")
        if exc.hint:
            stderr.write(f"  hint: {exc.hint}\n")
        return Failure(exc.exit_code, exc.message, exc.hint)
    if isinstance(exc, DrkitError):
        message = exc.message
    else:
        first_line = (runtime.secrets.mask(str(exc)).splitlines() or [""])[0][:200]
        message = f"{type(exc).__name__}: {first_line}"
    stderr.write(f"internal error: {message} (rerun with --debug for the traceback)\n")
    if debug:
        traceback.print_exc(file=stderr)
    return Failure(ExitCode.INTERNAL, f"internal error: {message}", "rerun with --debug for the traceback")


def _terminated(exc: BaseException) -> bool:
    """Whether an Abort stands for SIGTERM: click turns a KeyboardInterrupt (Terminated is one) into Abort,
    `from` it in its main loop, `from None` in a prompt (then it is the context)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, Terminated):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script: run the CLI and exit with its code."""
    sys.exit(run(argv))
