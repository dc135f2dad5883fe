"""OpenAPI documents just rich enough for kubectl: v2 for the aggregated model, v3 per group-version.

kubectl reads them to validate manifests (it asks whether the server supports `fieldValidation` through the v3
document's PATCH parameters, and then lets the server validate) and to find a kind's schema by
`x-kubernetes-group-version-kind`. Schemas are permissive (`x-kubernetes-preserve-unknown-fields`): the lab
does not validate fields. Built-in kinds are left out of the schemas so kubectl computes strategic merge
patches from the Go types compiled into it, which carry the real patch merge keys.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from drkit_lab.apiserver.types import ResourceType, TypeRegistry


def definition_name(rt: ResourceType) -> str:
    """`io.k8s.api.apps.v1.Deployment` for built-ins, reversed group for custom kinds (as the real server)."""
    if rt.builtin:
        group = rt.group.split(".")[0] if rt.group else "core"
        return f"io.k8s.api.{group}.{rt.version}.{rt.kind}"
    return ".".join([*reversed(rt.group.split(".")), rt.version, rt.kind])


def _gvk(rt: ResourceType) -> list[dict[str, str]]:
    return [{"group": rt.group, "version": rt.version, "kind": rt.kind}]


def _schema_types(registry: TypeRegistry) -> list[ResourceType]:
    return [rt for rt in registry.all() if not rt.builtin]


def v2(registry: TypeRegistry) -> dict[str, Any]:
    definitions = {
        definition_name(rt): {
            "description": f"{rt.kind} served by the drkit lab (fields not validated).",
            "x-kubernetes-group-version-kind": _gvk(rt),
        }
        for rt in _schema_types(registry)
    }
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.31.0-drkit-lab"},
        "paths": {},
        "definitions": definitions,
    }


def _gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def _doc_hash(doc: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32].upper()


def v3_index(registry: TypeRegistry) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for group, versions in registry.groups().items():
        for version in versions:
            gv_path = _gv_path(group, version)
            doc = v3_group_version(registry, group, version)
            paths[gv_path] = {"serverRelativeURL": f"/openapi/v3/{gv_path}?hash={_doc_hash(doc or {})}"}
    return {"paths": paths}


_PATCH_PARAMS = [
    {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
    for name in ("dryRun", "fieldManager", "fieldValidation", "force")
]


def v3_group_version(registry: TypeRegistry, group: str, version: str) -> dict[str, Any] | None:
    types = [rt for rt in registry.all() if rt.group == group and rt.version == version]
    if not types:
        return None
    prefix = "/" + _gv_path(group, version)
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for rt in types:
        scope = "/namespaces/{namespace}" if rt.namespaced else ""
        ref = {"$ref": f"#/components/schemas/{definition_name(rt)}"}
        operation = {
            "parameters": _PATCH_PARAMS,
            "responses": {"200": {"content": {"application/json": {"schema": ref}}}},
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": _gvk(rt)[0],
        }
        paths[f"{prefix}{scope}/{rt.plural}/{{name}}"] = {"patch": operation}
        if not rt.builtin:
            schemas[definition_name(rt)] = {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
                "x-kubernetes-group-version-kind": _gvk(rt),
            }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.31.0-drkit-lab"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


# kubectl asks for "...spec.v2@v1.0+protobuf"; the response type is spelled with a dot ("@" does not parse).
V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def _proto_field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (wire type 2); payloads here are far below 128 bytes."""
    assert len(payload) < 128
    return bytes([(number << 3) | 2, len(payload)]) + payload


def v2_protobuf() -> bytes:
    """The v2 document kubectl asks for in gnostic protobuf form: swagger, info and no definitions.

    kubectl falls back to it for client-side validation of kinds the v3 documents do not describe, and skips
    kinds it has no schema for, which is what the lab wants (it validates nothing). Field numbers follow
    gnostic's openapiv2.Document (swagger 1, info 2, paths 8) and Info (title 1, version 2).
    """
    info = _proto_field(1, b"Kubernetes") + _proto_field(2, b"v1.31.0-drkit-lab")
    return _proto_field(1, b"2.0") + _proto_field(2, info) + _proto_field(8, b"")
