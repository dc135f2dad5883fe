"""Which Secrets a pod takes values from, and a pod's log with what could not be masked in it.

A workload may print what its Secrets hold (a token at start-up, a connection string in a traceback). drkit
masks every Secret value it has read, so before a pod's log is read the adapter reads the Secrets the pod
takes. A Secret that cannot be read (forbidden, or deleted while the pod still holds its value) cannot be
masked: the log says so, and whoever records it decides what to keep.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PodLog:
    """A container's log, and the Secrets of its pod that drkit could not read: their values, if the
    workload printed them, are not masked in `text`."""

    text: str
    unmasked_secrets: tuple[str, ...] = ()

    @property
    def maskable(self) -> bool:
        return not self.unmasked_secrets

    def withheld_because(self) -> str:
        """Why the log's lines are not shown or kept (only meaningful when not maskable)."""
        names = ", ".join(self.unmasked_secrets)
        return f"it could hold the values of Secret {names}, which could not be read to mask them"


def secret_names(pod: Mapping[str, Any]) -> list[str]:
    """The Secrets a pod takes values from: env, envFrom, secret volumes and projected volumes."""
    spec = pod.get("spec") or {}
    names: list[object] = []
    for c in (*(spec.get("initContainers") or ()), *(spec.get("containers") or ())):
        names += [
            ((e.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name") for e in c.get("env") or ()
        ]
        names += [(e.get("secretRef") or {}).get("name") for e in c.get("envFrom") or ()]
    for volume in spec.get("volumes") or ():
        names.append((volume.get("secret") or {}).get("secretName"))
        sources = (volume.get("projected") or {}).get("sources") or ()
        names += [(source.get("secret") or {}).get("name") for source in sources]
    return sorted({str(n) for n in names if n})
