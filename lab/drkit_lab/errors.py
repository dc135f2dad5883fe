"""The lab's own exception root, apart from drkit's: the lab is a test harness beside drkit, not part of it.

Every error carries the exit code the `drkit lab` group exits with. The group reports the lab's errors itself
(drkit_lab.cli), so drkit's CLI boundary never sees them; the codes match drkit's for the same situations.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # the lab could not do what was asked
EXIT_USAGE = 2  # the command cannot run as given; nothing was started


class LabError(Exception):
    """Root of every error the lab raises on purpose (not running, failed to start, admin call refused).

    `hint` says what to do about it.
    """

    exit_code: int = EXIT_FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class LabUsageError(LabError):
    """The command cannot run as given (port taken, directory in use, MLflow missing)."""

    exit_code = EXIT_USAGE
