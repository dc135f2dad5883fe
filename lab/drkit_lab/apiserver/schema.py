"""Structural schemas of CustomResourceDefinitions: refusing non-structural ones, validating and pruning.

A real server prunes fields a schema does not name (unless `x-kubernetes-preserve-unknown-fields`), warns
about them, and refuses objects whose fields have the wrong type, violate an enum, a minimum or a maximum, or
lack a required field, with one 422 cause per problem in the real wording. What is not modelled: formats,
patterns, CEL rules, lengths, defaults and int-or-string.
"""

from __future__ import annotations

import json
from typing import Any

from drkit_lab.apiserver.errors import ApiError

Obj = dict[str, Any]
Problem = tuple[str, str, str]  # field, cause reason, message
_GO_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number", dict: "object", list: "array"}


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    return _GO_TYPES.get(type(value), "string")


def _fits(value: Any, wanted: str) -> bool:
    if wanted == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if wanted == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return _type_of(value) == wanted


def _literal(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def structural_problems(crd: Obj) -> list[Problem]:
    """Properties or items without a type (and no preserve-unknown-fields): a non-structural schema."""
    versions = (crd.get("spec") or {}).get("versions") or []
    problems: list[Problem] = []

    def walk(node: Obj, path: str) -> None:
        children = [(f"{path}.properties[{k}]", v) for k, v in (node.get("properties") or {}).items()]
        if isinstance(node.get("items"), dict):
            children.append((f"{path}.items", node["items"]))
        for child_path, child in children:
            if not isinstance(child, dict):
                continue
            loose = child.get("x-kubernetes-preserve-unknown-fields") or child.get(
                "x-kubernetes-int-or-string"
            )
            if not child.get("type") and not loose:
                what = "array items" if child_path.endswith(".items") else "object fields"
                problems.append(
                    (
                        f"{child_path}.type",
                        "FieldValueRequired",
                        f"Required value: must not be empty for specified {what}",
                    )
                )
            walk(child, child_path)

    for index, version in enumerate(versions):
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if isinstance(schema, dict):
            base = (
                "spec.validation.openAPIV3Schema"
                if len(versions) == 1
                else f"spec.versions[{index}].schema.openAPIV3Schema"
            )
            walk(schema, base)
    return problems


def validate(obj: Obj, schema: Obj) -> list[Problem]:
    """Type, enum, minimum/maximum and required problems of a custom object (metadata not checked)."""
    problems: list[Problem] = []

    def walk(value: Any, node: Obj, path: str) -> None:
        wanted = node.get("type")
        if wanted and value is not None and not _fits(value, wanted):
            message = (
                f"Invalid value: {_literal(_type_of(value))}: {path} in body must be of type {wanted}: "
                f"{_literal(_type_of(value))}"
            )
            problems.append((path, "FieldValueTypeInvalid", message))
            return
        if "enum" in node and value not in node["enum"]:
            allowed = ", ".join(_literal(v) for v in node["enum"])
            problems.append(
                (
                    path,
                    "FieldValueNotSupported",
                    f"Unsupported value: {_literal(value)}: supported values: {allowed}",
                )
            )
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in node and value < node["minimum"]:
                problems.append(
                    (
                        path,
                        "FieldValueInvalid",
                        f"Invalid value: {_literal(value)}: {path} in body should be greater than or equal "
                        f"to {node['minimum']}",
                    )
                )
            if "maximum" in node and value > node["maximum"]:
                problems.append(
                    (
                        path,
                        "FieldValueInvalid",
                        f"Invalid value: {_literal(value)}: {path} in body should be less than or equal "
                        f"to {node['maximum']}",
                    )
                )
        if isinstance(value, dict):
            for name in node.get("required") or []:
                if name not in value:
                    problems.append(
                        (f"{path}.{name}" if path else name, "FieldValueRequired", "Required value")
                    )
            for name, child in (node.get("properties") or {}).items():
                if name in value:
                    walk(value[name], child, f"{path}.{name}" if path else name)
        if isinstance(value, list) and isinstance(node.get("items"), dict):
            for index, item in enumerate(value):
                walk(item, node["items"], f"{path}[{index}]")

    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    walk(
        body,
        {
            **schema,
            "properties": {
                k: v
                for k, v in (schema.get("properties") or {}).items()
                if k not in ("apiVersion", "kind", "metadata")
            },
        },
        "",
    )
    return problems


def prune(obj: Obj, schema: Obj) -> list[str]:
    """Drop fields the schema does not name; return their paths (for the Warning header), in order."""
    pruned: list[str] = []

    def walk(value: Any, node: Obj, path: str) -> None:
        if node.get("x-kubernetes-preserve-unknown-fields"):
            return
        if isinstance(value, dict):
            props = node.get("properties")
            extra = node.get("additionalProperties")
            for name in list(value):
                child_path = f"{path}.{name}" if path else name
                if props is not None and name in props:
                    walk(value[name], props[name], child_path)
                elif isinstance(extra, dict):
                    walk(value[name], extra, child_path)
                elif extra is True:
                    continue
                else:
                    del value[name]
                    pruned.append(child_path)
        elif isinstance(value, list) and isinstance(node.get("items"), dict):
            for index, item in enumerate(value):
                walk(item, node["items"], f"{path}[{index}]")

    known = {"apiVersion", "kind", "metadata"}
    props = schema.get("properties") or {}
    for name in list(obj):
        if name in known:
            continue
        if name in props:
            walk(obj[name], props[name], name)
        elif not schema.get("x-kubernetes-preserve-unknown-fields"):
            del obj[name]
            pruned.append(name)
    return pruned


def invalid_error(kind: str, group: str, name: str, problems: list[Problem]) -> ApiError:
    """422 with the real server's message: one problem inline, several as a bracketed list."""
    rendered = [f"{field}: {message}" for field, _, message in problems]
    summary = rendered[0] if len(rendered) == 1 else "[" + ", ".join(rendered) + "]"
    qualified = f"{kind}.{group}" if group else kind
    details: Obj = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    details["causes"] = [{"reason": r, "message": m, "field": f} for f, r, m in problems]
    return ApiError(422, "Invalid", f'{qualified} "{name}" is invalid: {summary}', details=details)
