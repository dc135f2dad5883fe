"""Stuck-deletion diagnosis from plain API dicts: what counts as stuck, ages, owners, namespace conditions,
and which finalizers a clearing would remove or keep."""

from __future__ import annotations

from typing import Any

import pytest
from steps_support import BODY_LINE, load_problem, pointed_at

from drkit.domain.finalizer_clearing import ClearSettings, describe_removals, removal_for
from drkit.domain.stuck import (
    Diagnosis,
    collect_stuck,
    likely_owner,
    matches_kind,
    namespace_state,
    orphan_note,
    stuck_object,
)
from drkit.domain.timestamps import parse_time
from drkit.kube import ObjectRef, ResourceInfo
from drkit.steps.finalizers import parse_settings

NOW = parse_time("2026-01-01T00:10:00Z") or 0.0


def _obj(name: str, *, deleted: str | None, finalizers: list[str], kind: str = "Model") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "fi", "uid": f"uid-{name}", "resourceVersion": "7"}
    if deleted:
        meta["deletionTimestamp"] = deleted
    if finalizers:
        meta["finalizers"] = finalizers
    return {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": kind, "metadata": meta}


def test_only_deleted_objects_held_by_finalizers_are_stuck() -> None:
    objects = [
        _obj("deleted-held", deleted="2026-01-01T00:00:00Z", finalizers=["seldon.model.finalizer"]),
        _obj("alive-with-finalizer", deleted=None, finalizers=["seldon.model.finalizer"]),
        _obj("deleted-no-finalizer", deleted="2026-01-01T00:00:00Z", finalizers=[]),
    ]

    found = collect_stuck(objects, NOW)

    assert [s.ref.name for s in found] == ["deleted-held"]
    [held] = found
    assert held.age == 600.0
    assert held.uid == "uid-deleted-held"
    assert held.resource_version == "7"
    assert held.ref == ObjectRef("mlops.seldon.io/v1alpha1", "Model", "fi", "deleted-held")


def test_after_separates_stuck_from_not_stuck_yet() -> None:
    old = stuck_object(_obj("old", deleted="2026-01-01T00:09:00Z", finalizers=["f"]), NOW)
    young = stuck_object(_obj("young", deleted="2026-01-01T00:09:50Z", finalizers=["f"]), NOW)
    assert old is not None
    assert young is not None

    diagnosis = Diagnosis(after=30.0, namespaces=(), objects=(old, young))

    assert [o.ref.name for o in diagnosis.stuck] == ["old"]
    assert [o.ref.name for o in diagnosis.not_stuck_yet] == ["young"]
    views = {v["name"]: v["stuck"] for v in diagnosis.to_view()["objects"]}
    assert views == {"old": True, "young": False}


def test_an_unreadable_deletion_timestamp_counts_as_just_deleted() -> None:
    found = stuck_object(_obj("x", deleted="not a time", finalizers=["f"]), NOW)
    assert found is not None
    assert found.age == 0.0
    assert not found.is_stuck(1.0)


@pytest.mark.parametrize(
    ("finalizer", "owner"),
    [
        ("seldon.model.finalizer", "Seldon Core v2 scheduler"),
        ("kubernetes", "namespace controller (kube-controller-manager)"),
        ("foregroundDeletion", "garbage collector (kube-controller-manager)"),
        ("workflows.argoproj.io/artifact-gc", "Argo Workflows controller"),
        ("example.com/cleanup", "the controller that added 'example.com/cleanup'"),
    ],
)
def test_likely_owner_from_the_finalizer_name(finalizer: str, owner: str) -> None:
    assert likely_owner(finalizer) == owner


def test_orphan_notes_say_what_the_finalizer_guarded() -> None:
    ref = ObjectRef("mlops.seldon.io/v1alpha1", "Model", "fi", "baseline-predictor")
    assert orphan_note(ref, "seldon.model.finalizer").startswith(
        "Seldon scheduler never unloaded model baseline-predictor"
    )
    assert "example.com/cleanup" in orphan_note(ref, "example.com/cleanup")


def test_namespace_state_reads_phase_age_finalizers_and_conditions() -> None:
    ns = {
        "metadata": {"name": "fi", "deletionTimestamp": "2026-01-01T00:08:00Z"},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {
            "phase": "Terminating",
            "conditions": [
                {
                    "type": "NamespaceFinalizersRemaining",
                    "status": "True",
                    "reason": "SomeFinalizersRemain",
                    "message": "Some content in the namespace has finalizers remaining: "
                    "seldon.model.finalizer in 2 resource instances",
                },
                {
                    "type": "NamespaceDeletionDiscoveryFailure",
                    "status": "False",
                    "reason": "",
                    "message": "ok",
                },
            ],
        },
    }

    state = namespace_state("fi", ns, NOW)

    assert state.terminating
    assert state.age == 120.0
    assert state.finalizers == ("kubernetes",)
    assert state.summary() == (
        "NamespaceFinalizersRemaining: Some content in the namespace has finalizers remaining: "
        "seldon.model.finalizer in 2 resource instances"
    )
    assert not namespace_state("gone", None, NOW).exists


def test_only_selected_finalizers_are_removed_the_rest_kept() -> None:
    obj = stuck_object(
        _obj("m", deleted="2026-01-01T00:00:00Z", finalizers=["seldon.model.finalizer", "example.com/keep"]),
        NOW,
    )
    assert obj is not None

    everything = removal_for(obj, ClearSettings(namespaces=("fi",)))
    selected = removal_for(obj, ClearSettings(namespaces=("fi",), finalizers=("seldon.model.finalizer",)))

    assert everything.remove == ("seldon.model.finalizer", "example.com/keep")
    assert everything.keep == ()
    assert selected.remove == ("seldon.model.finalizer",)
    assert selected.keep == ("example.com/keep",)
    record = selected.record("2026-01-01T00:10:00Z", "8")
    assert record["finalizersRemoved"] == ["seldon.model.finalizer"]
    assert record["finalizersKept"] == ["example.com/keep"]
    assert record["ageSeconds"] == 600.0
    assert (record["resourceVersionBefore"], record["resourceVersionAfter"]) == ("7", "8")


def test_plan_lines_name_each_removal_and_the_force_risk() -> None:
    obj = stuck_object(_obj("m", deleted="2026-01-01T00:00:00Z", finalizers=["seldon.model.finalizer"]), NOW)
    assert obj is not None
    ns = namespace_state("fi", {"metadata": {"name": "fi", "deletionTimestamp": "2026-01-01T00:00:00Z"}}, NOW)
    diagnosis = Diagnosis(after=30.0, namespaces=(ns,), objects=(obj,))

    lines = describe_removals(diagnosis, ClearSettings(namespaces=("fi",), force=True))

    assert lines[0].startswith("remove seldon.model.finalizer from Model fi/m")
    assert any("finalize namespace fi" in line and "#60807" in line for line in lines)


def test_kind_filter_accepts_kind_plural_and_group_forms() -> None:
    info = ResourceInfo("mlops.seldon.io", "v1alpha1", "Model", "models", namespaced=True)
    for name in ("Model", "models", "models.mlops.seldon.io", "Model.mlops.seldon.io"):
        assert matches_kind(info, [name])
    assert not matches_kind(info, ["Experiment"])


def test_settings_need_a_namespace_and_default_after_30s() -> None:
    settings = parse_settings({"namespaces": ["fi", "fi"]})
    assert settings.namespaces == ("fi",)
    assert settings.after == 30.0
    assert not settings.force


def test_an_empty_namespace_list_is_refused_by_the_loader_at_its_position() -> None:
    problem = load_problem("clearFinalizers", "{namespaces: []}")
    assert problem.position.line == BODY_LINE
    assert "'namespaces'" in problem.message
    assert "needs at least 1 item" in problem.message
    assert pointed_at(problem) == "[]}"
