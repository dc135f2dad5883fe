"""The `command` step and checklist item: run a local program and judge it by its exit status.

This is the escape hatch for everything drkit has no step kind for yet (an `argo submit`, a site script), so
the report keeps the tail of the program's output to make a failure diagnosable without rerunning it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from drkit.kube.errors import redact_credentials
from drkit.playbook.fields import Bool, Field, Int, KindSchema, ListOf, MapOf, Obj, OneOf, Str
from drkit.playbook.model import Playbook, StepSpec
from drkit.processes import ProcessResult, run_process
from drkit.steps.base import ProbeKind, StepContext, StepKind, StepPlan, StepResult, StepStatus
from drkit.steps.settings import (
    StepConfigError,
    as_mapping,
    compile_regex,
    opt_bool,
    opt_int,
    opt_str,
    str_list,
    str_map,
)

DEFAULT_TIMEOUT_SECONDS = 30 * 60.0

BODY = Obj(
    description="Succeeds when the program exits with `expectExit` and, if set, its output matches "
    "`successPattern`.",
    fields={
        "run": Field(
            OneOf((Str(min_length=1), ListOf(Str(), min_items=1))),
            required=True,
            description="A shell command line (run by /bin/sh -c) or an argv list (executed directly).",
        ),
        "shell": Field(
            Bool(),
            description="Run through the shell (true) or not (false); default: a string does, a list not.",
        ),
        "cwd": Field(Str(), description="Working directory, relative to the playbook's directory."),
        "env": Field(MapOf(Str()), description="Extra environment variables for the program."),
        "expectExit": Field(
            Int(minimum=0, maximum=255), description="Exit status that means success (default 0)."
        ),
        "successPattern": Field(
            Str(),
            description="A regular expression one of the last 40 lines of stdout and stderr must match.",
        ),
        "destructive": Field(
            Bool(),
            description="The command changes or deletes state: the run asks for confirmation (unless --yes).",
        ),
    },
)

SCHEMA = KindSchema(
    kind="command",
    body=BODY,
    description="Run a local program and check its exit status (and optionally its output).",
    examples=(
        {"run": "kubectl get ns"},
        {"run": ["argo", "submit", "--watch", "wf.yaml"], "cwd": "pipelines"},
    ),
)


@dataclass(frozen=True)
class CommandSettings:
    command: str | tuple[str, ...]  # a string runs through the shell, a tuple is executed directly
    cwd: str | None  # relative to the playbook's directory, resolved when the step runs
    env: Mapping[str, str] = field(default_factory=dict)
    expect_exit: int = 0
    success_pattern: re.Pattern[str] | None = None
    destructive: bool = False

    def workdir(self, base_dir: Path) -> Path:
        return base_dir if self.cwd is None else base_dir / self.cwd

    def display(self) -> str:
        return self.command if isinstance(self.command, str) else shlex.join(self.command)


def parse_settings(body: object) -> CommandSettings:
    data = as_mapping(body, "command")
    run = data.get("run")
    shell = data.get("shell")
    command: str | tuple[str, ...]
    if isinstance(run, str):
        if not run.strip():  # min_length lets "  " through: blank, but not empty
            raise StepConfigError("`run` is empty", hint="give a command line or an argv list")
        command = tuple(shlex.split(run)) if shell is False else run
    else:
        argv = str_list(data, "run")
        command = shlex.join(argv) if shell is True else argv
    return CommandSettings(
        command=command,
        cwd=opt_str(data, "cwd"),
        env=str_map(data, "env"),
        expect_exit=opt_int(data, "expectExit", 0),
        success_pattern=compile_regex(opt_str(data, "successPattern"), "successPattern"),
        destructive=opt_bool(data, "destructive", default=False),
    )


def execute(settings: CommandSettings, ctx: StepContext, *, timeout: float | None) -> StepResult:
    """Run the program once and turn its exit status and output into a result.

    The program's output is masked with the run's secrets, and whatever looks like a credential is redacted,
    before it is cut short (for the live view, the
    failure message): a cut through a secret would leave a prefix the masking no longer recognises."""
    env = {**ctx.runtime.env, **settings.env}

    def mask(text: str) -> str:
        # The run's secrets, then what looks like one: a program may print a Secret drkit never read
        # (`kubectl get secret -o yaml`, a token in a traceback).
        return redact_credentials(ctx.runtime.secrets.mask(text))

    outcome = run_process(
        settings.command,
        cwd=settings.workdir(ctx.base_dir),
        env=env,
        timeout=timeout,
        on_line=lambda line: ctx.progress(mask(line)[:200]),
        monotonic=ctx.runtime.monotonic,
    )
    return judge(settings, outcome, timeout, settings.workdir(ctx.base_dir), mask)


def judge(
    settings: CommandSettings,
    outcome: ProcessResult,
    timeout: float | None,
    cwd: Path,
    mask: Callable[[str], str] = lambda text: text,
) -> StepResult:
    """The verdict on one run of the program; `successPattern` is matched against the output as it was,
    what is reported is masked."""
    shown = tuple(mask(line) for line in outcome.tail)
    details: dict[str, object] = {
        "command": settings.display(),
        "cwd": str(cwd),
        "exitCode": outcome.exit_code,
        "outputTail": list(shown),
    }
    if outcome.timed_out:
        details["timedOut"] = True
        return StepResult(
            StepStatus.FAILED,
            f"`{_short(settings.display())}` did not finish within {timeout or 0:.1f}s and was killed",
            details,
        )
    if outcome.exit_code != settings.expect_exit:
        last = next((line for line in reversed(shown) if line.strip()), "")
        suffix = f": {last[:160]}" if last else ""
        return StepResult(
            StepStatus.FAILED,
            f"`{_short(settings.display())}` exited with {outcome.exit_code} "
            f"(expected {settings.expect_exit}){suffix}",
            details,
        )
    if settings.success_pattern is not None and not any(
        settings.success_pattern.search(line) for line in outcome.tail
    ):
        return StepResult(
            StepStatus.FAILED,
            f"`{_short(settings.display())}` exited with {outcome.exit_code} but its output does not match "
            f"/{settings.success_pattern.pattern}/",
            details,
        )
    return StepResult(StepStatus.SUCCEEDED, f"exited with {outcome.exit_code}", details)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CommandStep:
    def __init__(self, spec: StepSpec, settings: CommandSettings) -> None:
        self.spec = spec
        self.settings = settings

    def plan(self, ctx: StepContext) -> StepPlan:
        return StepPlan(
            summary=f"would run `{self.settings.display()}` in {self.settings.workdir(ctx.base_dir)}",
            destructive=self.settings.destructive,
        )

    def run(self, ctx: StepContext) -> StepResult:
        return execute(self.settings, ctx, timeout=ctx.remaining())


class CommandProbe:
    def __init__(self, name: str, settings: CommandSettings) -> None:
        self.name = name
        self.settings = settings

    def describe(self) -> str:
        return f"`{self.settings.display()}` exits with {self.settings.expect_exit}"

    def attempt(self, ctx: StepContext) -> StepResult:
        return execute(self.settings, ctx, timeout=ctx.remaining())


STEP_KIND = StepKind(
    schema=SCHEMA,
    build=lambda spec: CommandStep(spec, parse_settings(spec.body)),
    default_timeout=DEFAULT_TIMEOUT_SECONDS,
)


def _build_probe(name: str, body: object, playbook: Playbook) -> CommandProbe:
    return CommandProbe(name, parse_settings(body))


PROBE_KIND = ProbeKind(schema=SCHEMA, build=_build_probe)
