"""Watch streams that threads follow and another thread ends: the bookkeeping `wait_for` and
`wait_for_any_change` share.

A thread that follows a stream registers it while it reads; `close_all` (from the thread that decided the
wait is over) marks the group closed and interrupts every registered stream, so each follower's read returns
at once. A stream registered after that is refused, so a follower that was still opening its watch stops
instead of reading a stream nobody will interrupt.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from drkit.kube.client import WatchStream


class StreamGroup:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: list[WatchStream] = []
        self._closed = False

    @property
    def closed(self) -> bool:
        with self._lock:
            return self._closed

    @contextmanager
    def following(self, stream: WatchStream) -> Iterator[bool]:
        """Register `stream` while the caller reads it; yields False when the group is closed already."""
        with self._lock:
            if self._closed:
                registered = False
            else:
                self._streams.append(stream)
                registered = True
        try:
            yield registered
        finally:
            if registered:
                with self._lock:  # before the stream closes: close_all must not interrupt a closed one
                    self._streams.remove(stream)

    def close_all(self) -> None:
        with self._lock:  # held while interrupting, so no stream is closed by its thread meanwhile
            self._closed = True
            for stream in self._streams:
                stream.interrupt()
