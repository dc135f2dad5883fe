"""Listing and reading a model's artifact files, wherever the storage URI says they are.

Model validation needs the files of one model directory (names and sizes) and the contents of a few small
ones (MLmodel, JSON configs). Two stores are supported behind one `ArtifactTree` protocol:

- the MLflow server's artifact proxy (`--serve-artifacts`): `mlflow-artifacts:/<path>` URIs, and URIs under a
  storage root the playbook maps onto the proxy (the bucket behind it, e.g. `s3://mlflow-artifacts/`), so
  drkit needs no cloud credentials: the server that wrote the model reads it back;
- local directories (`/abs/path`, `file://`), for local stores and for models before they are uploaded.

The proxy lists one level at a time (`GET /api/2.0/mlflow-artifacts/artifacts?path=` answers
`{files: [{path: <basename>, is_dir, file_size}]}`, `{}` when empty or missing) and downloads at
`GET /api/2.0/mlflow-artifacts/artifacts/<path>`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol
from urllib.parse import quote

from drkit.errors import AdapterError
from drkit.mlflow.errors import MlflowError

LIST_ROUTE = "/api/2.0/mlflow-artifacts/artifacts"
MAX_FILES = 20_000  # a model directory with more files than this is not one we validate file by file
PROXY_SCHEME = "mlflow-artifacts:"


class ArtifactError(AdapterError):
    """Artifact files could not be listed or read, or the URI names a store drkit cannot reach."""


@dataclass(frozen=True)
class ArtifactEntry:
    """A file of the tree: its path relative to the tree's root (`/`-separated) and its size in bytes."""

    path: str
    size: int


_Items = list[Mapping[str, object]]  # (a method named `list` hides the builtin inside the classes below)


class ArtifactTree(Protocol):
    """One model directory. Paths are relative to its root and `/`-separated."""

    @property
    def location(self) -> str:
        """Where the tree is, for messages (the storage URI as given)."""
        ...

    def list(self, directory: str = "") -> list[ArtifactEntry]:
        """Every file under `directory`, recursively, with sizes; empty when the directory does not exist."""
        ...

    def read_small(self, path: str, max_bytes: int) -> bytes:
        """A small file's whole content (MLmodel, a config); ArtifactError when it exceeds `max_bytes`."""
        ...


class ArtifactTransport(Protocol):
    """What the proxy tree needs from an MLflow client (drkit.mlflow.client.MlflowClient provides it)."""

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Mapping[str, object]: ...

    def get_raw(self, path: str, params: Mapping[str, str] | None = None, max_bytes: int = ...) -> bytes: ...


# --- local directories ------------------------------------------------------------------------------------


class LocalArtifactTree:
    def __init__(self, root: Path, location: str | None = None) -> None:
        self.root = root
        self._location = location or str(root)

    @property
    def location(self) -> str:
        return self._location

    def list(self, directory: str = "") -> list[ArtifactEntry]:
        base = self._inside(directory)
        if not base.is_dir():
            return []
        entries: list[ArtifactEntry] = []
        for folder, _dirs, names in os.walk(base):
            for name in names:
                full = Path(folder) / name
                try:
                    size = full.stat().st_size
                except OSError as exc:
                    raise ArtifactError(f"cannot read {full}: {exc.strerror}") from exc
                entries.append(ArtifactEntry(full.relative_to(self.root).as_posix(), size))
                _check_count(len(entries), self.location)
        return sorted(entries, key=lambda e: e.path)

    def read_small(self, path: str, max_bytes: int) -> bytes:
        target = self._inside(path)
        try:
            with target.open("rb") as handle:
                data = handle.read(max_bytes + 1)
        except OSError as exc:
            raise ArtifactError(f"cannot read {path} in {self.location}: {exc.strerror}") from exc
        if len(data) > max_bytes:
            raise ArtifactError(f"{path} in {self.location} is larger than {max_bytes} bytes")
        return data

    def _inside(self, relative: str) -> Path:
        target = (self.root / relative).resolve() if relative else self.root.resolve()
        if not target.is_relative_to(self.root.resolve()):
            raise ArtifactError(f"{relative!r} leaves the model directory {self.location}")
        return target


# --- the MLflow artifact proxy ----------------------------------------------------------------------------


class ProxiedArtifactTree:
    """A directory served by an MLflow server's artifact proxy, below `root` (relative to the proxy root)."""

    def __init__(self, transport: ArtifactTransport, root: str, location: str) -> None:
        self.transport = transport
        self.root = root.strip("/")
        self._location = location

    @property
    def location(self) -> str:
        return self._location

    def list(self, directory: str = "") -> list[ArtifactEntry]:
        entries: list[ArtifactEntry] = []
        pending = [_join(self.root, directory)]
        while pending:
            folder = pending.pop()
            for item in self._list_one(folder):
                name = str(item.get("path") or "").rsplit("/", 1)[-1]
                if not name:
                    continue
                full = _join(folder, name)
                if item.get("is_dir"):
                    pending.append(full)
                    continue
                relative = full[len(self.root) + 1 :] if self.root else full
                entries.append(ArtifactEntry(relative, _size(item.get("file_size"), full)))
                _check_count(len(entries), self.location)
        return sorted(entries, key=lambda e: e.path)

    def _list_one(self, folder: str) -> _Items:
        params = {"path": folder} if folder else {}
        try:
            answer = self.transport.get_json(LIST_ROUTE, params)
        except MlflowError as exc:
            raise ArtifactError(
                f"cannot list {folder or '/'} through the MLflow artifact proxy: {exc.message}",
                hint=exc.hint or "the server must run with --serve-artifacts",
            ) from exc
        files = answer.get("files", [])
        if not isinstance(files, list):
            raise ArtifactError(f"the MLflow artifact proxy answered an unexpected listing for {folder!r}")
        return [f for f in files if isinstance(f, Mapping)]

    def read_small(self, path: str, max_bytes: int) -> bytes:
        full = _join(self.root, path)
        try:
            return self.transport.get_raw(f"{LIST_ROUTE}/{quote(full)}", max_bytes=max_bytes)
        except MlflowError as exc:
            raise ArtifactError(
                f"cannot download {full} from the MLflow artifact proxy: {exc.message}"
            ) from exc


def _join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p.strip("/"))


def _size(value: object, path: str) -> int:
    # protobuf int64 fields may arrive as JSON strings
    try:
        return int(value) if isinstance(value, int | str) else 0
    except ValueError as exc:
        raise ArtifactError(f"the MLflow artifact proxy gave {path} an invalid size {value!r}") from exc


def _check_count(count: int, location: str) -> None:
    if count > MAX_FILES:
        raise ArtifactError(
            f"{location} holds more than {MAX_FILES} files: not a model directory",
            hint="point storageUri at the directory that holds the model (the one with MLmodel)",
        )


# --- from a storage URI to a tree -------------------------------------------------------------------------


def proxy_path(uri: str, storage_root: str | None) -> str | None:
    """The path below the proxy root for `uri`, or None when the URI is not served by the proxy.

    `mlflow-artifacts:/1/models/m-x/artifacts` (or `mlflow-artifacts://host:port/1/...`) -> `1/models/...`;
    with storage_root `s3://mlflow-artifacts/`, `s3://mlflow-artifacts/1/models/m-x/artifacts` likewise.
    """
    if uri.startswith(PROXY_SCHEME):
        rest = uri.removeprefix(PROXY_SCHEME)
        if rest.startswith("//"):  # mlflow-artifacts://host:port/path
            rest = rest[2:].partition("/")[2]
        return _checked_relative(rest, uri)
    if storage_root:
        root = storage_root.rstrip("/") + "/"
        if uri.startswith(root) or uri == root.rstrip("/"):
            return _checked_relative(uri[len(root) :], uri)
    return None


def _checked_relative(rest: str, uri: str) -> str:
    parts = PurePosixPath("/" + rest).parts[1:]
    if ".." in parts:
        raise ArtifactError(f"storage URI {uri} leaves its storage root")
    return "/".join(parts)


def local_path(uri: str, base_dir: Path) -> Path | None:
    """The directory of a local URI (`/abs`, `file:///abs`, or a path relative to `base_dir`), else None."""
    if uri.startswith("file://"):
        return Path(uri.removeprefix("file://"))
    if "://" in uri or uri.startswith(PROXY_SCHEME) or ":" in uri.split("/", 1)[0]:
        return None
    path = Path(uri)
    return path if path.is_absolute() else base_dir / path


def open_tree(
    uri: str,
    *,
    storage_root: str | None,
    base_dir: Path,
    transport: ArtifactTransport | None,
) -> ArtifactTree:
    """The tree a storage URI names; `transport` (an MLflow client) serves URIs under the proxy."""
    relative = proxy_path(uri, storage_root)
    if relative is not None:
        if transport is None:
            raise ArtifactError(
                f"{uri} is served by the MLflow artifact proxy, but no MLflow server is configured",
                hint="add `mlflow: {url: http://mlflow:5000}` to the item",
            )
        return ProxiedArtifactTree(transport, relative, uri)
    path = local_path(uri, base_dir)
    if path is not None:
        return LocalArtifactTree(path, uri)
    scheme = uri.split(":", 1)[0]
    raise ArtifactError(
        f"storage URI {uri} ({scheme}:) is not one drkit can read",
        hint=(
            "set `storageRoot` to the bucket the MLflow server proxies (e.g. s3://mlflow-artifacts/) and "
            "`mlflow.url` to that server, or give a local path"
        ),
    )
