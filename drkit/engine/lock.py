"""One process drives a run at a time: a lock file holds the owner's pid; a dead owner's lock is taken."""

from __future__ import annotations

import os
from pathlib import Path

from drkit.errors import UsageError


class RunLock:
    def __init__(self, path: Path, run_id: str) -> None:
        self.path = path
        self.run_id = run_id
        self._held = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def acquire(self) -> None:
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = _read_pid(self.path)
                if owner is not None and owner != os.getpid() and _alive(owner):
                    raise UsageError(
                        f"run {self.run_id} is being driven by another drkit process (pid {owner})",
                        hint=f"wait for it or stop it; if pid {owner} is not drkit, remove {self.path}",
                    ) from None
                # Stale: its owner died (kill -9, reboot). Take it over.
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as handle:
                handle.write(f"{os.getpid()}\n")
            self._held = True
            return
        raise UsageError(f"could not take the lock of run {self.run_id} ({self.path})")

    def release(self) -> None:
        if self._held:
            self.path.unlink(missing_ok=True)
            self._held = False


def live_owner(path: Path) -> int | None:
    """The pid of the live process holding the lock at `path` (another one than this), or None."""
    owner = _read_pid(path)
    return owner if owner is not None and owner != os.getpid() and _alive(owner) else None


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="utf-8").strip() or "0") or None
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
