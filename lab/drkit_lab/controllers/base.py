"""Controllers and the manager that drives them: level-triggered reconciles keyed by object, like kube.

The manager runs one informer per (group, kind) that any controller watches: a list, then a watch from the
list's resourceVersion, over the API like every other client (a kind whose CRD is not installed yet is
looked up again every `discovery_retry` seconds). Each event's (type, namespace, name) key is queued for the
controllers that watch the kind; a watch the server ends is resumed from the last resourceVersion seen, and
a 410 Gone (history compacted) or a broken stream means a relist, which queues every object listed and every
one that disappeared meanwhile. A periodic resync queues every known key again.

Each controller has one worker thread, so one controller never reconciles the same key twice at once; keys
queued again while pending are merged. A reconcile returns the seconds after which it wants another look (a
delay standing in for real work), or None.

`set_down` simulates an outage (crashed operator pod) of a unit (`Controller.unit`, several controllers may
share one): nothing they watch is reconciled until it is up again, when they resync every object they watch,
as a restarted controller's initial list does.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Literal

from drkit_lab.apiserver.errors import ApiError
from drkit_lab.apiserver.store import Store
from drkit_lab.apiserver.types import ResourceType
from drkit_lab.kubeapi import ApiClient, WatchStream
from drkit_lab.kubeapi.client import Obj
from drkit_lab.settings import LabSettings

log = logging.getLogger(__name__)

Key = tuple[ResourceType, str | None, str]
GroupKind = tuple[str, str]
ERROR_REQUEUE_SECONDS = 1.0


class Controller(ABC):
    """Reconciles objects of the kinds in `watches` ((group, kind) pairs) toward their desired state."""

    name: str = ""
    unit: str = ""  # what an outage (`set_down`) names; controllers sharing one go down together ("" = name)
    watches: tuple[GroupKind, ...] = ()

    def __init__(self, settings: LabSettings) -> None:
        self.settings = settings
        self._enqueue: Callable[[Key], None] | None = None

    def attach(self, enqueue: Callable[[Key], None]) -> None:
        """Called by the controller's worker: `wake` then queues keys from the controller's own threads."""
        self._enqueue = enqueue

    def wake(self, key: Key) -> None:
        """Queue a reconcile of `key` because something outside the API changed (a process exited)."""
        if self._enqueue is not None:
            self._enqueue(key)

    @property
    def outage_unit(self) -> str:
        return self.unit or self.name

    @abstractmethod
    def reconcile(self, rt: ResourceType, namespace: str | None, name: str) -> float | None:
        """Bring one object toward its desired state; return seconds until the next look, or None."""

    def close(self) -> None:  # noqa: B027 (optional hook; most controllers hold nothing)
        """Release what the controller runs outside the API (processes, threads) when the lab stops."""


class Operator(Controller):
    """A controller that acts only through the Kubernetes API, so it runs against any control plane."""

    def __init__(self, api: ApiClient, settings: LabSettings) -> None:
        super().__init__(settings)
        self.api = api

    def close(self) -> None:
        self.api.close()


class ControlPlaneController(Controller):
    """A controller of the emulated control plane (what kube-controller-manager does on a real one). It is
    part of the emulated server, so it acts on the Store directly; it is still fed by the informers."""

    def __init__(self, store: Store, settings: LabSettings) -> None:
        super().__init__(settings)
        self.store = store


def object_key(rt: ResourceType, obj: Obj) -> Key:
    meta = obj.get("metadata", {})
    return (rt, meta.get("namespace") if rt.namespaced else None, str(meta.get("name", "")))


class _Worker:
    """One controller's queue (deduplicated, with delayed requeues) and the thread that drains it."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.down = False
        self._cond = threading.Condition()
        self._pending: dict[Key, None] = {}  # insertion-ordered set
        self._delayed: list[tuple[float, int, Key]] = []
        self._due: dict[Key, float] = {}  # key -> when its (one) delayed requeue is due
        self._seq = itertools.count()
        self._busy = False
        self._stopped = False
        self.thread = threading.Thread(target=self._run, name=f"controller-{controller.name}", daemon=True)
        controller.attach(self.enqueue)

    def enqueue(self, key: Key, delay: float = 0.0) -> None:
        """Queue `key` now, or after `delay` (a key waits for one requeue at most: the earliest asked for)."""
        with self._cond:
            if delay > 0:
                due = time.monotonic() + delay
                if self._due.get(key, float("inf")) <= due:
                    return
                self._due[key] = due
                heapq.heappush(self._delayed, (due, next(self._seq), key))
            else:
                self._pending[key] = None
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def idle(self) -> bool:
        """Nothing queued now and nothing running (delayed requeues do not count)."""
        with self._cond:
            return not self._pending and not self._busy

    def _next_key(self) -> Key | None:
        with self._cond:
            while not self._stopped:
                now = time.monotonic()
                while self._delayed and self._delayed[0][0] <= now:
                    due, _, key = heapq.heappop(self._delayed)
                    if self._due.get(key) == due:  # else superseded by an earlier requeue
                        del self._due[key]
                        self._pending[key] = None
                if self._pending:
                    key = next(iter(self._pending))
                    del self._pending[key]
                    self._busy = True
                    return key
                timeout = self._delayed[0][0] - now if self._delayed else None
                self._cond.wait(timeout)
            return None

    def _run(self) -> None:
        while (key := self._next_key()) is not None:
            try:
                if not self.down:
                    self._reconcile(key)
            finally:
                with self._cond:
                    self._busy = False

    def _reconcile(self, key: Key) -> None:
        rt, namespace, name = key
        try:
            again = self.controller.reconcile(rt, namespace, name)
        except Exception:
            log.exception("controller %s failed on %s %s/%s", self.controller.name, rt.kind, namespace, name)
            again = ERROR_REQUEUE_SECONDS
        if again is not None:
            self.enqueue(key, again)


InformerState = Literal["starting", "not-served", "synced"]


class _Informer:
    """List+watch of one (group, kind) over the API; hands every key it sees to `deliver`."""

    def __init__(
        self,
        group_kind: GroupKind,
        api: ApiClient,
        workers: list[_Worker],
        stopped: threading.Event,
        *,
        discovery_retry: float,
        watch_timeout: int,
    ) -> None:
        self.group_kind = group_kind
        self.state: InformerState = "starting"
        self.lists = 0  # how many times it listed (tests read it)
        self._api = api
        self._workers = workers
        self._stopped = stopped
        self._retry = discovery_retry
        self._watch_timeout = watch_timeout
        self._lock = threading.Lock()
        self._keys: set[Key] = set()
        self._stream: WatchStream | None = None
        group, kind = group_kind
        self.thread = threading.Thread(
            target=self._run, name=f"informer-{group or 'core'}-{kind}", daemon=True
        )

    def known_keys(self) -> set[Key]:
        with self._lock:
            return set(self._keys)

    def close(self) -> None:
        """End the current watch now (called after the stop flag is set)."""
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()

    def _deliver(self, key: Key) -> None:
        for worker in self._workers:
            worker.enqueue(key)

    def _run(self) -> None:
        while not self._stopped.is_set():
            rt = None
            try:
                rt = self._api.resource_in_group(*self.group_kind)
                if rt is None:
                    self.state = "not-served"
                    self._stopped.wait(self._retry)
                    continue
                self._watch(rt, self._relist(rt))
            except ApiError as exc:
                if self._stopped.is_set():
                    return
                if exc.code == 404 and rt is not None:  # the kind went away (CRD deleted): discover again
                    self._api.forget(rt)
                if exc.code != 410:
                    log.debug("informer %s: %s; retrying", self.group_kind, exc)
                    self._stopped.wait(self._retry)
            except Exception:
                if self._stopped.is_set():
                    return
                log.exception("informer %s failed; retrying", self.group_kind)
                self._stopped.wait(self._retry)

    def _relist(self, rt: ResourceType) -> str:
        items, rv = self._api.list(rt)
        listed = {object_key(rt, obj) for obj in items}
        with self._lock:
            gone, self._keys = self._keys - listed, listed
        for key in [*listed, *gone]:
            self._deliver(key)
        self.lists += 1
        self.state = "synced"
        return rv

    def _watch(self, rt: ResourceType, rv: str) -> None:
        """Watch from `rv` until stopped; a stream the server ends is resumed from the last version seen."""
        while not self._stopped.is_set():
            stream = self._api.watch(rt, resource_version=rv, timeout_seconds=self._watch_timeout)
            with self._lock:
                self._stream = stream
            if self._stopped.is_set():
                stream.close()
                return
            for event in stream:
                rv = event.resource_version or rv
                if event.type == "BOOKMARK":
                    continue
                key = object_key(rt, event.object)
                with self._lock:
                    if event.type == "DELETED":
                        self._keys.discard(key)
                    else:
                        self._keys.add(key)
                self._deliver(key)


class ControllerManager:
    """Feeds API events to controllers; see the module docstring. `api` is the informers' own client."""

    def __init__(
        self,
        api: ApiClient,
        controllers: list[Controller],
        *,
        resync_period: float = 30.0,
        discovery_retry: float = 1.0,
        watch_timeout: int = 60,
    ) -> None:
        self._api = api
        self._workers = {c.name: _Worker(c) for c in controllers}
        self._resync_period = resync_period
        self._stopped = threading.Event()
        kinds = list(dict.fromkeys(gk for c in controllers for gk in c.watches))
        self._informers = [
            _Informer(
                gk,
                api,
                [w for w in self._workers.values() if gk in w.controller.watches],
                self._stopped,
                discovery_retry=discovery_retry,
                watch_timeout=watch_timeout,
            )
            for gk in kinds
        ]
        self._resyncer = threading.Thread(target=self._resync_loop, name="controller-resync", daemon=True)

    def names(self) -> list[str]:
        """The units outages address, in controller order."""
        return list(dict.fromkeys(w.controller.outage_unit for w in self._workers.values()))

    def controller_names(self) -> list[str]:
        return list(self._workers)

    def informer(self, group: str, kind: str) -> _Informer:
        return next(i for i in self._informers if i.group_kind == (group, kind))

    def start(self) -> None:
        for worker in self._workers.values():
            worker.thread.start()
        for informer in self._informers:
            informer.thread.start()
        self._resyncer.start()

    def stop(self) -> None:
        self._stopped.set()
        for informer in self._informers:
            informer.close()
        for worker in self._workers.values():
            worker.stop()
        threads = [
            self._resyncer,
            *(i.thread for i in self._informers),
            *(w.thread for w in self._workers.values()),
        ]
        for thread in threads:
            if thread.is_alive():
                thread.join()
        for worker in self._workers.values():
            worker.controller.close()
        self._api.close()

    def _unit(self, name: str) -> list[_Worker]:
        workers = [w for w in self._workers.values() if name in (w.controller.outage_unit, w.controller.name)]
        if not workers:
            raise KeyError(name)
        return workers

    def set_down(self, name: str, down: bool) -> None:
        for worker in self._unit(name):
            was_down, worker.down = worker.down, down
            if was_down and not down:
                self._resync(worker)

    def is_down(self, name: str) -> bool:
        return all(w.down for w in self._unit(name))

    def wait_idle(self, timeout: float = 5.0, *, settle: float = 0.2) -> bool:
        """True once every informer has listed (or found its kind not served) and, for `settle` seconds on
        end, every queue was drained and no reconcile ran; False after `timeout`. Events travel over HTTP,
        so an idle moment right after a write may come before its event: prefer waiting on a watch."""
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            started = all(i.state != "starting" for i in self._informers)
            if started and all(w.idle() for w in self._workers.values()):
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= settle:
                    return True
            else:
                quiet_since = None
            time.sleep(0.01)
        return False

    def _resync_loop(self) -> None:
        while not self._stopped.wait(self._resync_period):
            for worker in self._workers.values():
                self._resync(worker)

    def _resync(self, worker: _Worker) -> None:
        if worker.down:
            return
        for informer in self._informers:
            if informer.group_kind in worker.controller.watches:
                for key in informer.known_keys():
                    worker.enqueue(key)
