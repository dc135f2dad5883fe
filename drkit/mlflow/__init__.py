"""The MLflow adapter: the only part of drkit that talks to an MLflow tracking server.

`client` holds the HTTP session (credentials, TLS, retries, errors); `locate` finds where a model lives;
`artifacts` reads model directories for validation. Nothing from `requests` or `tenacity` escapes
this package.
"""

from drkit.mlflow.client import (
    SECRET_ENV_VARS,
    MlflowClient,
    MlflowRetryPolicy,
    MlflowSettings,
    display_url,
    secret_values,
)
from drkit.mlflow.errors import (
    ExperimentNotFound,
    MlflowApiError,
    MlflowAuthError,
    MlflowError,
    MlflowForbidden,
    MlflowHostRejected,
    MlflowNotFound,
    MlflowUnreachable,
    MlmodelMissing,
    ModelNotReady,
    NoMatchingModel,
)
from drkit.mlflow.locate import (
    ModelLocation,
    ModelQuery,
    RegisteredQuery,
    RunQuery,
    locate,
    parse_registered,
    to_storage_uri,
    verify_mlmodel,
)

__all__ = [
    "SECRET_ENV_VARS",
    "ExperimentNotFound",
    "MlflowApiError",
    "MlflowAuthError",
    "MlflowClient",
    "MlflowError",
    "MlflowForbidden",
    "MlflowHostRejected",
    "MlflowNotFound",
    "MlflowRetryPolicy",
    "MlflowSettings",
    "MlflowUnreachable",
    "MlmodelMissing",
    "ModelLocation",
    "ModelNotReady",
    "ModelQuery",
    "NoMatchingModel",
    "RegisteredQuery",
    "RunQuery",
    "display_url",
    "locate",
    "parse_registered",
    "secret_values",
    "to_storage_uri",
    "verify_mlmodel",
]
