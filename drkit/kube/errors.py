"""Kubernetes failures, translated into drkit errors that say what to do.

Everything the kubernetes library, urllib3 or ssl can raise stops here: `translate` turns it into a
`KubeError` whose message names the object, the operation and the fix (for a 403, the exact RBAC rule to add).
Server bodies are redacted and truncated before they reach a message, because Status messages can echo request
content (a Secret's data, a token). Request headers are never looked at. The originals are not chained
(`from None`): their `str()` includes response headers and whole bodies.
"""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from urllib3.exceptions import HTTPError as Urllib3Error

from drkit.errors import AdapterError, ExitCode, UnreachableError
from drkit.kube.refs import ObjectRef, ResourceInfo

BODY_LIMIT = 300
ESCALATION_LIMIT = 2000
# How the API server refuses a Role or binding that grants more than its creator holds (RBAC's escalation
# check); the permissions missing follow it.
ESCALATION = "is attempting to grant RBAC permissions not currently held"


class KubeError(AdapterError):
    """A request to a Kubernetes API server failed. `status` is the HTTP status (None: no answer)."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status: int | None = None,
        reason: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.reason = reason  # the Status object's machine reason ("AlreadyExists", "Expired", ...)
        self.retry_after = retry_after  # seconds the server asked us to wait (429/503 Retry-After)


class NotFound(KubeError):
    """404: the object (or its namespace) does not exist."""


class Conflict(KubeError):
    """409: the object changed since it was read, or already exists."""


class Forbidden(KubeError):
    """403: the credentials may not do this; the message carries the RBAC rule to add."""


class Invalid(KubeError):
    """422 (or 400): the server rejected the object's content."""


class Unauthorized(KubeError):
    """401: the server refused the credentials themselves."""


class Gone(KubeError):
    """410: a watch or list resourceVersion is too old; re-list and start again."""


class ServerError(KubeError):
    """429 or 5xx that outlived the retries."""


class UnknownKind(KubeError):
    """Discovery does not know the kind: its CRD is missing or not yet established."""


class ClusterUnreachable(KubeError, UnreachableError):
    """No HTTP answer: connection refused or dropped, DNS, timeout, TLS verification (before any step: 5)."""

    def __init__(self, message: str, *, hint: str | None = None, sent: bool = True) -> None:
        super().__init__(message, hint=hint)
        # False when the request surely never reached the server (connect failed): unsafe writes may retry.
        self.sent = sent


class ConfigError(KubeError):
    """The kubeconfig is missing, unreadable, or names a context that does not exist: a usage error (exit 2),
    found before any request."""

    exit_code = ExitCode.USAGE


# --- redaction ----------------------------------------------------------------------------------

_SECRET_KEYS = (
    r"token|password|passwd|secret|api[_-]?key|authorization|credentials?|client-key-data|private[_-]?key"  # noqa: S105
)
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    # "data": {...} and "stringData": {...} of Secrets: drop the whole map.
    (re.compile(r'("(?:string)?[dD]ata"\s*:\s*)\{[^{}]*\}'), r'\1"<redacted>"'),
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE), r"\1 <redacted>"),
    (
        re.compile(
            # A value already masked (`****`, the run's known secrets) is left as it is.
            rf'((?:["\']?\b(?:{_SECRET_KEYS})\w*["\']?\s*[:=]\s*)+)(?!\*{{4}}(?:[\s,;}}\]]|$))'
            rf'("[^"]*"|\'[^\']*\'|[^\s,;}}\]]+)',
            re.I,
        ),
        r"\1<redacted>",
    ),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "<redacted-jwt>"),
    (re.compile(r"[A-Za-z0-9+/]{40,}={0,2}"), "<redacted-blob>"),
)


def redact_credentials(text: str) -> str:
    """`text` with anything that looks like a credential or Secret data replaced, its layout kept."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def redact(text: str, limit: int = BODY_LIMIT) -> str:
    """`text` with anything that looks like a credential or Secret data removed, then cut to `limit` chars."""
    text = " ".join(redact_credentials(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- what was being done ------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """The request that failed, in the words a message needs."""

    verb: str  # the RBAC verb: get, list, watch, create, patch, update, delete
    context: str  # kubeconfig context name
    resource: ResourceInfo | None = None
    namespace: str | None = None
    name: str | None = None
    kind: str = ""  # when resource is unknown (discovery failed)

    @property
    def target(self) -> str:
        kind = self.resource.kind if self.resource else self.kind or "object"
        if self.name:
            return str(ObjectRef("", kind, self.namespace, self.name))
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{kind} objects{where}"


@dataclass(frozen=True)
class _ServerStatus:
    message: str
    reason: str
    causes: tuple[str, ...]


def _parse_status(body: object) -> _ServerStatus:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    try:
        data: Any = json.loads(text) if text else None
    except ValueError:
        data = None
    if not isinstance(data, Mapping):
        return _ServerStatus(redact(text), "", ())
    details = data.get("details") if isinstance(data.get("details"), Mapping) else {}
    causes = []
    for cause in (details or {}).get("causes") or []:
        if isinstance(cause, Mapping):
            field = cause.get("field") or ""
            msg = cause.get("message") or cause.get("reason") or ""
            causes.append(redact(f"{field}: {msg}" if field else str(msg), 160))
    message = str(data.get("message") or "")
    # An escalation refusal lists every permission missing after a long preamble: keep the whole list.
    limit = ESCALATION_LIMIT if ESCALATION in message else BODY_LIMIT
    return _ServerStatus(redact(message, limit), str(data.get("reason") or ""), tuple(causes))


def _retry_after(headers: object) -> float | None:
    if not isinstance(headers, Mapping) and not hasattr(headers, "get"):
        return None
    value = headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def from_http_status(
    op: Operation, status: int, reason: str, body: object, headers: object = None
) -> KubeError:
    """The drkit error for an HTTP error answer."""
    server = _parse_status(body)
    said = f": {server.message}" if server.message else ""
    if status == 401:
        return Unauthorized(
            f"the API server of context {op.context} refused its credentials (401 Unauthorized)",
            hint="the token or client certificate is wrong or expired: refresh the kubeconfig credentials",
            status=status,
            reason=server.reason,
        )
    if status == 403:
        return _forbidden(op, server, status)
    if status == 404:
        return NotFound(f"{op.target} not found{said}", status=status, reason=server.reason)
    if status == 409:
        return Conflict(
            f"conflict on {op.target}{said}",
            hint="it changed since drkit read it, or it already exists; re-read it and try again",
            status=status,
            reason=server.reason,
        )
    if status == 410:
        return Gone(
            f"{op.verb} of {op.target}: resource version expired{said}", status=status, reason="Expired"
        )
    if status in (400, 422):
        causes = f" ({'; '.join(server.causes)})" if server.causes else ""
        return Invalid(
            f"the API server rejected {op.verb} of {op.target}{said}{causes}",
            hint="fix the manifest fields named above",
            status=status,
            reason=server.reason,
        )
    return ServerError(
        f"the API server answered {status} {reason or server.reason} to {op.verb} of {op.target}{said}",
        hint="the API server is overloaded or failing; try again later or check its health",
        status=status,
        reason=server.reason,
        retry_after=_retry_after(headers),
    )


def _forbidden(op: Operation, server: _ServerStatus, status: int) -> Forbidden:
    if ESCALATION in server.message:
        return _escalation(op, server, status)
    res = op.resource
    if res is None:
        resource_name, group, plural = op.kind or "objects", "?", op.kind.lower() or "?"
    else:
        resource_name, group, plural = res.group_resource, res.group, res.plural
    api_group = group if group else '""'
    scope = f"in namespace {op.namespace}" if op.namespace else "cluster-wide"
    role = "Role" if op.namespace else "ClusterRole"
    return Forbidden(
        f"the credentials of context {op.context} may not {op.verb} {resource_name} {scope}: "
        f"add a {role} rule {{apiGroups: [{api_group}], resources: [{plural}], verbs: [{op.verb}]}}",
        hint=f"the server said: {server.message}" if server.message else None,
        status=status,
        reason=server.reason,
    )


def _escalation(op: Operation, server: _ServerStatus, status: int) -> Forbidden:
    """The verb is allowed; what the object grants is not held. Adding the verb would change nothing."""
    missing = " ".join(server.message.partition(ESCALATION)[2].lstrip(":").split())
    name = op.resource.group_resource if op.resource else op.kind or "object"
    return Forbidden(
        f"the credentials of context {op.context} may not {op.verb} {name} {op.name or ''}: it grants "
        f"permissions they do not hold themselves ({missing or 'the server did not say which'})",
        hint="give the credentials those permissions (`drkit rbac` adds the rules of every Role the "
        "manifests apply), or `bind` on the role a binding references",
        status=status,
        reason=server.reason,
    )


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        nxt = getattr(current, "reason", None)
        if isinstance(nxt, BaseException):
            current = nxt
        elif current.__cause__ is not None:
            current = current.__cause__
        elif current.__context__ is not None and not isinstance(current, ssl.SSLError):
            current = current.__context__
        else:
            break
    return current


def unreachable(op: Operation, host: str, exc: BaseException) -> ClusterUnreachable:
    """The error for a request that got no HTTP answer."""
    cause = _root_cause(exc)
    names = {type(e).__name__ for e in (exc, cause)}
    detail = redact(f"{type(cause).__name__}: {cause}", 200)
    if isinstance(cause, ssl.SSLError) or "SSLError" in names:
        return ClusterUnreachable(
            f"TLS with the API server of context {op.context} at {host} failed ({detail})",
            hint="check certificate-authority(-data) and the server address in the kubeconfig",
            sent=False,
        )
    never_sent = bool(
        names & {"NewConnectionError", "ConnectTimeoutError", "ConnectionRefusedError", "NameResolutionError"}
    )
    return ClusterUnreachable(
        f"cannot reach the API server of context {op.context} at {host} to {op.verb} {op.target} ({detail})",
        hint="is the cluster up and the kubeconfig pointing at it?",
        sent=not never_sent,
    )


def translate(exc: BaseException, op: Operation, host: str) -> KubeError:
    """The drkit error for anything a request through the kubernetes client raised."""
    if isinstance(exc, KubeError):
        return exc
    # Imported here: a request already loaded the library; importing it at module level would make every
    # drkit command pay for it (see drkit.kube.client).
    from kubernetes.client.exceptions import ApiException  # noqa: PLC0415 - lazy: start-up

    if isinstance(exc, ApiException):
        if not exc.status:  # the client reports TLS failures as status 0 with the cause in `reason`
            if "SSL" in str(exc.reason or ""):
                return ClusterUnreachable(
                    f"TLS with the API server of context {op.context} at {host} failed "
                    f"({redact(str(exc.reason), 200)})",
                    hint="check certificate-authority(-data) and the server address in the kubeconfig",
                    sent=False,
                )
            return unreachable(op, host, exc)
        return from_http_status(op, int(exc.status), str(exc.reason or ""), exc.body, exc.headers)
    if isinstance(exc, Urllib3Error | OSError):
        return unreachable(op, host, exc)
    if isinstance(exc, ValueError):  # a body that is not the JSON the client expected
        return KubeError(
            f"the API server of context {op.context} gave an answer to {op.verb} of {op.target} "
            f"that could not be read ({type(exc).__name__})",
            hint="is the server address really a Kubernetes API server?",
        )
    return KubeError(
        f"{op.verb} of {op.target} failed inside the Kubernetes client ({type(exc).__name__}: "
        f"{redact(str(exc), 160)})"
    )
