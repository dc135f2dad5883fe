"""A deliberately small JSON path evaluator for `http` expectations: `$.a.b[0].c`, `$.items[*].name`,
`$['k']`.

Small enough to read in one sitting, so nobody has to wonder which JSONPath dialect a playbook speaks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""\.(?P<name>[A-Za-z_][A-Za-z0-9_-]*)   # .name
      | \[(?P<index>-?\d+)\]                   # [0]
      | \[\*\] | \.\*                          # [*] or .*
      | \[(?P<quote>['"])(?P<key>.*?)(?P=quote)\]  # ['key with.dots']
    """,
    re.VERBOSE,
)


class JsonPathError(ValueError):
    pass


@dataclass(frozen=True)
class _Step:
    key: str | int | None  # None: every element or value


def compile_path(path: str) -> tuple[_Step, ...]:
    if not path.startswith("$"):
        raise JsonPathError(f"JSON path {path!r} must start with '$'")
    steps: list[_Step] = []
    pos = 1
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if match is None:
            raise JsonPathError(f"JSON path {path!r}: cannot read {path[pos:]!r} (at character {pos + 1})")
        if match.group("name") is not None:
            steps.append(_Step(match.group("name")))
        elif match.group("index") is not None:
            steps.append(_Step(int(match.group("index"))))
        elif match.group("key") is not None:
            steps.append(_Step(match.group("key")))
        else:
            steps.append(_Step(None))
        pos = match.end()
    return tuple(steps)


def evaluate(path: str, document: object) -> list[object]:
    """Every value `path` selects in `document` (an empty list when nothing matches)."""
    current: list[object] = [document]
    for step in compile_path(path):
        following: list[object] = []
        for value in current:
            following.extend(_select(step, value))
        current = following
    return current


def _select(step: _Step, value: object) -> list[object]:
    if step.key is None:
        if isinstance(value, Mapping):
            return list(value.values())
        if isinstance(value, Sequence) and not isinstance(value, str):
            return list(value)
        return []
    if isinstance(step.key, int):
        if (
            isinstance(value, Sequence)
            and not isinstance(value, str)
            and -len(value) <= step.key < len(value)
        ):
            return [value[step.key]]
        return []
    if isinstance(value, Mapping) and step.key in value:
        return [value[step.key]]
    return []
