"""Normalising one plane's transcript so that only meaningful differences remain.

Replaced, because two servers can never agree on them: uids, resourceVersions, timestamps (managedFields
`time` included), continue tokens, generated name suffixes, cluster IPs, service-account tokens, the server's
own address, ages in kubectl tables. Dropped: `selfLink`, response headers nobody compares. Sorted, where the
API defines no order: discovery lists (groups, resources, verbs); managedFields entries (ordered by their
masked time). Everything else is kept as is.
"""

from __future__ import annotations

import re
from typing import Any

_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_TIMESTAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
_AGE = re.compile(r"(?<![\w./-])(\d+d)?(\d+h)?(\d+m)?(\d+s)?(?=\s|$)")
_TIME_KEYS = {
    "creationTimestamp",
    "deletionTimestamp",
    "lastTransitionTime",
    "lastUpdateTime",
    "lastProbeTime",
    "lastHeartbeatTime",
    "startTime",
    "time",
    "renewTime",
    "acquireTime",
    "eventTime",
    "firstTimestamp",
    "lastTimestamp",
    "expirationTimestamp",
}
_IP_KEYS = {"clusterIP", "clusterIPs", "podIP", "podIPs", "hostIP", "hostIPs"}
_UNORDERED_LISTS = {"verbs", "shortNames", "categories"}
_NAMED_LISTS = {"groups", "resources"}  # discovery: sorted by name


def _mask_scalar(key: str, value: Any) -> Any:
    if value in (None, "", [], 0) and key != "uid":
        return value
    if key == "uid":
        return "<uid>"
    if key == "resourceVersion":
        return "<rv>"
    if key in _TIME_KEYS:
        return "<time>"
    if key == "continue":
        return "<continue>"
    if key in _IP_KEYS:
        return "<ip>"
    if key == "token":
        return "<token>"
    return None


def normalise(value: Any, *, address: str, masks: list[tuple[str, str]] | None = None, key: str = "") -> Any:
    """The comparable form of one JSON value (a response body, a transcript entry)."""
    masks = masks or []
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k in ("selfLink", "masks"):
                continue
            masked = _mask_scalar(k, v) if not isinstance(v, dict) else None
            out[k] = masked if masked is not None else normalise(v, address=address, masks=masks, key=k)
        _mask_generated_name(out)
        _mask_table_ages(out)
        if key in ("annotations",) and "kubectl.kubernetes.io/last-applied-configuration" in out:
            out["kubectl.kubernetes.io/last-applied-configuration"] = normalise_text(
                out["kubectl.kubernetes.io/last-applied-configuration"], address=address, masks=masks
            )
        return out
    if isinstance(value, list):
        items = [normalise(v, address=address, masks=masks, key=key) for v in value]
        if key in _UNORDERED_LISTS and all(isinstance(i, str) for i in items):
            return sorted(items)
        if key in _NAMED_LISTS and all(isinstance(i, dict) and "name" in i for i in items):
            return sorted(items, key=lambda i: str(i["name"]))
        if key == "managedFields" and all(isinstance(i, dict) for i in items):
            # Both servers order entries by time, and time is masked: two writes a second apart on one plane
            # and within one second on the other would otherwise differ by order alone.
            return sorted(items, key=lambda i: (str(i.get("operation")), str(i.get("manager"))))
        return items
    if isinstance(value, str):
        return normalise_text(value, address=address, masks=masks)
    return value


def normalise_text(text: str, *, address: str, masks: list[tuple[str, str]] | None = None) -> str:
    text = text.replace(address, "<server>")
    text = _UUID.sub("<uid>", text)
    text = _TIMESTAMP.sub("<time>", text)
    for pattern, replacement in masks or []:
        text = re.sub(pattern, replacement, text)
    return text


def normalise_kubectl(text: str, *, address: str, masks: list[tuple[str, str]] | None = None) -> str:
    """kubectl output: the text masks, then ages in the AGE column and the padding that depends on them."""
    lines = []
    for raw in normalise_text(text, address=address, masks=masks).splitlines():
        aged = _AGE.sub(lambda m: "<age>" if m.group(0) else "", raw)
        lines.append(re.sub(r" {2,}", "  ", aged).rstrip())
    return "\n".join(lines)


def _mask_generated_name(meta: dict[str, Any]) -> None:
    prefix, name = meta.get("generateName"), meta.get("name")
    if isinstance(prefix, str) and isinstance(name, str) and name.startswith(prefix) and name != prefix:
        meta["name"] = prefix + "<suffix>"


def _mask_table_ages(doc: dict[str, Any]) -> None:
    if doc.get("kind") != "Table" or not isinstance(doc.get("columnDefinitions"), list):
        return
    ages = [i for i, c in enumerate(doc["columnDefinitions"]) if c.get("name") == "Age"]
    for row in doc.get("rows") or []:
        for i in ages:
            if i < len(row.get("cells", [])):
                row["cells"][i] = "<age>"


def normalise_transcript(transcript: list[dict[str, Any]], *, address: str) -> list[Any]:
    out = []
    for entry in transcript:
        masks = entry.get("masks")
        if "kubectl" in entry:
            out.append(
                {
                    "kubectl": entry["kubectl"],
                    "exit": entry["exit"],
                    "stdout": normalise_kubectl(entry["stdout"], address=address, masks=masks),
                    "stderr": normalise_kubectl(entry["stderr"], address=address, masks=masks),
                }
            )
        else:
            out.append(normalise(entry, address=address, masks=masks))
    return out
