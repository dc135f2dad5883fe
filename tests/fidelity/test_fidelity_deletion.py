"""Deletion: propagation policies with ownerReferences, what DELETE answers, dry runs, late finalizers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fidelity_compare import Scenario
from fidelity_kinds import MERGE, configmap, core, owner_ref, pod
from fidelity_planes import Client

Fidelity = Callable[[Scenario], None]
HOLD = "fidelity.drkit.io/hold"


def _family(c: Client, *, dependent_finalizer: bool) -> dict[str, Any]:
    owner = c.post(core(c, "configmaps"), configmap("owner", k="v"), record=False).json()
    child = configmap("child", k="v")
    child["metadata"]["ownerReferences"] = [owner_ref(owner)]
    if dependent_finalizer:
        child["metadata"]["finalizers"] = [HOLD]
    c.post(core(c, "configmaps"), child, record=False)
    return owner


def _release(c: Client, name: str) -> None:
    c.patch(core(c, "configmaps", name), {"metadata": {"finalizers": None}}, MERGE, record=False)


def test_foreground_deletion_waits_for_dependents(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        _family(c, dependent_finalizer=True)
        c.delete(core(c, "configmaps", "owner"), {"propagationPolicy": "Foreground"})
        cms = core(c, "configmaps")
        c.wait_for(cms, "child", lambda o: bool(o and o["metadata"].get("deletionTimestamp")))
        c.get(core(c, "configmaps", "owner"))
        _release(c, "child")
        c.wait_for(cms, "owner", lambda o: o is None)
        c.get(core(c, "configmaps", "owner"))

    fidelity(scenario)


def test_kubectl_delete_cascade_foreground(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        _family(c, dependent_finalizer=True)
        c.kubectl("delete", "configmap", "owner", "-n", c.ns, "--cascade=foreground", "--wait=false")
        owner = c.get(core(c, "configmaps", "owner"), record=False).json()
        c.note("owner finalizers", owner["metadata"].get("finalizers"))
        c.note("owner deleting", bool(owner["metadata"].get("deletionTimestamp")))
        _release(c, "child")
        c.wait_for(core(c, "configmaps"), "owner", lambda o: o is None)

    fidelity(scenario)


def test_orphan_propagation_keeps_dependents(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        _family(c, dependent_finalizer=False)
        c.delete(core(c, "configmaps", "owner"), {"propagationPolicy": "Orphan"})
        c.wait_for(core(c, "configmaps"), "owner", lambda o: o is None)
        c.get(core(c, "configmaps", "child"))

    fidelity(scenario)


def test_background_propagation_deletes_dependents(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        _family(c, dependent_finalizer=False)
        c.delete(core(c, "configmaps", "owner"), {"propagationPolicy": "Background"})
        c.wait_for(core(c, "configmaps"), "child", lambda o: o is None)
        c.get(core(c, "configmaps", "child"))

    fidelity(scenario)


def test_delete_returns_the_object_or_a_status(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.wait_default_service_account()
        c.post(core(c, "configmaps"), configmap("gone", k="v"), record=False)
        c.delete(core(c, "configmaps", "gone"))
        c.post(core(c, "pods"), pod("gone"), record=False)
        deleted_pod = c.delete(core(c, "pods", "gone"), record=False)
        c.note("pod delete", [deleted_pod.status, deleted_pod.json().get("kind")])
        svc = {"metadata": {"name": "gone"}, "spec": {"ports": [{"port": 80}]}}
        c.post(core(c, "services"), svc, record=False)
        deleted_svc = c.delete(core(c, "services", "gone"), record=False)
        c.note("service delete", [deleted_svc.status, deleted_svc.json().get("kind")])

    fidelity(scenario)


def test_delete_with_a_stale_precondition(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.post(core(c, "configmaps"), configmap("pre", k="v"), record=False)
        c.delete(
            core(c, "configmaps", "pre"),
            {"preconditions": {"resourceVersion": "1"}},
            masks=[(r"\(\d+\)", "(<rv>)")],
        )
        c.delete(
            core(c, "configmaps", "pre"), {"preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}}
        )

    fidelity(scenario)


def test_dry_run_create_patch_delete(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        dry = {"dryRun": "All"}
        c.post(core(c, "configmaps"), configmap("dry", k="v"), params=dry)
        c.get(core(c, "configmaps", "dry"))
        c.post(core(c, "configmaps"), configmap("dry", k="v"), record=False)
        c.patch(core(c, "configmaps", "dry"), {"data": {"k": "changed"}}, MERGE, params=dry)
        c.delete(core(c, "configmaps", "dry"), params=dry)
        c.get(core(c, "configmaps", "dry"))

    fidelity(scenario)


def test_finalizer_added_while_deleting_is_refused(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        held = configmap("late", k="v")
        held["metadata"]["finalizers"] = [HOLD]
        c.post(core(c, "configmaps"), held, record=False)
        c.delete(core(c, "configmaps", "late"))
        c.patch(
            core(c, "configmaps", "late"), {"metadata": {"finalizers": [HOLD, "example.com/late"]}}, MERGE
        )
        _release(c, "late")

    fidelity(scenario)


def test_removing_the_last_finalizer_answers_the_object_at_the_resource_version_it_had(
    fidelity: Fidelity,
) -> None:
    # drkit's finalizer audit records the resourceVersion this answer carries. kube-apiserver answers the
    # update that lets a deleting object go with the object as it stood, not at a new version of its own.
    def scenario(c: Client) -> None:
        held = configmap("last-hold", k="v")
        held["metadata"]["finalizers"] = [HOLD]
        c.post(core(c, "configmaps"), held, record=False)
        deleting = c.delete(core(c, "configmaps", "last-hold"), record=False).json()
        before = int(deleting["metadata"]["resourceVersion"])
        answer = c.patch(
            core(c, "configmaps", "last-hold"), {"metadata": {"finalizers": None}}, MERGE, record=False
        ).json()
        c.note("answer is the object", answer.get("kind"))
        c.note("answer has no finalizers", answer["metadata"].get("finalizers"))
        c.note("answer's resourceVersion", int(answer["metadata"]["resourceVersion"]) - before)
        c.wait_for(core(c, "configmaps"), "last-hold", lambda o: o is None)

    fidelity(scenario)


def test_delete_collection_by_label(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        for name in ("x1", "x2", "y1"):
            c.post(core(c, "configmaps"), configmap(name, labels={"group": name[0]}), record=False)
        c.delete(core(c, "configmaps"), params={"labelSelector": "group=x"})
        left = c.get(core(c, "configmaps"), params={"labelSelector": "group"}, record=False).json()
        c.note("left", [i["metadata"]["name"] for i in left["items"]])

    fidelity(scenario)
