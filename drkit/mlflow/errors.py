"""What can go wrong talking to MLflow, as drkit errors that say what to do.

Every class is an `AdapterError` (exit code 1: the drill cannot go on; MlflowUnreachable before any step:
5). Server bodies are truncated before they reach a message, and URLs are shown without any user:password
part, so credentials never leak.
"""

from __future__ import annotations

from drkit.errors import AdapterError, UnreachableError


class MlflowError(AdapterError):
    """Any failure of the MLflow adapter. `status` is the HTTP status when there was an answer."""

    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class MlflowUnreachable(MlflowError, UnreachableError):
    """No HTTP answer (connection refused, timeout, TLS failure), after the retries (before any step: 5)."""


class MlflowAuthError(MlflowError):
    """401: the server wants (other) credentials."""


class MlflowForbidden(MlflowError):
    """403: authenticated but not allowed, or the Host header was rejected (see MlflowHostRejected)."""


class MlflowHostRejected(MlflowForbidden):
    """403 "Invalid Host header": the server's DNS-rebinding protection refused the host name we used."""


class MlflowApiError(MlflowError):
    """The server answered an error (4xx/5xx). `error_code` is MLflow's code, e.g. RESOURCE_DOES_NOT_EXIST."""

    def __init__(
        self,
        message: str,
        *,
        error_code: str = "",
        hint: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, hint=hint, status=status)
        self.error_code = error_code
        self.retry_after = retry_after  # seconds the server asked us to wait (429/503 Retry-After)


class MlflowNotFound(MlflowApiError):
    """404 / RESOURCE_DOES_NOT_EXIST (or an alias that does not exist)."""


class ExperimentNotFound(MlflowError):
    """No experiment has the name a manifest or playbook gave."""


class NoMatchingModel(MlflowError):
    """The experiment exists, but no finished run (or registered version) matches, or it holds no model."""


class ModelNotReady(MlflowError):
    """A logged model or model version exists but is not READY (still uploading, or failed)."""


class MlmodelMissing(MlflowError):
    """The directory MLflow names for a model holds no MLmodel file: serving it would fail."""
