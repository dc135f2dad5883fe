"""The resource plurals and scopes of the kinds every cluster serves, for `drkit rbac` without a cluster.

What `kubectl api-resources` prints for the built-in groups a playbook's steps touch, and for the operator
APIs drkit's own step kinds are written for (Argo Workflows, Seldon Core 2, Sealed Secrets), whose CRDs an
operator installs rather than the platform's manifests. A kind missing here and from the manifests' CRDs is
reported, never guessed (`--context` asks the cluster instead).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from drkit.kube.refs import ResourceInfo


def _kinds(group: str, version: str, rows: str) -> list[ResourceInfo]:
    infos = []
    for row in rows.split():
        kind, plural, scope = row.split(":")
        infos.append(ResourceInfo(group, version, kind, plural, namespaced=scope == "ns"))
    return infos


_TABLE = [
    *_kinds(
        "",
        "v1",
        "ConfigMap:configmaps:ns Endpoints:endpoints:ns Event:events:ns LimitRange:limitranges:ns "
        "Namespace:namespaces:cluster Node:nodes:cluster PersistentVolume:persistentvolumes:cluster "
        "PersistentVolumeClaim:persistentvolumeclaims:ns Pod:pods:ns "
        "ReplicationController:replicationcontrollers:ns ResourceQuota:resourcequotas:ns Secret:secrets:ns "
        "Service:services:ns ServiceAccount:serviceaccounts:ns",
    ),
    *_kinds(
        "apps",
        "v1",
        "DaemonSet:daemonsets:ns Deployment:deployments:ns ReplicaSet:replicasets:ns "
        "StatefulSet:statefulsets:ns",
    ),
    *_kinds("batch", "v1", "CronJob:cronjobs:ns Job:jobs:ns"),
    *_kinds("autoscaling", "v2", "HorizontalPodAutoscaler:horizontalpodautoscalers:ns"),
    *_kinds("policy", "v1", "PodDisruptionBudget:poddisruptionbudgets:ns"),
    *_kinds("coordination.k8s.io", "v1", "Lease:leases:ns"),
    *_kinds(
        "networking.k8s.io",
        "v1",
        "Ingress:ingresses:ns IngressClass:ingressclasses:cluster NetworkPolicy:networkpolicies:ns",
    ),
    *_kinds("storage.k8s.io", "v1", "StorageClass:storageclasses:cluster"),
    *_kinds("scheduling.k8s.io", "v1", "PriorityClass:priorityclasses:cluster"),
    *_kinds(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole:clusterroles:cluster ClusterRoleBinding:clusterrolebindings:cluster Role:roles:ns "
        "RoleBinding:rolebindings:ns",
    ),
    *_kinds("apiextensions.k8s.io", "v1", "CustomResourceDefinition:customresourcedefinitions:cluster"),
    *_kinds(
        "argoproj.io",
        "v1alpha1",
        "Workflow:workflows:ns WorkflowTemplate:workflowtemplates:ns "
        "ClusterWorkflowTemplate:clusterworkflowtemplates:cluster CronWorkflow:cronworkflows:ns",
    ),
    *_kinds(
        "mlops.seldon.io",
        "v1alpha1",
        "Model:models:ns Server:servers:ns Experiment:experiments:ns Pipeline:pipelines:ns "
        "ServerConfig:serverconfigs:ns SeldonRuntime:seldonruntimes:ns",
    ),
    *_kinds("bitnami.com", "v1alpha1", "SealedSecret:sealedsecrets:ns"),
    *_kinds(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration:mutatingwebhookconfigurations:cluster "
        "ValidatingWebhookConfiguration:validatingwebhookconfigurations:cluster",
    ),
]

# (group, kind) -> how to address it; the version does not matter to RBAC.
BUILTIN_KINDS: Mapping[tuple[str, str], ResourceInfo] = MappingProxyType(
    {(i.group, i.kind): i for i in _TABLE}
)
