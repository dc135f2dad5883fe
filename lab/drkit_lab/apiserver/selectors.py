"""Label and field selectors, parsed once per request and matched against plain-dict objects.

Label selectors follow k8s.io/apimachinery/pkg/labels: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`,
`a`, `!a`. Field selectors support `=`, `==` and `!=` on any dotted path (`metadata.name`, `status.phase`);
a real server allows only a few fields per kind, the lab is more permissive.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from drkit_lab.apiserver.errors import bad_request

Matcher = Callable[[dict[str, Any]], bool]

_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s+(in|notin)\s+\((.*)\)\s*$")
_EQ_RE = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*$")


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses: `a in (x,y),b` -> [`a in (x,y)`, `b`]."""
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p.strip()]


def _label_requirement(text: str) -> Callable[[Mapping[str, str]], bool]:
    if match := _SET_RE.match(text):
        if match.group(1):
            raise bad_request(f"unable to parse requirement: invalid label selector {text!r}")
        key, op = match.group(2), match.group(3)
        values = {v.strip() for v in match.group(4).split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _EQ_RE.match(text):
        key, op, value = match.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _EXISTS_RE.match(text):
        negated, key = match.groups()
        if negated:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise bad_request(f"unable to parse requirement: invalid label selector {text!r}")


def label_matcher(selector: str) -> Matcher | None:
    """A predicate for `selector`, or None when it selects everything. Raises 400 when it does not parse."""
    if not selector.strip():
        return None
    requirements = [_label_requirement(part) for part in _split_top_level(selector)]

    def matches(obj: dict[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(req(labels) for req in requirements)

    return matches


def _field_value(obj: dict[str, Any], path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, dict):
            return ""
        node = node.get(part)
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


def field_matcher(selector: str) -> Matcher | None:
    """A predicate for a field selector such as `metadata.name=x,status.phase!=Running`; None selects all."""
    if not selector.strip():
        return None
    requirements: list[tuple[str, bool, str]] = []
    for part in selector.split(","):
        if not part.strip():
            continue
        match = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not match:
            raise bad_request(f"invalid field selector: {part!r}")
        requirements.append((match.group(1), match.group(2) == "!=", match.group(3)))

    def matches(obj: dict[str, Any]) -> bool:
        return all((_field_value(obj, path) == value) != negated for path, negated, value in requirements)

    return matches


def selected_name(selector: str) -> str | None:
    """The name a field selector pins with `metadata.name=x` (lets a list or watch skip a scan), else None."""
    for part in selector.split(","):
        match = re.match(r"^\s*metadata\.name\s*==?\s*(.+?)\s*$", part)
        if match:
            return match.group(1)
    return None
