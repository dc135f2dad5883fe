"""Container logs as a node keeps them: one file per run of a container, in the CRI logging format, and the
reading a kubelet does for `kubectl logs` (tail, since, timestamps, byte limit).

A container runtime (containerd, CRI-O) writes each line a container prints as
`<RFC 3339 time, ns> <stdout|stderr> <F|P> <text>` (P: a partial line, continued by the next record) to
`/var/log/pods/<ns>_<pod>_<uid>/<container>/<restart>.log`, a new file per run, so the kubelet can serve the
previous run's log after a restart and filter by time. The lab's runtime does the same under its own root.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

Stream = Literal["stdout", "stderr"]
MAX_RECORD_BYTES = 16 * 1024  # containerd splits longer lines into partial records of this size


def _format_time(ns: int) -> str:
    """RFC 3339 with nine fractional digits, as the kubelet prints with `timestamps=true`."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    when = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{fraction:09d}Z"


def parse_time(text: str) -> float | None:
    """Seconds since the epoch of an RFC 3339 time (nanoseconds are cut to microseconds), or None."""
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=datetime.UTC)).timestamp()


class CriLogWriter:
    """Writes what a container prints to its run's CRI log file (and, raw, to a human-readable file);
    one `copy` thread per stream, records written whole under a lock."""

    def __init__(self, run_path: Path, raw_path: Path) -> None:
        run_path.parent.mkdir(parents=True, exist_ok=True)
        self._run = run_path.open("ab")
        self._raw = raw_path.open("ab")
        self._lock = threading.Lock()
        self._open = 0

    def copy(self, stream: Stream, source: IO[bytes]) -> threading.Thread:
        """Start copying `source` until its end; close the files when the last copy ends."""
        with self._lock:
            self._open += 1
        thread = threading.Thread(target=self._copy, args=(stream, source), daemon=True)
        thread.start()
        return thread

    def _copy(self, stream: Stream, source: IO[bytes]) -> None:
        try:
            while chunk := source.readline(MAX_RECORD_BYTES):
                complete = chunk.endswith(b"\n")
                text = chunk[:-1] if complete else chunk
                record = f"{_format_time(time.time_ns())} {stream} {'F' if complete else 'P'} ".encode()
                with self._lock:
                    self._run.write(record + text + b"\n")
                    self._run.flush()
                    self._raw.write(chunk)
                    self._raw.flush()
        except (OSError, ValueError):
            pass  # the pipe was closed under us: the container is gone
        finally:
            source.close()
            with self._lock:
                self._open -= 1
                if self._open == 0:
                    self._run.close()
                    self._raw.close()


@dataclass(frozen=True)
class LogOptions:
    """The kubelet's `/containerLogs` query (what `kubectl logs` sends through the API server)."""

    tail_lines: int | None = None
    since_seconds: int | None = None
    since_time: float | None = None  # seconds since the epoch
    timestamps: bool = False
    limit_bytes: int | None = None
    previous: bool = False


def read_log(path: Path, options: LogOptions, now: float | None = None) -> bytes:
    """The log of one run as `kubectl logs` prints it: record texts joined back into lines, optionally
    prefixed by their time, filtered by `since`, the last `tail_lines` lines, at most `limit_bytes`."""
    since = options.since_time
    if options.since_seconds is not None:
        since = (time.time() if now is None else now) - options.since_seconds
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return b""
    lines: deque[bytes] = deque(maxlen=options.tail_lines) if options.tail_lines is not None else deque()
    pending = b""
    for record in raw.splitlines():
        stamp, _, rest = record.partition(b" ")
        _stream, _, rest = rest.partition(b" ")
        tag, _, text = rest.partition(b" ")
        if since is not None:
            when = parse_time(stamp.decode("ascii", errors="replace"))
            if when is not None and when < since:
                continue
        if not pending and options.timestamps:
            pending = stamp + b" "
        pending += text
        if tag != b"P":
            lines.append(pending + b"\n")
            pending = b""
    if pending:
        lines.append(pending)
    out = b"".join(lines)
    if options.limit_bytes is not None:
        out = out[: options.limit_bytes]
    return out
