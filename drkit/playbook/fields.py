"""A small schema language for playbook fields.

One description serves three purposes: validating a loaded playbook with positioned errors, converting raw
YAML values into plain Python values (durations become seconds), and exporting the JSON Schema editors use.
Step kinds describe their bodies with it, which is why adding a step kind needs no change to the loader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias


@dataclass(frozen=True)
class Str:
    """A string. `enum` restricts the values; `secret` marks values never echoed in errors or reports."""

    enum: tuple[str, ...] = ()
    pattern: str | None = None  # a Python regular expression the whole value must match
    secret: bool = False
    min_length: int = 0
    # The value names one of the playbook's checklists (a step that runs one): the loader reports a name not
    # defined under `checklists:` at the name itself, so no kind has to be known to the loader by its key.
    names_checklist: bool = False


@dataclass(frozen=True)
class Int:
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Float:
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Bool:
    pass


@dataclass(frozen=True)
class Duration:
    """A duration such as `90s`, `5m`, `1h30m`, `250ms` or a bare number of seconds; becomes float seconds."""

    minimum_seconds: float = 0.0
    positive: bool = False  # zero is not allowed either (budgets, timeouts, intervals)


@dataclass(frozen=True)
class ListOf:
    item: FieldType
    min_items: int = 0


@dataclass(frozen=True)
class MapOf:
    """A mapping with free-form string keys (labels, parameters, headers)."""

    value: FieldType


@dataclass(frozen=True)
class AnyValue:
    """Any YAML value, kept as plain Python data (for example an expected JSON value)."""


@dataclass(frozen=True)
class Field:
    type: FieldType
    required: bool = False
    description: str = ""
    default: object = None


@dataclass(frozen=True)
class Obj:
    """A mapping with known keys. Unknown keys are errors, with the closest valid key suggested."""

    fields: Mapping[str, Field]
    description: str = ""
    # Groups of keys of which exactly one must be present (for example a source: kustomize, files or objects).
    exactly_one_of: tuple[tuple[str, ...], ...] = ()
    # Groups of optional keys that exclude one another (`memoryLimit` or `server`, or neither).
    at_most_one_of: tuple[tuple[str, ...], ...] = ()
    # Groups of keys of which one or more must be present (something for a log check to look for).
    at_least_one_of: tuple[tuple[str, ...], ...] = ()
    # (key, keys it needs): when `key` is present, each of those must be too (a tensor's dtype needs a shape).
    requires: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Keys people write that are not fields (a feature not offered), with what to do instead: the unknown-key
    # error gives that hint rather than guessing a close key.
    not_offered: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OneOf:
    """The value may take any of these shapes; the first whose YAML node type matches is used.

    Used for shorthands, e.g. `retries: 3` or `retries: {count: 3, delay: 5s}`; `check: name` or
    `check: {...}`.
    At most one option per YAML node type (scalar string, number, bool, mapping, sequence).
    """

    options: tuple[FieldType, ...]
    description: str = ""


FieldType: TypeAlias = Str | Int | Float | Bool | Duration | ListOf | MapOf | Obj | OneOf | AnyValue


@dataclass(frozen=True)
class KindSchema:
    """What a step kind or checklist item kind declares: its YAML key, its body and a one-line description."""

    kind: str
    body: FieldType
    description: str
    examples: tuple[object, ...] = field(default=())
