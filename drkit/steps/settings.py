"""Turning a validated plain step body into typed settings.

The loader already checked shapes and types against the kind's schema; what is left for a step kind are
checks the schema cannot express (a regular expression that does not compile, a field combination that makes
no sense). Those raise `StepConfigError`, which the engine reports at the step's position like any
playbook problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from drkit.errors import UsageError


class StepConfigError(UsageError):
    """A step body the loader accepted but the step kind cannot use: a playbook problem (exit 2). The engine
    adds the position (engine.build.config_problem) before it reaches the user."""


def as_mapping(body: object, kind: str) -> Mapping[str, object]:
    if not isinstance(body, Mapping):
        raise StepConfigError(f"the body of a `{kind}` must be a mapping, got {type(body).__name__}")
    return body


def opt_str(body: Mapping[str, object], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise StepConfigError(f"`{key}` must be a string, got {type(value).__name__}")
    return value


def opt_bool(body: Mapping[str, object], key: str, default: bool) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise StepConfigError(f"`{key}` must be true or false, got {type(value).__name__}")
    return value


def opt_number(body: Mapping[str, object], key: str, default: float) -> float:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StepConfigError(f"`{key}` must be a number of seconds, got {type(value).__name__}")
    return float(value)


def str_map(body: Mapping[str, object], key: str) -> dict[str, str]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise StepConfigError(f"`{key}` must be a mapping of strings")
    return {str(k): str(v) for k, v in value.items()}


def compile_regex(pattern: str | None, key: str) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise StepConfigError(
            f"`{key}` is not a valid regular expression: {exc}",
            hint="Python regular expression syntax; quote the value in YAML",
        ) from exc
