"""Use cases: run a playbook (drill, recover, check, plan), resume a run, list and show recorded runs.

Everything with an effect arrives through the Runtime and the listener; the engine never prints and never
reads the process environment itself. See drkit.engine.playbook_run for what a run does, step by step.
"""

from drkit.engine.listener import NullListener, RunListener
from drkit.engine.request import RunMode, RunRequest
from drkit.engine.run_errors import RunInterrupted
from drkit.engine.usecases import (
    ValidationSummary,
    execute,
    json_schema,
    list_runs,
    plan,
    regenerate_reports,
    resume,
    show_run,
    validate,
)
from drkit.report.model import RunSummary

__all__ = [
    "NullListener",
    "RunInterrupted",
    "RunListener",
    "RunMode",
    "RunRequest",
    "RunSummary",
    "ValidationSummary",
    "execute",
    "json_schema",
    "list_runs",
    "plan",
    "regenerate_reports",
    "resume",
    "show_run",
    "validate",
]
