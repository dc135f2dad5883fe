"""`${name}` references in playbook strings: finding them, substituting them, saying what is wrong with them.

Substitution is textual and happens once, at load time, below `target`, `phases` and `checklists` (never
inside `vars`, so a variable cannot refer to another). `$${` is a literal `${`. The scanner reports offsets so
the loader can point at the exact column of a bad reference.

Inside `vars` only one reference is expanded: `${env:NAME}` (or `${env:NAME:-default}`), a value taken from
the environment. It is allowed there and nowhere else, so every value a playbook takes from the environment
is a named variable that `--set` can override and `drkit plan` can show with where it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
WHOLE_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

ENV_PREFIX = "env:"
ENV_DEFAULT_SEPARATOR = ":-"

ProblemKind = Literal["undefined", "unterminated", "invalid-name", "env-outside-vars"]


@dataclass(frozen=True)
class ReferenceProblem:
    ordinal: int  # which `${` in the string (0-based, escapes not counted), to find it in the source text
    kind: ProblemKind
    name: str  # the name written, possibly empty or malformed


@dataclass(frozen=True)
class Substituted:
    text: str
    problems: tuple[ReferenceProblem, ...]
    names: frozenset[str]  # variables that were substituted, so secrets among them can be masked


def _scan(text: str) -> Iterator[tuple[int, Literal["escape", "ref", "unterminated"], int, str]]:
    """Yield (offset, token, end, name) for each `$${` escape and `${...}` reference, left to right."""
    index = 0
    while True:
        start = text.find("$", index)
        if start < 0:
            return
        if text.startswith("$${", start):
            yield start, "escape", start + 3, ""
            index = start + 3
        elif text.startswith("${", start):
            close = text.find("}", start + 2)
            if close < 0:
                yield start, "unterminated", len(text), text[start + 2 :]
                return
            yield start, "ref", close + 1, text[start + 2 : close]
            index = close + 1
        else:
            index = start + 1


def reference_offsets(text: str) -> list[int]:
    """Offsets of every `${` that starts a reference (escapes excluded), in order."""
    return [offset for offset, what, _, _ in _scan(text) if what != "escape"]


def substitute(text: str, values: Mapping[str, str]) -> Substituted:
    """Replace `${name}` by its value and `$${` by `${`; undefined or malformed references stay as written."""
    out: list[str] = []
    problems: list[ReferenceProblem] = []
    names: set[str] = set()
    index = 0
    ordinal = 0
    for offset, what, end, name in _scan(text):
        out.append(text[index:offset])
        written = text[offset:end]
        index = end
        if what == "escape":
            out.append("${")
            continue
        if what == "unterminated":
            problems.append(ReferenceProblem(ordinal, "unterminated", name))
            out.append(written)
        elif name.startswith(ENV_PREFIX):
            problems.append(ReferenceProblem(ordinal, "env-outside-vars", name))
            out.append(written)
        elif not VAR_NAME.fullmatch(name):
            problems.append(ReferenceProblem(ordinal, "invalid-name", name))
            out.append(written)
        elif name not in values:
            problems.append(ReferenceProblem(ordinal, "undefined", name))
            out.append(written)
        else:
            names.add(name)
            out.append(values[name])
        ordinal += 1
    out.append(text[index:])
    return Substituted("".join(out), tuple(problems), frozenset(names))


# -- `${env:NAME}` in variable values ------------------------------------------------------------------------

EnvProblemKind = Literal["unset", "invalid-env-name", "unterminated"]


@dataclass(frozen=True)
class EnvProblem:
    ordinal: int  # which `${` of the value, as for ReferenceProblem
    kind: EnvProblemKind
    env_var: str  # the environment variable's name as written


@dataclass(frozen=True)
class EnvExpanded:
    text: str
    problems: tuple[EnvProblem, ...]
    env_vars: tuple[str, ...]  # every environment variable referred to, in order
    defaulted: tuple[str, ...]  # those that were unset or empty, so their default was used


def has_env_reference(text: str) -> bool:
    """Whether `text` holds a `${env:` (or its escape `$${env:`), so expand_env has something to do."""
    return "${" + ENV_PREFIX in text


def expand_env(text: str, env: Mapping[str, str]) -> EnvExpanded:
    """Replace each `${env:NAME}` / `${env:NAME:-default}` of a variable's value with the environment's value.

    As in the shell, an empty value counts as unset: the default is used, and without one it is a problem
    (an empty URL or path is never what a playbook means). `$${env:` is a literal `${env:`; every other
    `${...}` stays as written, because variables do not refer to each other."""
    out: list[str] = []
    problems: list[EnvProblem] = []
    used: list[str] = []
    defaulted: list[str] = []
    index = 0
    ordinal = 0
    for offset, what, end, name in _scan(text):
        written = text[offset:end]
        out.append(text[index:offset])
        index = end
        if what == "escape":
            is_env = text.startswith(ENV_PREFIX, end)
            out.append("${" if is_env else written)
            continue
        if not name.startswith(ENV_PREFIX):
            out.append(written)
        elif what == "unterminated":
            problems.append(EnvProblem(ordinal, "unterminated", name[len(ENV_PREFIX) :]))
            out.append(written)
        else:
            variable, has_default, default = name[len(ENV_PREFIX) :].partition(ENV_DEFAULT_SEPARATOR)
            value = env.get(variable, "") if VAR_NAME.fullmatch(variable) else None
            if value is None:
                problems.append(EnvProblem(ordinal, "invalid-env-name", variable))
                out.append(written)
            elif value:
                used.append(variable)
                out.append(value)
            elif has_default:
                used.append(variable)
                defaulted.append(variable)
                out.append(default)
            else:
                used.append(variable)
                problems.append(EnvProblem(ordinal, "unset", variable))
                out.append(written)
        ordinal += 1
    out.append(text[index:])
    return EnvExpanded("".join(out), tuple(problems), tuple(used), tuple(defaulted))
