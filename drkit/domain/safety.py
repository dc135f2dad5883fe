"""The protected-namespace rule, shared by every step that deletes or strips state.

A playbook can only add to the protected list (kube-system and friends are always on it), and the check runs
on the objects a step would touch before it sends a single write, in `plan()` too, so `drkit plan` shows the
refusal and a drill refuses (exit 3) before its first step runs.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from drkit.errors import RefusedError
from drkit.kube.refs import ObjectRef
from drkit.playbook.model import ALWAYS_PROTECTED_NAMESPACES, Playbook


def protected_violations(objects: Iterable[ObjectRef], protected: Collection[str]) -> list[str]:
    """One line per object that is, or lives in, a protected namespace (empty: nothing protected)."""
    found: list[str] = []
    for ref in objects:
        if ref.kind == "Namespace" and ref.group == "" and ref.name in protected:
            found.append(f"Namespace {ref.name} is protected")
        elif ref.namespace in protected:
            found.append(f"{ref} is in protected namespace {ref.namespace}")
    return list(dict.fromkeys(found))


def refuse_protected(objects: Iterable[ObjectRef], playbook: Playbook, action: str) -> None:
    """Raise RefusedError (exit 3) naming every protected object `action` would touch."""
    refuse_in(objects, playbook.target.protected_namespaces, action)


def refuse_in(objects: Iterable[ObjectRef], protected: Collection[str], action: str) -> None:
    """`refuse_protected` for callers without a playbook (on-call commands use the always-protected list)."""
    violations = protected_violations(objects, protected)
    if not violations:
        return
    shown = "; ".join(violations[:10]) + (
        f"; and {len(violations) - 10} more" if len(violations) > 10 else ""
    )
    raise RefusedError(
        f"refusing to {action}: {shown}",
        hint="protected namespaces (target.protectedNamespaces, always including "
        f"{', '.join(ALWAYS_PROTECTED_NAMESPACES)}) are never torn down; remove them from what drkit acts on",
    )
