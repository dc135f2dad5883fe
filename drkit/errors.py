"""One exception root for drkit; every error class carries the exit code the CLI boundary turns it into.

Third-party exceptions are translated at the adapter that sees them, so nothing above the adapters needs to
know which library failed. Messages must never contain secret values: adapters truncate server bodies and
redact them.
"""

from __future__ import annotations

from enum import IntEnum, unique


@unique
class ExitCode(IntEnum):
    """Process exit statuses; each one is pinned by tests/test_exit_codes.py."""

    OK = 0
    DRILL_FAILED = 1  # a step failed or the platform is unhealthy
    USAGE = 2  # bad command line or broken playbook; nothing was touched
    REFUSED = 3  # refused for safety: context not allowed, protected namespace, confirmation declined
    OVER_RTO = 4  # recovered, but later than the recovery-time objective
    UNREACHABLE = 5  # the cluster or a service a run needs did not answer before any step; nothing changed
    INTERNAL = 70  # a bug in drkit (EX_SOFTWARE)
    INTERRUPTED = 130  # Ctrl-C / SIGINT (128 + 2)
    TERMINATED = 143  # SIGTERM (128 + 15): a CI cancel, `timeout`, a pod eviction


class DrkitError(Exception):
    """Root of every error drkit raises on purpose. `hint` says what to do about it."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class UsageError(DrkitError):
    """The command line is wrong (unknown run id, conflicting options, unknown phase)."""

    exit_code = ExitCode.USAGE


class PlaybookError(UsageError):
    """A playbook could not be loaded; `problems` holds every positioned problem found."""

    def __init__(self, message: str, problems: tuple[object, ...] = (), *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.problems = problems


class RefusedError(DrkitError):
    """drkit refused to act for safety; nothing was written."""

    exit_code = ExitCode.REFUSED


class StepFailure(DrkitError):
    """A step could not do its work. The message names the object, its state and what to do."""

    exit_code = ExitCode.DRILL_FAILED


class AdapterError(DrkitError):
    """An external system (cluster, MLflow, HTTP endpoint, local program) failed in a way a step reports."""

    exit_code = ExitCode.DRILL_FAILED


class UnreachableError(AdapterError):
    """No answer from the cluster's API server or a service (MLflow, an HTTP endpoint): refused connection,
    DNS, timeout, TLS. Raised inside a step it fails that step (exit 1 through the run's outcome); raised
    before the first step (a plan, the drill lease) nothing was changed, which is what exit 5 says."""

    exit_code = ExitCode.UNREACHABLE


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into the same clean interruption as Ctrl-C (drkit.cli installs the handler).

    A KeyboardInterrupt, so that every `except KeyboardInterrupt` that cleans up after Ctrl-C (the runner's
    journal and reports, a command step's process group) does the same for SIGTERM."""

    signal_name = "SIGTERM"
    exit_code = ExitCode.TERMINATED


class InternalError(DrkitError):
    """drkit reached a state it believes impossible: a bug."""

    exit_code = ExitCode.INTERNAL
