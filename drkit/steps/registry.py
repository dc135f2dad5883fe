"""Every step kind and checklist item kind drkit knows, listed explicitly.

Adding a kind is one module plus one line here; the loader, the JSON Schema and the engine read these maps.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from drkit.playbook.fields import KindSchema
from drkit.steps import check, command, http
from drkit.steps.base import ProbeKind, StepKind, schemas_of

PROBE_KINDS: Mapping[str, ProbeKind] = MappingProxyType(
    {
        "command": command.PROBE_KIND,
        "http": http.PROBE_KIND,
    }
)

STEP_KINDS: Mapping[str, StepKind] = MappingProxyType(
    {
        "command": command.STEP_KIND,
        "http": http.STEP_KIND,
        "check": check.make_step_kind(PROBE_KINDS),
    }
)


def step_schemas() -> dict[str, KindSchema]:
    return schemas_of(STEP_KINDS)


def probe_schemas() -> dict[str, KindSchema]:
    return schemas_of(PROBE_KINDS)
