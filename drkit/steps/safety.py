"""The protected-namespace rule, shared by every step that deletes or strips state.

A playbook can only add to the protected list (kube-system and friends are always on it), and the check runs
on the objects a step would touch before it sends a single write, in `plan()` too, so `drkit plan` shows the
refusal and a drill refuses (exit 3) before its first step runs.
"""

from __future__ import annotations

from collections.abc import Iterable

from drkit.errors import RefusedError
from drkit.kube.refs import ObjectRef
from drkit.playbook.model import Playbook


def protected_violations(objects: Iterable[ObjectRef], playbook: Playbook) -> list[str]:
    """One line per object that is, or lives in, a protected namespace (empty: nothing protected)."""
    protected = set(playbook.target.protected_namespaces)
    found: list[str] = []
    for ref in objects:
        if ref.kind == "Namespace" and ref.group == "" and ref.name in protected:
            found.append(f"Namespace {ref.name} is protected")
        elif ref.namespace in protected:
            found.append(f"{ref} is in protected namespace {ref.namespace}")
    return list(dict.fromkeys(found))


def refuse_protected(objects: Iterable[ObjectRef], playbook: Playbook, action: str) -> None:
    """Raise RefusedError (exit 3) naming every protected object `action` would touch."""
    violations = protected_violations(objects, playbook)
    if not violations:
        return
    shown = "; ".join(violations[:10]) + (
        f"; and {len(violations) - 10} more" if len(violations) > 10 else ""
    )
    raise RefusedError(
        f"refusing to {action}: {shown}",
        hint="protected namespaces (target.protectedNamespaces, always including "
        f"{', '.join(playbook.target.protected_namespaces[:4])}) are never torn down; "
        "remove them from the step's source",
    )
