"""Discovery and printing: /api, /apis, group-version resource lists, aggregated discovery, Tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fidelity_compare import Scenario
from fidelity_kinds import TABLE, configmap, core
from fidelity_planes import Client

Fidelity = Callable[[Scenario], None]
# The kinds the lab serves that drkit touches; the real server serves many more, compared elsewhere.
CORE_KINDS = (
    "configmaps",
    "endpoints",
    "events",
    "namespaces",
    "nodes",
    "persistentvolumeclaims",
    "pods",
    "secrets",
    "serviceaccounts",
    "services",
    "namespaces/finalize",
    "namespaces/status",
    "pods/status",
)
APPS_KINDS = ("deployments", "statefulsets", "daemonsets", "replicasets", "deployments/status")
LAB_GROUPS = (
    "apps",
    "batch",
    "rbac.authorization.k8s.io",
    "coordination.k8s.io",
    "apiextensions.k8s.io",
    "events.k8s.io",
)


def _entries(reply: dict[str, Any], names: tuple[str, ...]) -> list[Any]:
    by_name = {r["name"]: r for r in reply.get("resources", [])}
    return [by_name.get(n) for n in names]


def test_core_api_versions(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.get("/api")

    fidelity(scenario)


def test_group_list_names(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        groups = c.get("/apis", record=False).json()["groups"]
        c.note("groups", sorted(g["name"] for g in groups))

    fidelity(scenario)


def test_group_entries_the_lab_serves(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        groups = {g["name"]: g for g in c.get("/apis", record=False).json()["groups"]}
        for name in LAB_GROUPS:
            c.note(name, groups.get(name))

    fidelity(scenario)


def test_core_v1_resources_the_lab_uses(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        reply = c.get("/api/v1", record=False).json()
        c.note("resources", _entries(reply, CORE_KINDS))

    fidelity(scenario)


def test_apps_v1_resources(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        reply = c.get("/apis/apps/v1", record=False).json()
        c.note("resources", _entries(reply, APPS_KINDS))

    fidelity(scenario)


def test_custom_resource_discovery(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.get("/apis/fidelity.drkit.io")
        c.get("/apis/fidelity.drkit.io/v1")

    fidelity(scenario)


def test_aggregated_discovery(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
        reply = c.get("/apis", accept=accept, record=False)
        c.note("kind", [reply.status, reply.json().get("kind"), reply.headers.get("Content-Type")])

    fidelity(scenario)


def test_replication_controllers_and_api_services_are_served(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.get(core(c, "replicationcontrollers"))
        reply = c.get("/apis/apiregistration.k8s.io/v1/apiservices/v1.apps", record=False)
        c.note(
            "apiservice", [reply.status, (reply.body.get("spec") if isinstance(reply.body, dict) else None)]
        )

    fidelity(scenario)


def test_configmap_table(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.post(core(c, "configmaps"), configmap("tbl", a="1", b="2"), record=False)
        c.get(core(c, "configmaps", "tbl"), accept=TABLE)
        c.get(core(c, "configmaps"), accept=TABLE, params={"fieldSelector": "metadata.name=tbl"})

    fidelity(scenario)


def test_namespace_table(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.get(f"/api/v1/namespaces/{c.ns}", accept=TABLE)

    fidelity(scenario)
