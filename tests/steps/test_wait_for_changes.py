"""The checklist runner waits on cluster events instead of a timer when every pending item can be watched,
and falls back to the timer otherwise; `wait_for_any_change` against a real API server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from cluster_support import MODEL_API, Server, model, model_status, running_server
from steps_support import context, playbook_in

from drkit.context import Runtime
from drkit.kube.changes import Change, WatchPoint, wait_for_any_change
from drkit.steps.base import Probe, StepContext, StepResult, StepStatus
from drkit.steps.check import run_checklist
from drkit.steps.resource_probe import PROBE_KIND as RESOURCE

POINT = WatchPoint(MODEL_API, "Model", "ml", "", "", "1")


class WatchedProbe:
    """Passes from its `passes_on`-th attempt; offers a watch point unless `point` is None."""

    def __init__(self, name: str, passes_on: int, point: WatchPoint | None = POINT) -> None:
        self.name = name
        self.passes_on = passes_on
        self.point = point
        self.attempts = 0

    def describe(self) -> str:
        return self.name

    def watch_point(self) -> WatchPoint | None:
        return self.point

    def attempt(self, ctx: StepContext) -> StepResult:
        self.attempts += 1
        ok = self.attempts >= self.passes_on
        return StepResult(StepStatus.SUCCEEDED if ok else StepStatus.FAILED, "ok" if ok else "not yet")


class TimerProbe:
    """An item that cannot be watched (like http or command): passes from its `passes_on`-th attempt."""

    def __init__(self, name: str, passes_on: int) -> None:
        self.name = name
        self.inner = WatchedProbe(name, passes_on)

    def describe(self) -> str:
        return self.name

    def attempt(self, ctx: StepContext) -> StepResult:
        return self.inner.attempt(ctx)


class FakeChanges:
    """Stands in for the cluster: each wait takes `takes` seconds of the fake clock and returns `answer`."""

    def __init__(self, clock, answer: Change, takes: float) -> None:  # type: ignore[no-untyped-def]
        self.clock = clock
        self.answer = answer
        self.takes = takes
        self.calls: list[tuple[int, float]] = []

    def __call__(self, ctx: StepContext, points: list[WatchPoint], timeout: float) -> Change:
        self.calls.append((len(points), timeout))
        self.clock.advance(min(self.takes, timeout))
        return self.answer


def test_watchable_items_are_attempted_again_on_a_change_not_on_a_timer(runtime: Runtime, clock) -> None:  # type: ignore[no-untyped-def]
    changes = FakeChanges(clock, Change.CHANGED, takes=3.0)
    probes: list[Probe] = [WatchedProbe("a", 1), WatchedProbe("b", 3)]
    result = run_checklist("c", probes, context(runtime), timeout=60, event_wait=4.0, wait_for_change=changes)
    assert result.status is StepStatus.SUCCEEDED
    items = {i.name: i.to_json() for i in result.checklist_items}
    assert items["b"]["firstPassedAfter"] == 6.0  # two changes, 3s each
    assert changes.calls == [(1, 4.0), (1, 4.0)]  # only the pending item is watched, up to event_wait
    assert clock.sleeps == []


def test_event_waits_end_at_the_deadline(runtime: Runtime, clock) -> None:  # type: ignore[no-untyped-def]
    changes = FakeChanges(clock, Change.QUIET, takes=100.0)
    result = run_checklist(
        "c", [WatchedProbe("a", 99)], context(runtime), timeout=20, event_wait=8.0, wait_for_change=changes
    )
    assert result.status is StepStatus.FAILED
    assert changes.calls == [(1, 8.0), (1, 8.0), (1, 4.0)]  # the last wait is what is left of the 20s
    assert "after 20.0s" in result.message


def test_a_broken_watch_falls_back_to_the_timer(runtime: Runtime, clock) -> None:  # type: ignore[no-untyped-def]
    changes = FakeChanges(clock, Change.BROKEN, takes=0.0)
    result = run_checklist(
        "c", [WatchedProbe("a", 2)], context(runtime), timeout=10, round_interval=2.5, wait_for_change=changes
    )
    assert result.status is StepStatus.SUCCEEDED
    assert clock.sleeps == [2.5]


@pytest.mark.parametrize("other", [TimerProbe("plain", 3), WatchedProbe("unread", 3, point=None)])
def test_any_item_without_a_watch_point_means_the_timer(runtime: Runtime, clock, other: Probe) -> None:  # type: ignore[no-untyped-def]
    changes = FakeChanges(clock, Change.CHANGED, takes=1.0)
    result = run_checklist(
        "c",
        [WatchedProbe("a", 3), other],
        context(runtime),
        timeout=10,
        round_interval=2.5,
        wait_for_change=changes,
    )
    assert result.status is StepStatus.SUCCEEDED
    assert changes.calls == []
    assert clock.sleeps == [2.5, 2.5]


# -- against a real API server --


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with running_server(tmp_path) as started:
        yield started


def _version(server: Server) -> str:
    return server.cluster.list_with_version(MODEL_API, "Model", "ml")[1]


def test_quiet_when_nothing_changes_and_changed_on_an_event_at_any_point(server: Server) -> None:
    version = _version(server)
    first = replace(POINT, label_selector="app=first", resource_version=version)
    second = replace(POINT, label_selector="app=second", resource_version=version)
    assert wait_for_any_change(server.cluster, [first, second], 0.3) is Change.QUIET
    server.later(0.2, lambda: server.create(model("new", labels={"app": "second"})))
    assert wait_for_any_change(server.cluster, [first, second], 10) is Change.CHANGED
    # The event was seen by the second watch alone: the first one's selector does not match it.
    assert wait_for_any_change(server.cluster, [first], 0.3) is Change.QUIET


def test_an_unwatchable_kind_is_broken_not_changed(server: Server) -> None:
    point = WatchPoint("example.com/v1", "Nothing", "ml", "", "", "1")
    assert wait_for_any_change(server.cluster, [point], 5) is Change.BROKEN


def test_a_checklist_of_cluster_items_passes_on_the_event(server: Server) -> None:
    server.create(model("m"))
    server.later(0.3, lambda: server.set_status(MODEL_API, "Model", "ml", "m", model_status(True)))
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    ctx = server.context(timeout=30)
    ctx = replace(ctx, runtime=replace(ctx.runtime, sleep=sleep))
    probe = RESOURCE.build(
        "m",
        {"apiVersion": MODEL_API, "kind": "Model", "namespace": "ml", "name": "m"},
        playbook_in(server.runtime.cwd),
    )
    result = run_checklist("models", [probe], ctx, timeout=30, round_interval=60)
    assert result.status is StepStatus.SUCCEEDED, result.message
    assert all(s < 1 for s in slept)  # never the 60s timer: the status write woke it
