"""The lab's controllers: the behaviour of a live platform.

Two kinds, wired separately by the runner:
- `control_plane_controllers`: what kube-controller-manager does on a real cluster (namespace lifecycle,
  Deployments/ReplicaSets/StatefulSets/Jobs). They are part of the emulated control plane and act on its
  Store; a real control plane brings its own.
- `operators`: what the platform runs on top (the kubelet, Seldon Core v2, Argo Workflows, SealedSecrets).
  They act only through the Kubernetes API, each with its own client (user agent and field manager
  `lab-<name>`), so the same code runs against either control plane.

Tests pick single controllers to isolate one behaviour. The controller modules are imported inside the
functions so that importing one controller (or `base`) does not import them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drkit_lab.apiserver.store import Store
    from drkit_lab.controllers.base import Controller, Operator
    from drkit_lab.kubeapi import ApiClient, ApiConnection
    from drkit_lab.settings import LabSettings


def operator_client(connection: ApiConnection, name: str) -> ApiClient:
    """The API client of one operator: its own user agent and field manager."""
    from drkit_lab.kubeapi import ApiClient  # noqa: PLC0415 (see the module docstring)

    return ApiClient(connection, user_agent=f"lab-{name}", field_manager=f"lab-{name}")


def control_plane_controllers(store: Store, settings: LabSettings) -> list[Controller]:
    """The emulated control plane's controllers (a real control plane has its kube-controller-manager)."""
    from drkit_lab.controllers.namespaces import NamespaceController  # noqa: PLC0415
    from drkit_lab.controllers.workloads import WorkloadControllers  # noqa: PLC0415

    return [NamespaceController(store, settings), WorkloadControllers(store, settings)]


def operators(connection: ApiConnection, settings: LabSettings) -> list[Operator]:
    """One instance of every operator the lab plays, each an API client of `connection`'s server."""
    from drkit_lab.controllers.argo import ArgoController  # noqa: PLC0415
    from drkit_lab.controllers.kubelet import Kubelet  # noqa: PLC0415
    from drkit_lab.controllers.sealedsecrets import SealedSecretsController  # noqa: PLC0415
    from drkit_lab.controllers.seldon import SeldonController  # noqa: PLC0415

    classes: list[type[Operator]] = [Kubelet, SeldonController, ArgoController, SealedSecretsController]
    return [cls(operator_client(connection, cls.name), settings) for cls in classes]
