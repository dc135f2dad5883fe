"""Errors only the engine raises."""

from __future__ import annotations

from drkit.errors import DrkitError, ExitCode


class RunInterrupted(DrkitError):
    """Ctrl-C during a run: the journal and the report were written, and the run can be resumed."""

    exit_code = ExitCode.INTERRUPTED


class RunTerminated(RunInterrupted):
    """SIGTERM during a run, handled as Ctrl-C is (journal, reports, resumable), with its own exit code."""

    exit_code = ExitCode.TERMINATED


class FailedBeforeFirstStep(DrkitError):
    """An adapter failed while a step was planned or the drill lease taken: the run stopped before its first
    step. The exit code is the cause's (5 when the cluster or MLflow did not answer, 2 for a broken
    kubeconfig, 1 when a service answered with an error); the message says what was being done and that
    nothing ran."""

    def __init__(self, doing: str, cause: DrkitError) -> None:
        super().__init__(f"{doing}: {cause.message} (no step ran; nothing was changed)", hint=cause.hint)
        self.exit_code = cause.exit_code
