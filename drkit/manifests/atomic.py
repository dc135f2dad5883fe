"""Writing several files so that all change or none do.

Every new content goes to a temporary file next to its target (same file system, so the rename is atomic)
and is fsynced; only when all are written are they renamed over their targets. If a rename fails midway, the
files already replaced are restored from hard-link (or copied) backups taken just before. A manifest set
that is half old and half new is worse than either: the models would point at different trainings.

A crash (SIGKILL) cannot be rolled back, but it cannot tear a file either: each file is whole, old or new,
because only renames replace them. What it leaves are its temporary files and backups; the next write of
the same files (a resumed step) removes them first, then writes the set again from what is on disk.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from drkit.manifests.errors import ManifestError
from drkit.manifests.rewrite import FileChange

Replace = Callable[[Path, Path], None]
_TEMP_SUFFIX = ".drkit-new"


def _os_replace(source: Path, target: Path) -> None:
    os.replace(source, target)


def write_all(changes: Sequence[FileChange], replace: Replace = _os_replace) -> list[Path]:
    """Write every changed file, or none (ManifestError). Returns the paths written.

    A file that changed on disk since it was read is refused: someone else is editing it.
    `replace` is the rename (a seam for tests that make the rename fail).
    """
    _remove_leftovers(changes)
    pending = [change for change in changes if change.changed]
    for change in pending:
        if _read(change.path) != change.old_text:
            raise ManifestError(
                f"{change.path} changed on disk while drkit was working; no file was written",
                hint="run again",
            )
    temps: list[Path] = []
    try:
        for change in pending:
            temps.append(_write_temp(change))
    except BaseException:
        _remove(temps)
        raise
    backups: list[Path] = []
    try:
        for change in pending:
            backups.append(_backup(change.path))
    except BaseException:
        _remove(temps + backups)
        raise
    done = 0
    try:
        for change, temp in zip(pending, temps, strict=True):
            replace(temp, change.path)
            done += 1
    except BaseException as exc:
        restored = _restore(pending[:done], backups[:done], replace)
        _remove(temps[done:] + backups)
        if isinstance(exc, OSError):
            raise ManifestError(
                f"cannot replace {pending[done].path}: {exc.strerror or exc}; "
                + ("every file was restored" if restored else "SOME FILES COULD NOT BE RESTORED, check them"),
                hint="check the permissions of the manifest directories",
            ) from None
        raise
    _remove(backups)
    for directory in {change.path.parent for change in pending}:
        _fsync_dir(directory)
    return [change.path for change in pending]


def _remove_leftovers(changes: Sequence[FileChange]) -> None:
    """The temporary files and backups an earlier write of these files left when it was killed."""
    for change in changes:
        name = change.path.name
        stale = [*change.path.parent.glob(f".{glob.escape(name)}.*{_TEMP_SUFFIX}"), _backup_path(change.path)]
        _remove(stale)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _write_temp(change: FileChange) -> Path:
    try:
        handle, name = tempfile.mkstemp(
            prefix=f".{change.path.name}.", suffix=_TEMP_SUFFIX, dir=change.path.parent
        )
    except OSError as exc:
        raise ManifestError(
            f"cannot write next to {change.path}: {exc.strerror or exc}; no file was changed",
            hint="drkit writes a temporary file in the manifest's directory: check its permissions",
        ) from None
    temp = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(change.new_text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, stat.S_IMODE(change.path.stat().st_mode))
    except OSError as exc:
        _remove([temp])
        raise ManifestError(
            f"cannot write {change.path}: {exc.strerror or exc}; no file was changed"
        ) from None
    return temp


def _backup(path: Path) -> Path:
    backup = _backup_path(path)
    with contextlib.suppress(FileNotFoundError):
        backup.unlink()
    try:
        os.link(path, backup)
    except OSError:
        try:
            shutil.copy2(path, backup)
        except OSError as exc:
            raise ManifestError(
                f"cannot back up {path}: {exc.strerror or exc}; no file was changed"
            ) from None
    return backup


def _backup_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.drkit-backup")


def _restore(paths: Sequence[FileChange], backups: Sequence[Path], replace: Replace) -> bool:
    ok = True
    for change, backup in zip(paths, backups, strict=True):
        try:
            replace(backup, change.path)
        except OSError:
            ok = False
    return ok


def _remove(paths: Sequence[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
