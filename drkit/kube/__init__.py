"""The Kubernetes adapter: the only part of drkit that imports the `kubernetes` library.

It does so lazily, when a kubeconfig is read or a `Cluster` opened (never at import time): the library is
half of drkit's start-up, and commands without cluster steps should not pay for it.

Steps use `Cluster` (typed operations on plain dicts), `wait_for` (watch-based waiting), `compute_status`
(kstatus-style readiness) and catch the errors of `drkit.kube.errors`; nothing from the library escapes.
`readiness` and `refs` are pure (plain dicts in, plain data out).
"""

from drkit.kube.client import Cluster, Deleted, WatchEvent, WatchStream, open_cluster
from drkit.kube.config import (
    REQUESTS_IN_FLIGHT,
    ClusterConfig,
    context_namespace,
    current_context,
    list_contexts,
)
from drkit.kube.discovery import ServedResources
from drkit.kube.errors import (
    ClusterUnreachable,
    ConfigError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubeError,
    NotFound,
    ServerError,
    Unauthorized,
    UnknownKind,
)
from drkit.kube.pod_secrets import PodLog
from drkit.kube.readiness import CustomRule, ReadinessResult, ReadinessRules, Status, compute_status
from drkit.kube.refs import ObjectRef, ResourceInfo
from drkit.kube.retry import NO_RETRY, RetryPolicy
from drkit.kube.service_proxy import ProxyAnswer, ServiceRef, api_server_status, service_proxy_path
from drkit.kube.watch import Selection, WaitResult, exists, gone, ready, wait_for
from drkit.retries import RetryNotice

__all__ = [
    "NO_RETRY",
    "REQUESTS_IN_FLIGHT",
    "Cluster",
    "ClusterConfig",
    "ClusterUnreachable",
    "ConfigError",
    "Conflict",
    "CustomRule",
    "Deleted",
    "Forbidden",
    "Gone",
    "Invalid",
    "KubeError",
    "NotFound",
    "ObjectRef",
    "PodLog",
    "ProxyAnswer",
    "ReadinessResult",
    "ReadinessRules",
    "ResourceInfo",
    "RetryNotice",
    "RetryPolicy",
    "Selection",
    "ServedResources",
    "ServerError",
    "ServiceRef",
    "Status",
    "Unauthorized",
    "UnknownKind",
    "WaitResult",
    "WatchEvent",
    "WatchStream",
    "api_server_status",
    "compute_status",
    "context_namespace",
    "current_context",
    "exists",
    "gone",
    "list_contexts",
    "open_cluster",
    "ready",
    "service_proxy_path",
    "wait_for",
]
