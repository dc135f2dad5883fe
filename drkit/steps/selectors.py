"""Label selectors as step bodies spell them, shared by the kinds that select objects by label (wait, the
`resource`, `pods` and `podLogs` items): the schema piece, and the string the API wants."""

from __future__ import annotations

from drkit.playbook.fields import MapOf, OneOf, Str
from drkit.steps.settings import as_mapping

SELECTOR = OneOf(
    (Str(), MapOf(Str())),
    description="A label selector: `app=mlserver,tier!=canary` or {app: mlserver}.",
)


def label_selector(value: object) -> str:
    """A selector as the API wants it; a mapping becomes `k=v,k2=v2` (sorted, so plans are stable)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    labels = as_mapping(value, "selector")
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items(), key=lambda kv: str(kv[0])))
