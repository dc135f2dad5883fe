"""The lab's controllers: the behaviour of a live platform (workloads, Seldon, Argo, SealedSecrets,
namespaces).

`all_controllers` is what a lab runs; tests pick single controllers to isolate one behaviour. The controller
modules are imported inside it so that importing one controller (or `base`) does not import them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drkit.lab.apiserver.store import Store
    from drkit.lab.controllers.base import Controller
    from drkit.lab.settings import LabSettings


def all_controllers(store: Store, settings: LabSettings) -> list[Controller]:
    """One instance of every lab controller, sharing `store` and `settings`."""
    from drkit.lab.controllers.argo import ArgoController  # noqa: PLC0415 (see the module docstring)
    from drkit.lab.controllers.namespaces import NamespaceController  # noqa: PLC0415
    from drkit.lab.controllers.sealedsecrets import SealedSecretsController  # noqa: PLC0415
    from drkit.lab.controllers.seldon import SeldonController  # noqa: PLC0415
    from drkit.lab.controllers.workloads import WorkloadsController  # noqa: PLC0415

    return [
        NamespaceController(store, settings),
        WorkloadsController(store, settings),
        SeldonController(store, settings),
        ArgoController(store, settings),
        SealedSecretsController(store, settings),
    ]
