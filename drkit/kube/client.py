"""The one door to a cluster: typed operations on plain dicts, with retries and translated errors.

A `Cluster` is created once per run. It holds one kubernetes `ApiClient` (connection pool, credentials, token
refresh) and its own per-run discovery cache (see `drkit.kube.discovery` for why not the DynamicClient's).
Every request goes through `_request`, which is the only place that calls the library, so every failure is
translated into a drkit error there, and through `call_with_retry` with the safety of that operation (see
`drkit.kube.retry` for which writes may be repeated and how a repeat's answer is read).
"""

from __future__ import annotations

import builtins
import copy
import json
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from drkit.context import Runtime
from drkit.kube.config import (
    ClusterConfig,
    context_namespace,
    credential_values,
    current_context,
    load_client_configuration,
    private_cert_dir,
)
from drkit.kube.discovery import Discovery, ServedResources, group_version_path
from drkit.kube.errors import (
    ClusterUnreachable,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubeError,
    NotFound,
    Operation,
    ServerError,
    from_http_status,
    redact,
    translate,
)
from drkit.kube.pod_secrets import PodLog, secret_names
from drkit.kube.refs import ObjectRef, ResourceInfo
from drkit.kube.retry import NO_RETRY, RetryPolicy, Safety, call_with_retry
from drkit.kube.service_proxy import (
    SERVICES_PROXY,
    ProxyAnswer,
    ServiceRef,
    api_server_status,
    proxy_verb,
    service_proxy_path,
)
from drkit.retries import RetryListener
from drkit.secret_registry import SecretRegistry

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

__all__ = [
    "Cluster",
    "ClusterConfig",
    "Deleted",
    "ObjectRef",
    "ProxyAnswer",
    "ResourceInfo",
    "ServiceRef",
    "WatchEvent",
    "WatchStream",
    "current_context",
    "open_cluster",
]

T = TypeVar("T")
Propagation = Literal["Background", "Foreground", "Orphan"]
EventType = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK"]
_LIST_PAGE = 500
# The per-call token of a generateName create that may be repeated: how a repeat finds an earlier landing.
CREATE_ID_LABEL = "drkit.io/create-id"
# What RBAC checks for a container's log: the `log` subresource of pods, verb get.
POD_LOG = ResourceInfo("", "v1", "Pod", "pods/log", namespaced=True)
# Set by `Cluster.quick_requests` for the calling thread only (a new thread starts without it), so another
# thread's requests through the same Cluster (the drill lease renewal) keep their timeout and retries.
_QUICK_TIMEOUT: ContextVar[float | None] = ContextVar("drkit_quick_request_timeout", default=None)


@dataclass(frozen=True)
class Deleted:
    """What a delete achieved. `existed` False: it was already gone. `pending_finalizers` non-empty: the
    object is Terminating and stays until those finalizers are removed."""

    ref: ObjectRef
    existed: bool
    pending_finalizers: tuple[str, ...] = ()


@dataclass(frozen=True)
class WatchEvent:
    type: EventType
    object: dict[str, Any]

    @property
    def resource_version(self) -> str | None:
        rv = (self.object.get("metadata") or {}).get("resourceVersion")
        return str(rv) if rv else None


class WatchStream:
    """The events of one open watch request. `interrupt()` may be called from another thread: the reader
    then stops with ClusterUnreachable (used to end parallel waits promptly when one of them fails)."""

    def __init__(self, events: Iterator[WatchEvent], raw: Any) -> None:
        self._events = events
        self._raw = raw

    def __iter__(self) -> Iterator[WatchEvent]:
        return self._events

    def interrupt(self) -> None:
        self._raw.shutdown()


def merge_patch(target: object, patch: object) -> object:
    """RFC 7386 JSON merge patch of `patch` onto `target` (used to check whether a repeated write landed)."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class Cluster:
    """Typed operations against one cluster (one kubeconfig context)."""

    def __init__(
        self,
        config: ClusterConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        retry: RetryPolicy | None = None,
        on_retry: RetryListener | None = None,
        secrets: SecretRegistry | None = None,
    ) -> None:
        self.config = config
        # Where the credentials of the context and the data of every Secret seen are registered for masking.
        self.secrets = secrets if secrets is not None else SecretRegistry()
        self.context = current_context(config)
        self.default_namespace = context_namespace(config)
        self.sleep = sleep
        self.monotonic = monotonic
        self.retry = retry or RetryPolicy()
        self.on_retry = on_retry
        # Imported here, not at module level: the library takes half of drkit's start-up, and commands
        # that never open a cluster (--help, validate, schema, runs without cluster steps) must not pay it.
        from kubernetes.client import ApiClient  # noqa: PLC0415 - lazy: start-up

        # Inline certificates go to a private directory of this Cluster's own (mode 0700), removed at
        # close: a run directory is made only when a run starts, and nothing is left in a shared one.
        self._cert_dir = private_cert_dir()
        try:
            client_configuration = load_client_configuration(config, self._cert_dir)
        except BaseException:
            shutil.rmtree(self._cert_dir, ignore_errors=True)
            raise
        self.secrets.add_all(credential_values(client_configuration))
        self.host: str = str(client_configuration.host)
        self._api: ApiClient = ApiClient(client_configuration)
        self._discovery = Discovery(self._get_json_for_discovery)
        # (namespace, name) of the Secrets whose values are registered: read once before any pod log.
        self._secrets_masked: set[tuple[str, str]] = set()

    # --- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        self._api.close()  # type: ignore[no-untyped-call]
        shutil.rmtree(self._cert_dir, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def quick_requests(self, timeout: float) -> Iterator[None]:
        """Requests this thread sends inside give up after `timeout` seconds and are never repeated: for reads
        that must not hold a run up (what is gathered after a step failed)."""
        token = _QUICK_TIMEOUT.set(timeout)
        try:
            yield
        finally:
            _QUICK_TIMEOUT.reset(token)

    def _request_timeout(self) -> float:
        quick = _QUICK_TIMEOUT.get()
        return self.config.request_timeout if quick is None else min(quick, self.config.request_timeout)

    # --- discovery -------------------------------------------------------------------------------

    def resource_for(self, api_version: str, kind: str) -> ResourceInfo:
        return self._discovery.resource_for(api_version, kind)

    def invalidate_discovery(self) -> None:
        self._discovery.invalidate()

    def served_resources(self, verb: str = "list") -> ServedResources:
        """Every kind the cluster serves with `verb` (e.g. to look through everything in a namespace)."""
        return self._discovery.served(verb)

    def server_version(self) -> dict[str, Any]:
        op = Operation("get", self.context, kind="version")
        return self._retrying(Safety.READ, "get /version", lambda _: self._request("GET", "/version", op))

    def _get_json_for_discovery(self, path: str) -> Mapping[str, Any]:
        op = Operation("get", self.context, kind=f"API discovery {path}")
        return self._retrying(Safety.READ, f"get {path}", lambda _: self._request("GET", path, op))

    # --- addressing ------------------------------------------------------------------------------

    def resolve(self, ref: ObjectRef) -> tuple[ResourceInfo, ObjectRef]:
        """The kind's resource, and the ref with its namespace settled (the context's, if namespaced)."""
        info = self.resource_for(ref.api_version, ref.kind)
        namespace = (ref.namespace or self.default_namespace) if info.namespaced else None
        return info, ObjectRef(ref.api_version, ref.kind, namespace, ref.name)

    @staticmethod
    def path(
        info: ResourceInfo, namespace: str | None, name: str | None = None, sub: str | None = None
    ) -> str:
        parts = [group_version_path(info.api_version)]
        if info.namespaced and namespace:
            parts.append(f"namespaces/{namespace}")
        parts.append(info.plural)
        if name:
            parts.append(name)
        if sub:
            parts.append(sub)
        return "/".join(parts)

    def _op(self, verb: str, info: ResourceInfo, namespace: str | None, name: str | None = None) -> Operation:
        return Operation(verb, self.context, info, namespace if info.namespaced else None, name)

    # --- reads -----------------------------------------------------------------------------------

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        info, ref = self.resolve(ObjectRef(api_version, kind, namespace, name))
        return self._get(info, ref)

    def _get(self, info: ResourceInfo, ref: ObjectRef) -> dict[str, Any] | None:
        op = self._op("get", info, ref.namespace, ref.name)
        path = self.path(info, ref.namespace, ref.name)
        try:
            obj = self._retrying(Safety.READ, f"get {ref}", lambda _: self._request("GET", path, op))
        except NotFound:
            return None
        return self._typed(obj, info)

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
    ) -> list[dict[str, Any]]:
        """Every object of the kind (in `namespace`, or everywhere when None) matching the selectors."""
        return self.list_with_version(api_version, kind, namespace, label_selector, field_selector)[0]

    def list_with_version(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
    ) -> tuple[builtins.list[dict[str, Any]], str]:
        """The objects and the list's resourceVersion, from which a watch continues."""
        info = self.resource_for(api_version, kind)
        namespace = namespace if info.namespaced else None
        op = self._op("list", info, namespace)
        path = self.path(info, namespace)
        for _ in range(3):  # a continue token can expire (410) during a long paged list: start over
            items: builtins.list[dict[str, Any]] = []
            token: str | None = None
            try:
                while True:
                    query = _query(
                        labelSelector=label_selector, fieldSelector=field_selector, limit=_LIST_PAGE
                    )
                    if token:
                        query.append(("continue", token))
                    page = self._read(f"list {info.group_resource}", path, op, query)
                    items.extend(self._typed(i, info) for i in page.get("items") or [])
                    meta = page.get("metadata") or {}
                    token = meta.get("continue") or None
                    if not token:
                        return items, str(meta.get("resourceVersion") or "")
            except Gone:
                continue
        raise Gone(f"list of {op.target} kept expiring", status=410, reason="Expired")

    # --- writes ----------------------------------------------------------------------------------

    def apply(
        self, obj: Mapping[str, Any], field_manager: str = "drkit", dry_run: bool = False, force: bool = True
    ) -> dict[str, Any]:
        """Server-side apply: the server merges `obj` into what exists (or creates it) and owns the fields."""
        info, ref = self.resolve(ObjectRef.of(obj))
        body = self._outgoing(_with_namespace(obj, ref))
        op = self._op("patch", info, ref.namespace, ref.name)
        path = self.path(info, ref.namespace, ref.name)
        query = _query(
            fieldManager=field_manager, force="true" if force else "", dryRun="All" if dry_run else ""
        )
        result = self._retrying(
            Safety.IDEMPOTENT,
            f"apply {ref}",
            lambda _: self._request("PATCH", path, op, query, body, "application/apply-patch+yaml"),
        )
        return self._typed(result, info)

    def create(
        self, obj: Mapping[str, Any], dry_run: bool = False, *, look_before_repeat: bool = False
    ) -> dict[str, Any]:
        """POST a new object. A generateName object is repeated after a failure that may have reached the
        server only with `look_before_repeat`: it is then labelled `drkit.io/create-id` with a token of its
        own, and a repeat first looks for that label."""
        meta = obj.get("metadata") or {}
        if meta.get("generateName") and not meta.get("name"):
            return self._create_generated(obj, dry_run, look_before_repeat)
        info, ref = self.resolve(ObjectRef.of(obj))
        body = self._outgoing(_with_namespace(obj, ref))
        op = self._op("create", info, ref.namespace, ref.name)
        path = self.path(info, ref.namespace)

        def attempt(n: int) -> dict[str, Any]:
            try:
                return self._request("POST", path, op, _query(dryRun="All" if dry_run else ""), body)
            except Conflict:
                existing = self._get(info, ref) if n > 1 else None
                if existing is None:
                    raise
                return existing  # our earlier attempt created it before its answer was lost

        return self._typed(self._retrying(Safety.CREATE, f"create {ref}", attempt), info)

    def _create_generated(self, obj: Mapping[str, Any], dry_run: bool, look: bool) -> dict[str, Any]:
        """generateName objects get a new name per attempt, so a blind repeat could create a twin.

        Without `look` only failures that surely never reached the server are retried (UNSAFE). With it, every
        repeat first lists the objects carrying this create's token: one found means an earlier attempt landed
        although its answer was lost (a dropped connection, a 5xx after the write), and it is returned. The
        token is per call, not per step: an earlier, failed object of the same step is not mistaken for it."""
        info = self.resource_for(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        namespace = (
            ((obj.get("metadata") or {}).get("namespace") or self.default_namespace)
            if info.namespaced
            else None
        )
        body = self._outgoing(copy.deepcopy(dict(obj)))
        if namespace:
            body["metadata"]["namespace"] = namespace
        token = uuid.uuid4().hex
        if look:
            body["metadata"]["labels"] = {**(body["metadata"].get("labels") or {}), CREATE_ID_LABEL: token}
        op = self._op("create", info, namespace)
        path = self.path(info, namespace)
        what = f"create {info.kind} {body['metadata']['generateName']}*"

        def attempt(n: int) -> dict[str, Any]:
            if n > 1 and look and not dry_run:
                landed = self.list(
                    str(obj.get("apiVersion", "")),
                    str(obj.get("kind", "")),
                    namespace,
                    label_selector=f"{CREATE_ID_LABEL}={token}",
                )
                if landed:
                    return landed[0]
            return self._request("POST", path, op, _query(dryRun="All" if dry_run else ""), body)

        safety = Safety.CREATE if look else Safety.UNSAFE
        return self._typed(self._retrying(safety, what, attempt), info)

    def replace(self, obj: Mapping[str, Any], dry_run: bool = False) -> dict[str, Any]:
        """PUT the whole object; with metadata.resourceVersion a stale copy is refused (Conflict)."""
        info, ref = self.resolve(ObjectRef.of(obj))
        body = self._outgoing(_with_namespace(obj, ref))
        guarded = bool((obj.get("metadata") or {}).get("resourceVersion"))
        op = self._op("update", info, ref.namespace, ref.name)
        path = self.path(info, ref.namespace, ref.name)
        result = self._retrying(
            Safety.GUARDED if guarded else Safety.IDEMPOTENT,
            f"replace {ref}",
            lambda _: self._request("PUT", path, op, _query(dryRun="All" if dry_run else ""), body),
        )
        return self._typed(result, info)

    def patch_merge(
        self,
        ref: ObjectRef,
        patch: Mapping[str, Any],
        *,
        resource_version: str | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """JSON merge patch. With `resource_version`, the server refuses it (Conflict) if the object changed
        since that version was read: the safe way to remove one finalizer from one object."""
        info, ref = self.resolve(ref)
        body = copy.deepcopy(dict(patch))
        if resource_version:
            body.setdefault("metadata", {})["resourceVersion"] = resource_version
        op = self._op("patch", info, ref.namespace, ref.name)
        path = self.path(info, ref.namespace, ref.name)
        query = _query(dryRun="All" if dry_run else "")

        def attempt(n: int) -> dict[str, Any]:
            try:
                return self._request("PATCH", path, op, query, body, "application/merge-patch+json")
            except Conflict:
                if n == 1 or not resource_version:
                    raise
                current = self._get(info, ref)  # did our earlier attempt land before its answer was lost?
                if current is None or merge_patch(current, _without_rv(patch)) != current:
                    raise
                return current

        safety = Safety.GUARDED if resource_version else Safety.IDEMPOTENT
        return self._typed(self._retrying(safety, f"patch {ref}", attempt), info)

    def patch_json(
        self, ref: ObjectRef, ops: Sequence[Mapping[str, Any]], dry_run: bool = False
    ) -> dict[str, Any]:
        """RFC 6902 JSON patch. Not idempotent (an index-based remove twice removes two things): a `test` op
        first makes it safe; it is retried only when the server certainly did not process it."""
        info, ref = self.resolve(ref)
        op = self._op("patch", info, ref.namespace, ref.name)
        path = self.path(info, ref.namespace, ref.name)
        body = [dict(o) for o in ops]
        result = self._retrying(
            Safety.UNSAFE,
            f"patch {ref}",
            lambda _: self._request(
                "PATCH",
                path,
                op,
                _query(dryRun="All" if dry_run else ""),
                body,
                "application/json-patch+json",
            ),
        )
        return self._typed(result, info)

    def delete(
        self,
        ref: ObjectRef,
        propagation: Propagation = "Background",
        precondition_rv: str | None = None,
        dry_run: bool = False,
    ) -> Deleted:
        """Delete one object. Already gone is not an error (`existed=False`); finalizers keep it around."""
        info, ref = self.resolve(ref)
        options: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": propagation,
        }
        if precondition_rv:
            options["preconditions"] = {"resourceVersion": precondition_rv}
        if dry_run:
            options["dryRun"] = ["All"]
        op = self._op("delete", info, ref.namespace, ref.name)
        path = self.path(info, ref.namespace, ref.name)

        def attempt(n: int) -> Deleted:
            try:
                answer = self._request("DELETE", path, op, [], options)
            except NotFound:
                # On a repeat, our earlier attempt removed it; on the first, it was never there.
                return Deleted(ref, existed=n > 1)
            except Conflict:
                # A repeat with a precondition: our earlier attempt may have started the deletion (which
                # changed the resourceVersion). If the object is now being deleted, that was us.
                current = self._get(info, ref) if n > 1 and precondition_rv else None
                if current is None or not (current.get("metadata") or {}).get("deletionTimestamp"):
                    raise
                answer = current
            return _deleted(ref, answer)

        return self._retrying(Safety.DELETE, f"delete {ref}", attempt)

    def finalize_namespace(self, name: str, finalizers: Sequence[str]) -> dict[str, Any]:
        """PUT /api/v1/namespaces/<name>/finalize with exactly `finalizers` in spec.finalizers.

        The last resort for a namespace stuck Terminating: objects still inside can be stranded (kubernetes
        #60807). The PUT carries no resourceVersion, so repeating it sets the same list: idempotent."""
        info = self.resource_for("v1", "Namespace")
        current = self._get(info, ObjectRef("v1", "Namespace", None, name))
        if current is None:
            raise NotFound(f"Namespace {name} not found", status=404)
        body = copy.deepcopy(current)
        body.setdefault("spec", {})["finalizers"] = list(finalizers)
        body["metadata"].pop("resourceVersion", None)
        op = self._op("update", info, None, name)
        path = self.path(info, None, name, "finalize")
        result = self._retrying(
            Safety.IDEMPOTENT,
            f"finalize Namespace {name}",
            lambda _: self._request("PUT", path, op, [], body),
        )
        return self._typed(result, info)

    # --- the API server's service proxy ----------------------------------------------------------

    def proxy(
        self,
        method: str,
        service: ServiceRef,
        path: str,
        *,
        body: object = None,
        headers: Mapping[str, str] | None = None,
        repeatable: bool | None = None,
    ) -> ProxyAnswer:
        """One request to `path` of a Service's backend through the API server's service proxy.

        Whatever the backend answers, 2xx or not, comes back as it is: a model server's 400 is the model
        server's verdict, not a Kubernetes error. The API server's own refusals (a `kind: Status` body: the
        Service does not exist, it has no ready endpoints, RBAC on `services/proxy` denies it) are raised as
        translated KubeErrors, a Forbidden naming the rule to add. `repeatable`: whether sending it twice is
        harmless (default: GET and HEAD are); only then are the API server's 429/5xx and dropped connections
        retried. The backend's own 5xx is never retried here: the caller decides what it means."""
        full_path = service_proxy_path(service, path)
        verb = proxy_verb(method)
        op = Operation(verb, self.context, SERVICES_PROXY, service.namespace, service.name)
        safe = method.upper() in ("GET", "HEAD") if repeatable is None else repeatable
        timeout = (self._request_timeout(), self._request_timeout())

        def attempt(_: int) -> ProxyAnswer:
            try:
                response = self._send(method.upper(), full_path, (), body, None, timeout, headers)
                try:
                    data = response.read()
                finally:
                    response.response.release_conn()
            except Exception as exc:
                raise translate(exc, op, self.host) from None
            answer_headers = {str(k): str(v) for k, v in (response.headers or {}).items()}
            refusal = api_server_status(response.status, data)
            if refusal is not None:
                error = from_http_status(op, response.status, response.reason, data, answer_headers)
                if isinstance(error, ServerError):  # not an overloaded API server: a backend it cannot reach
                    said = redact(str(refusal.get("message") or response.reason or ""))
                    error = ServerError(
                        f"the API server could not proxy to {service} ({response.status}): {said}",
                        hint="the Service has no ready endpoint yet, or its pods refuse the connection",
                        status=error.status,
                        reason=error.reason,
                        retry_after=error.retry_after,
                    )
                raise error
            return ProxyAnswer(status=int(response.status), headers=answer_headers, body=bytes(data or b""))

        safety = Safety.READ if safe else Safety.UNSAFE
        return self._retrying(safety, f"{verb} {full_path}", attempt)

    # --- container logs --------------------------------------------------------------------------

    def pod_log(
        self,
        pod: Mapping[str, Any],
        container: str,
        tail_lines: int | None = None,
        previous: bool = False,
    ) -> PodLog:
        """What `kubectl logs -n NAMESPACE NAME -c CONTAINER [--tail N] [--previous]` prints, for `pod` as
        read from the server. The Secrets the pod takes are read first (once per Cluster), so their values
        are masked wherever the log is shown; the ones that cannot be read are named in the answer.

        The API server asks the pod's kubelet (`pods/log`, verb get). Its refusals are translated KubeErrors:
        NotFound for a missing pod, Invalid for an unknown container, one not started or a previous run that
        does not exist (the server's words), Forbidden naming the `pods/log` rule. A read, retried on 429/5xx.
        """
        meta = pod.get("metadata") or {}
        namespace, name = str(meta.get("namespace") or self.default_namespace), str(meta.get("name") or "")
        unmasked = tuple(s for s in secret_names(pod) if not self._secret_masked(namespace, s))
        return PodLog(self._log_text(namespace, name, container, tail_lines, previous), unmasked)

    def _secret_masked(self, namespace: str, name: str) -> bool:
        """Whether the Secret's values are registered for masking, reading it if it was not yet."""
        if (namespace, name) in self._secrets_masked:
            return True
        try:
            found = self.get("v1", "Secret", name, namespace)
        except Forbidden:
            return False
        if found is None:  # deleted while the pod may still hold its values: nothing left to mask them by
            return False
        self._secrets_masked.add((namespace, name))
        return True

    def _log_text(
        self, namespace: str, name: str, container: str, tail_lines: int | None, previous: bool
    ) -> str:
        op = Operation("get", self.context, POD_LOG, namespace, name)
        path = f"/api/v1/namespaces/{namespace}/pods/{name}/log"
        query = _query(
            container=container,
            tailLines=tail_lines,
            previous="true" if previous else "",
        )
        timeout = (self._request_timeout(), self._request_timeout())

        def attempt(_: int) -> str:
            try:
                response = self._send("GET", path, query, None, None, timeout, {"Accept": "*/*"})
                try:
                    data = response.read()
                finally:
                    response.response.release_conn()
            except Exception as exc:
                raise translate(exc, op, self.host) from None
            if response.status == 400:  # the container's state, in the kubelet's words: not a manifest error
                said = redact(str((api_server_status(400, data) or {}).get("message") or response.reason))
                raise Invalid(
                    f"no log of container {container} of pod {namespace}/{name}: {said}",
                    hint="a container that has not started has no log yet, nor one that never restarted a "
                    "previous log; check the container's name in the pod's spec",
                    status=400,
                    reason="BadRequest",
                )
            if not 200 <= response.status < 300:
                raise from_http_status(op, response.status, response.reason, data, response.headers)
            return bytes(data or b"").decode("utf-8", errors="replace")

        return self._retrying(Safety.READ, f"get logs of {namespace}/{name} {container}", attempt)

    # --- watch -----------------------------------------------------------------------------------

    @contextmanager
    def watch(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None,
        resource_version: str,
        label_selector: str = "",
        field_selector: str = "",
        timeout_seconds: int = 60,
    ) -> Iterator[WatchStream]:
        """Events after `resource_version` until the server ends the stream (about `timeout_seconds`).

        Raises `Gone` when the version is too old (re-list), `ClusterUnreachable` when the stream breaks.
        The stream is opened with retries; it is closed when the `with` block ends."""
        info = self.resource_for(api_version, kind)
        namespace = namespace if info.namespaced else None
        op = self._op("watch", info, namespace)
        path = self.path(info, namespace)
        query = _query(
            watch="true",
            resourceVersion=resource_version,
            labelSelector=label_selector,
            fieldSelector=field_selector,
            timeoutSeconds=timeout_seconds,
            allowWatchBookmarks="true",
        )
        timeout = (self.config.request_timeout, timeout_seconds + self.config.request_timeout)
        raw = self._retrying(
            Safety.READ, f"watch {info.group_resource}", lambda _: self._open_stream(path, op, query, timeout)
        )
        try:
            yield WatchStream(self._events(raw, op, info), raw)
        finally:
            # Close before releasing: an unfinished stream must not go back to the pool with unread events.
            raw.close()
            raw.release_conn()

    def _open_stream(self, path: str, op: Operation, query: Sequence[tuple[str, str]], timeout: Any) -> Any:
        try:
            response = self._send("GET", path, query, None, None, timeout)
        except Exception as exc:
            raise translate(exc, op, self.host) from None
        if not 200 <= response.status < 300:
            try:
                data = response.read()
            except Exception as exc:
                raise translate(exc, op, self.host) from None
            raise from_http_status(op, response.status, response.reason, data, response.headers)
        return response.response

    def _events(self, raw: Any, op: Operation, info: ResourceInfo) -> Iterator[WatchEvent]:
        buffer = b""
        try:
            for chunk in raw.stream(65536, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield self._observed(_parse_event(line, op, info))
        except KubeError:
            raise
        except Exception as exc:
            raise translate(exc, op, self.host) from None
        if buffer.strip():
            yield self._observed(_parse_event(buffer, op, info))

    def _observed(self, event: WatchEvent) -> WatchEvent:
        self.secrets.add_secret_object(event.object)
        return event

    # --- secrets -------------------------------------------------------------------------------------

    def _typed(self, obj: dict[str, Any], info: ResourceInfo) -> dict[str, Any]:
        """An object from the server with its type filled in, and its data registered if it is a Secret:
        whatever drkit reads is masked from then on, before any step can print or record it."""
        typed = _with_type(obj, info)
        self.secrets.add_secret_object(typed)
        return typed

    def _outgoing(self, body: dict[str, Any]) -> dict[str, Any]:
        """A body drkit sends: a Secret manifest's data (read from the playbook's files) is secret too."""
        self.secrets.add_secret_object(body)
        return body

    # --- the one place that calls the library ----------------------------------------------------

    def _read(
        self, what: str, path: str, op: Operation, query: Sequence[tuple[str, str]] = ()
    ) -> dict[str, Any]:
        return self._retrying(Safety.READ, what, lambda _: self._request("GET", path, op, query))

    def _retrying(self, safety: Safety, what: str, fn: Callable[[int], T]) -> T:
        return call_with_retry(
            fn,
            policy=self.retry if _QUICK_TIMEOUT.get() is None else NO_RETRY,
            safety=safety,
            operation=what,
            sleep=self.sleep,
            on_retry=self.on_retry,
        )

    def _send(  # noqa: PLR0917 (private plumbing)
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        body: object,
        content_type: str | None,
        timeout: Any,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Any:
        headers = {"Accept": "application/json", **(extra_headers or {})}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        request = self._api.param_serialize(
            method,
            path,
            query_params=list(query),
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        # The token as sent, which an exec plugin or a projected service-account token may have refreshed.
        sent = dict(request[2] or {}).get("authorization") or dict(request[2] or {}).get("Authorization")
        if isinstance(sent, str):
            self.secrets.add(sent.removeprefix("Bearer ").strip())
        return self._api.call_api(*request, _request_timeout=timeout)

    def _request(  # noqa: PLR0917 (private plumbing)
        self,
        method: str,
        path: str,
        op: Operation,
        query: Sequence[tuple[str, str]] = (),
        body: object = None,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        """One HTTP request; a JSON object back, or a translated error."""
        timeout = (self._request_timeout(), self._request_timeout())
        try:
            response = self._send(method, path, query, body, content_type, timeout)
            try:
                data = response.read()
            finally:
                response.response.release_conn()
        except Exception as exc:
            raise translate(exc, op, self.host) from None
        if not 200 <= response.status < 300:
            raise from_http_status(op, response.status, response.reason, data, response.headers)
        try:
            parsed = json.loads(data) if data else {}
        except ValueError as exc:
            raise translate(exc, op, self.host) from None
        if not isinstance(parsed, dict):
            raise KubeError(
                f"the API server answered {op.verb} of {op.target} with something other than an object"
            )
        return parsed


def _deleted(ref: ObjectRef, answer: Mapping[str, Any]) -> Deleted:
    """Read a DELETE answer: the object (still there while finalizers remain) or a Status (gone)."""
    meta = (answer.get("metadata") or {}) if answer.get("kind") != "Status" else {}
    pending = tuple(str(f) for f in meta.get("finalizers") or ()) if meta.get("deletionTimestamp") else ()
    return Deleted(ref, existed=True, pending_finalizers=pending)


def _query(**params: object) -> list[tuple[str, str]]:
    return [(key, str(value)) for key, value in params.items() if value not in ("", None)]


def _with_type(obj: dict[str, Any], info: ResourceInfo) -> dict[str, Any]:
    """List items come without apiVersion/kind; readiness rules need them."""
    if obj.get("kind") != "Status":
        obj.setdefault("apiVersion", info.api_version)
        obj.setdefault("kind", info.kind)
    return obj


def _with_namespace(obj: Mapping[str, Any], ref: ObjectRef) -> dict[str, Any]:
    body = copy.deepcopy(dict(obj))
    if ref.namespace:
        body.setdefault("metadata", {})["namespace"] = ref.namespace
    return body


def _without_rv(patch: Mapping[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(dict(patch))
    meta = body.get("metadata")
    if isinstance(meta, dict):
        meta.pop("resourceVersion", None)
    return body


def _parse_event(line: bytes, op: Operation, info: ResourceInfo) -> WatchEvent:
    try:
        event = json.loads(line)
    except ValueError:
        raise ClusterUnreachable(
            f"the watch stream of {op.target} sent an unreadable line", sent=True
        ) from None
    kind = event.get("type")
    obj = event.get("object") or {}
    if kind == "ERROR":
        code = int(obj.get("code") or 500)
        raise from_http_status(op, code, str(obj.get("reason") or ""), json.dumps(obj))
    if kind not in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK"):
        raise ClusterUnreachable(
            f"the watch stream of {op.target} sent an unknown event type {kind!r}", sent=True
        )
    return WatchEvent(kind, _with_type(obj, info) if kind != "BOOKMARK" else obj)


def open_cluster(
    runtime: Runtime,
    *,
    kubeconfig: str | Path | None = None,
    context: str | None = None,
    retry: RetryPolicy | None = None,
    on_retry: RetryListener | None = None,
) -> Cluster:
    """The run's Cluster, wired to the Runtime's env, clock and sleep. Connects to nothing until the first
    request."""
    return Cluster(
        ClusterConfig.from_env(runtime.env, kubeconfig=kubeconfig, context=context, cwd=runtime.cwd),
        sleep=runtime.sleep,
        monotonic=runtime.monotonic,
        retry=retry,
        on_retry=on_retry,
        secrets=runtime.secrets,
    )
