"""The `drkit` command line, and the one boundary where errors become exit codes.

Commands are wiring: parse options, build a frozen request, call one engine use case, let the report layer
render the result, return an exit code. `main` is the only place that catches exceptions (see ExitCode for the
codes).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from importlib import import_module
from typing import NoReturn

import click

import drkit
from drkit.cli.finalizers_commands import finalizers
from drkit.cli.models_commands import models
from drkit.cli.playbook_commands import schema, validate
from drkit.cli.run_commands import check, drill, plan, recover, resume
from drkit.cli.runs_commands import runs
from drkit.context import Runtime, real_runtime
from drkit.errors import DrkitError, ExitCode, PlaybookError, UsageError
from drkit.playbook.problems import Problem, render_problems

# Groups imported only when used, because their dependencies are optional extras.
LAZY_GROUPS = {"lab": ("drkit_lab.cli", "lab", "the local lab needs its extras: pip install 'drkit[lab]'")}


class DrkitGroup(click.Group):
    """The top-level group: explicit commands plus lazily imported optional groups."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_GROUPS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_GROUPS:
            return _lazy_group(cmd_name)
        return super().get_command(ctx, cmd_name)


def _lazy_group(name: str) -> click.Command:
    module_name, attribute, missing = LAZY_GROUPS[name]
    try:
        command = getattr(import_module(module_name), attribute)
    except ImportError as exc:
        reason = str(exc)

        @click.command(name=name, context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
        def unavailable() -> None:
            raise UsageError(f"`drkit {name}` is not available: {reason}", hint=missing)

        return unavailable
    if not isinstance(command, click.Command):
        raise TypeError(f"{module_name}.{attribute} is not a click command")
    return command


@click.group(cls=DrkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(drkit.__version__, prog_name="drkit")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def cli(debug: bool) -> None:
    """drkit: disaster-recovery drills and recovery runbooks for ML platforms on Kubernetes."""


for command in (validate, schema, plan, drill, recover, check, resume, runs, finalizers, models):
    cli.add_command(command)


def run(argv: Sequence[str] | None = None, runtime: Runtime | None = None) -> int:
    """Run the CLI and return its exit code: the only place that catches exceptions."""
    args = list(sys.argv[1:] if argv is None else argv)
    runtime = runtime or real_runtime()
    try:
        return _run(args, runtime)
    finally:
        for stream in (runtime.stdout, runtime.stderr):
            stream.flush()


def _run(args: list[str], runtime: Runtime) -> int:
    debug = "--debug" in args
    try:
        result = cli.main(args=args, prog_name="drkit", standalone_mode=False, obj=runtime)
    except click.exceptions.Abort:
        runtime.stderr.write("aborted\n")
        return ExitCode.INTERRUPTED
    except click.ClickException as exc:
        exc.show(file=runtime.stderr)
        return ExitCode.USAGE
    except PlaybookError as exc:
        problems = [p for p in exc.problems if isinstance(p, Problem)]
        text = render_problems(problems) if problems else f"error: {exc.message}"
        runtime.stderr.write(text.rstrip("\n") + "\n")
        if exc.hint and not problems:
            runtime.stderr.write(f"hint: {exc.hint}\n")
        return exc.exit_code
    except DrkitError as exc:
        if exc.exit_code is ExitCode.INTERNAL:
            runtime.stderr.write(f"internal error: {exc.message} (rerun with --debug for the traceback)\n")
            if debug:
                traceback.print_exc(file=runtime.stderr)
            return exc.exit_code
        runtime.stderr.write(f"error: {exc.message}\n")
        if exc.hint:
            runtime.stderr.write(f"  hint: {exc.hint}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        runtime.stderr.write("interrupted\n")
        return ExitCode.INTERRUPTED
    except Exception as exc:
        first_line = (str(exc).splitlines() or [""])[0][:200]
        runtime.stderr.write(
            f"internal error: {type(exc).__name__}: {first_line} (rerun with --debug for the traceback)\n"
        )
        if debug:
            traceback.print_exc(file=runtime.stderr)
        return ExitCode.INTERNAL
    return int(result) if isinstance(result, int) else ExitCode.OK


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script: run the CLI and exit with its code."""
    sys.exit(run(argv))
