"""`ApiClient`: the verbs the lab's operators need, over HTTP, against any Kubernetes API server.

Each thread gets its own keep-alive `requests.Session` (Sessions are not guaranteed thread-safe, and a watch
holds its connection for as long as it streams). Every write names the client's field manager, and every
request its user agent, so a server's audit trail (and the lab's) says which operator did what.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable
from typing import Any

import requests

from drkit_lab.apiserver.errors import ApiError
from drkit_lab.apiserver.types import ResourceType
from drkit_lab.kubeapi.connection import ApiConnection
from drkit_lab.kubeapi.discovery import Discovery
from drkit_lab.kubeapi.errors import connection_failed, from_response
from drkit_lab.kubeapi.watch import WatchStream

Obj = dict[str, Any]
Change = Callable[[Obj], Obj | None]  # gets a copy of the live object; returns the new one, None: no change
LIST_PAGE = 500
CONFLICT_ATTEMPTS = 10
_TIMEOUT = (10.0, 30.0)  # connect, read (seconds)
_WATCH_READ_MARGIN = 15.0  # a quiet watch is ended by the server's timeoutSeconds, not by our read timeout


def resource_path(
    rt: ResourceType, namespace: str | None = None, name: str | None = None, subresource: str | None = None
) -> str:
    """/api/v1/namespaces/ns/pods/name/status and friends."""
    parts = [f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"]
    if rt.namespaced and namespace:
        parts.append(f"namespaces/{namespace}")
    parts.append(rt.plural)
    if name:
        parts.append(name)
        if subresource:
            parts.append(subresource)
    return "/".join(parts)


def _with_type(obj: Obj, rt: ResourceType) -> Obj:
    """List items come without apiVersion/kind from a real server; every object handed out has them."""
    obj.setdefault("apiVersion", rt.api_version)
    obj.setdefault("kind", rt.kind)
    return obj


class ApiClient:
    """A Kubernetes API client for one identity (see the module docstring). Thread-safe; `close()` it."""

    def __init__(
        self,
        connection: ApiConnection,
        *,
        user_agent: str,
        field_manager: str | None = None,
        discovery_retry: float = 0.25,
    ) -> None:
        self.connection = connection
        self.user_agent = user_agent
        self.field_manager = field_manager or user_agent
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: list[requests.Session] = []
        self.discovery = Discovery(self._document, retry_after=discovery_retry)

    # ------------------------------------------------------------------------------------------- transport
    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self.connection.session(self.user_agent)
            with self._lock:
                self._sessions.append(session)
            self._local.session = session
        return session

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every thread's connections."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: Obj | None = None,
        stream: bool = False,
        timeout: tuple[float, float] = _TIMEOUT,
    ) -> requests.Response:
        url = self.connection.server.rstrip("/") + path
        try:
            response = self._session().request(
                method, url, params=query, json=body, stream=stream, timeout=timeout
            )
        except requests.RequestException as exc:
            raise connection_failed(exc) from None
        if response.status_code >= 400:
            try:
                raise from_response(response)
            finally:
                response.close()
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Obj:
        result: Obj = self._request(method, path, **kwargs).json()
        return result

    def _document(self, path: str) -> Obj | None:
        try:
            return self._json("GET", path)
        except ApiError as exc:
            if exc.code == 404:
                return None
            raise

    def _writing(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"fieldManager": self.field_manager, **(extra or {})}

    # ------------------------------------------------------------------------------------------- discovery
    def resource(self, api_version: str, kind: str) -> ResourceType | None:
        """The served type of apiVersion/kind; None while it is not served (its CRD not installed)."""
        return self.discovery.by_api_version(api_version, kind)

    def resource_in_group(self, group: str, kind: str) -> ResourceType | None:
        """The served type of `kind` in `group`, at the group's preferred version."""
        return self.discovery.by_group_kind(group, kind)

    def require(self, api_version: str, kind: str) -> ResourceType:
        """As `resource`, for kinds every cluster serves (Pod, Secret, StatefulSet)."""
        rt = self.resource(api_version, kind)
        if rt is None:
            raise ApiError(404, "NotFound", f"the server does not serve {api_version} {kind}")
        return rt

    def forget(self, rt: ResourceType) -> None:
        """Discover rt's group again on next use (after a 404 for the whole kind)."""
        self.discovery.forget(rt)

    # ------------------------------------------------------------------------------------------------ reads
    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        return _with_type(self._json("GET", resource_path(rt, namespace, name)), rt)

    def get_or_none(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        try:
            return self.get(rt, namespace, name)
        except ApiError as exc:
            if exc.code == 404:
                return None
            raise

    def list(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        page: int = LIST_PAGE,
    ) -> tuple[builtins.list[Obj], str]:
        """Every matching object (following `continue` across pages) and the list's resourceVersion."""
        query = {"limit": str(page)}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        items: builtins.list[Obj] = []
        path = resource_path(rt, namespace)
        while True:
            doc = self._json("GET", path, query=query)
            items.extend(_with_type(item, rt) for item in doc.get("items") or [])
            meta = doc.get("metadata") or {}
            token = meta.get("continue")
            if not token:
                return items, str(meta.get("resourceVersion") or "")
            query["continue"] = str(token)

    # ----------------------------------------------------------------------------------------------- writes
    def create(self, rt: ResourceType, obj: Obj) -> Obj:
        """POST a new object (metadata.generateName works: the server picks the name)."""
        namespace = obj.get("metadata", {}).get("namespace") if rt.namespaced else None
        body = {"apiVersion": rt.api_version, "kind": rt.kind, **obj}
        return _with_type(
            self._json("POST", resource_path(rt, namespace), query=self._writing(), body=body), rt
        )

    def post_subresource(
        self, rt: ResourceType, namespace: str | None, name: str, subresource: str, body: Obj
    ) -> Obj:
        """POST to a subresource that creates something (pods/<name>/binding, .../eviction)."""
        path = resource_path(rt, namespace, name, subresource)
        return self._json("POST", path, query=self._writing(), body=body)

    def update(self, rt: ResourceType, obj: Obj, *, subresource: str | None = None) -> Obj:
        """PUT `obj` (to the main resource, /status or /finalize); 409 when its resourceVersion is stale."""
        meta = obj.get("metadata", {})
        namespace = meta.get("namespace") if rt.namespaced else None
        path = resource_path(rt, namespace, meta["name"], subresource)
        return _with_type(self._json("PUT", path, query=self._writing(), body=obj), rt)

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        propagation: str | None = None,
        grace_period: int | None = None,
    ) -> Obj:
        """DELETE; the answer is the object (still there, being finalized) or a Status."""
        options: Obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation:
            options["propagationPolicy"] = propagation
        if grace_period is not None:
            options["gracePeriodSeconds"] = grace_period
        return self._json("DELETE", resource_path(rt, namespace, name), body=options)

    def mutate(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        change: Change,
        *,
        subresource: str | None = None,
    ) -> Obj:
        """Read, apply `change` to a copy, PUT with the resourceVersion read; on 409 Conflict read again.

        Returns the object written, or the one read when `change` returned None (nothing to write)."""
        for attempt in range(CONFLICT_ATTEMPTS):
            current = self.get(rt, namespace, name)
            rv = current["metadata"].get("resourceVersion")
            new = change(_copy(current))
            if new is None:
                return current
            meta = new.setdefault("metadata", {})
            meta["resourceVersion"], meta["name"] = rv, name
            if rt.namespaced:
                meta["namespace"] = namespace
            try:
                return self.update(rt, new, subresource=subresource)
            except ApiError as exc:
                if exc.code != 409 or exc.reason == "AlreadyExists" or attempt == CONFLICT_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------------------------------------ watch
    def watch(
        self,
        rt: ResourceType,
        *,
        namespace: str | None = None,
        resource_version: str = "",
        timeout_seconds: int = 60,
        field_selector: str = "",
        label_selector: str = "",
    ) -> WatchStream:
        """Events after `resource_version` (all namespaces unless one is given), with bookmarks; the server
        ends the stream after `timeout_seconds`. Raises ApiError (410: relist) when it cannot start."""
        query = {
            "watch": "true",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(max(1, int(timeout_seconds))),
        }
        if resource_version:
            query["resourceVersion"] = resource_version
        if field_selector:
            query["fieldSelector"] = field_selector
        if label_selector:
            query["labelSelector"] = label_selector
        response = self._request(
            "GET",
            resource_path(rt, namespace),
            query=query,
            stream=True,
            timeout=(_TIMEOUT[0], timeout_seconds + _WATCH_READ_MARGIN),
        )
        return WatchStream(response)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
