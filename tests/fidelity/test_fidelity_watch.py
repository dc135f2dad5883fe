"""Watches: the events of a sequence of writes, 410 Gone from a compacted resourceVersion, bookmarks."""

from __future__ import annotations

from collections.abc import Callable

from fidelity_compare import Scenario
from fidelity_kinds import MERGE, configmap, core, secret
from fidelity_planes import Client

Fidelity = Callable[[Scenario], None]
TOO_OLD = [(r"too old resource version: \d+ \(\d+\)", "too old resource version: <rv> (<rv>)")]


def test_watch_replays_a_sequence_of_writes(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        start = c.get(core(c, "configmaps"), params={"labelSelector": "w"}, record=False).json()
        c.post(core(c, "configmaps"), configmap("w", labels={"w": "1"}, k="1"), record=False)
        c.patch(core(c, "configmaps", "w"), {"data": {"k": "2"}}, MERGE, record=False)
        c.delete(core(c, "configmaps", "w"), record=False)
        params = {
            "watch": "true",
            "labelSelector": "w",
            "resourceVersion": start["metadata"]["resourceVersion"],
        }
        c.watch(core(c, "configmaps"), params, until=lambda e: e["type"] == "DELETED")

    fidelity(scenario)


def test_watch_from_a_compacted_resource_version(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        for i in range(3):
            c.post(core(c, "secrets"), secret(f"s{i}", k="v"), record=False)
        c.compact()
        params = {"watch": "true", "resourceVersion": "1", "timeoutSeconds": "2"}  # older than any history
        c.watch(core(c, "secrets"), params, until=lambda e: e["type"] in ("ERROR", "DELETED"), masks=TOO_OLD)

    fidelity(scenario)


def test_watch_list_ends_initial_events_with_a_bookmark(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        for name in ("a", "b"):
            c.post(core(c, "secrets"), secret(name, k="v"), record=False)
        params = {
            "watch": "true",
            "sendInitialEvents": "true",
            "allowWatchBookmarks": "true",
            "resourceVersionMatch": "NotOlderThan",
        }
        c.watch(core(c, "secrets"), params, until=lambda e: e["type"] == "BOOKMARK")

    fidelity(scenario)


def test_watch_with_an_invalid_resource_version(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.get(core(c, "secrets"), params={"watch": "true", "resourceVersion": "abc"})

    fidelity(scenario)


def test_watch_times_out_empty(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        rv = c.get(core(c, "secrets"), record=False).json()["metadata"]["resourceVersion"]
        params = {"watch": "true", "resourceVersion": rv, "timeoutSeconds": "1"}
        c.watch(core(c, "secrets"), params, until=lambda e: False)

    fidelity(scenario)
