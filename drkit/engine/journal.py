"""The run journal: an append-only JSON-lines file, flushed and fsync'd at every event.

It is what makes `drkit resume` possible after drkit itself was killed: whatever was written survived, and a
line cut short by the crash is ignored when reading. Opening the journal again (the resume) first cuts that
torn tail off: appended after it, the resume's first event would share its line and be lost with it.
Every record goes through the run's masker on its way to the file, so no secret the run knows of reaches
it, whoever appended the record.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO


class Journal:
    def __init__(
        self,
        path: Path,
        wall_clock: Callable[[], float],
        mask: Callable[[object], object] = lambda record: record,
    ) -> None:
        self.path = path
        self._wall_clock = wall_clock
        self._mask = mask
        self._handle: TextIO | None = None
        self._lock = threading.Lock()  # steps' worker threads report retries while the run thread writes

    def __enter__(self) -> Journal:
        _cut_torn_tail(self.path)
        self._handle = self.path.open("a", encoding="utf-8")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    @property
    def is_open(self) -> bool:
        return self._handle is not None

    def append(self, event: str, **fields: object) -> None:
        if self._handle is None:
            raise RuntimeError("journal is not open")
        record = self._mask({"event": event, "at": self._wall_clock(), **fields})
        line = json.dumps(record, default=str, separators=(",", ":")) + "\n"
        with self._lock:
            self._handle.write(line)
            self._handle.flush()
            os.fsync(self._handle.fileno())


def _cut_torn_tail(path: Path) -> None:
    """Truncate the file after its last newline: what follows is an event a crash cut short."""
    try:
        handle = path.open("r+b")
    except FileNotFoundError:
        return
    with handle:
        size = handle.seek(0, os.SEEK_END)
        end = size
        while end > 0:
            start = max(0, end - 4096)
            handle.seek(start)
            chunk = handle.read(end - start)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                end = start + newline + 1
                break
            end = start
        if end != size:
            handle.truncate(end)
            handle.flush()
            os.fsync(handle.fileno())


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Every complete event in the journal, in order; a torn last line (a crash mid-write) is dropped."""
    events: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "event" in record:
            events.append(record)
    return events
