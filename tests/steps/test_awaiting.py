"""What a waiting step shows: the count, then each object still awaited with its current state."""

from __future__ import annotations

from typing import Any

from drkit.kube import ObjectRef, ReadinessRules
from drkit.steps.awaiting import MAX_AWAITED_LINES, AwaitedObjects, gone_state, ready_state

SERVER = ObjectRef("mlops.seldon.io/v1alpha1", "Server", "seldon-mesh", "mlserver")


def _server(ready: str, reason: str) -> dict[str, Any]:
    return {
        "apiVersion": SERVER.api_version,
        "kind": "Server",
        "metadata": {"name": "mlserver", "namespace": "seldon-mesh"},
        "status": {"conditions": [{"type": "Ready", "status": ready, "reason": reason}]},
    }


def test_a_stuck_server_is_named_with_its_condition() -> None:
    shown: list[str] = []
    awaited = AwaitedObjects(shown.append, "ready", ready_state(ReadinessRules()))
    awaited.changed(SERVER, _server("False", "Reconciling"))
    assert shown == ["0/1 ready; Server seldon-mesh/mlserver: Ready=False (Reconciling)"]
    awaited.changed(SERVER, _server("True", "Available"))
    assert shown[-1] == "1/1 ready"


def test_objects_held_by_finalizers_say_so_and_many_are_counted() -> None:
    shown: list[str] = []
    awaited = AwaitedObjects(shown.append, "gone", gone_state)
    refs = [ObjectRef("v1", "ConfigMap", "ml", f"cm-{n}") for n in range(MAX_AWAITED_LINES + 3)]
    deleting = {"deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": ["example.io/keep"]}
    held = {"metadata": {"name": "x", **deleting}}
    for ref in refs:
        awaited.changed(ref, held)
    awaited.changed(refs[0], None)
    lines = shown[-1].splitlines()
    assert lines[0] == (
        f"1/{len(refs)} gone; ConfigMap ml/cm-1: still there (being deleted; waiting for finalizers "
        "example.io/keep)"
    )
    assert lines[1].startswith("ConfigMap ml/cm-2: still there")
    assert len(lines) == MAX_AWAITED_LINES + 1
    assert lines[-1] == "and 2 more"
