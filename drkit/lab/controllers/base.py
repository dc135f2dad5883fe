"""Controllers and the manager that drives them: level-triggered reconciles keyed by object, like kube.

The manager subscribes to every store event, turns each into a (type, namespace, name) key and queues it for
the controllers whose `watches` name that kind. Each controller has one worker thread, so one controller never
reconciles the same key twice at once; keys queued again while pending are merged. A reconcile returns the
seconds after which it wants another look (a delay standing in for real work), or None.

`set_down` simulates a controller outage (crashed operator pod): nothing it watches is reconciled until it is
up again, when it resyncs every object it watches, as a restarted controller's initial list does.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from abc import ABC, abstractmethod

from drkit.lab.apiserver.store import Store, Subscription
from drkit.lab.apiserver.types import ResourceType
from drkit.lab.settings import LabSettings

log = logging.getLogger(__name__)

Key = tuple[ResourceType, str | None, str]
ERROR_REQUEUE_SECONDS = 1.0


class Controller(ABC):
    """Reconciles objects of the kinds in `watches` ((group, kind) pairs) toward their desired state."""

    name: str = ""
    watches: tuple[tuple[str, str], ...] = ()

    def __init__(self, store: Store, settings: LabSettings) -> None:
        self.store = store
        self.settings = settings

    @abstractmethod
    def reconcile(self, rt: ResourceType, namespace: str | None, name: str) -> float | None:
        """Bring one object toward its desired state; return seconds until the next look, or None."""

    def close(self) -> None:  # noqa: B027 (optional hook; most controllers hold nothing)
        """Release what the controller runs outside the store (processes, threads) when the lab stops."""


class _Worker:
    """One controller's queue (deduplicated, with delayed requeues) and the thread that drains it."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.down = False
        self._cond = threading.Condition()
        self._pending: dict[Key, None] = {}  # insertion-ordered set
        self._delayed: list[tuple[float, int, Key]] = []
        self._seq = itertools.count()
        self._busy = False
        self._stopped = False
        self.thread = threading.Thread(target=self._run, name=f"controller-{controller.name}", daemon=True)

    def enqueue(self, key: Key, delay: float = 0.0) -> None:
        with self._cond:
            if delay > 0:
                heapq.heappush(self._delayed, (time.monotonic() + delay, next(self._seq), key))
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
                    self._pending[heapq.heappop(self._delayed)[2]] = None
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


class ControllerManager:
    """Feeds store events to controllers; see the module docstring."""

    def __init__(self, store: Store, controllers: list[Controller], *, resync_period: float = 30.0) -> None:
        self._store = store
        self._workers = {c.name: _Worker(c) for c in controllers}
        self._resync_period = resync_period
        self._stopped = threading.Event()
        self._subscription: Subscription | None = None
        self._dispatcher = threading.Thread(target=self._dispatch, name="controller-manager", daemon=True)

    def names(self) -> list[str]:
        return list(self._workers)

    def start(self) -> None:
        self._subscription = self._store.watch(
            None, None, None
        )  # ADDED for everything that exists: initial sync
        for worker in self._workers.values():
            worker.thread.start()
        self._dispatcher.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._subscription is not None:
            self._subscription.close()
        for worker in self._workers.values():
            worker.stop()
        if self._dispatcher.is_alive():
            self._dispatcher.join()
        for worker in self._workers.values():
            if worker.thread.is_alive():
                worker.thread.join()
        for worker in self._workers.values():
            worker.controller.close()

    def set_down(self, name: str, down: bool) -> None:
        worker = self._workers[name]
        was_down, worker.down = worker.down, down
        if was_down and not down:
            self._resync(worker)

    def is_down(self, name: str) -> bool:
        return self._workers[name].down

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """True once every queue is drained and no reconcile runs (tests use it); False after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(w.idle() for w in self._workers.values()):
                return True
            time.sleep(0.01)
        return False

    def _dispatch(self) -> None:
        assert self._subscription is not None
        next_resync = time.monotonic() + self._resync_period
        while not self._stopped.is_set():
            event = self._subscription.next(0.2)
            if event is not None:
                rt, meta = event.rtype, event.object.get("metadata", {})
                key: Key = (rt, meta.get("namespace") if rt.namespaced else None, meta.get("name", ""))
                for worker in self._workers.values():
                    if (rt.group, rt.kind) in worker.controller.watches:
                        worker.enqueue(key)
            if time.monotonic() >= next_resync:
                next_resync = time.monotonic() + self._resync_period
                for worker in self._workers.values():
                    self._resync(worker)

    def _resync(self, worker: _Worker) -> None:
        if worker.down:
            return
        seen: set[tuple[str, str]] = set()
        for rt in self._store.registry.all():
            if (rt.group, rt.kind) not in worker.controller.watches or (rt.group, rt.kind) in seen:
                continue
            seen.add((rt.group, rt.kind))
            items, _ = self._store.list(rt, None)
            for obj in items:
                meta = obj["metadata"]
                worker.enqueue((rt, meta.get("namespace") if rt.namespaced else None, meta["name"]))
