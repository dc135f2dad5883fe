"""Keeping secret values out of everything a run prints or records.

Two layers: overrides whose names look secret are replaced by a marker before they are journaled, and every
value in the run's secret registry (drkit.secret_registry: the playbook's secret variables and `--set`
secrets, the credentials in the environment, the kubeconfig's, the data of the Secrets the run reads) is
masked in every message, detail, journal record and report, whichever step kind let it slip through (a
command's output, an HTTP answer, an error echoing a header). The registry grows during the run; the masker
looks it up each time, so what is learnt halfway is masked from then on, and in the report files, which are
written from the whole run at its end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from drkit.engine.webhook_sink import SECRET_ENV_VARS as WEBHOOK_SECRET_ENV_VARS
from drkit.mlflow import secret_values as mlflow_secret_values
from drkit.playbook.model import Playbook
from drkit.playbook.problems import is_secret_name
from drkit.secret_registry import SecretRegistry

REDACTED = "<redacted>"


def redact_overrides(overrides: Mapping[str, str], secret_names: Iterable[str] = ()) -> dict[str, str]:
    secret = set(secret_names)
    return {k: (REDACTED if k in secret or is_secret_name(k) else v) for k, v in overrides.items()}


def register_environment_secrets(secrets: SecretRegistry, env: Mapping[str, str]) -> None:
    """The credentials drkit reads from its environment (the adapters that read them name the variables)."""
    secrets.add_all(mlflow_secret_values(env))
    secrets.add_all(env.get(name) for name in WEBHOOK_SECRET_ENV_VARS)


def register_playbook_secrets(
    secrets: SecretRegistry, playbook: Playbook, overrides: Mapping[str, str] | None = None
) -> None:
    """The values of the playbook's secret variables, and of every `--set` whose name looks secret."""
    secrets.add_all(playbook.vars[n] for n in playbook.secret_vars if n in playbook.vars)
    secrets.add_all(v for k, v in (overrides or {}).items() if is_secret_name(k))


class Masker:
    """Replaces every value of the secret registry in strings, also nested in JSON-like data."""

    def __init__(self, secrets: SecretRegistry) -> None:
        self._secrets = secrets

    def text(self, value: str) -> str:
        return self._secrets.mask(value)

    def data(self, value: object) -> object:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value
