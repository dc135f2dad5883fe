"""Streaming one watch: store events filtered by selectors, written as JSON lines in HTTP chunks.

With a selector, an object this stream sent that stops matching is sent as DELETED, as a real server does
(events keep their own type otherwise). A resourceVersion older than the retained history yields a single
ERROR event with a 410 Expired Status (HTTP 200, as a real server does), which tells clients to relist.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from drkit_lab.apiserver import tables
from drkit_lab.apiserver.errors import ApiError
from drkit_lab.apiserver.resources import WatchPlan
from drkit_lab.apiserver.selectors import Matcher, field_matcher, label_matcher
from drkit_lab.apiserver.store import Store, WatchEvent
from drkit_lab.apiserver.types import ResourceType

DEFAULT_TIMEOUT_SECONDS = 1800.0  # a real server picks 30-60 minutes; clients re-establish anyway
BOOKMARK_EVERY_SECONDS = 10.0


def stream_watch(
    store: Store,
    plan: WatchPlan,
    write: Callable[[bytes], None],
    *,
    stopping: threading.Event,
    cut_after: float | None,
    client_gone: Callable[[], bool] = lambda: False,
) -> None:
    """Write events until the timeout, the fault-injected cut, server shutdown or a broken connection."""
    target = plan.target
    rt = target.rt
    try:
        sub = store.watch(rt, target.namespace, plan.since_rv)
    except ApiError as exc:
        write(_line({"type": "ERROR", "object": exc.to_status()}))
        return
    labels, fields = label_matcher(plan.label_selector), field_matcher(plan.field_selector)
    limit = plan.timeout_seconds if plan.timeout_seconds is not None else DEFAULT_TIMEOUT_SECONDS
    if cut_after is not None:
        limit = min(limit, cut_after)
    deadline = time.monotonic() + limit
    next_bookmark = time.monotonic() + BOOKMARK_EVERY_SECONDS
    sent: set[tuple[str, str]] = set()  # objects the client currently holds as matching
    initial_left = sub.initial_events

    def bookmark(annotations: dict[str, str] | None = None) -> None:
        meta: dict[str, Any] = {"resourceVersion": store.resource_version()}
        if annotations:
            meta["annotations"] = annotations
        write(
            _line(
                {
                    "type": "BOOKMARK",
                    "object": {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta},
                }
            )
        )

    try:
        if plan.send_initial_events and initial_left == 0:
            bookmark({"k8s.io/initial-events-end": "true"})
        while not stopping.is_set() and (remaining := deadline - time.monotonic()) > 0:
            event = sub.next(min(remaining, 0.1))  # short: notice shutdown promptly
            if event is not None and initial_left > 0:
                initial_left -= 1
                if initial_left == 0 and plan.send_initial_events:
                    _send(
                        event,
                        rt,
                        labels=labels,
                        fields=fields,
                        sent=sent,
                        write=write,
                        columns=plan.table_columns,
                    )
                    bookmark({"k8s.io/initial-events-end": "true"})
                    continue
            if event is None:
                if client_gone():
                    return
                if plan.bookmarks and time.monotonic() >= next_bookmark:
                    next_bookmark = time.monotonic() + BOOKMARK_EVERY_SECONDS
                    bookmark()
                continue
            _send(event, rt, labels=labels, fields=fields, sent=sent, write=write, columns=plan.table_columns)
    finally:
        sub.close()


def _send(
    event: WatchEvent,
    rt: ResourceType,
    *,
    labels: Matcher | None,
    fields: Matcher | None,
    sent: set[tuple[str, str]],
    write: Callable[[bytes], None],
    columns: list[tables.Column] | None = None,
) -> None:
    obj: dict[str, Any] = event.object
    if obj.get("apiVersion") != rt.api_version:
        obj = {**obj, "apiVersion": rt.api_version}
    meta = obj.get("metadata", {})
    key = (meta.get("namespace", ""), meta.get("name", ""))
    matches = (labels is None or labels(obj)) and (fields is None or fields(obj))
    kind: str = event.type
    if matches:
        if kind == "DELETED":
            sent.discard(key)
        else:
            sent.add(key)
    elif key in sent:
        sent.discard(key)
        kind = "DELETED"
    else:
        return
    if columns is not None:
        obj = tables.table(columns, [obj], meta.get("resourceVersion", ""))
    write(_line({"type": kind, "object": obj}))


def _line(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode() + b"\n"
