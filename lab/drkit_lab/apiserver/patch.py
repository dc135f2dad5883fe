"""The four PATCH flavours a Kubernetes server accepts, applied to plain-dict objects.

- JSON patch (RFC 6902), including `test`;
- JSON merge patch (RFC 7386);
- strategic merge patch for built-in kinds: lists merged by their merge key where kubectl relies on it
  (containers, volumes, env, ports ...), `$patch: delete|replace` directives, `$setElementOrder`,
  `$deleteFromPrimitiveList`, `$retainKeys`; other lists (finalizers included) are replaced;
- server-side apply bodies (YAML or JSON); ownership, conflicts and list merging are `fields.py`'s.
"""

from __future__ import annotations

import json
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from drkit_lab.apiserver.errors import ApiError, bad_request
from drkit_lab.apiserver.store import clone

Obj = dict[str, Any]

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

# Field name -> merge key of list items, for the lists kubectl's strategic patches expect merged.
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
}


def _invalid_patch(message: str) -> ApiError:
    """422 as a real server words it: the JSON patch library's reason (`message`) is not shown."""
    del message
    return ApiError(
        422, "Invalid", "the server rejected our request due to an error in our request", details={}
    )


# ----------------------------------------------------------------------------------------------- JSON patch
def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _invalid_patch(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _resolve(doc: Any, parts: list[str], path: str) -> Any:
    node = doc
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise _invalid_patch(
                f"the server rejected our request due to an error in our request: "
                f"doc is missing path: {path!r}"
            )
    return node


def _parent(doc: Any, path: str) -> tuple[Any, str]:
    parts = _pointer(path)
    if not parts:
        raise _invalid_patch("the root document cannot be the target of this operation")
    return _resolve(doc, parts[:-1], path), parts[-1]


def _add(doc: Any, path: str, value: Any) -> None:
    container, last = _parent(doc, path)
    if isinstance(container, dict):
        container[last] = value
    elif isinstance(container, list):
        if last == "-":
            container.append(value)
        elif last.isdigit() and int(last) <= len(container):
            container.insert(int(last), value)
        else:
            raise _invalid_patch(f"add operation does not apply: index out of bounds at {path!r}")
    else:
        raise _invalid_patch(f"doc is missing path: {path!r}")


def _remove(doc: Any, path: str) -> Any:
    container, last = _parent(doc, path)
    if isinstance(container, dict) and last in container:
        return container.pop(last)
    if isinstance(container, list) and last.isdigit() and int(last) < len(container):
        return container.pop(int(last))
    raise _invalid_patch(f"remove operation does not apply: doc is missing path: {path!r}")


def json_patch(obj: Obj, operations: Any) -> Obj:
    if not isinstance(operations, list):
        raise bad_request("json patch must be a list of operations")
    doc = clone(obj)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise bad_request(f"invalid json patch operation: {json.dumps(op)[:200]}")
        kind, path = op["op"], op["path"]
        if kind == "add":
            _add(doc, path, clone(op.get("value")))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            _remove(doc, path)
            _add(doc, path, clone(op.get("value")))
        elif kind == "move":
            _add(doc, path, _remove(doc, op["from"]))
        elif kind == "copy":
            _add(doc, path, clone(_resolve(doc, _pointer(op["from"]), op["from"])))
        elif kind == "test":
            actual = _resolve(doc, _pointer(path), path)
            if actual != op.get("value"):
                raise _invalid_patch(
                    f"the server rejected our request due to an error in our request: "
                    f"testing value {path} failed"
                )
        else:
            raise bad_request(f"unknown json patch operation {kind!r}")
    if not isinstance(doc, dict):
        raise _invalid_patch("the patched document is not an object")
    return doc


# ----------------------------------------------------------------------------------------------- merge patch
def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merge recursively, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return clone(patch)
    result = clone(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# ----------------------------------------------------------------------------------------- strategic merge
def _merge_key(field: str, path: tuple[str, ...]) -> str | None:
    if field == "ports":
        return "containerPort" if any(p.endswith("ontainers") for p in path) else "port"
    return _MERGE_KEYS.get(field)


def strategic_merge(target: Any, patch: Any, path: tuple[str, ...] = ()) -> Any:
    if not isinstance(patch, dict):
        return clone(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: clone(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    result = clone(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in (value or [])]
            continue
        if value is None:
            result.pop(key, None)
            continue
        merge_key = _merge_key(key, path)
        if isinstance(value, list) and merge_key and isinstance(result.get(key), list):
            result[key] = _merge_list(result[key], value, merge_key, (*path, key))
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value, (*path, key))
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = [
                {k: v for k, v in item.items() if k != "$patch"} if isinstance(item, dict) else item
                for item in clone(value)
            ]
        else:
            result[key] = value
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(current: list[Any], patch: list[Any], key: str, path: tuple[str, ...]) -> list[Any]:
    out: list[Any] = clone(current)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            out.append(clone(item))
            continue
        index = next((i for i, c in enumerate(out) if isinstance(c, dict) and c.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                out.pop(index)
        elif index is None:
            out.append({k: clone(v) for k, v in item.items() if k != "$patch"})
        else:
            out[index] = strategic_merge(out[index], item, path)
    return out


# ------------------------------------------------------------------------------------- server-side apply
def parse_apply_body(body: bytes) -> Obj:
    """An apply body is YAML or JSON (JSON is YAML)."""
    try:
        data = json.loads(body)
    except ValueError:
        try:
            data = YAML(typ="safe", pure=True).load(body.decode("utf-8"))
        except (YAMLError, UnicodeDecodeError) as exc:
            raise bad_request(f"error decoding YAML: {exc}") from None
    if not isinstance(data, dict):
        raise bad_request("the apply configuration must be an object")
    return data


def apply_merge(live: Any, applied: Any) -> Any:
    """Applied configuration over the live object: maps merge recursively, lists and scalars replace."""
    if not isinstance(applied, dict) or not isinstance(live, dict):
        return clone(applied)
    result = clone(live)
    for key, value in applied.items():
        result[key] = apply_merge(result.get(key), value)
    return result
