"""What a step waiting on objects shows while it waits: how many got there, and each object still awaited
with its current state (`Server seldon-mesh/mlserver: Ready=False (Reconciling)`).

The wait itself is watch based (`drkit.kube.wait_for`) and tells the tracker every change; the tracker turns
the whole picture into one progress text, a summary line naming the first awaited object, then a line per
further one. Printing it (the live view on a terminal, lines at growing intervals in a log) is the report
layer's business, so a wait that sees no event for minutes still shows what it is waiting for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from drkit.kube import ObjectRef, ReadinessRules, Status, compute_status

MAX_AWAITED_LINES = 8  # objects named one per line; the rest are counted

# Whether an object (None: absent) is where the wait wants it, and its state in words.
StateOf = Callable[[dict[str, Any] | None], tuple[bool, str]]


def ready_state(rules: ReadinessRules) -> StateOf:
    def state(obj: dict[str, Any] | None) -> tuple[bool, str]:
        result = compute_status(obj, rules)
        return result.status is Status.CURRENT, result.message

    return state


def gone_state(obj: dict[str, Any] | None) -> tuple[bool, str]:
    if obj is None:
        return True, "gone"
    return False, f"still there ({compute_status(obj).message})"


def exists_state(obj: dict[str, Any] | None) -> tuple[bool, str]:
    return (True, "exists") if obj is not None else (False, "not found")


class AwaitedObjects:
    """Collects the state of every awaited object and reports it through `progress` on each change; the
    wait calls `changed` from several threads when it watches several kinds, hence the lock."""

    def __init__(
        self,
        progress: Callable[[str], None],
        goal: str,
        state_of: StateOf,
        refs: Iterable[ObjectRef] = (),
    ) -> None:
        self._progress = progress
        self._goal = goal  # "ready", "deleted", "gone": what the summary counts
        self._state_of = state_of
        self._lock = threading.Lock()
        self._states: dict[ObjectRef, tuple[bool, str]] = dict.fromkeys(refs, (False, "not seen yet"))

    def changed(self, ref: ObjectRef, obj: dict[str, Any] | None) -> None:
        state = self._state_of(obj)
        with self._lock:  # held while reporting, so the texts arrive in the order of the changes
            self._states[ref] = state
            self._progress(self.text())

    def text(self) -> str:
        done = sum(1 for ok, _ in self._states.values() if ok)
        head = f"{done}/{len(self._states)} {self._goal}"
        awaited = [(ref, words) for ref, (ok, words) in self._states.items() if not ok]
        if not awaited:
            return head
        (first, words), rest = awaited[0], awaited[1:]
        lines = [f"{head}; {first}: {words}"]
        lines += [f"{ref}: {text}" for ref, text in rest[: MAX_AWAITED_LINES - 1]]
        if len(awaited) > MAX_AWAITED_LINES:
            lines.append(f"and {len(awaited) - MAX_AWAITED_LINES} more")
        return "\n".join(lines)
