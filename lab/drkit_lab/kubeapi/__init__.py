"""The lab's own Kubernetes API client: what its operators (kubelet, Seldon, Argo, SealedSecrets) and its
platform bootstrap use to reach any API server, the emulated one or a real kube-apiserver.

Deliberately small and independent of drkit's `kube` adapter (the lab must not test drkit with drkit):
discovery by apiVersion/kind, get/list/create/update/delete, a read-modify-write `mutate` that retries
conflicts, and watch streams. Failures are the lab's `ApiError` (status code, reason, server message).
"""

from drkit_lab.kubeapi.client import ApiClient
from drkit_lab.kubeapi.connection import ApiConnection
from drkit_lab.kubeapi.watch import ObjectEvent, WatchStream

__all__ = ["ApiClient", "ApiConnection", "ObjectEvent", "WatchStream"]
