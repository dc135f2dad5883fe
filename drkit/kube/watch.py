"""Wait until objects satisfy a predicate, by watching, never by sleeping.

The pattern is the informer's: list to learn the current state and a resourceVersion, then watch from
that version; when the stream ends (server timeout, a cut connection) watch again from the last version
seen; when the version has expired (410 Gone) list again. Objects that do not exist yet are simply absent
until their ADDED event, and absence is a state like any other, so "wait until deleted" is the predicate
`gone` and a NotFound counts as gone (the `kubectl wait --for=delete` bug, kubernetes #93365, cannot
happen here).

Targets are grouped by (apiVersion, kind, namespace); one group is watched in the calling thread, several are
watched in parallel threads so each object's satisfaction time is observed when it happens (the benchmark's
readiness-detection lag depends on it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from drkit.kube.client import Cluster
from drkit.kube.errors import ClusterUnreachable, Gone, ServerError
from drkit.kube.readiness import DEFAULT_RULES, ReadinessRules, Status, compute_status
from drkit.kube.refs import ObjectRef
from drkit.kube.streams import StreamGroup

Obj = dict[str, Any]
Predicate = Callable[[Obj | None], bool]
OnChange = Callable[[ObjectRef, Obj | None], None]
_MAX_WATCH_SECONDS = 60
_INSTANT_END_SECONDS = 0.5


@dataclass(frozen=True)
class Selection:
    """Every object of a kind in a namespace (None: all namespaces) matching a label selector."""

    api_version: str
    kind: str
    namespace: str | None
    label_selector: str = ""


@dataclass
class WaitResult:
    """`satisfied_at`: monotonic time at which each object (last) started to satisfy the predicate.
    `last_seen`: the latest state of every object (None: absent). `complete`: all satisfied in time."""

    complete: bool
    satisfied_at: dict[ObjectRef, float] = field(default_factory=dict)
    last_seen: dict[ObjectRef, Obj | None] = field(default_factory=dict)

    @property
    def pending(self) -> list[ObjectRef]:
        return [ref for ref in self.last_seen if ref not in self.satisfied_at]


# --- predicates ------------------------------------------------------------------------------------


def gone(obj: Obj | None) -> bool:
    return obj is None


def exists(obj: Obj | None) -> bool:
    return obj is not None


def ready(rules: ReadinessRules = DEFAULT_RULES) -> Predicate:
    def predicate(obj: Obj | None) -> bool:
        return compute_status(obj, rules).status is Status.CURRENT

    return predicate


# --- waiting ---------------------------------------------------------------------------------------


def wait_for(
    cluster: Cluster,
    target: Sequence[ObjectRef] | Selection,
    predicate: Predicate,
    deadline: float,
    on_change: OnChange | None = None,
) -> WaitResult:
    """Watch until every target satisfies `predicate` or `deadline` (cluster.monotonic time) passes.

    `on_change(ref, obj)` is told every observed change (obj None: absent); when the targets span several
    kinds or namespaces it is called from several threads, so it must be thread-safe.

    For a `Selection`, a predicate that absence satisfies (like `gone`) completes when no member is left
    unsatisfied; any other predicate also needs at least one member to exist."""
    if isinstance(target, Selection):
        return _GroupWaiter(cluster, target, None, predicate, deadline, on_change).run()
    groups: dict[tuple[str, str, str | None], list[ObjectRef]] = {}
    for ref in target:
        _, resolved = cluster.resolve(ref)
        key = (resolved.api_version, resolved.kind, resolved.namespace)
        groups.setdefault(key, []).append(resolved)
    waiters = [
        _GroupWaiter(cluster, Selection(api, kind, ns), refs, predicate, deadline, on_change)
        for (api, kind, ns), refs in groups.items()
    ]
    if not waiters:
        return WaitResult(complete=True)
    if len(waiters) == 1:
        return waiters[0].run()
    with ThreadPoolExecutor(max_workers=len(waiters), thread_name_prefix="drkit-wait") as pool:
        futures = [pool.submit(w.run) for w in waiters]
        try:
            for done in as_completed(futures):
                done.result()  # re-raises the first failure
        finally:
            for waiter in waiters:  # one failed (or we were interrupted): end the others now
                waiter.interrupt()
        results = [f.result() for f in futures]
    merged = WaitResult(complete=all(r.complete for r in results))
    for r in results:
        merged.satisfied_at.update(r.satisfied_at)
        merged.last_seen.update(r.last_seen)
    return merged


class _GroupWaiter:
    """Waits on one (apiVersion, kind, namespace): either named objects (`refs`) or a whole selection."""

    def __init__(  # noqa: PLR0917
        self,
        cluster: Cluster,
        selection: Selection,
        refs: list[ObjectRef] | None,
        predicate: Predicate,
        deadline: float,
        on_change: OnChange | None,
    ) -> None:
        self.cluster = cluster
        self.selection = selection
        self.refs = refs
        self.predicate = predicate
        self.deadline = deadline
        self.on_change = on_change
        self.stop = threading.Event()
        self.streams = StreamGroup()
        self.state: dict[ObjectRef, Obj | None] = dict.fromkeys(refs or ())
        self.result = WaitResult(complete=False)
        self._absence_satisfies = predicate(None)

    # The field selector narrows a single-name wait; names are filtered client-side anyway.
    def _field_selector(self) -> str:
        if self.refs is not None and len(self.refs) == 1:
            return f"metadata.name={self.refs[0].name}"
        return ""

    def _ref_of(self, obj: Mapping[str, Any]) -> ObjectRef | None:
        meta = obj.get("metadata") or {}
        ref = ObjectRef(
            self.selection.api_version,
            self.selection.kind,
            meta.get("namespace") or None,
            str(meta.get("name")),
        )
        if self.refs is not None and ref not in self.state:
            return None
        return ref

    def _observe(self, ref: ObjectRef, obj: Obj | None) -> None:
        if self.refs is None and obj is None and not self._absence_satisfies:
            self.state.pop(ref, None)  # a member of a selection left it
            self.result.satisfied_at.pop(ref, None)
            self.result.last_seen.pop(ref, None)
            return
        changed = ref not in self.result.last_seen or self.result.last_seen[ref] != obj
        self.state[ref] = obj
        self.result.last_seen[ref] = obj
        if self.predicate(obj):
            self.result.satisfied_at.setdefault(ref, self.cluster.monotonic())
        else:
            self.result.satisfied_at.pop(ref, None)
        if changed and self.on_change is not None:
            self.on_change(ref, obj)

    def _replace_all(self, items: list[Obj]) -> None:
        seen: set[ObjectRef] = set()
        for obj in items:
            ref = self._ref_of(obj)
            if ref is not None:
                seen.add(ref)
                self._observe(ref, obj)
        for ref in [r for r in self.state if r not in seen]:
            self._observe(ref, None)  # absent now (deleted while we were not watching, or never created)

    def _complete(self) -> bool:
        if not self.state:
            return self.refs is not None or self._absence_satisfies
        return all(ref in self.result.satisfied_at for ref in self.state)

    def _remaining(self) -> float:
        return self.deadline - self.cluster.monotonic()

    def run(self) -> WaitResult:
        sel = self.selection
        failures = 0
        instant_ends = 0
        version: str | None = None
        while self._remaining() > 0 and not self.stop.is_set():
            try:
                if version is None:
                    items, version = self.cluster.list_with_version(
                        sel.api_version, sel.kind, sel.namespace, sel.label_selector, self._field_selector()
                    )
                    self._replace_all(items)
                    if self._complete():
                        break
                started = self.cluster.monotonic()
                version, events = self._watch_once(version)
                failures = 0
                # A server that ends every stream at once, without a word, must not make this a busy loop.
                instant = events == 0 and self.cluster.monotonic() - started < _INSTANT_END_SECONDS
                instant_ends = instant_ends + 1 if instant else 0
                if instant_ends >= 3:
                    self.cluster.sleep(
                        min(self.cluster.retry.delay(instant_ends - 2, None), self._remaining())
                    )
            except Gone:
                version = None  # too old: list again
            except (ClusterUnreachable, ServerError) as exc:
                if self.stop.is_set():
                    break
                failures += 1  # the stream broke or could not be opened after retries: resume from `version`
                if failures >= self.cluster.retry.attempts:
                    raise
                self.cluster.sleep(min(self.cluster.retry.delay(failures, exc), max(0.0, self._remaining())))
            if self._complete():
                break
        self.result.complete = self._complete()
        return self.result

    def _watch_once(self, version: str) -> tuple[str, int]:
        """Follow one watch stream; returns the last resourceVersion seen and how many events came."""
        sel = self.selection
        seconds = max(1, min(_MAX_WATCH_SECONDS, int(self._remaining()) + 1))
        count = 0
        with (
            self.cluster.watch(
                sel.api_version,
                sel.kind,
                namespace=sel.namespace,
                resource_version=version,
                label_selector=sel.label_selector,
                field_selector=self._field_selector(),
                timeout_seconds=seconds,
            ) as stream,
            self.streams.following(stream) as registered,
        ):
            for event in stream if registered and not self.stop.is_set() else ():
                count += 1
                version = event.resource_version or version
                if event.type != "BOOKMARK":
                    ref = self._ref_of(event.object)
                    if ref is not None:
                        self._observe(ref, None if event.type == "DELETED" else event.object)
                if self._complete() or self._remaining() <= 0 or self.stop.is_set():
                    break
        return version, count

    def interrupt(self) -> None:
        """Stop this waiter from another thread, closing its open watch stream."""
        self.stop.set()
        self.streams.close_all()
