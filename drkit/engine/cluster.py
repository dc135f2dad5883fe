"""The run's one door to a cluster, opened lazily and only after the safety check on the context.

Steps that never touch a cluster (command, http) never cause a kubeconfig to be read. The first step that
asks gets a `Cluster` for the context the user chose, or a refusal (exit 3) when the playbook's
`target.contexts` does not list it; the refusal happens before any request reaches the cluster.
"""

from __future__ import annotations

import threading

from drkit.context import Runtime
from drkit.errors import RefusedError
from drkit.kube.client import Cluster, ClusterConfig, open_cluster
from drkit.kube.identity import describe_context
from drkit.playbook.model import Playbook
from drkit.report.model import ClusterRef
from drkit.retries import RetryListener


def check_context_allowed(playbook: Playbook, context: str) -> None:
    """Refuse a context the playbook does not list. A playbook that lists none may act on no cluster."""
    allowed = playbook.target.contexts
    if context in allowed:
        return
    listed = ", ".join(allowed) if allowed else "none"
    raise RefusedError(
        f"playbook {playbook.name!r} may not act on kubeconfig context {context!r} "
        f"(target.contexts allows: {listed})",
        hint="pass --context NAME, or add the context to target.contexts if it really is a target",
    )


class ClusterAccess:
    """Opens the run's Cluster once, on first use; closes it at the end of the run."""

    def __init__(
        self,
        runtime: Runtime,
        playbook: Playbook,
        *,
        kubeconfig: str | None = None,
        context: str | None = None,
        on_retry: RetryListener | None = None,
    ) -> None:
        self._runtime = runtime
        self._on_retry = on_retry
        self._playbook = playbook
        self._kubeconfig = kubeconfig
        self._context = context
        self._cluster: Cluster | None = None
        self._where: ClusterRef | None = None
        self._lock = threading.RLock()  # get() asks where() under it

    def context_name(self) -> str:
        """The context drkit would use, read from the kubeconfig without connecting."""
        return self.where().context

    def where(self) -> ClusterRef:
        """The context drkit would use and its API server, read from the kubeconfig once, without connecting
        (the safety checks, the journal and the connection all ask)."""
        with self._lock:
            if self._where is None:
                config = ClusterConfig.from_env(
                    self._runtime.env,
                    kubeconfig=self._kubeconfig,
                    context=self._context,
                    cwd=self._runtime.cwd,
                )
                identity = describe_context(config)
                self._where = ClusterRef(identity.context, identity.server)
            return self._where

    def get(self) -> Cluster:
        with self._lock:
            if self._cluster is None:
                check_context_allowed(self._playbook, self.context_name())
                self._cluster = open_cluster(
                    self._runtime,
                    kubeconfig=self._kubeconfig,
                    context=self._context,
                    on_retry=self._on_retry,
                )
            return self._cluster

    def close(self) -> None:
        with self._lock:
            if self._cluster is not None:
                self._cluster.close()
                self._cluster = None
