"""Just enough Kubernetes protobuf decoding for the request bodies kubectl sends that way.

kubectl encodes typed objects it builds itself (`kubectl create namespace|configmap|secret|serviceaccount`)
as `application/vnd.kubernetes.protobuf`, and a real server accepts that. The lab decodes those few kinds into
the JSON shape the rest of the server uses; any other protobuf body is refused with 415. Responses are always
JSON: clients that accept protobuf also accept JSON.

Wire format: the magic `k8s\\0`, then a runtime.Unknown (typeMeta 1 {apiVersion 1, kind 2}, raw 2), whose
`raw` is the object message. Field numbers follow k8s.io/api generated.proto.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from drkit_lab.apiserver.errors import ApiError

PROTOBUF = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

Fields = dict[int, list[Any]]


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def parse(data: bytes) -> Fields:
    """Wire-format fields: number -> values (int for varints, bytes for length-delimited)."""
    fields: Fields = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def _str(fields: Fields, number: int) -> str | None:
    values = fields.get(number)
    return values[-1].decode() if values else None


def _strings(fields: Fields, number: int) -> list[str]:
    return [v.decode() for v in fields.get(number, [])]


def _map(fields: Fields, number: int, *, binary: bool = False) -> dict[str, str] | None:
    if number not in fields:
        return None
    out: dict[str, str] = {}
    for entry in fields[number]:
        pair = parse(entry)
        value = pair.get(2, [b""])[-1]
        out[pair.get(1, [b""])[-1].decode()] = base64.b64encode(value).decode() if binary else value.decode()
    return out


def _object_meta(data: bytes) -> dict[str, Any]:
    f = parse(data)
    meta: dict[str, Any] = {}
    for number, name in ((1, "name"), (2, "generateName"), (3, "namespace"), (6, "resourceVersion")):
        if (value := _str(f, number)) is not None and value != "":
            meta[name] = value
    for number, name in ((11, "labels"), (12, "annotations")):
        if (mapping := _map(f, number)) is not None:
            meta[name] = mapping
    if finalizers := _strings(f, 14):
        meta["finalizers"] = finalizers
    return meta


def _namespace(f: Fields) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    if 2 in f and (finalizers := _strings(parse(f[2][-1]), 1)):
        obj["spec"] = {"finalizers": finalizers}
    return obj


def _config_map(f: Fields) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    if (data := _map(f, 2)) is not None:
        obj["data"] = data
    if (binary := _map(f, 3, binary=True)) is not None:
        obj["binaryData"] = binary
    if 4 in f:
        obj["immutable"] = bool(f[4][-1])
    return obj


def _secret(f: Fields) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    if (data := _map(f, 2, binary=True)) is not None:
        obj["data"] = data
    if (kind := _str(f, 3)) is not None:
        obj["type"] = kind
    if (string_data := _map(f, 4)) is not None:
        obj["stringData"] = string_data
    if 5 in f:
        obj["immutable"] = bool(f[5][-1])
    return obj


def _service_account(f: Fields) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    if 4 in f:
        obj["automountServiceAccountToken"] = bool(f[4][-1])
    return obj


_DECODERS: dict[tuple[str, str], Callable[[Fields], dict[str, Any]]] = {
    ("v1", "Namespace"): _namespace,
    ("v1", "ConfigMap"): _config_map,
    ("v1", "Secret"): _secret,
    ("v1", "ServiceAccount"): _service_account,
}


def decode(body: bytes) -> dict[str, Any]:
    """The JSON-shaped object in a protobuf request body; 415 for kinds the lab cannot decode."""
    if not body.startswith(MAGIC):
        raise _unsupported("the body does not start with the Kubernetes protobuf magic number")
    try:
        unknown = parse(body[len(MAGIC) :])
        type_meta = parse(unknown.get(1, [b""])[-1])
        api_version, kind = _str(type_meta, 1) or "", _str(type_meta, 2) or ""
        decoder = _DECODERS.get((api_version, kind))
        if decoder is None:
            raise _unsupported(f"the drkit lab cannot decode {api_version}/{kind} from protobuf; send JSON")
        fields = parse(unknown.get(2, [b""])[-1])
        obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
        obj["metadata"] = _object_meta(fields[1][-1]) if 1 in fields else {}
        obj.update(decoder(fields))
        return obj
    except (IndexError, ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "BadRequest", f"the protobuf body could not be decoded: {exc}") from None


def _unsupported(why: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType", why)
