"""PATCH flavours on core kinds: JSON patch, merge patch, strategic merge patch (lists by merge key)."""

from __future__ import annotations

from collections.abc import Callable

from fidelity_compare import Scenario
from fidelity_kinds import JSON_PATCH, MERGE, STRATEGIC, apps, configmap, containers_of, core, deployment
from fidelity_planes import Client

Fidelity = Callable[[Scenario], None]


def test_json_patch_on_a_configmap(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.post(core(c, "configmaps"), configmap("jp", a="1", b="2"), record=False)
        ops = [
            {"op": "replace", "path": "/data/a", "value": "10"},
            {"op": "remove", "path": "/data/b"},
            {"op": "add", "path": "/metadata/labels", "value": {"patched": "yes"}},
        ]
        c.patch(core(c, "configmaps", "jp"), ops, JSON_PATCH)

    fidelity(scenario)


def test_json_patch_failures(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.post(core(c, "configmaps"), configmap("jpf", a="1"), record=False)
        c.patch(core(c, "configmaps", "jpf"), [{"op": "test", "path": "/data/a", "value": "2"}], JSON_PATCH)
        c.patch(core(c, "configmaps", "jpf"), [{"op": "remove", "path": "/data/zzz"}], JSON_PATCH)
        c.patch(core(c, "configmaps", "missing"), [{"op": "remove", "path": "/data/a"}], JSON_PATCH)

    fidelity(scenario)


def test_merge_patch_null_removes(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.post(core(c, "configmaps"), configmap("mp", a="1", b="2"), record=False)
        c.patch(core(c, "configmaps", "mp"), {"data": {"a": None, "c": "3"}}, MERGE)

    fidelity(scenario)


def test_strategic_merge_patch_merges_containers_by_name(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.post(
            apps(c, "deployments"),
            deployment("smp", ("app", "example.invalid/app:1"), ("log", "example.invalid/log:1")),
            record=False,
        )
        tpl = {
            "spec": {
                "template": {"spec": {"containers": [{"name": "app", "image": "example.invalid/app:2"}]}}
            }
        }
        merged = c.patch(apps(c, "deployments", "smp"), tpl, STRATEGIC, record=False)
        c.note("merged", [merged.status, containers_of(merged.json())])
        drop = {"spec": {"template": {"spec": {"containers": [{"name": "log", "$patch": "delete"}]}}}}
        dropped = c.patch(apps(c, "deployments", "smp"), drop, STRATEGIC, record=False)
        c.note("dropped", [dropped.status, containers_of(dropped.json())])
        replaced = c.patch(apps(c, "deployments", "smp"), tpl, MERGE, record=False)
        c.note("merge patch replaces the list", [replaced.status, containers_of(replaced.json())])

    fidelity(scenario)


def test_strategic_merge_patch_on_a_configmap(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.post(core(c, "configmaps"), configmap("smpcm", a="1"), record=False)
        c.patch(
            core(c, "configmaps", "smpcm"),
            {"data": {"b": "2"}, "metadata": {"labels": {"x": "y"}}},
            STRATEGIC,
        )

    fidelity(scenario)


def test_kubectl_patch_and_label(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.post(core(c, "configmaps"), configmap("kp", a="1"), record=False)
        c.kubectl("patch", "configmap", "kp", "-n", c.ns, "--type=merge", "-p", '{"data":{"a":"2"}}')
        c.kubectl("label", "configmap", "kp", "-n", c.ns, "tier=web")
        c.kubectl("annotate", "configmap", "kp", "-n", c.ns, "note=x")
        c.get(core(c, "configmaps", "kp"))

    fidelity(scenario)
