"""Start a program, stream its output, enforce a timeout by killing its whole process group."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from drkit.errors import AdapterError

TAIL_LINES = 40
_KILL_GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class ProcessResult:
    exit_code: int  # negative: killed by that signal (as subprocess reports it)
    tail: tuple[str, ...]  # the last TAIL_LINES lines of stdout and stderr, merged
    timed_out: bool
    duration: float  # seconds


def run_process(
    command: str | Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float | None,
    on_line: Callable[[str], None] = lambda _line: None,
    monotonic: Callable[[], float] = time.monotonic,
) -> ProcessResult:
    """Run `command` (a string runs through /bin/sh -c, a sequence is executed directly) to completion.

    On timeout the process group gets SIGTERM, then SIGKILL after a short grace. Any exception in the caller's
    thread while waiting (KeyboardInterrupt above all) also stops the group before it propagates, so drkit
    never leaves a program running behind it.
    """
    argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
    started = monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        raise AdapterError(
            f"cannot start {argv[0]!r} in {cwd}: {exc.strerror or exc}",
            hint="check that the program exists, is executable, and that the working directory exists",
        ) from exc

    tail: deque[str] = deque(maxlen=TAIL_LINES)
    reader = threading.Thread(target=_pump, args=(proc, tail, on_line), daemon=True)
    reader.start()
    timed_out = False
    try:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _stop_group(proc)
    except BaseException:
        _stop_group(proc)
        raise
    finally:
        reader.join(timeout=_KILL_GRACE_SECONDS + 1)
        if proc.stdout is not None:
            proc.stdout.close()
    return ProcessResult(
        exit_code=proc.returncode,
        tail=tuple(tail),
        timed_out=timed_out,
        duration=monotonic() - started,
    )


def _pump(proc: subprocess.Popen[bytes], tail: deque[str], on_line: Callable[[str], None]) -> None:
    assert proc.stdout is not None
    for raw in iter(proc.stdout.readline, b""):
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        tail.append(line)
        if line.strip():
            on_line(line)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, then SIGKILL it if it has not gone after the grace period."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=_KILL_GRACE_SECONDS)
            # The leader is gone; children still in the group (e.g. a backgrounded sleep) would keep the pipe
            # open, so make sure the group is gone too.
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            break
        except subprocess.TimeoutExpired:
            continue
        break
