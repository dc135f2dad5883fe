"""Status bodies of refused requests (404, 409, 422), preconditions, generateName and create defaults."""

from __future__ import annotations

from collections.abc import Callable

from fidelity_compare import Scenario
from fidelity_kinds import configmap, core, pod
from fidelity_planes import Client

Fidelity = Callable[[Scenario], None]


def test_not_found_bodies(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.get(core(c, "configmaps", "missing"))
        c.get("/api/v1/namespaces/fid-nowhere-at-all")
        c.get("/apis/apps/v1/namespaces/" + c.ns + "/deployments/missing")
        c.get("/api/v1/namespaces/" + c.ns + "/frobnicators")

    fidelity(scenario)


def test_already_exists_body(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.post(core(c, "configmaps"), configmap("twice", k="v"))
        c.post(core(c, "configmaps"), configmap("twice", k="v"))

    fidelity(scenario)


def test_invalid_name_has_causes(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.post(core(c, "configmaps"), configmap("Bad_Name", k="v"))
        c.post(core(c, "configmaps"), {"metadata": {}, "data": {}})

    fidelity(scenario)


def test_generate_name(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.post(core(c, "configmaps"), {"metadata": {"generateName": "gen-"}, "data": {"k": "v"}})

    fidelity(scenario)


def test_update_with_a_stale_resource_version_conflicts(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        first = c.post(core(c, "configmaps"), configmap("stale", k="1")).json()
        fresh = dict(first, data={"k": "2"})
        c.put(core(c, "configmaps", "stale"), fresh)
        c.put(core(c, "configmaps", "stale"), dict(first, data={"k": "3"}))

    fidelity(scenario)


def test_a_new_pod_has_a_status(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.wait_default_service_account()
        created = c.post(core(c, "pods"), pod("p"), record=False).json()
        c.note("status", created.get("status"))

    fidelity(scenario)
