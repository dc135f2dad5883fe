"""`${name}` references in playbook strings: finding them, substituting them, saying what is wrong with them.

Substitution is textual and happens once, at load time, below `target`, `phases` and `checklists` (never
inside `vars`, so a variable cannot refer to another). `$${` is a literal `${`. The scanner reports offsets so
the loader can point at the exact column of a bad reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
WHOLE_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

ProblemKind = Literal["undefined", "unterminated", "invalid-name"]


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
