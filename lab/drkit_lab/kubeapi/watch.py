"""One watch request as an iterator of events, that another thread can close at once.

The server ends a watch after `timeoutSeconds`; callers watch again from the last resourceVersion they saw
(BOOKMARK events carry one) or relist on 410. `close()` shuts the socket down, so a reader blocked on a
quiet stream returns immediately instead of at its timeout: that is what lets a controller manager stop.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import requests

from drkit_lab.apiserver.errors import ApiError
from drkit_lab.kubeapi.errors import connection_failed

EventType = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK"]


@dataclass(frozen=True)
class ObjectEvent:
    type: EventType
    object: dict[str, Any]

    @property
    def resource_version(self) -> str:
        return str(self.object.get("metadata", {}).get("resourceVersion") or "")


class WatchStream:
    """Iterate for events; an ERROR event raises ApiError (410 Expired: relist). Ends when the server ends
    the stream, the connection breaks, or `close()` is called."""

    def __init__(self, response: requests.Response) -> None:
        self._response = response
        self._lock = threading.Lock()
        self._closed = False

    def __iter__(self) -> Iterator[ObjectEvent]:
        try:
            for line in self._response.iter_lines(chunk_size=None):
                if self._closed:
                    return
                if not line:
                    continue
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    raise ApiError(
                        int(obj.get("code") or 500),
                        str(obj.get("reason") or "InternalError"),
                        str(obj.get("message") or "watch failed"),
                    )
                if kind in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK"):
                    yield ObjectEvent(kind, obj)
        except (requests.RequestException, OSError, AttributeError) as exc:
            if not self._closed:  # after close() these are just how the closed socket shows
                raise connection_failed(exc) from None
        finally:
            self.close()

    def close(self) -> None:
        """End the stream now (from any thread)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        connection = getattr(self._response.raw, "connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self._response.close()
