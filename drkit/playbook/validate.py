"""Walk a ruamel node tree against the fields.py schema language, collecting positioned problems.

The loader composes the YAML into nodes (not Python objects) so that every scalar keeps its exact line and
column, duplicate keys are still visible, and `${var}` references can be located inside the source text. The
validator turns each node into a plain value (durations become seconds), substitutes variables where asked,
and never stops at the first problem: a caller checks `problems` at the end.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from drkit.playbook.durations import DURATION_HINT, MAX_SECONDS, format_duration, parse_duration
from drkit.playbook.fields import (
    AnyValue,
    Bool,
    Duration,
    FieldType,
    Float,
    Int,
    ListOf,
    MapOf,
    Obj,
    OneOf,
    Str,
)
from drkit.playbook.problems import Problem
from drkit.playbook.source import Position
from drkit.playbook.suggest import did_you_mean
from drkit.playbook.variables import WHOLE_REFERENCE, reference_offsets, substitute
from drkit.playbook.yaml_input import CORE_TAGS

TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = TAG + "str", TAG + "int", TAG + "float", TAG + "bool", TAG + "null"
MERGE, TIMESTAMP = TAG + "merge", TAG + "timestamp"
_KNOWN_SCALAR_TAGS = frozenset({STR, INT, FLOAT, BOOL, NULL, TIMESTAMP})


class Invalid:
    """The value of a node that had a problem; the playbook will be rejected, so it is never used."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Final = Invalid()


@dataclass(frozen=True)
class SourceText:
    """The playbook text, for positions of offsets inside scalars and for the lines problems show."""

    filename: str
    text: str
    lines: tuple[str, ...] = field(init=False)
    line_starts: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        lines = tuple(self.text.split("\n"))
        starts = [0]
        for line in lines[:-1]:
            starts.append(starts[-1] + len(line) + 1)
        object.__setattr__(self, "lines", lines)
        object.__setattr__(self, "line_starts", tuple(starts))

    def position_at(self, index: int) -> Position:
        line = bisect.bisect_right(self.line_starts, index) - 1
        return Position(self.filename, line + 1, index - self.line_starts[line] + 1)

    def line(self, number: int) -> str:
        """The 1-based line `number`, or "" outside the file."""
        return self.lines[number - 1] if 1 <= number <= len(self.lines) else ""


@dataclass(frozen=True)
class SecretSpan:
    """Columns [start, end) of a 1-based line hold a secret value; `end` None means to the end of the line."""

    line: int
    start: int
    end: int | None


def scalar_type_name(node: Node) -> str:
    """How a node is described in "expected X, got Y"."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    tag = node.tag
    if tag == NULL:
        return "nothing (null)"
    if tag == BOOL:
        return f"a boolean ({node.value})"
    if tag == INT:
        return f"an integer ({node.value})"
    if tag == FLOAT:
        return f"a number ({node.value})"
    text = str(node.value)
    return f"a string ('{text if len(text) <= 40 else text[:37] + '...'}')"


def describe(ftype: FieldType) -> str:
    """What a field expects, for "expected X" messages."""
    if isinstance(ftype, Str):
        return "a string" if not ftype.enum else "one of " + ", ".join(ftype.enum)
    if isinstance(ftype, Int):
        return "an integer"
    if isinstance(ftype, Float):
        return "a number"
    if isinstance(ftype, Bool):
        return "true or false"
    if isinstance(ftype, Duration):
        return "a duration (e.g. 90s, 5m, 1h30m)"
    if isinstance(ftype, ListOf):
        return "a list"
    if isinstance(ftype, MapOf | Obj):
        return "a mapping"
    if isinstance(ftype, OneOf):
        return " or ".join(describe(option) for option in ftype.options)
    return "a value"


def parse_yaml_int(text: str) -> int:
    """A YAML 1.2 integer as ruamel resolves it: decimal, 0x, 0o, 0b, with optional sign and underscores."""
    cleaned = text.replace("_", "")
    sign = -1 if cleaned.startswith("-") else 1
    digits = cleaned.lstrip("+-").lower()
    for prefix, base in (("0x", 16), ("0o", 8), ("0b", 2)):
        if digits.startswith(prefix):
            return sign * int(digits[2:], base)
    return sign * int(digits, 10)


def parse_yaml_float(text: str) -> float:
    cleaned = text.replace("_", "").lower()
    if cleaned.lstrip("+-") in (".inf", "inf"):
        return -math.inf if cleaned.startswith("-") else math.inf
    if cleaned in (".nan", "nan"):
        return math.nan
    return float(cleaned)


@dataclass(frozen=True)
class ChecklistName:
    """A value its schema says names a checklist (`Str.names_checklist`), and where it is written: the loader
    checks it once every checklist is known."""

    node: Node
    name: str


@dataclass
class Validator:
    """Validates nodes of one source file. `variables` are substituted where a caller passes `subst=True`."""

    source: SourceText
    variables: Mapping[str, str] = field(default_factory=dict)
    secret_variables: frozenset[str] = frozenset()
    problems: list[Problem] = field(default_factory=list)
    secret_values: set[str] = field(default_factory=set)
    secret_spans: list[SecretSpan] = field(default_factory=list)
    checklist_names: list[ChecklistName] = field(default_factory=list)

    # -- positions and reports -------------------------------------------------------------------------------

    def position(self, node: Node, at: Node | None = None) -> Position:
        """Where `node` starts; an empty value (`key:` and nothing) is reported at its key `at` instead."""
        if at is not None and isinstance(node, ScalarNode) and node.tag == NULL and node.value == "":
            node = at
        mark = node.start_mark
        return Position(self.source.filename, mark.line + 1, mark.column + 1)

    def report(self, where: Node | Position, message: str, hint: str | None = None) -> Invalid:
        position = where if isinstance(where, Position) else self.position(where)
        self.problems.append(Problem(position, message, hint))
        return INVALID

    def mark_secret(self, node: Node, value: str) -> None:
        """Remember a secret value and where it is written, so problems never show it."""
        self.secret_values.add(value)
        start, end = node.start_mark, node.end_mark
        if start.line == end.line:
            self.secret_spans.append(SecretSpan(start.line + 1, start.column + 1, end.column + 1))
        else:
            self.secret_spans.append(SecretSpan(start.line + 1, start.column + 1, None))
            for line in range(start.line + 2, end.line + 2):
                self.secret_spans.append(SecretSpan(line, 1, None))

    # -- mappings --------------------------------------------------------------------------------------------

    def pairs(self, node: Node, where: str, *, at: Node | None = None) -> list[tuple[str, Node, Node]] | None:
        """The (key, key node, value node) pairs of a mapping, merge keys expanded and duplicates reported.

        Returns None (after reporting) when `node` is not a mapping.
        """
        if not isinstance(node, MappingNode):
            self.report(self.position(node, at), f"{where} must be a mapping, got {scalar_type_name(node)}")
            return None
        result: list[tuple[str, Node, Node]] = []
        first_seen: dict[str, Node] = {}
        merged: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == MERGE:
                merged.extend(value_node.value if isinstance(value_node, SequenceNode) else [value_node])
                continue
            if not isinstance(key_node, ScalarNode):
                self.report(
                    key_node, f"keys in {where} must be plain names, got {scalar_type_name(key_node)}"
                )
                continue
            key = str(key_node.value)
            if key in first_seen:
                first_line = first_seen[key].start_mark.line + 1
                self.report(
                    key_node,
                    f"duplicate key '{key}' in {where} (first at line {first_line})",
                    "remove one of them: YAML would silently keep only the last",
                )
                continue
            first_seen[key] = key_node
            result.append((key, key_node, value_node))
        for source in merged:
            for key, key_node, value_node in self.pairs(source, f"the merge ('<<') into {where}") or []:
                if key not in first_seen:
                    first_seen[key] = key_node
                    result.append((key, key_node, value_node))
        return result

    def check_keys(
        self,
        pairs: Iterable[tuple[str, Node, Node]],
        allowed: Iterable[str],
        where: str,
        *,
        suggest_from: Iterable[str] = (),
        not_offered: Mapping[str, str] | None = None,
    ) -> None:
        """Report every key not in `allowed`, with its hint from `not_offered` or else the closest of
        `allowed` and `suggest_from`."""
        allowed_set = set(allowed)
        candidates = sorted(allowed_set | set(suggest_from))
        hints = not_offered or {}
        for key, key_node, _ in pairs:
            if key not in allowed_set:
                hint = hints.get(key) or did_you_mean(key, candidates)
                self.report(key_node, f"unknown key '{key}' in {where}", hint)

    # -- values ----------------------------------------------------------------------------------------------

    def value(
        self, node: Node, ftype: FieldType, where: str, *, at: Node | None = None, subst: bool
    ) -> object:
        """The plain value of `node` checked against `ftype`, or INVALID after reporting why not."""
        if isinstance(node, ScalarNode) and not self._fits_its_tag(node, where):
            return INVALID
        if isinstance(ftype, OneOf):
            return self._one_of(node, ftype, where, at=at, subst=subst)
        if isinstance(ftype, Obj):
            return self._obj(node, ftype, where, at=at, subst=subst)
        if isinstance(ftype, MapOf):
            pairs = self.pairs(node, where, at=at)
            if pairs is None:
                return INVALID
            return {
                key: self.value(value_node, ftype.value, f"'{key}' in {where}", at=key_node, subst=subst)
                for key, key_node, value_node in pairs
            }
        if isinstance(ftype, ListOf):
            return self._list(node, ftype, where, at=at, subst=subst)
        if isinstance(ftype, AnyValue):
            return self._any(node, where, subst=subst)
        if not isinstance(node, ScalarNode) or node.tag not in _KNOWN_SCALAR_TAGS:
            if isinstance(node, ScalarNode) and str(node.tag) not in CORE_TAGS:
                return INVALID  # reported where it was composed (drkit.playbook.yaml_input)
            return self._wrong_type(node, ftype, where, at)
        if isinstance(ftype, Str):
            return self._str(node, ftype, where, at=at, subst=subst)
        if isinstance(ftype, Duration):
            return self._duration(node, ftype, where, at=at, subst=subst)
        return self._number_or_bool(node, ftype, where, at=at, subst=subst)

    def _wrong_type(self, node: Node, ftype: FieldType, where: str, at: Node | None) -> Invalid:
        return self.report(
            self.position(node, at), f"{where} must be {describe(ftype)}, got {scalar_type_name(node)}"
        )

    def _obj(self, node: Node, ftype: Obj, where: str, *, at: Node | None, subst: bool) -> object:
        pairs = self.pairs(node, where, at=at)
        if pairs is None:
            return INVALID
        self.check_keys(pairs, ftype.fields, where, not_offered=ftype.not_offered)
        result: dict[str, object] = {}
        present: dict[str, Node] = {}
        for key, key_node, value_node in pairs:
            spec = ftype.fields.get(key)
            if spec is None:
                continue
            present[key] = key_node
            result[key] = self.value(value_node, spec.type, f"'{key}' in {where}", at=key_node, subst=subst)
        for key, spec in ftype.fields.items():
            if key in present:
                continue
            if spec.required:
                hint = f"add '{key}:'" + (f" ({spec.description})" if spec.description else "")
                self.report(self.position(node, at), f"missing required key '{key}' in {where}", hint)
            elif spec.default is not None:
                result[key] = spec.default
        for group in ftype.at_least_one_of:
            if not any(key in present for key in group):
                self.report(
                    self.position(node, at),
                    f"{where} needs at least one of: {', '.join(group)}",
                    f"add one or more of {', '.join(repr(k) for k in group)}",
                )
        for group in ftype.exactly_one_of:
            if not any(key in present for key in group):
                self.report(
                    self.position(node, at),
                    f"{where} needs one of: {', '.join(group)}",
                    f"add exactly one of {', '.join(repr(k) for k in group)}",
                )
        for group in (*ftype.exactly_one_of, *ftype.at_most_one_of):
            given = [key for key in group if key in present]
            for extra in given[1:]:
                self.report(
                    present[extra],
                    f"'{extra}' cannot be combined with '{given[0]}' in {where}",
                    f"keep only one of {', '.join(repr(k) for k in group)}",
                )
        for key, needed in ftype.requires:
            if key not in present:
                continue
            for other in needed:
                if other not in present:
                    spec = ftype.fields[other]
                    hint = f"add '{other}:'" + (f" ({spec.description})" if spec.description else "")
                    self.report(present[key], f"'{key}' in {where} needs '{other}' as well", hint)
        return result

    def _list(self, node: Node, ftype: ListOf, where: str, *, at: Node | None, subst: bool) -> object:
        if not isinstance(node, SequenceNode):
            return self._wrong_type(node, ftype, where, at)
        if len(node.value) < ftype.min_items:
            noun = "item" if ftype.min_items == 1 else "items"
            self.report(self.position(node, at), f"{where} needs at least {ftype.min_items} {noun}")
        return [
            self.value(item, ftype.item, f"item {index} of {where}", subst=subst)
            for index, item in enumerate(node.value, start=1)
        ]

    def _one_of(self, node: Node, ftype: OneOf, where: str, *, at: Node | None, subst: bool) -> object:
        option = self._choose(node, ftype.options, subst=subst)
        if option is None:
            return self._wrong_type(node, ftype, where, at)
        return self.value(node, option, where, at=at, subst=subst)

    def _choose(self, node: Node, options: Iterable[FieldType], *, subst: bool) -> FieldType | None:
        """The option whose shape matches the node: exact YAML types first, then lenient scalar readings."""
        options = tuple(options)
        for option in options:
            if isinstance(option, AnyValue):
                return option
            if isinstance(node, MappingNode) and isinstance(option, Obj | MapOf):
                return option
            if isinstance(node, SequenceNode) and isinstance(option, ListOf):
                return option
        if not isinstance(node, ScalarNode):
            return None
        exact: dict[str, tuple[type, ...]] = {
            STR: (Str, Duration),
            INT: (Int, Float, Duration),
            FLOAT: (Float, Duration),
            BOOL: (Bool,),
            TIMESTAMP: (Str,),
        }
        for option in options:
            if isinstance(option, exact.get(str(node.tag), ())):
                return option
        whole_reference = subst and node.tag == STR and WHOLE_REFERENCE.fullmatch(str(node.value))
        for option in options:
            if whole_reference and isinstance(option, Int | Float | Bool):
                return option
            if node.tag in (INT, FLOAT, BOOL) and isinstance(option, Str):
                return option
        return None

    def _fits_its_tag(self, node: ScalarNode, where: str) -> bool:
        """An explicit `!!int`, `!!float` or `!!bool` on text that is not one (`!!int abc`) is reported here:
        the value would not convert. Implicit tags always fit (ruamel resolved them from the text)."""
        tag, text = node.tag, str(node.value)
        if tag not in (INT, FLOAT, BOOL):
            return True
        if tag == BOOL:
            fits = text.lower() in ("true", "false")
        else:
            try:
                parse_yaml_int(text) if tag == INT else parse_yaml_float(text)
                fits = True
            except ValueError:
                fits = False
        if not fits:
            shown = text if len(text) <= 40 else text[:37] + "..."
            self.report(node, f"'{shown}' is not a valid !!{tag[len(TAG) :]} ({where})", "remove the tag")
        return fits

    def _any(self, node: Node, where: str, *, subst: bool) -> object:
        if isinstance(node, ScalarNode) and not self._fits_its_tag(node, where):
            return INVALID
        if isinstance(node, MappingNode):
            pairs = self.pairs(node, where) or []
            return {key: self._any(value, f"'{key}' in {where}", subst=subst) for key, _, value in pairs}
        if isinstance(node, SequenceNode):
            return [self._any(item, where, subst=subst) for item in node.value]
        text = str(node.value)
        tag = node.tag
        if tag == NULL:
            return None
        if tag == BOOL:
            return text.lower() == "true"
        if tag == INT:
            return parse_yaml_int(text)
        if tag == FLOAT:
            return parse_yaml_float(text)
        return self._substituted(node, text) if subst else text

    # -- scalars ---------------------------------------------------------------------------------------------

    def _substituted(self, node: Node, text: str) -> str | Invalid:
        """`text` (the value of `node`) with variables substituted; problems are reported at the `${`."""
        result = substitute(text, self.variables)
        if not result.problems:
            secrets = result.names & self.secret_variables
            if secrets:
                self.secret_values.add(result.text)
            return result.text
        raw = self.source.text[node.start_mark.index : node.end_mark.index]
        offsets = reference_offsets(raw)
        for problem in result.problems:
            if problem.ordinal < len(offsets):
                where = self.source.position_at(node.start_mark.index + offsets[problem.ordinal])
            else:
                where = self.position(node)
            written = "${" + problem.name
            if problem.kind == "unterminated":
                self.report(
                    where,
                    f"unterminated variable reference '{written}'",
                    "close it with '}', or write '$${' for a literal '${'",
                )
            elif problem.kind == "env-outside-vars":
                self.report(
                    where,
                    f"'{written}}}' reads the environment outside 'vars'",
                    "declare a variable that takes it, e.g. 'vars: {url: \"" + written + "}\"}', and write "
                    "${url} here: then --set can override it and `drkit plan` shows where it came from",
                )
            elif problem.kind == "invalid-name":
                self.report(
                    where,
                    f"invalid variable reference '{written}}}'",
                    "a variable name is letters, digits and '_', not starting with a digit",
                )
            else:
                hint = did_you_mean(problem.name, self.variables) or (
                    f"declare it under 'vars:' (e.g. {problem.name}: value), "
                    "or write '$${' for a literal '${'"
                )
                self.report(where, f"undefined variable '{problem.name}'", hint)
        return INVALID

    def _str(self, node: ScalarNode, ftype: Str, where: str, *, at: Node | None, subst: bool) -> object:
        if node.tag == NULL:
            return self._wrong_type(node, ftype, where, at)
        text: str | Invalid = str(node.value)
        if subst and node.tag == STR:
            text = self._substituted(node, str(node.value))
        if ftype.secret:
            self.mark_secret(node, str(node.value))
            if isinstance(text, str):
                self.secret_values.add(text)
        if isinstance(text, Invalid):
            return INVALID
        shown = "the value" if ftype.secret else f"'{text}'"
        if len(text) < ftype.min_length:
            return self.report(node, f"{where} must be at least {ftype.min_length} character(s) long")
        if ftype.enum and text not in ftype.enum:
            return self.report(
                node,
                f"{shown} is not allowed for {where}",
                f"use one of: {', '.join(ftype.enum)}"
                + ("" if ftype.secret else f" ({did_you_mean(text, ftype.enum) or 'none is close'})"),
            )
        if ftype.pattern is not None and re.fullmatch(ftype.pattern, text) is None:
            return self.report(node, f"{shown} is not valid for {where}", f"it must match {ftype.pattern}")
        if ftype.names_checklist:
            self.checklist_names.append(ChecklistName(node, text))
        return text

    def _duration(
        self, node: ScalarNode, ftype: Duration, where: str, *, at: Node | None, subst: bool
    ) -> object:
        if node.tag in (INT, FLOAT):
            seconds = parse_yaml_float(str(node.value))
        elif node.tag == STR:
            text = self._substituted(node, str(node.value)) if subst else str(node.value)
            if isinstance(text, Invalid):
                return INVALID
            try:
                seconds = parse_duration(text)
            except ValueError:
                return self.report(node, f"invalid duration '{text}' for {where}", DURATION_HINT)
        else:
            return self._wrong_type(node, ftype, where, at)
        if not math.isfinite(seconds):
            return self.report(node, f"{where} must be a finite duration", DURATION_HINT)
        if seconds > MAX_SECONDS:
            return self.report(
                node,
                f"{where} must be at most {format_duration(MAX_SECONDS)} (30 days), "
                f"got {format_duration(seconds)}",
                "a duration this long is a mistake in its unit (5000h for 50m?)",
            )
        if ftype.positive and seconds <= 0:
            return self.report(node, f"{where} must be greater than 0, got {format_duration(seconds)}")
        if seconds < ftype.minimum_seconds:
            return self.report(
                node,
                f"{where} must be at least {format_duration(ftype.minimum_seconds)}, "
                f"got {format_duration(seconds)}",
            )
        return seconds

    def _number_or_bool(
        self, node: ScalarNode, ftype: Int | Float | Bool, where: str, *, at: Node | None, subst: bool
    ) -> object:
        text = str(node.value)
        tag = node.tag
        from_variable = ""
        if tag == STR and subst and WHOLE_REFERENCE.fullmatch(text):
            substituted = self._substituted(node, text)
            if isinstance(substituted, Invalid):
                return INVALID
            from_variable = f" (from {text})"
            text = substituted.strip()
            tag = _resolve_plain(text)
        got = f"'{text}'{from_variable}" if from_variable else scalar_type_name(node)
        if isinstance(ftype, Bool):
            if tag != BOOL:
                return self.report(self.position(node, at), f"{where} must be true or false, got {got}")
            return text.lower() == "true"
        if tag == INT or (tag == FLOAT and isinstance(ftype, Float)):
            number: int | float = parse_yaml_int(text) if tag == INT else parse_yaml_float(text)
        else:
            return self.report(self.position(node, at), f"{where} must be {describe(ftype)}, got {got}")
        if isinstance(ftype, Float):
            number = float(number)
        if ftype.minimum is not None and number < ftype.minimum:
            return self.report(node, f"{where} must be at least {ftype.minimum}, got {number}")
        if ftype.maximum is not None and number > ftype.maximum:
            return self.report(node, f"{where} must be at most {ftype.maximum}, got {number}")
        return number


_PLAIN_INT = re.compile(r"[-+]?(?:[0-9][0-9_]*|0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+)")
_PLAIN_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
)
_PLAIN_BOOL = re.compile(r"true|True|TRUE|false|False|FALSE")


def _resolve_plain(text: str) -> str:
    """The YAML 1.2 tag a plain scalar with this text would get (for values that came from a variable)."""
    if _PLAIN_BOOL.fullmatch(text):
        return BOOL
    if _PLAIN_INT.fullmatch(text):
        return INT
    if _PLAIN_FLOAT.fullmatch(text):
        return FLOAT
    return STR
