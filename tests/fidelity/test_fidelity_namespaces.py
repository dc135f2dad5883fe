"""Namespace lifecycle: deletion held by a finalizer (conditions word for word), /finalize, terminating."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fidelity_compare import Scenario
from fidelity_kinds import MERGE, configmap, core, widgets
from fidelity_planes import Client
from fidelity_widgets import widget

Fidelity = Callable[[Scenario], None]
HOLD = "fidelity.drkit.io/hold"
NAMESPACES = "/api/v1/namespaces"


def _held(c: Client) -> None:
    cm = configmap("held", k="v")
    cm["metadata"]["finalizers"] = [HOLD]
    c.post(core(c, "configmaps"), cm, record=False)
    wd = widget("held", size=1)
    wd["metadata"]["finalizers"] = [HOLD]
    c.post(widgets(c), wd, record=False)


def _stuck(ns: dict[str, Any] | None) -> bool:
    conditions = {k["type"]: k["status"] for k in ((ns or {}).get("status") or {}).get("conditions") or []}
    return (
        conditions.get("NamespaceContentRemaining") == "True"
        and conditions.get("NamespaceFinalizersRemaining") == "True"
    )


def test_namespace_stuck_on_a_finalizer_then_released(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        _held(c)
        c.delete(f"{NAMESPACES}/{c.ns}")
        c.wait_for(NAMESPACES, c.ns, _stuck)
        c.get(f"{NAMESPACES}/{c.ns}")
        c.kubectl("get", "namespace", c.ns)
        c.patch(core(c, "configmaps", "held"), {"metadata": {"finalizers": None}}, MERGE, record=False)
        c.patch(widgets(c, "held"), {"metadata": {"finalizers": None}}, MERGE, record=False)
        c.wait_for(NAMESPACES, c.ns, lambda o: o is None)
        c.get(f"{NAMESPACES}/{c.ns}")

    fidelity(scenario)


def test_creating_in_a_terminating_namespace_is_forbidden(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        _held(c)
        c.delete(f"{NAMESPACES}/{c.ns}", record=False)
        c.post(core(c, "configmaps"), configmap("late", k="v"))
        c.patch(core(c, "configmaps", "held"), {"metadata": {"finalizers": None}}, MERGE, record=False)
        c.patch(widgets(c, "held"), {"metadata": {"finalizers": None}}, MERGE, record=False)

    fidelity(scenario)


def test_put_finalize_then_delete(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        ns = c.get(f"{NAMESPACES}/{c.ns}").json()
        c.put(f"{NAMESPACES}/{c.ns}/finalize", dict(ns, spec={"finalizers": []}))
        c.delete(f"{NAMESPACES}/{c.ns}")
        c.get(f"{NAMESPACES}/{c.ns}")

    fidelity(scenario)


def test_a_new_namespace(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.get(f"{NAMESPACES}/{c.ns}")
        c.kubectl("get", "namespace", c.ns)

    fidelity(scenario)
