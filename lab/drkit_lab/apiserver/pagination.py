"""Paged lists: `limit` and `continue`, with continue tokens shaped as the real server's.

A token is base64url (unpadded) JSON `{"v": "meta.k8s.io/v1", "rv": N, "start": "<key>\\u0000"}`, where the
key is the last item's storage key relative to the listed prefix (`name`, or `namespace/name` across
namespaces). Malformed tokens are refused with the real server's 400 wording. Unlike etcd, the lab keeps no
snapshots: a continued page shows the objects as they are now, after the token's key.
"""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
from typing import Any

from drkit_lab.apiserver.errors import bad_request

Obj = dict[str, Any]
TOKEN_VERSION = "meta.k8s.io/v1"  # noqa: S105 (the token format version, not a secret)


def _key(item: Obj, across_namespaces: bool) -> str:
    meta = item.get("metadata") or {}
    name = str(meta.get("name", ""))
    namespace = meta.get("namespace")
    return f"{namespace}/{name}" if across_namespaces and namespace else name


def _go_char(byte: int) -> str:
    """How Go's encoding/json quotes an unexpected byte: 'x', or '\\u009e' when not printable."""
    char = chr(byte)
    if char == "'":
        return "'\\''"
    return f"'{char}'" if char.isprintable() else f"'\\u{byte:04x}'"


def _decode(token: str) -> tuple[int, str]:
    """(resourceVersion, start key) of a continue token; 400 with the real server's wording otherwise."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise bad_request("invalid continue token: illegal base64 data") from None
    try:
        data = json.loads(raw)
    except ValueError:
        first = next((b for b in raw if b not in b" \t\r\n"), None)
        why = (
            "unexpected end of JSON input"
            if first is None
            else f"invalid character {_go_char(first)} looking for beginning of value"
        )
        raise bad_request(f"invalid continue token: continue key is not valid: {why}") from None
    if not isinstance(data, dict) or data.get("v") != TOKEN_VERSION:
        version = data.get("v") if isinstance(data, dict) else ""
        raise bad_request(
            "invalid continue token: continue key is not valid: "
            f"server does not recognize this encoded version {version!r}"
        )
    rv, start = data.get("rv"), data.get("start")
    if not isinstance(rv, int) or rv <= 0:
        raise bad_request(
            "invalid continue token: continue key is not valid: "
            f"incorrect encoded start resourceVersion (version {TOKEN_VERSION})"
        )
    if not isinstance(start, str) or not start:
        raise bad_request("invalid continue token: continue key is not valid: encoded start key empty")
    key = start if start.startswith("/") else "/" + start
    if posixpath.normpath(key) != key:
        raise bad_request(f"invalid continue token: continue key is not valid: {start}")
    return rv, key[1:]


def _encode(rv: int, start: str) -> str:
    doc = json.dumps({"v": TOKEN_VERSION, "rv": rv, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(doc.encode()).decode("ascii").rstrip("=")


def page(
    items: list[Obj], rv: str, query: dict[str, str], *, across_namespaces: bool, filtered: bool
) -> tuple[list[Obj], Obj]:
    """The items of one page and the list metadata (resourceVersion, continue, remainingItemCount)."""
    token = query.get("continue", "")
    meta: Obj = {"resourceVersion": rv}
    if token:
        token_rv, start = _decode(token)
        items = [i for i in items if _key(i, across_namespaces) >= start]
        meta["resourceVersion"] = str(token_rv)
    try:
        limit = int(query.get("limit") or 0)
    except ValueError:
        limit = 0
    if limit <= 0 or len(items) <= limit:
        return items, meta
    shown, rest = items[:limit], items[limit:]
    meta["continue"] = _encode(
        int(meta["resourceVersion"]), "/" + _key(shown[-1], across_namespaces) + "\x00"
    )
    if not filtered:
        meta["remainingItemCount"] = len(rest)
    return shown, meta
