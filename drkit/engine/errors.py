"""Errors only the engine raises."""

from __future__ import annotations

from drkit.errors import DrkitError, ExitCode


class RunInterrupted(DrkitError):
    """Ctrl-C during a run: the journal and the report were written, and the run can be resumed."""

    exit_code = ExitCode.INTERRUPTED
