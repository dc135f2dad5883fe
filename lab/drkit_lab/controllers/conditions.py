"""Status-condition helpers shared by the lab's controllers.

Real controllers keep `lastTransitionTime` when a condition's status does not change (only reason/message
move); readiness tools and `kubectl wait` rely on that, so every lab controller writes conditions through
here."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal

ConditionStatus = Literal["True", "False", "Unknown"]


def rfc3339(epoch: float | None = None) -> str:
    """A Kubernetes timestamp (RFC 3339, seconds, `Z`) for `epoch` (now when omitted)."""
    moment = datetime.fromtimestamp(time.time() if epoch is None else epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def get_condition(obj: dict[str, Any], cond_type: str) -> dict[str, Any] | None:
    """The condition of `cond_type` in obj.status.conditions, or None."""
    for cond in obj.get("status", {}).get("conditions", []) or []:
        if cond.get("type") == cond_type:
            return dict(cond)
    return None


def condition_is_true(obj: dict[str, Any], cond_type: str) -> bool:
    cond = get_condition(obj, cond_type)
    return cond is not None and cond.get("status") == "True"


def set_condition(  # noqa: PLR0917 - reads like a condition literal
    obj: dict[str, Any],
    cond_type: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    now: str,
) -> bool:
    """Set one condition of `obj` (in obj.status.conditions) in place; True when anything changed."""
    conditions: list[dict[str, Any]] = obj.setdefault("status", {}).setdefault("conditions", [])
    return put_condition(conditions, cond_type, status, reason, message, now)


def put_condition(  # noqa: PLR0917 - as set_condition
    conditions: list[dict[str, Any]],
    cond_type: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    now: str,
) -> bool:
    """Set one condition in a conditions list; True when anything changed.

    `lastTransitionTime` moves only when `status` changes, as the real controllers do.
    """
    for cond in conditions:
        if cond.get("type") != cond_type:
            continue
        changed = (cond.get("status"), cond.get("reason"), cond.get("message")) != (status, reason, message)
        if cond.get("status") != status:
            cond["lastTransitionTime"] = now
        cond.update(status=status, reason=reason, message=message)
        return changed
    conditions.append(
        {"type": cond_type, "status": status, "reason": reason, "message": message, "lastTransitionTime": now}
    )
    return True


def copy_conditions(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """A deep copy of obj.status.conditions, to build a new status without touching the object read."""
    return [dict(cond) for cond in (obj.get("status") or {}).get("conditions") or []]
