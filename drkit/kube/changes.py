"""Waiting for "something changed" in the cluster, so a checklist re-attempts cluster probes on events rather
than on a timer (drkit.steps.check).

A cluster probe reads a kind with a LIST, which returns a resourceVersion. Nothing its answer depends on can
change without a watch event after that version, so the checklist runner, instead of sleeping between
rounds, watches from each pending probe's version and re-attempts as soon as any event arrives. That detects
readiness when it happens (the first-pass times get sharper) and costs one open watch per pending probe
instead of a LIST every second.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from drkit.kube.client import Cluster
from drkit.kube.errors import Gone, KubeError
from drkit.kube.streams import StreamGroup


@dataclass(frozen=True)
class WatchPoint:
    """Where a probe's answer can change (a kind in a namespace, narrowed by selectors) and the version its
    last attempt read."""

    api_version: str
    kind: str
    namespace: str | None
    label_selector: str
    field_selector: str
    resource_version: str


def list_watched(
    cluster: Cluster,
    api_version: str,
    kind: str,
    namespace: str | None,
    *,
    label_selector: str = "",
    field_selector: str = "",
) -> tuple[list[dict[str, Any]], WatchPoint]:
    """One LIST (namespace None: the context's namespace) and the point to watch from for its next change."""
    namespace = cluster.default_namespace if namespace is None else namespace
    items, version = cluster.list_with_version(api_version, kind, namespace, label_selector, field_selector)
    return items, WatchPoint(api_version, kind, namespace, label_selector, field_selector, version)


class Change(StrEnum):
    CHANGED = "changed"  # an event arrived (or the version expired): attempt again now
    QUIET = "quiet"  # the timeout passed without any event
    BROKEN = "broken"  # a watch could not be opened or broke: fall back to the timer


def wait_for_any_change(cluster: Cluster, points: Sequence[WatchPoint], timeout: float) -> Change:
    """Block until any of `points` sees an event, or `timeout` seconds pass (real time)."""
    if not points or timeout <= 0:
        return Change.QUIET
    waiter = _AnyChange(cluster, timeout)
    threads = [
        threading.Thread(target=waiter.follow, args=(point,), name="drkit-check-watch", daemon=True)
        for point in dict.fromkeys(points)
    ]
    for thread in threads:
        thread.start()
    try:
        waiter.signal.wait(timeout)
    finally:
        waiter.finish()
        for thread in threads:
            thread.join()
    if waiter.failure is not None:
        raise waiter.failure
    return waiter.outcome or Change.QUIET


class _AnyChange:
    def __init__(self, cluster: Cluster, timeout: float) -> None:
        self.cluster = cluster
        self.seconds = max(1, math.ceil(timeout) + 1)  # the server's limit; ours is enforced by `signal.wait`
        self.signal = threading.Event()
        self.outcome: Change | None = None
        self.failure: BaseException | None = None
        self._lock = threading.Lock()
        self.streams = StreamGroup()

    def _settle(self, outcome: Change) -> None:
        with self._lock:
            if self.outcome is None and not self.streams.closed:
                self.outcome = outcome
        self.signal.set()

    def follow(self, point: WatchPoint) -> None:
        try:
            with (
                self.cluster.watch(
                    point.api_version,
                    point.kind,
                    namespace=point.namespace,
                    resource_version=point.resource_version,
                    label_selector=point.label_selector,
                    field_selector=point.field_selector,
                    timeout_seconds=self.seconds,
                ) as stream,
                self.streams.following(stream) as registered,
            ):
                for event in stream if registered else ():
                    if event.type != "BOOKMARK":
                        self._settle(Change.CHANGED)
                        return
        except Gone:
            self._settle(Change.CHANGED)  # the state moved past what the server keeps: a new LIST will tell
        except KubeError:
            if not self.streams.closed:  # an interrupted stream raises too; only a real failure counts
                self._settle(Change.BROKEN)
        except Exception as exc:  # a bug: hand it to the caller rather than lose it in a thread
            self.failure = exc
            self.signal.set()

    def finish(self) -> None:
        """End every open stream so the threads can be joined at once."""
        self.streams.close_all()
