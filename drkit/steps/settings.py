"""Turning a validated plain step body into typed settings.

The loader validated the body against the kind's schema with positions, after substituting variables (a
`${var}` standing for a number is a number here): types, required keys, enums, lengths, patterns, ranges,
exclusive and dependent keys all hold. So these helpers only narrow plain values to their Python types; a
value of another type means the body never went through the loader, which is a bug, not a playbook problem.

What is left for a step kind are checks the schema cannot express (a regular expression that does not
compile, a memory quantity, a rule across fields). Those raise `StepConfigError`, which the engine reports
at the step's position like any playbook problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar

from drkit.errors import InternalError, UsageError

T = TypeVar("T")
C = TypeVar("C", bound=str)


class StepConfigError(UsageError):
    """A step body the loader accepted but the step kind cannot use: a playbook problem (exit 2). The engine
    adds the position (engine.build.config_problem) before it reaches the user."""


def as_mapping(body: object, kind: str) -> Mapping[str, object]:
    if not isinstance(body, Mapping):
        raise _not_validated(kind, body)
    return body


def req_str(body: Mapping[str, object], key: str) -> str:
    """A string field the schema requires."""
    return _narrow(body.get(key), str, key)


def opt_str(body: Mapping[str, object], key: str) -> str | None:
    value = body.get(key)
    return None if value is None else _narrow(value, str, key)


def opt_bool(body: Mapping[str, object], key: str, default: bool) -> bool:
    value = body.get(key)
    return default if value is None else _narrow(value, bool, key)


def opt_int(body: Mapping[str, object], key: str, default: int) -> int:
    value = body.get(key)
    return default if value is None else _narrow(value, int, key)


def opt_number(body: Mapping[str, object], key: str, default: float) -> float:
    """A number or a duration (which the schema turned into float seconds)."""
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _not_validated(key, value)
    return float(value)


def opt_choice(body: Mapping[str, object], key: str, choices: tuple[C, ...], default: C) -> C:
    """A `Str(enum=choices)` field as the Literal type of `choices`."""
    value = body.get(key)
    if value is None:
        return default
    for choice in choices:
        if choice == value:
            return choice
    raise _not_validated(key, value)


def opt_list(body: Mapping[str, object], key: str) -> list[object]:
    value = body.get(key)
    return [] if value is None else _narrow(value, list, key)


def list_of(body: Mapping[str, object], key: str, item: type[T]) -> tuple[T, ...]:
    return tuple(_narrow(value, item, key) for value in opt_list(body, key))


def str_list(body: Mapping[str, object], key: str) -> tuple[str, ...]:
    return list_of(body, key, str)


def str_map(body: Mapping[str, object], key: str) -> dict[str, str]:
    value = body.get(key)
    if value is None:
        return {}
    return {str(k): str(v) for k, v in as_mapping(value, key).items()}


def compile_regex(pattern: str | None, key: str) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:  # the schema cannot say which strings compile
        raise StepConfigError(
            f"`{key}` is not a valid regular expression: {exc}",
            hint="Python regular expression syntax; quote the value in YAML",
        ) from exc


def _narrow(value: object, expected: type[T], key: str) -> T:
    if not isinstance(value, expected):
        raise _not_validated(key, value)
    return value


def _not_validated(key: str, value: object) -> InternalError:
    return InternalError(
        f"`{key}` holds {type(value).__name__}: the step body was not validated against its kind's schema"
    )
