"""Field management: server-side apply with two managers, list merge by key, and client-side kubectl apply."""

from __future__ import annotations

from collections.abc import Callable

from fidelity_compare import Scenario
from fidelity_kinds import APPLY, apps, configmap, containers_of, core, deployment, widgets, yaml_of
from fidelity_planes import Client
from fidelity_widgets import widget

Fidelity = Callable[[Scenario], None]


def _apply(c: Client, path: str, obj: object, manager: str, *, force: bool = False, record: bool = True):  # type: ignore[no-untyped-def]
    params = {"fieldManager": manager}
    if force:
        params["force"] = "true"
    return c.patch(path, yaml_of(obj).encode(), APPLY, params=params, record=record)  # type: ignore[arg-type]


def test_ssa_two_managers_conflict_then_force(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        path = core(c, "configmaps", "shared")
        _apply(c, path, configmap("shared", k="alice"), "alice")
        _apply(c, path, configmap("shared", k="bob"), "bob")  # 409: alice owns data.k
        _apply(c, path, configmap("shared", k="bob"), "bob", force=True)

    fidelity(scenario)


def test_ssa_same_value_is_shared_ownership(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        path = core(c, "configmaps", "same")
        _apply(c, path, configmap("same", k="v"), "alice")
        _apply(c, path, configmap("same", k="v"), "bob")

    fidelity(scenario)


def test_ssa_dropping_a_field_removes_it(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        path = core(c, "configmaps", "shrink")
        _apply(c, path, configmap("shrink", a="1", b="2"), "alice")
        _apply(c, path, configmap("shrink", a="1"), "alice")

    fidelity(scenario)


def test_ssa_without_a_field_manager_is_refused(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.patch(core(c, "configmaps", "nomgr"), yaml_of(configmap("nomgr", k="v")).encode(), APPLY)

    fidelity(scenario)


def test_ssa_map_list_merges_by_key(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        path = widgets(c, "parts")
        _apply(c, path, widget("parts", parts=[{"name": "a", "count": 1}]), "alice")
        _apply(c, path, widget("parts", parts=[{"name": "b", "count": 2}]), "bob")

    fidelity(scenario)


def test_ssa_containers_merge_by_name(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        path = apps(c, "deployments", "web")
        first = _apply(c, path, deployment("web", ("app", "example.invalid/app:1")), "alice", record=False)
        c.note("first", [first.status, containers_of(first.json())])
        sidecar = _apply(
            c, path, deployment("web", ("proxy", "example.invalid/proxy:1")), "bob", record=False
        )
        c.note("sidecar", [sidecar.status, containers_of(sidecar.json())])
        # The appliers' entries; the Deployment controller's own status Update comes when it comes.
        fields = sidecar.json()["metadata"]["managedFields"]
        managers = [(m["manager"], m["operation"]) for m in fields if m["operation"] == "Apply"]
        c.note("managers", sorted(managers))

    fidelity(scenario)


def test_kubectl_client_side_apply_records_managed_fields(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        manifest = yaml_of(dict(configmap("csa", k="1"), metadata={"name": "csa", "namespace": c.ns}))
        c.kubectl("apply", "-f", "-", stdin=manifest)
        c.kubectl("apply", "-f", "-", stdin=manifest)
        c.kubectl("apply", "-f", "-", stdin=manifest.replace('"1"', '"2"'))
        c.get(core(c, "configmaps", "csa"))

    fidelity(scenario)


def test_kubectl_server_side_apply_conflict(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        manifest = yaml_of(dict(configmap("ssa", k="1"), metadata={"name": "ssa", "namespace": c.ns}))
        c.kubectl("apply", "--server-side", "-f", "-", stdin=manifest)
        changed = manifest.replace('"1"', '"2"')
        c.kubectl("apply", "--server-side", "--field-manager=other", "-f", "-", stdin=changed)
        c.kubectl(
            "apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-", stdin=changed
        )
        c.get(core(c, "configmaps", "ssa"))

    fidelity(scenario)
