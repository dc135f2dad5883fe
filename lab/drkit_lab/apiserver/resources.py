"""REST semantics of resource URLs: which store call a method on a path makes, and what it answers.

Transport-free (the HTTP handler parses and writes bytes), so the verbs read as the API conventions they
implement: GET item/list, POST create, PUT update (main, /status, /finalize), PATCH in four flavours, DELETE
one or a collection. Watches are planned here and streamed by `watch.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from drkit_lab.apiserver import fields, pagination, protobuf, tables
from drkit_lab.apiserver import patch as patches
from drkit_lab.apiserver import schema as schemas
from drkit_lab.apiserver.errors import (
    ApiError,
    bad_request,
    conflict,
    invalid,
    method_not_allowed,
    path_not_found,
    unsupported_media_type,
)
from drkit_lab.apiserver.store import Obj, Store, returns_deleted_object, rfc3339
from drkit_lab.apiserver.types import CRDS, NAMESPACES, PODS, ResourceType

# The kind pods/binding errors name ("pods/binding" in messages, as a real server says).
BINDINGS = ResourceType("", "v1", "Binding", "pods/binding", True, has_status=False)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]  # the last value of each parameter
    body: bytes = b""
    content_type: str = ""
    accept: str = ""
    user_agent: str = ""

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("true", "1")

    @property
    def dry_run(self) -> bool:
        return self.query.get("dryRun") == "All"

    @property
    def manager(self) -> str:
        """The field manager of a write: `fieldManager`, else the User-Agent up to its first '/'."""
        return self.query.get("fieldManager") or self.user_agent.split("/", 1)[0][:128]


@dataclass(frozen=True)
class Target:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None
    legacy_watch: bool = False


@dataclass(frozen=True)
class Response:
    code: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WatchPlan:
    target: Target
    since_rv: str | None
    label_selector: str
    field_selector: str
    timeout_seconds: float | None
    bookmarks: bool
    send_initial_events: bool = False  # watch-list: initial ADDEDs, then a BOOKMARK marking their end
    table_columns: list[tables.Column] | None = None  # kubectl printing: events carry one-row Tables


def parse_target(store: Store, path: str) -> Target | None:
    """The resource a URL names; None for non-resource paths (discovery); 404 for unknown resources."""
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    legacy_watch = rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        raise path_not_found(path)
    rt = store.registry.lookup(group, version, rest[0])
    if rt is None or (namespace is not None and not rt.namespaced):
        raise path_not_found(path)
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    if subresource == "status" and not rt.has_status:
        raise path_not_found(path)
    if subresource == "finalize" and rt != NAMESPACES:
        raise path_not_found(path)
    if subresource == "binding" and rt != PODS:
        raise path_not_found(path)
    if subresource not in (None, "status", "finalize", "binding"):
        raise path_not_found(path)
    return Target(rt, namespace, name, subresource, legacy_watch)


def _json_body(request: Request) -> Obj:
    if request.content_type.split(";")[0].strip() == protobuf.PROTOBUF:
        return protobuf.decode(request.body)
    try:
        data = json.loads(request.body or b"null")
    except ValueError as exc:
        raise bad_request(f"the body of the request could not be decoded as JSON: {exc}") from None
    if not isinstance(data, dict):
        raise bad_request("the request body must be a JSON object")
    return data


def _check_identity(target: Target, obj: Obj) -> None:
    """Fill namespace (and name) from the URL; 400 when the body names another object, as a real server."""
    meta = obj.setdefault("metadata", {})
    if target.rt.namespaced:
        if meta.get("namespace") and meta["namespace"] != target.namespace:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        meta["namespace"] = target.namespace
    if target.name is not None:
        if meta.get("name") and meta["name"] != target.name:
            raise bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({target.name})"
            )
        meta["name"] = target.name


def _list_doc(rt: ResourceType, items: list[Obj], rv: str) -> dict[str, Any]:
    return {
        "apiVersion": rt.api_version,
        "kind": rt.list_kind,
        "metadata": {"resourceVersion": rv},
        "items": items,
    }


def handle(store: Store, target: Target, request: Request) -> Response | WatchPlan:
    method = request.method
    if method == "GET":
        return _get(store, target, request)
    if method == "POST":
        return _create(store, target, request)
    if method == "PUT":
        return _update(store, target, request)
    if method == "PATCH":
        return _patch(store, target, request)
    if method == "DELETE":
        return _delete(store, target, request)
    raise method_not_allowed()


def _columns(store: Store, rt: ResourceType, request: Request) -> list[tables.Column] | None:
    if not tables.wants_table(request.accept):
        return None
    crd = None
    if not rt.builtin:
        try:
            crd = store.get(CRDS, None, f"{rt.plural}.{rt.group}")
        except ApiError:
            crd = None
    return tables.columns_for(rt, crd)


def _get(store: Store, target: Target, request: Request) -> Response | WatchPlan:
    rt = target.rt
    columns = _columns(store, rt, request)
    if target.name is not None and not target.legacy_watch:
        obj = store.get(rt, target.namespace, target.name)
        if columns is not None:
            return Response(200, tables.table(columns, [obj], obj["metadata"]["resourceVersion"]))
        return Response(200, obj)
    field_selector = request.query.get("fieldSelector", "")
    if target.name is not None:  # /watch/.../name
        field_selector = ",".join(filter(None, [field_selector, f"metadata.name={target.name}"]))
    if target.legacy_watch or request.flag("watch"):
        timeout = request.query.get("timeoutSeconds")
        initial = request.flag("sendInitialEvents")
        return WatchPlan(
            target,
            None if initial else request.query.get("resourceVersion"),
            request.query.get("labelSelector", ""),
            field_selector,
            float(timeout) if timeout else None,
            request.flag("allowWatchBookmarks"),
            initial,
            columns,
        )
    items, rv = store.list(rt, target.namespace, request.query.get("labelSelector", ""), field_selector)
    filtered = bool(request.query.get("labelSelector") or field_selector)
    across = rt.namespaced and target.namespace is None
    items, list_meta = pagination.page(items, rv, request.query, across_namespaces=across, filtered=filtered)
    items = _bare(rt, items)
    if columns is not None:
        return Response(200, {**tables.table(columns, items, rv), "metadata": list_meta})
    return Response(200, {**_list_doc(rt, items, rv), "metadata": list_meta})


def _bare(rt: ResourceType, items: list[Obj]) -> list[Obj]:
    """A real server's list items of built-in kinds carry no apiVersion/kind of their own."""
    if not rt.builtin:
        return items
    return [{k: v for k, v in item.items() if k not in ("apiVersion", "kind")} for item in items]


def _create(store: Store, target: Target, request: Request) -> Response:
    if target.subresource == "binding":
        return _bind(store, target, request)
    if target.name is not None or (target.rt.namespaced and target.namespace is None):
        raise method_not_allowed()
    obj = _json_body(request)
    _check_identity(target, obj)
    if target.rt.has_status and target.rt != NAMESPACES:
        obj.pop("status", None)  # status is the controllers' to write, through /status
    if target.rt == PODS:
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}  # as the pod strategy sets it
    created = store.create(target.rt, obj, dry_run=request.dry_run, manager=request.manager)
    return Response(201, created, _unknown_field_warnings(store, target.rt, obj))


def _unknown_field_warnings(store: Store, rt: ResourceType, sent: Obj) -> dict[str, str]:
    """The Warning header a real server sends for fields its schema pruned (fieldValidation=Warn)."""
    schema = store.schema_of(rt)
    pruned = schemas.prune(json.loads(json.dumps(sent)), schema) if schema is not None else []
    if not pruned:
        return {}
    return {"Warning": ", ".join(f'299 - "unknown field \\"{path}\\""' for path in pruned)}


def _bind(store: Store, target: Target, request: Request) -> Response:
    """POST pods/<name>/binding: what a scheduler does; sets spec.nodeName and the PodScheduled condition."""
    assert target.name is not None
    assert target.namespace is not None
    binding = _json_body(request)
    node = str((binding.get("target") or {}).get("name") or "")
    if not node:
        raise invalid(BINDINGS, target.name, "target.name", "Required value")
    if (binding.get("target") or {}).get("kind", "Node") not in ("", "Node"):
        raise invalid(BINDINGS, target.name, "target.kind", "Invalid value: must be empty or 'Node'")
    name = target.name

    def assign(pod: Obj) -> Obj:
        if pod["metadata"].get("deletionTimestamp"):
            raise conflict(BINDINGS, name, f"pod {name} is being deleted, cannot be assigned to a host")
        assigned = (pod.get("spec") or {}).get("nodeName")
        if assigned:
            raise conflict(BINDINGS, name, f'pod {name} is already assigned to node "{assigned}"')
        pod.setdefault("spec", {})["nodeName"] = node
        annotations = (binding.get("metadata") or {}).get("annotations") or {}
        if annotations:
            pod["metadata"].setdefault("annotations", {}).update(annotations)
        conditions = pod.setdefault("status", {}).setdefault("conditions", [])
        conditions[:] = [c for c in conditions if c.get("type") != "PodScheduled"]
        conditions.append(
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": rfc3339(datetime.now(UTC))}
        )
        return pod

    store.mutate(PODS, target.namespace, name, assign, dry_run=request.dry_run)
    return Response(
        201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
    )


def _update(store: Store, target: Target, request: Request) -> Response:
    if target.name is None:
        raise method_not_allowed()
    obj = _json_body(request)
    _check_identity(target, obj)
    return Response(
        200,
        store.update(
            target.rt, obj, subresource=target.subresource, dry_run=request.dry_run, manager=request.manager
        ),
    )


def _patch(store: Store, target: Target, request: Request) -> Response:
    if target.name is None or target.subresource == "finalize":
        raise method_not_allowed()
    media = request.content_type.split(";")[0].strip().lower()
    if media == patches.APPLY_PATCH:
        return _apply(store, target, request)
    if media == patches.STRATEGIC_MERGE_PATCH and not target.rt.builtin:
        raise unsupported_media_type(media)
    try:
        body = json.loads(request.body or b"null")
    except ValueError as exc:
        raise bad_request(f"the body of the request could not be decoded as JSON: {exc}") from None
    if media not in (patches.JSON_PATCH, patches.MERGE_PATCH, patches.STRATEGIC_MERGE_PATCH):
        raise unsupported_media_type(media)

    def apply_one(current: Obj) -> Obj:
        if media == patches.JSON_PATCH:
            return patches.json_patch(current, body)
        merged = (patches.merge_patch if media == patches.MERGE_PATCH else patches.strategic_merge)(
            current, body
        )
        if not isinstance(merged, dict):
            raise bad_request("a merge patch must be a JSON object")
        return merged

    rt, name = target.rt, target.name

    def change(current: Obj) -> Obj:
        patched: Obj = apply_one(current)
        wanted_rv = (patched.get("metadata") or {}).get("resourceVersion")
        if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
            raise conflict(rt, name)
        return patched

    result = store.mutate(
        rt,
        target.namespace,
        name,
        change,
        subresource=target.subresource,
        dry_run=request.dry_run,
        manager=request.manager,
    )
    return Response(200, result)


def _apply(store: Store, target: Target, request: Request) -> Response:
    manager = request.query.get("fieldManager", "")
    if not manager:
        problem = "Required value: is required for apply patch"
        raise ApiError(
            422,
            "Invalid",
            f'PatchOptions.meta.k8s.io "" is invalid: fieldManager: {problem}',
            details={
                "group": "meta.k8s.io",
                "kind": "PatchOptions",
                "causes": [{"reason": "FieldValueRequired", "message": problem, "field": "fieldManager"}],
            },
        )
    assert target.name is not None
    applied = patches.parse_apply_body(request.body)
    _check_identity(target, applied)
    rt, now = target.rt, rfc3339(datetime.now(UTC))
    subresource = target.subresource or ""
    flat = store.flattener(rt, subresource)
    force = request.flag("force")
    try:
        store.get(rt, target.namespace, target.name)
    except ApiError as exc:
        if exc.code != 404 or target.subresource:
            raise
        if rt.has_status and rt != NAMESPACES:
            applied.pop("status", None)
        fields.record_apply(
            {},
            applied,
            fields.applied_set(flat(applied)),
            manager=manager,
            api_version=rt.api_version,
            now=now,
            subresource="",
            force=force,
            flat=flat,
        )
        try:
            return Response(201, store.create(rt, applied, dry_run=request.dry_run))
        except ApiError as race:
            if race.code != 409:
                raise
    # Server-side apply never conflicts on resourceVersion unless the applied config names one.
    wanted_rv = applied["metadata"].get("resourceVersion")
    applied_flat = fields.applied_set(flat(applied))
    schema = store.schema_of(rt)

    def change(current: Obj) -> Obj:
        if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
            raise conflict(rt, current["metadata"]["name"])
        merged: Obj = fields.merge_applied(current, applied, "", schema, not rt.builtin)
        merged["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        fields.record_apply(
            current,
            merged,
            applied_flat,
            manager=manager,
            api_version=rt.api_version,
            now=now,
            subresource=subresource,
            force=force,
            flat=flat,
        )
        return merged

    result = store.mutate(
        rt, target.namespace, target.name, change, subresource=target.subresource, dry_run=request.dry_run
    )
    return Response(200, result)


def _delete(store: Store, target: Target, request: Request) -> Response:
    rt = target.rt
    options = json.loads(request.body) if request.body.strip() else {}
    if not isinstance(options, dict):
        raise bad_request("DeleteOptions must be a JSON object")
    propagation = request.query.get("propagationPolicy") or options.get("propagationPolicy") or "Background"
    dry_run = request.dry_run or "All" in (options.get("dryRun") or [])
    if target.subresource:
        raise method_not_allowed()
    if target.name is None:
        if rt == NAMESPACES or (rt.namespaced and target.namespace is None):
            raise method_not_allowed()
        items, _ = store.list(
            rt,
            target.namespace,
            request.query.get("labelSelector", ""),
            request.query.get("fieldSelector", ""),
        )
        deleted = []
        for obj in items:
            try:
                deleted.append(
                    store.delete(
                        rt,
                        target.namespace,
                        obj["metadata"]["name"],
                        dry_run=dry_run,
                        propagation=propagation,
                    )
                )
            except ApiError as exc:
                if exc.code != 404:
                    raise
        return Response(200, _list_doc(rt, _bare(rt, deleted), store.resource_version()))
    preconditions = options.get("preconditions") or {}
    result = store.delete(
        rt,
        target.namespace,
        target.name,
        dry_run=dry_run,
        precondition_rv=preconditions.get("resourceVersion"),
        precondition_uid=preconditions.get("uid"),
        propagation=propagation,
    )
    if result["metadata"].get("deletionTimestamp") or returns_deleted_object(rt):
        return Response(200, result)
    details: dict[str, Any] = {"name": target.name, "kind": rt.plural, "uid": result["metadata"].get("uid")}
    if rt.group:
        details["group"] = rt.group
    status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
    return Response(200, status)
