"""Ordering: CRDs and namespaces first when applying, custom resources first when deleting."""

from __future__ import annotations

import threading

from drkit.kube.refs import ObjectRef
from drkit.steps.waves import DeleteWave, Wave, apply_wave, delete_wave, group_into_waves, in_parallel

NS = ObjectRef("v1", "Namespace", None, "fi")
CRD = ObjectRef("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "models.mlops.seldon.io")
SA = ObjectRef("v1", "ServiceAccount", "fi", "sa")
ROLE = ObjectRef("rbac.authorization.k8s.io/v1", "Role", "fi", "r")
SEALED = ObjectRef("bitnami.com/v1alpha1", "SealedSecret", "fi", "s")
DEPLOY = ObjectRef("apps/v1", "Deployment", "fi", "d")
JOB = ObjectRef("batch/v1", "Job", "fi", "j")
MODEL = ObjectRef("mlops.seldon.io/v1alpha1", "Model", "fi", "m")
TEMPLATE = ObjectRef("argoproj.io/v1alpha1", "WorkflowTemplate", "fi", "t")
INGRESS = ObjectRef("networking.k8s.io/v1", "Ingress", "fi", "i")

MIXED = [MODEL, DEPLOY, SA, NS, TEMPLATE, CRD, JOB, SEALED, INGRESS, ROLE]


def _same(ref: ObjectRef) -> ObjectRef:
    return ref


def test_apply_waves_put_crds_and_namespaces_first_and_custom_resources_last() -> None:
    waves = group_into_waves(MIXED, _same, apply_wave)
    assert [(w, refs) for w, refs in waves] == [
        (Wave.NAMESPACES_AND_CRDS, [NS, CRD]),
        (Wave.CONFIGURATION, [SA, SEALED, ROLE]),
        (Wave.WORKLOADS, [DEPLOY, JOB]),
        (Wave.OTHER, [MODEL, TEMPLATE, INGRESS]),
    ]


def test_delete_waves_put_custom_resources_first_and_namespaces_last() -> None:
    waves = group_into_waves(MIXED, _same, delete_wave)
    assert [w for w, _ in waves] == [
        DeleteWave.CUSTOM_RESOURCES,
        DeleteWave.WORKLOADS,
        DeleteWave.CONFIGURATION,
        DeleteWave.CRDS,
        DeleteWave.NAMESPACES,
    ]
    assert waves[0][1] == [MODEL, TEMPLATE, INGRESS]
    assert waves[-1][1] == [NS]


def test_empty_waves_are_left_out_and_a_repeated_object_keeps_its_last_version() -> None:
    first, deploy, second = (MODEL, 1), (DEPLOY, 0), (MODEL, 2)
    waves = group_into_waves([first, deploy, second], lambda item: item[0], apply_wave)
    assert [w for w, _ in waves] == [Wave.WORKLOADS, Wave.OTHER]
    assert waves[1][1] == [second]


def test_core_kinds_with_a_group_named_like_a_core_one_are_not_confused() -> None:
    # A custom kind called Deployment in another group is a custom resource, not a workload.
    assert apply_wave(ObjectRef("example.com/v1", "Deployment", "fi", "x")) is Wave.OTHER
    assert apply_wave(ObjectRef("example.com/v1", "Namespace", None, "x")) is Wave.OTHER


def test_in_parallel_keeps_order_and_really_overlaps() -> None:
    barrier = threading.Barrier(3, timeout=5)

    def work(n: int) -> int:
        barrier.wait()  # only returns if three calls run at the same time
        return n * 10

    assert in_parallel(work, [1, 2, 3]) == [10, 20, 30]
    assert in_parallel(lambda n: n + 1, [5]) == [6]
