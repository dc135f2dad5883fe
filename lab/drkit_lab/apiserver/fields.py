"""Field ownership: the managedFields a real server keeps, and server-side apply's conflicts and removals.

A field set is a set of paths (tuples of FieldsV1 keys: `f:name`, `k:{"name":"a"}`, `v:"x"`, and `.` for a
map or list item itself); `managedFields[].fieldsV1` is the same set as a tree. Updates (create, PUT, PATCH)
give their manager the fields whose values they changed and take those away from everyone else; an apply
owns exactly the fields of its configuration, refuses (409) to change a value another manager owns unless
forced, and removes what it owned before and no longer sets when nobody else owns it.

How a node is encoded follows the real server closely for what the lab serves: maps (labels, data, any
object of a custom resource) list `.`, lists keyed by a merge key (containers, a CRD's map-lists) or sets
(finalizers) list their items, other lists are atomic. Built-in structs list no `.`; their schemas (and so
their exact atomic structs) are not modelled.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from drkit_lab.apiserver.errors import ApiError

Obj = dict[str, Any]
Path = tuple[str, ...]
Schema = dict[str, Any] | None
PRESENT = object()  # the value of a `.` path: the node exists

# Maps (granular, listing `.`) of built-in kinds, by field name.
_MAPS = {"labels", "annotations", "data", "binaryData", "matchLabels", "nodeSelector", "selector"}
_SETS = {"finalizers"}
# Built-in lists merged by key (strategic merge keys), by field name.
_KEYED = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "volumes": ("name",),
    "env": ("name",),
    "volumeMounts": ("mountPath",),
    "imagePullSecrets": ("name",),
    "ownerReferences": ("uid",),
    "conditions": ("type",),
}
_SKIPPED_META = {
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
}


class _Walker:
    """Flattens one object into {path: value}, `.` paths mapping to PRESENT."""

    def __init__(self, custom: bool, schema: Schema) -> None:
        self.custom = custom
        self.schema = schema
        self.out: dict[Path, Any] = {}

    def root(self, obj: Obj, *, status_only: bool, with_status: bool) -> dict[Path, Any]:
        props = (self.schema or {}).get("properties") or {}
        for key, value in obj.items():
            if key in ("apiVersion", "kind"):
                continue
            if status_only != (key == "status"):
                continue
            if key == "status" and not with_status and not status_only:
                continue
            if key == "metadata":
                self._metadata(value)
            else:
                self.node(("f:" + key,), key, value, props.get(key), top=True)
        return self.out

    def _metadata(self, meta: Any) -> None:
        if not isinstance(meta, dict):
            return
        for key, value in meta.items():
            if key not in _SKIPPED_META and value not in (None, "", [], {}):
                self.node(("f:metadata", "f:" + key), key, value, None)

    def node(self, path: Path, key: str, value: Any, schema: Schema, *, top: bool = False) -> None:
        if not self.custom and value in ({}, []):
            return  # an empty struct or list of a built-in kind is no field (Go's omitempty)
        label_selector = key == "selector" and isinstance(value, dict) and "matchLabels" in value
        if isinstance(value, dict) and value and not (label_selector and not self.custom):
            granular = self.custom or key in _MAPS
            if self.custom and schema is not None and schema.get("x-kubernetes-map-type") == "atomic":
                self.out[path] = value
                return
            if granular:
                self.out[(*path, ".")] = PRESENT
            props = (schema or {}).get("properties") or {}
            extra = (schema or {}).get("additionalProperties")
            for k, v in value.items():
                child = props.get(k) or (extra if isinstance(extra, dict) else None)
                self.node((*path, "f:" + k), k, v, child)
            return
        if isinstance(value, list) and value:
            keys = list_keys(key, schema, self.custom)
            if keys == ("<set>",):
                self.out[(*path, ".")] = PRESENT
                for item in value:
                    self.out[(*path, "v:" + json.dumps(item, separators=(",", ":")))] = PRESENT
                return
            if keys and all(isinstance(i, dict) and all(k in i for k in keys) for i in value):
                self.out[(*path, ".")] = PRESENT
                items = (schema or {}).get("items")
                for item in value:
                    item_path = (*path, item_key(item, keys))
                    self.out[(*item_path, ".")] = PRESENT
                    props = (items or {}).get("properties") or {}
                    for k, v in item.items():
                        self.node((*item_path, "f:" + k), k, v, props.get(k))
                return
        self.out[path] = value


def list_keys(field: str, schema: Schema, custom: bool) -> tuple[str, ...]:
    """The merge keys of a list field, ("<set>",) for a set, () for an atomic list."""
    if custom:
        kind = (schema or {}).get("x-kubernetes-list-type")
        if kind == "map":
            return tuple((schema or {}).get("x-kubernetes-list-map-keys") or ())
        return ("<set>",) if kind == "set" else ()
    if field in _SETS:
        return ("<set>",)
    return _KEYED.get(field, ())


def item_key(item: Obj, keys: tuple[str, ...]) -> str:
    return "k:" + json.dumps({k: item[k] for k in sorted(keys)}, separators=(",", ":"))


def applied_set(flat: dict[Path, Any]) -> dict[Path, Any]:
    """An apply configuration owns its fields and list items, not the maps that hold them (no `.`)."""
    return {p: v for p, v in flat.items() if p[-1] != "." or (len(p) > 1 and p[-2][:2] in ("k:", "v:"))}


def flatten(
    obj: Obj, *, custom: bool, schema: Schema, subresource: str, with_status: bool
) -> dict[Path, Any]:
    """The field set of `obj` with each path's value; `subresource` "status" keeps status only."""
    walker = _Walker(custom, schema)
    return walker.root(obj, status_only=subresource == "status", with_status=with_status)


def to_tree(paths: Iterable[Path]) -> Obj:
    """FieldsV1 of a set; a node owning only itself is written `{}`, without `.` (as the real server)."""
    tree: Obj = {}
    for path in sorted(paths):
        node = tree
        for part in path:
            node = node.setdefault(part, {})
    return _collapse(tree)


def _collapse(node: Obj) -> Obj:
    out = {k: _collapse(v) if isinstance(v, dict) else v for k, v in node.items()}
    return {} if set(out) == {"."} else out


def from_tree(tree: Obj, prefix: Path = (), canonical: set[Path] | None = None) -> set[Path]:
    """The set a FieldsV1 tree holds; a leaf that is a map in `canonical` means its `.` path."""
    out: set[Path] = set()
    for key, child in tree.items():
        path = (*prefix, key)
        if isinstance(child, dict) and child:
            out |= from_tree(child, path, canonical)
        elif canonical is not None and path not in canonical and (*path, ".") in canonical:
            out.add((*path, "."))
        else:
            out.add(path)
    return out


def _entries(obj: Obj) -> list[Obj]:
    return list((obj.get("metadata") or {}).get("managedFields") or [])


def _entry(manager: str, operation: str, api_version: str, now: str, paths: set[Path], *, sub: str) -> Obj:
    entry: Obj = {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": now,
        "fieldsType": "FieldsV1",
        "fieldsV1": to_tree(paths),
    }
    if sub:
        entry["subresource"] = sub
    return entry


def _same(entry: Obj, manager: str, operation: str, sub: str) -> bool:
    return (
        entry.get("manager") == manager
        and entry.get("operation") == operation
        and entry.get("subresource", "") == sub
    )


def _rebuild(entries: list[Obj], mine: Obj | None, sets: list[set[Path]], *, append_mine: bool) -> list[Obj]:
    """Entries with their new field sets; empty ones dropped (as the real server drops them)."""
    out: list[Obj] = []
    for entry, paths in zip(entries, sets, strict=True):
        if paths:
            out.append({**entry, "fieldsV1": to_tree(paths)})
    if mine is not None and append_mine and mine["fieldsV1"]:
        out.append(mine)
    return out


Flatten = Callable[[Obj], dict[Path, Any]]


def record_update(
    old: Obj | None, new: Obj, *, manager: str, api_version: str, now: str, subresource: str, flat: Flatten
) -> None:
    """Set new.metadata.managedFields after an Update-operation write by `manager`."""
    before = flat(old) if old is not None else {}
    after = flat(new)
    changed = {p for p, v in after.items() if p not in before or (v is not PRESENT and before[p] != v)}
    removed = set(before) - set(after)
    entries = _entries(old or {})
    mine_index = next((i for i, e in enumerate(entries) if _same(e, manager, "Update", subresource)), None)
    known = set(before) | set(after)
    mine_paths = (
        from_tree(entries[mine_index]["fieldsV1"], canonical=known) if mine_index is not None else set()
    )
    others = [e for i, e in enumerate(entries) if i != mine_index]
    sets = [from_tree(e.get("fieldsV1") or {}, canonical=known) - changed - removed for e in others]
    mine_paths = ((mine_paths - removed) | changed) & set(after)
    mine = _entry(manager, "Update", api_version, now, mine_paths, sub=subresource)
    rebuilt = _rebuild(others, None, sets, append_mine=False)
    if mine_paths:
        if mine_index is not None and mine_index <= len(rebuilt):
            rebuilt.insert(min(mine_index, len(rebuilt)), mine)
        else:
            rebuilt.append(mine)
    meta = new.setdefault("metadata", {})
    if rebuilt:
        meta["managedFields"] = sort_entries(rebuilt)
    else:
        meta.pop("managedFields", None)


def render_path(path: Path) -> str:
    """`.spec.parts[name="a"].count`, as the real server names fields in conflicts."""
    out = ""
    for part in path:
        kind, _, rest = part.partition(":")
        if part == ".":
            continue
        if kind == "f":
            out += "." + rest
        elif kind == "k":
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(rest).items()) + "]"
        elif kind == "v":
            out += f"[={rest}]"
    return out


def apply_conflicts(
    live: Obj, applied_flat: dict[Path, Any], live_flat: dict[Path, Any], manager: str, sub: str
) -> list[tuple[Obj, Path]]:
    """(other entry, path) pairs where the apply would change a value another manager owns."""
    found = []
    known = set(live_flat) | set(applied_flat)
    for entry in _entries(live):
        if _same(entry, manager, "Apply", sub) or entry.get("subresource", "") != sub:
            continue
        for path in sorted(from_tree(entry.get("fieldsV1") or {}, canonical=known) & set(applied_flat)):
            value = applied_flat[path]
            if value is not PRESENT and live_flat.get(path, PRESENT) != value:
                found.append((entry, path))
    return found


def conflict_error(conflicts: list[tuple[Obj, Path]]) -> ApiError:
    def who(entry: Obj) -> str:
        name = f'"{entry.get("manager", "")}"'
        return name if entry.get("operation") == "Apply" else f"{name} using {entry.get('apiVersion', '')}"

    causes = [
        {"reason": "FieldManagerConflict", "message": f"conflict with {who(e)}", "field": render_path(p)}
        for e, p in conflicts
    ]
    count = len(conflicts)
    noun = "conflict" if count == 1 else "conflicts"
    if count == 1:
        detail = f"conflict with {who(conflicts[0][0])}: {render_path(conflicts[0][1])}"
    else:
        by_manager: dict[str, list[str]] = {}
        for entry, path in conflicts:
            by_manager.setdefault(who(entry), []).append(render_path(path))
        detail = "\n".join(
            f"conflicts with {name}:\n" + "\n".join(f"- {p}" for p in paths)
            for name, paths in by_manager.items()
        )
    return ApiError(
        409, "Conflict", f"Apply failed with {count} {noun}: {detail}", details={"causes": causes}
    )


def remove_path(obj: Obj, path: Path) -> None:
    """Delete the field `path` names from `obj` (a no-op when it is not there)."""
    node: Any = obj
    for part in path[:-1]:
        node = _child(node, part)
        if node is None:
            return
    last = path[-1]
    if last == ".":
        return
    if isinstance(node, dict) and last.startswith("f:"):
        node.pop(last[2:], None)
    elif isinstance(node, list):
        target = _child(node, last)
        if target is not None:
            node.remove(target)


def _child(node: Any, part: str) -> Any:
    kind, _, rest = part.partition(":")
    if isinstance(node, dict) and kind == "f":
        return node.get(rest)
    if isinstance(node, list) and kind == "k":
        wanted = json.loads(rest)
        return next(
            (i for i in node if isinstance(i, dict) and all(i.get(k) == v for k, v in wanted.items())), None
        )
    if isinstance(node, list) and kind == "v":
        value = json.loads(rest)
        return value if value in node else None
    return None


def prune_empty(obj: Obj, paths: Iterable[Path]) -> None:
    """After removals: maps and lists that the removed `.` paths named and that are now empty go too."""
    for path in sorted((p[:-1] for p in paths if p and p[-1] == "."), key=len, reverse=True):
        node: Any = obj
        for part in path:
            node = _child(node, part)
            if node is None:
                break
        if node in ({}, []) or (path and path[-1].startswith("k:")):
            remove_path(obj, path)


def record_apply(
    live: Obj,
    merged: Obj,
    applied_flat: dict[Path, Any],
    *,
    manager: str,
    api_version: str,
    now: str,
    subresource: str,
    force: bool,
    flat: Flatten,
) -> None:
    """Finish an apply on `merged` (live + configuration): conflicts, removals, managedFields."""
    live_flat = flat(live)
    conflicts = apply_conflicts(live, applied_flat, live_flat, manager, subresource)
    if conflicts and not force:
        raise conflict_error(conflicts)
    taken = {p for _, p in conflicts}
    entries = _entries(live)
    mine_index = next((i for i, e in enumerate(entries) if _same(e, manager, "Apply", subresource)), None)
    known = set(live_flat) | set(applied_flat) | set(flat(merged))
    before = from_tree(entries[mine_index]["fieldsV1"], canonical=known) if mine_index is not None else set()
    others = [e for i, e in enumerate(entries) if i != mine_index]
    other_sets = [from_tree(e.get("fieldsV1") or {}, canonical=known) - taken for e in others]
    owned_elsewhere = set().union(*other_sets) if other_sets else set()
    dropped = before - set(applied_flat) - owned_elsewhere
    for path in sorted(dropped, key=len, reverse=True):
        remove_path(merged, path)
    prune_empty(merged, dropped)
    mine = _entry(manager, "Apply", api_version, now, set(applied_flat), sub=subresource)
    if _without_managed(merged) == _without_managed(live):
        del mine["time"]  # an apply that changes nothing stamps no time (as the real server)
    rebuilt = _rebuild(others, None, other_sets, append_mine=False)
    if mine_index is not None:
        rebuilt.insert(min(mine_index, len(rebuilt)), mine)
    else:
        rebuilt.append(mine)
    merged.setdefault("metadata", {})["managedFields"] = sort_entries(rebuilt)


def _without_managed(obj: Obj) -> Obj:
    return {**obj, "metadata": {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}}


def sort_entries(entries: list[Obj]) -> list[Obj]:
    """The real server's order: by operation (Apply first), then time (none first), then manager."""
    return sorted(entries, key=lambda e: (e.get("operation", ""), e.get("time", ""), e.get("manager", "")))


def merge_applied(live: Any, applied: Any, field: str, schema: Schema, custom: bool) -> Any:
    """The applied configuration over the live object: maps and keyed lists merge, other values replace."""
    if isinstance(applied, dict) and isinstance(live, dict):
        props = (schema or {}).get("properties") or {}
        result = dict(live)
        for key, value in applied.items():
            result[key] = merge_applied(live.get(key), value, key, props.get(key), custom)
        return result
    if isinstance(applied, list) and isinstance(live, list):
        keys = list_keys(field, schema, custom)
        if keys == ("<set>",):
            return list(live) + [v for v in applied if v not in live]
        if keys and all(isinstance(i, dict) and all(k in i for k in keys) for i in [*live, *applied]):
            items_schema = (schema or {}).get("items")
            out = list(live)
            for item in applied:
                key = item_key(item, keys)
                index = next((i for i, c in enumerate(out) if item_key(c, keys) == key), None)
                if index is None:
                    out.append(item)
                else:
                    out[index] = merge_applied(out[index], item, field, items_schema, custom)
            return out
    return applied
