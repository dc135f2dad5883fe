"""API failures carried as exceptions and rendered as Kubernetes `Status` objects.

The messages copy the wording of the real API server (k8s.io/apimachinery/pkg/api/errors) because clients and
people match on them: `deployments.apps "x" not found`, `Operation cannot be fulfilled on ...`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drkit_lab.errors import LabError

if TYPE_CHECKING:
    from drkit_lab.apiserver.types import ResourceType


class ApiError(LabError):
    """A request the API server refuses; `code` is the HTTP status, `reason` the Status reason."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.details = details
        self.retry_after = retry_after

    def to_status(self) -> dict[str, Any]:
        """The `Status` body a real server would send for this failure."""
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            status["details"] = self.details
        return status


def qualified(rt: ResourceType) -> str:
    """`deployments.apps`, or `namespaces` for the core group: the resource name used in messages."""
    return f"{rt.plural}.{rt.group}" if rt.group else rt.plural


def qualified_kind(rt: ResourceType) -> str:
    """`Deployment.apps`, or `Namespace` for the core group: the kind name used in Invalid messages."""
    return f"{rt.kind}.{rt.group}" if rt.group else rt.kind


def _details(rt: ResourceType, name: str, kind: str | None = None) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name} if name else {}
    if rt.group:
        details["group"] = rt.group
    details["kind"] = kind or rt.plural
    return details


def not_found(rt: ResourceType, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{qualified(rt)} "{name}" not found', details=_details(rt, name))


def already_exists(rt: ResourceType, name: str) -> ApiError:
    return ApiError(
        409, "AlreadyExists", f'{qualified(rt)} "{name}" already exists', details=_details(rt, name)
    )


def conflict(rt: ResourceType, name: str, why: str | None = None) -> ApiError:
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(rt)} "{name}": {why}',
        details=_details(rt, name),
    )


def precondition_failed(rt: ResourceType, name: str, why: str) -> ApiError:
    """409 for a DeleteOptions precondition that does not hold; the real message names the kind."""
    details: dict[str, Any] = {"name": name}
    if rt.group:
        details["group"] = rt.group
    details["kind"] = rt.kind
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified_kind(rt)} "{name}": {why}',
        details=details,
    )


# The cause reasons of k8s.io/apimachinery field errors, by the words their messages start with.
_CAUSE_REASONS = {
    "Invalid value": "FieldValueInvalid",
    "Required value": "FieldValueRequired",
    "Forbidden": "FieldValueForbidden",
    "Unsupported value": "FieldValueNotSupported",
    "Duplicate value": "FieldValueDuplicate",
    "Too long": "FieldValueTooLong",
}


def invalid(rt: ResourceType, name: str, field: str, problem: str) -> ApiError:
    """422 with one cause, e.g. `metadata.name` / `Required value: name or generateName is required`."""
    details = _details(rt, name, kind=rt.kind)
    reason_type, _, _detail = problem.partition(": ")
    reason = _CAUSE_REASONS.get(reason_type, "Field" + reason_type.replace(" ", ""))
    details["causes"] = [{"reason": reason, "message": problem, "field": field}]
    return ApiError(
        422, "Invalid", f'{qualified_kind(rt)} "{name}" is invalid: {field}: {problem}', details=details
    )


def forbidden(rt: ResourceType, name: str, why: str) -> ApiError:
    return ApiError(
        403, "Forbidden", f'{qualified(rt)} "{name}" is forbidden: {why}', details=_details(rt, name)
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed() -> ApiError:
    return ApiError(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
    )


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
    )


def expired(requested: int, oldest: int) -> ApiError:
    """410 for a watch that asks for history the server no longer keeps; clients relist."""
    return ApiError(410, "Expired", f"too old resource version: {requested} ({oldest})")


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def path_not_found(path: str) -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", details={})
